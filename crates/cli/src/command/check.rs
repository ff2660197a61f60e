//! `salvage check FILE...`: parse and check, every error of every file at once.

use super::{Format, load_and_check, print_diagnostics};
use clap::Args;
use std::path::PathBuf;

/// `salvage check FILE...`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Runbook files (or files of definitions) to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// text: diagnostics with the source line and a caret; json: one array for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `salvage check`; exit 1 when any file has an error.
pub(crate) fn command(args: &CheckArgs) -> i32 {
    if args.format == Format::Dot {
        eprintln!(
            "error: `check` prints text or json; the graph is `salvage plan FILE --format dot`"
        );
        return 2;
    }
    let mut failed = 0;
    let mut all = Vec::new();
    for path in &args.files {
        let checked = load_and_check(path, None);
        let bad = checked.has_errors();
        failed += usize::from(bad);
        match args.format {
            Format::Json => all.push(serde_json::json!({
                "file": path.display().to_string(),
                "ok": !bad,
                "diagnostics": salvage_language::diagnostic_report::to_json(&checked.diagnostics),
            })),
            _ => {
                print_diagnostics(&checked.diagnostics);
                if !bad {
                    let steps: usize = checked.plans.iter().map(|p| p.steps.len()).sum();
                    println!("{}: ok ({steps} steps)", path.display());
                }
            }
        }
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
    } else if failed > 0 {
        eprintln!("{failed} of {} file(s) have errors", args.files.len());
    }
    i32::from(failed > 0)
}
