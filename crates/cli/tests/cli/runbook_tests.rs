//! Runs every runbook test under runbooks/tests (`salvage test`), one test walking the
//! directory: every runbook in runbooks/ and every stdlib definition is exercised there.

#[test]
fn runbook_tests_pass() {
    if !salvage_testkit::require_tool("runbook_tests_pass", &["mkfs.ext4", "e2fsck", "sqlite3"]) {
        return;
    }
    let dir = salvage_testkit::workspace_root().join("runbooks/tests");
    let out = crate::common::salvage()
        .arg("test")
        .arg(&dir)
        .output()
        .expect("salvage test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().rev().find(|l| !l.is_empty()).unwrap_or("");
    assert!(
        last.ends_with(" 0 failed") && !last.starts_with("0 passed"),
        "{last}"
    );
}
