//! Golden tests: every runbook in runbooks/ and stdlib/ planned (text and JSON), every broken
//! runbook's rendered diagnostics, every valid example's plan, all as insta snapshots under
//! snapshots/. One test walks each directory.

use salvage_language::checker::check;
use salvage_language::source_file::SourceFile;
use salvage_language::stdlib::EmbeddedLoader;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    salvage_testkit::workspace_root()
}

fn salvage_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "salvage"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .salvage files in {}", dir.display());
    files
}

fn params_for(stem: &str) -> Vec<(String, String)> {
    let path = root()
        .join("engine/tests/runbooks/params")
        .join(format!("{stem}.txt"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Loads a file under a stable, relative name so snapshots do not depend on the checkout.
fn source(path: &Path) -> SourceFile {
    let name = path
        .strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string();
    let bytes = std::fs::read(path).expect("read");
    SourceFile::new(name, String::from_utf8_lossy(&bytes).into_owned())
}

fn snapshot_settings(dir: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(dir));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

fn plan_all(dir: &Path, snap_dir: &str) {
    for path in salvage_files(dir) {
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let checked = check(source(&path), Some(&params_for(&stem)), &EmbeddedLoader);
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(!checked.plans.is_empty(), "{}: no plan", path.display());
        let text: String = checked
            .plans
            .iter()
            .map(salvage_language::plan_text::render)
            .collect::<Vec<_>>()
            .join("\n");
        let json: Vec<_> = checked
            .plans
            .iter()
            .map(salvage_language::plan_json::render)
            .collect();
        let json_text = serde_json::to_string(&json).expect("json");
        let secret = "hunter2";
        assert!(
            !text.contains(secret) && !json_text.contains(secret),
            "{}: a secret leaked into the plan",
            path.display()
        );
        snapshot_settings(snap_dir).bind(|| {
            insta::assert_snapshot!(format!("{stem}.plan"), text);
            insta::assert_json_snapshot!(format!("{stem}.plan.json"), json);
        });
    }
}

#[test]
fn runbooks_plan() {
    plan_all(&root().join("runbooks"), "plans/runbooks");
}

#[test]
fn stdlib_plan() {
    plan_all(&root().join("stdlib"), "plans/stdlib");
}

#[test]
fn valid_examples_plan() {
    plan_all(&root().join("engine/tests/runbooks/ok"), "plans/examples");
}

#[test]
fn broken_runbooks_diagnose() {
    for path in salvage_files(&root().join("engine/tests/runbooks/broken")) {
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let checked = match std::fs::read(&path).map(String::from_utf8) {
            Ok(Ok(_)) => check(source(&path), None, &EmbeddedLoader),
            _ => salvage_engine::runbook_file::load_and_check(&path, None),
        };
        assert!(
            checked.has_errors(),
            "{}: expected errors, got none",
            path.display()
        );
        let rendered = salvage_language::diagnostic_report::render(&checked.diagnostics, false);
        let rendered = rendered.replace(&root().display().to_string(), "<root>");
        snapshot_settings("diagnostics").bind(|| insta::assert_snapshot!(stem, rendered));
    }
}

#[test]
fn every_stdlib_file_is_embedded() {
    let on_disk: Vec<String> = salvage_files(&root().join("stdlib"))
        .iter()
        .map(|p| format!("stdlib/{}", p.file_name().expect("name").to_string_lossy()))
        .collect();
    let embedded: Vec<String> = salvage_language::stdlib::FILES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(
        on_disk, embedded,
        "add new stdlib files to engine/src/stdlib.rs"
    );
    for (name, text) in salvage_language::stdlib::FILES {
        let disk = std::fs::read_to_string(root().join(name)).expect("read stdlib");
        assert_eq!(&disk, text, "{name}: embedded copy differs from disk");
    }
}

#[test]
fn op_reference_is_generated_from_the_op_table() {
    let ops: Vec<&salvage_language::op_table::OpSig> =
        salvage_language::op_table::OpSig::all().iter().collect();
    let generated = salvage_language::op_reference::markdown(&ops)
        + &salvage_language::op_reference::defines_markdown(
            &salvage_language::stdlib_define::StdlibDefine::all(),
        );
    let on_disk = std::fs::read_to_string(root().join("docs/ops.md")).expect("docs/ops.md");
    assert_eq!(
        on_disk, generated,
        "docs/ops.md is stale: run `salvage ops --markdown > docs/ops.md`"
    );
}
