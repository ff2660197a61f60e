//! `salvage test [PATH...]`: runs runbook tests (`*.test.toml`) and reports like a test
//! runner, ending with `N passed, N failed`.

use clap::Args;
use salvage_engine::runbook_test::run_test;
use std::path::{Path, PathBuf};

/// `salvage test [PATH...]`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Test files or directories holding `*.test.toml`; default: runbooks/tests
    pub paths: Vec<PathBuf>,
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else if path.to_string_lossy().ends_with(".test.toml") {
        out.push(path.to_path_buf());
    }
}

/// Runs `salvage test`; exit 1 when any test failed.
pub(crate) fn command(args: &TestArgs) -> i32 {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from("runbooks/tests")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for r in &roots {
        if !r.exists() {
            eprintln!("salvage test: {} does not exist", r.display());
            return 2;
        }
        collect(r, &mut files);
    }
    println!("\nrunning {} runbook test(s)", files.len());
    let mut passed = 0;
    let mut failed = Vec::new();
    for f in &files {
        let r = run_test(f);
        if r.failures.is_empty() {
            passed += 1;
            println!("test {} ... ok ({:.1}s)", r.name, r.seconds);
        } else {
            println!("test {} ... FAILED ({:.1}s)", r.name, r.seconds);
            failed.push(r);
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:");
        for r in &failed {
            println!("\n---- {} ----", r.name);
            for f in &r.failures {
                println!("  {f}");
            }
        }
    }
    println!("\n{passed} passed, {} failed", failed.len());
    i32::from(!failed.is_empty())
}
