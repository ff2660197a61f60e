//! The demo's run log as a golden file: the sequence of events (steps, commands, attachments,
//! cleanups) a post-incident review reads, with times, durations and paths normalised.

#[test]
fn demo_run_log_snapshot() {
    if !salvage_testkit::require_tool("demo_run_log_snapshot", &["mkfs.ext4", "e2fsck"]) {
        return;
    }
    if !salvage_testkit::require_root("demo_run_log_snapshot") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let root = salvage_testkit::workspace_root();
    let state = dir.path().join("state");
    let out = crate::common::salvage()
        .arg("run")
        .arg(root.join("runbooks/demo.salvage"))
        .args(["-p", &format!("work={}", dir.path().join("work").display())])
        .args(["--state", state.to_str().expect("utf-8"), "-j", "1", "-q"])
        .output()
        .expect("run the demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(state.join("log.jsonl")).expect("log");
    let tmp = dir.path().display().to_string();
    let mut lines = Vec::new();
    for l in log.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        let ev = v["event"].as_str().unwrap_or("?");
        let mut line = format!("{ev:<14}");
        for key in ["step", "op", "effect", "status", "what", "action", "undo"] {
            if let Some(s) = v.get(key).and_then(|x| x.as_str()) {
                line.push_str(&format!(" {key}={s}"));
            }
        }
        if ev == "command" {
            let argv: Vec<&str> = v["argv"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            line.push_str(&format!(
                " argv0={} exit={}",
                argv.first().copied().unwrap_or(""),
                v["exit_code"]
            ));
        }
        if ev == "step_finished" && v["status"] == "ok" {
            if let Some(o) = v["outputs"].as_object() {
                for key in [
                    "rescued",
                    "bad_bytes",
                    "bad_areas",
                    "count",
                    "matched",
                    "exit_code",
                ] {
                    if let Some(x) = o.get(key).filter(|x| x.is_number() || x.is_string()) {
                        line.push_str(&format!(" {key}={x}"));
                    }
                }
            }
        }
        let line = regex_loop(&line.replace(&tmp, "<tmp>"));
        lines.push(line);
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root.join("snapshots/logs"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("demo", lines.join("\n")));
}

/// `/dev/loop7` → `/dev/loopN`: which loop device is free differs from run to run.
fn regex_loop(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/dev/loop") {
        out.push_str(&rest[..i]);
        out.push_str("/dev/loopN");
        rest = rest[i + "/dev/loop".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}
