//! The executor on real processes (exec, pipe): order and parallelism, checkpoints and resume,
//! changed inputs, approvals, --yes, secrets, and a real consumer (sqlite3) for pipe.

use salvage_engine::executor::{self, RunOptions, RunOutcome, RunStatus, Shared};
use salvage_engine::log_sink::{LogSink, MemorySink};
use salvage_engine::progress::{Progress, ProgressMode};
use salvage_engine::prompter::NoPrompter;
use salvage_engine::state::journal::Journal;
use salvage_engine::state::state_dir::StateDir;
use salvage_language::checker::check;
use salvage_language::source_file::SourceFile;
use salvage_language::stdlib::EmbeddedLoader;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

struct Run {
    outcome: RunOutcome,
    events: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
}

fn run(src: &str, params: &[(&str, &str)], state: &Path, yes: bool, approve: &[&str]) -> Run {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let checked = check(
        SourceFile::new("t.salvage", src),
        Some(&params),
        &EmbeddedLoader,
    );
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let plan = checked.plans.into_iter().next().expect("plan");
    let st = Arc::new(StateDir::open(state).expect("state"));
    let (journal, replay) = Journal::open(&st.journal_path()).expect("journal");
    let sink = Arc::new(MemorySink::default());
    let shared = Shared {
        state: st,
        journal: Arc::new(journal),
        log: sink.clone() as Arc<dyn LogSink>,
        progress: Arc::new(Progress::new(ProgressMode::Quiet)),
        cancel: Arc::new(AtomicBool::new(false)),
        cancel_notify: Arc::new(tokio::sync::Notify::new()),
        prompter: Arc::new(NoPrompter),
        interrupts: salvage_engine::interrupts::Interrupts::new(),
    };
    let opts = RunOptions {
        jobs: 2,
        yes,
        approve: approve
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        user: "tester".into(),
        saved_plan: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = rt.block_on(async {
        executor::recover(&shared);
        executor::run(&plan, &opts, &shared, &replay)
            .await
            .expect("run")
    });
    Run {
        outcome,
        events: sink.events(),
    }
}

fn started(r: &Run) -> Vec<String> {
    r.events
        .iter()
        .filter(|(e, _)| e == "step_started")
        .map(|(_, f)| f["step"].as_str().expect("step").to_string())
        .collect()
}

#[test]
fn chain_runs_in_order_and_outputs_flow() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out.txt");
    let src = format!(
        r#"runbook "chain" {{
  step a = exec(argv: ["echo", "hello"], effect: "read")
  step b = exec(argv: ["sh", "-c", "printf '%s' \"$0\" > {}", "${{a.stdout}}"], effect: "create")
}}"#,
        out.display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    assert_eq!(started(&r), ["a", "b"]);
    assert_eq!(std::fs::read_to_string(&out).expect("out"), "hello\n");
}

#[test]
fn independent_steps_run_in_parallel() {
    // Each step waits until both have started: only parallel execution can finish.
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().display();
    let script = |me: &str, other: &str| {
        format!(
            r#"["sh", "-c", "touch {d}/{me}; for i in $(seq 1 100); do [ -e {d}/{other} ] && exit 0; sleep 0.05; done; exit 1"]"#
        )
    };
    let src = format!(
        "runbook \"par\" {{\n  step a = exec(argv: {}, effect: \"create\")\n  step b = exec(argv: {}, effect: \"create\")\n}}",
        script("a", "b"),
        script("b", "a")
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
}

#[test]
fn same_path_never_runs_at_once() {
    // Two steps reading the same file, each failing if the other holds the lock file: they
    // can only both succeed if the executor serialises them (jobs is 2, so it could run both).
    let dir = tempfile::tempdir().expect("tmp");
    let shared = dir.path().join("shared.img");
    std::fs::write(&shared, "x").expect("file");
    let lock = dir.path().join("lock");
    let body = format!("mkdir {l} && sleep 0.3 && rmdir {l}", l = lock.display());
    let src = format!(
        r#"runbook "excl" {{
  step a = pipe(from: "{f}", into: ["sh", "-c", "{body}"], effect: "read")
  step b = pipe(from: "{f}", into: ["sh", "-c", "{body}"], effect: "read")
}}"#,
        f = shared.display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    assert_eq!(started(&r), ["a", "b"]);
}

#[test]
fn failure_stops_and_resume_skips_what_finished() {
    let dir = tempfile::tempdir().expect("tmp");
    let flag = dir.path().join("fixed");
    let count = dir.path().join("count");
    let src = format!(
        r#"runbook "resume" {{
  step a = exec(argv: ["sh", "-c", "echo x >> {count}"], effect: "create")
  step b = exec(argv: ["test", "-e", "{flag}"], effect: "read", after: [a])
  step c = exec(argv: ["true"], effect: "read", after: [b])
}}"#,
        count = count.display(),
        flag = flag.display()
    );
    let state = dir.path().join("state");
    let first = run(&src, &[], &state, false, &[]);
    assert_eq!(first.outcome.status, RunStatus::Failed);
    assert_eq!(first.outcome.failed[0].0, "b");
    assert_eq!(first.outcome.not_run, ["c"]);
    std::fs::write(&flag, "").expect("fix");
    let second = run(&src, &[], &state, false, &[]);
    assert_eq!(
        second.outcome.status,
        RunStatus::Ok,
        "{:?}",
        second.outcome.failed
    );
    assert_eq!(second.outcome.skipped, ["a"]);
    assert_eq!(started(&second), ["b", "c"]);
    assert_eq!(
        std::fs::read_to_string(&count).expect("count"),
        "x\n",
        "a ran twice"
    );
    let third = run(&src, &[], &state, false, &[]);
    assert_eq!(third.outcome.skipped, ["a", "b", "c"]);
}

#[test]
fn changed_input_reruns_the_step_and_downstream() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "changed" {
  param word: string = "one"
  step a = exec(argv: ["true"], effect: "read")
  step b = exec(argv: ["echo", "${word}"], effect: "read", after: [a])
  step c = exec(argv: ["echo", "${b.stdout}"], effect: "read")
}"#;
    let state = dir.path().join("state");
    assert_eq!(
        run(src, &[], &state, false, &[]).outcome.status,
        RunStatus::Ok
    );
    let again = run(src, &[("word", "two")], &state, false, &[]);
    assert_eq!(again.outcome.skipped, ["a"]);
    assert_eq!(started(&again), ["b", "c"]);
}

#[test]
fn manual_step_waits_without_a_terminal_then_approve_continues() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "human" {
  step a = exec(argv: ["echo", "/dev/sdb2"], effect: "read")
  manual ok "Is ${a.stdout} the right root?"
  step b = exec(argv: ["true"], effect: "read", after: [ok])
}"#;
    let state = dir.path().join("state");
    let first = run(src, &[], &state, false, &[]);
    assert_eq!(first.outcome.status, RunStatus::Waiting("ok".into()));
    assert_eq!(first.outcome.status.exit_code(), 3);
    assert!(first.events.iter().any(
        |(e, f)| e == "waiting" && f["text"].as_str().is_some_and(|t| t.contains("/dev/sdb2"))
    ));
    let second = run(src, &[], &state, false, &["ok"]);
    assert_eq!(second.outcome.status, RunStatus::Ok);
    let approval = second
        .events
        .iter()
        .find(|(e, _)| e == "approval")
        .expect("approval logged");
    assert_eq!(approval.1["by"], "tester");
    assert_eq!(approval.1["via"], "--approve");
}

#[test]
fn modify_needs_yes() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "risky" { step a = exec(argv: ["true"]) }"#;
    let r = run(src, &[], &dir.path().join("s1"), false, &[]);
    assert!(
        matches!(r.outcome.status, RunStatus::Refused(_)),
        "{:?}",
        r.outcome.status
    );
    assert!(
        started(&r).is_empty(),
        "a refused run must not start anything"
    );
    let r = run(src, &[], &dir.path().join("s2"), true, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok);
}

#[test]
fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "secret" {
  param password: secret
  step a = exec(argv: ["echo", "pw=${password}"], effect: "read")
}"#;
    let r = run(
        src,
        &[("password", "hunter2-xyz")],
        &dir.path().join("state"),
        false,
        &[],
    );
    assert_eq!(r.outcome.status, RunStatus::Ok);
    let all = serde_json::to_string(&r.events.iter().map(|(e, f)| (e, f)).collect::<Vec<_>>())
        .expect("json");
    assert!(!all.contains("hunter2-xyz"), "secret leaked: {all}");
    assert!(all.contains("(secret password)"));
}

#[test]
fn timeout_kills_the_program() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "slow" { step a = exec(argv: ["sleep", "30"], timeout: 200ms, effect: "read") }"#;
    let r = run(src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Failed);
    assert!(
        r.outcome.failed[0].1.contains("timed out"),
        "{:?}",
        r.outcome.failed
    );
}

#[test]
fn pipe_restores_a_dump_into_sqlite3() {
    if !salvage_testkit::require_tool("pipe_restores_a_dump_into_sqlite3", &["sqlite3"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let dump = dir.path().join("dump.sql");
    let db = dir.path().join("restored.db");
    let mut sql = String::from("BEGIN;\nCREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n");
    for i in 0..5000 {
        sql.push_str(&format!("INSERT INTO t VALUES ({i}, 'row {i}');\n"));
    }
    sql.push_str("COMMIT;\n");
    std::fs::write(&dump, &sql).expect("dump");
    let src = format!(
        r#"runbook "restore" {{ step r = pipe(from: "{}", into: ["sqlite3", "{}"], effect: "create") }}"#,
        dump.display(),
        db.display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    assert_eq!(r.outcome.outputs["r"]["bytes"], sql.len() as u64);
    let count = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM t")
        .output()
        .expect("sqlite3");
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "5000");
}

#[test]
fn state_is_locked_against_a_second_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let _held = StateDir::open(dir.path()).expect("first");
    let second = StateDir::open(dir.path());
    assert!(second.is_err_and(|e| e.to_string().contains("locked")));
}

#[test]
fn snapshot_qcow2_overlay_and_reflink_fallback() {
    if !salvage_testkit::require_tool("snapshot_qcow2_overlay_and_reflink_fallback", &["qemu-img"])
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("disk.img");
    std::fs::write(&base, vec![7u8; 1 << 20]).expect("image");
    let src = format!(
        r#"runbook "snaps" {{
  step q = snapshot(backend: "qcow2", source: "{b}", dest: "{d}/overlay.qcow2", keep: true)
  step q2 = snapshot(backend: "qcow2", source: q.path, dest: "{d}/overlay2.qcow2", keep: true)
  step t = snapshot(backend: "qcow2", source: "{b}", dest: "{d}/temp.qcow2")
  step r = snapshot(backend: "reflink", source: "{b}", dest: "{d}/clone.img", allow_copy: true, keep: true)
}}"#,
        b = base.display(),
        d = dir.path().display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    let info = std::process::Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(dir.path().join("overlay.qcow2"))
        .output()
        .expect("qemu-img");
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("qemu-img json");
    assert_eq!(info["format"], "qcow2");
    assert_eq!(info["backing-filename"], base.display().to_string());
    // An overlay over a qcow2 image reads its base as qcow2 (with -F raw it would be garbage).
    let info = std::process::Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(dir.path().join("overlay2.qcow2"))
        .output()
        .expect("qemu-img");
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).expect("qemu-img json");
    assert_eq!(info["backing-filename-format"], "qcow2", "{info}");
    assert_eq!(info["virtual-size"], 1 << 20, "{info}");
    assert!(
        !dir.path().join("temp.qcow2").exists(),
        "an overlay without keep is removed at the end of the run"
    );
    assert_eq!(
        std::fs::read(dir.path().join("clone.img")).expect("clone"),
        std::fs::read(&base).expect("base")
    );
    // A second snapshot onto the same dest is refused, never an overwrite.
    let again = run(&src, &[], &dir.path().join("state2"), false, &[]);
    assert_eq!(again.outcome.status, RunStatus::Failed);
}

#[test]
fn snapshot_reflink_without_fallback_refuses_on_a_filesystem_without_reflink() {
    let dir = tempfile::tempdir().expect("tmp");
    let base = dir.path().join("disk.img");
    std::fs::write(&base, b"data").expect("image");
    let dest = dir.path().join("clone.img");
    let src = format!(
        r#"runbook "snaps" {{ step r = snapshot(backend: "reflink", source: "{}", dest: "{}") }}"#,
        base.display(),
        dest.display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    // tmpfs and ext4 cannot reflink; btrfs and xfs can. Either way the result must be honest.
    match r.outcome.status {
        RunStatus::Ok => assert_eq!(std::fs::read(&dest).expect("clone"), b"data"),
        _ => {
            assert!(
                r.outcome.failed[0].1.contains("allow_copy"),
                "{:?}",
                r.outcome.failed
            );
            assert!(
                !dest.exists(),
                "a failed reflink must not leave a partial file"
            );
        }
    }
}

#[test]
fn pipe_survives_a_consumer_that_prints_a_lot() {
    // A consumer writing more than the pipe buffers and the kept MiB must not block.
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("in");
    std::fs::write(&input, vec![b'x'; 4 << 20]).expect("input");
    let src = format!(
        r#"runbook "loud" {{ step p = pipe(from: "{}", into: ["cat"], timeout: 20s, effect: "read") }}"#,
        input.display()
    );
    let r = run(&src, &[], &dir.path().join("state"), false, &[]);
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    assert_eq!(r.outcome.outputs["p"]["bytes"], 4u64 << 20);
}

#[test]
fn a_changed_input_file_reruns_the_step_and_what_follows() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("dump.sql");
    std::fs::write(&input, "one").expect("input");
    let src = format!(
        r#"runbook "files" {{
  step p = pipe(from: "{}", into: ["cat"], effect: "read")
  step q = exec(argv: ["true"], effect: "read", after: [p])
}}"#,
        input.display()
    );
    let state = dir.path().join("state");
    assert_eq!(
        run(&src, &[], &state, false, &[]).outcome.status,
        RunStatus::Ok
    );
    assert_eq!(
        run(&src, &[], &state, false, &[]).outcome.skipped,
        ["p", "q"]
    );
    // Same name, other contents: the step that reads it runs again, and so does what follows.
    std::fs::write(&input, "two, longer").expect("input");
    let again = run(&src, &[], &state, false, &[]);
    assert_eq!(
        started(&again),
        ["p", "q"],
        "skipped: {:?}",
        again.outcome.skipped
    );
    assert_eq!(
        run(&src, &[], &state, false, &[]).outcome.skipped,
        ["p", "q"]
    );
}

#[test]
fn a_secret_that_flows_through_a_step_output_stays_hidden() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = r#"runbook "secret" {
  param token: secret
  step a = exec(argv: ["echo", "token=${token}"], effect: "read")
  step b = exec(argv: ["echo", "got", a.stdout], effect: "read")
}"#;
    let r = run(
        src,
        &[("token", "hunter2-abc")],
        &dir.path().join("state"),
        false,
        &[],
    );
    assert_eq!(r.outcome.status, RunStatus::Ok, "{:?}", r.outcome.failed);
    let all = serde_json::to_string(&r.events).expect("json");
    assert!(!all.contains("hunter2-abc"), "secret leaked: {all}");
    // b really received it (through a's output): the redaction is of the log, not the data.
    assert!(
        r.outcome.outputs["b"]["stdout"]
            .as_str()
            .is_some_and(|s| s.contains("hunter2-abc"))
    );
}

#[test]
fn an_upstream_change_in_an_interrupted_run_still_reruns_what_follows() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("f.txt");
    let src = format!(
        r#"runbook "chain" {{
  param p: string = "one"
  step a = exec(argv: ["sh", "-c", "echo $0 > {f}", p], effect: "create")
  manual m "a exited ${{a.exit_code}}: go on?"
  step c = exec(argv: ["cat", "{f}"], after: [m], effect: "read")
}}"#,
        f = file.display()
    );
    let state = dir.path().join("state");
    let first = run(&src, &[], &state, false, &["m"]);
    assert_eq!(first.outcome.status, RunStatus::Ok);
    assert_eq!(first.outcome.outputs["c"]["stdout"], "one\n");
    // p changes: a reruns, then the run stops at m (no approval given this time).
    let second = run(&src, &[("p", "two")], &state, false, &[]);
    assert_eq!(second.outcome.status, RunStatus::Waiting("m".into()));
    // The same command again: a is current, but m and c were made against the old a, so m
    // asks again and c does not hand back the stale "one".
    let third = run(&src, &[("p", "two")], &state, false, &[]);
    assert_eq!(third.outcome.status, RunStatus::Waiting("m".into()));
    assert!(third.outcome.skipped.contains(&"a".to_string()));
    let fourth = run(&src, &[("p", "two")], &state, false, &["m"]);
    assert_eq!(fourth.outcome.status, RunStatus::Ok);
    assert_eq!(fourth.outcome.outputs["c"]["stdout"], "two\n");
    assert!(started(&fourth).contains(&"c".to_string()));
}

#[test]
fn a_torn_journal_line_does_not_swallow_the_next_record() {
    use salvage_engine::state::journal::Record;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.jsonl");
    let finished = |step: &str| Record::Finished {
        step: step.into(),
        fingerprint: "fp".into(),
        outputs: serde_json::json!({}),
        time: "2026-12-02T00:00:00Z".into(),
    };
    let (journal, _) = Journal::open(&path).expect("open");
    journal.append(&finished("a")).expect("append");
    drop(journal);
    // A crash in the middle of the next append.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.extend_from_slice(br#"{"record":"finished","step":"b","fingerp"#);
    std::fs::write(&path, &bytes).expect("tear");
    let (journal, replay) = Journal::open(&path).expect("reopen");
    assert!(replay.finished.contains_key("a"));
    journal
        .append(&finished("c"))
        .expect("append after the tear");
    drop(journal);
    let (_, replay) = Journal::open(&path).expect("reopen");
    assert!(replay.finished.contains_key("a"));
    assert!(
        replay.finished.contains_key("c"),
        "the record after a torn line survives"
    );
    // A whole record whose newline was cut off counts, and stays when the next is appended.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.pop();
    std::fs::write(&path, &bytes).expect("cut the newline");
    let (journal, replay) = Journal::open(&path).expect("reopen");
    assert!(replay.finished.contains_key("c"));
    journal.append(&finished("d")).expect("append");
    drop(journal);
    let (_, replay) = Journal::open(&path).expect("reopen");
    for step in ["a", "c", "d"] {
        assert!(replay.finished.contains_key(step), "{step} was lost");
    }
}
