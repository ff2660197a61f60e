//! Secrets: given by file, by environment or at a terminal prompt (never on a command line),
//! handed to a program through its environment (never its argv), and never written anywhere:
//! not on the terminal (a failing step's stderr included), not in the state directory
//! (journal, log, anything else), not in `review`. While the run goes on, every process's
//! /proc/PID/cmdline is searched for the secret.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FILE_SECRET: &str = "Hunter2-from-a-file-7f3a";
const ENV_SECRET: &str = "EnvSecret-9c41-from-env";
/// A word in the waiting child's argv, so the /proc scan can prove it saw the child.
const CHILD_MARK: &str = "salvage-secret-test-child";

use crate::common::salvage;

use crate::common::text;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            let m = std::fs::symlink_metadata(&p).expect("stat");
            if m.is_dir() {
                todo.push(p);
            } else if m.is_file() {
                out.push(p);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    for s in [FILE_SECRET, ENV_SECRET] {
        assert!(
            !contains(bytes, s),
            "{what} holds the secret {s}:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Every process's argv: (pid, cmdline bytes).
fn all_cmdlines() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            out.push((name, c));
        }
    }
    out
}

fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const RUNBOOK: &str = r#"runbook "secrets" {
  param token: secret
  param other: secret
  step a = exec(argv: ["sh", "-c", "printf '%s|%s' \"$TOKEN\" \"$OTHER\" > got.partial && mv got.partial got; while [ ! -e go ]; do sleep 0.02; done; echo \"out $TOKEN\"", "salvage-secret-test-child"], env: ["TOKEN=${token}", "OTHER=${other}"], effect: "read")
  manual ok "continue after ${a.stdout}?"
  step b = exec(argv: ["sh", "-c", "echo \"$X\" > got2; echo \"err $OTHER $X\" >&2; exit 3"], env: ["X=${a.stdout}", "OTHER=${other}"], effect: "read", after: [ok])
  output said = a.stdout
}
"#;

#[test]
fn a_secret_by_file_and_by_environment_reaches_a_child_by_env_and_is_written_nowhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("secrets.salvage"), RUNBOOK).expect("write runbook");
    // Outside the state directory, as a real secret file would be; `echo` adds a newline.
    std::fs::write(d.join("token.txt"), format!("{FILE_SECRET}\n")).expect("write secret");
    let run = |extra: &[&str]| {
        let mut c = salvage();
        c.current_dir(d)
            .args([
                "run",
                "secrets.salvage",
                "--param-file",
                "token=token.txt",
                "--state",
                "st",
            ])
            .args(extra)
            .env("SALVAGE_PARAM_OTHER", ENV_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };

    // Run 1: step a's child waits until the test has looked at every process's argv.
    let child = run(&[]).spawn().expect("start salvage");
    wait_for(&d.join("got"), "the child to read its environment");
    let cmdlines = all_cmdlines();
    assert!(
        cmdlines.iter().any(|(_, c)| contains(c, CHILD_MARK)),
        "the scan did not see the running child"
    );
    for (pid, c) in &cmdlines {
        assert_no_secret(&format!("/proc/{pid}/cmdline"), c);
    }
    std::fs::write(d.join("go"), "").expect("release the child");
    let first = child.wait_with_output().expect("wait for salvage");
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    // The child read both secrets from its environment, exactly (the file's newline dropped).
    assert_eq!(
        std::fs::read_to_string(d.join("got")).expect("got"),
        format!("{FILE_SECRET}|{ENV_SECRET}")
    );

    // Run 2: approve; `a` is skipped and hands `b` its real output from the (redacted)
    // journal; `b` fails with the secrets on its stderr.
    let second = run(&["--approve", "ok"]).output().expect("run salvage");
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert_eq!(
        std::fs::read_to_string(d.join("got2")).expect("got2"),
        format!("out {FILE_SECRET}\n\n"),
        "a step skipped on resume handed on its real output"
    );

    // The terminal: both runs, stdout and stderr.
    for (n, out) in [(1, &first), (2, &second)] {
        assert_no_secret(&format!("run {n}'s stdout"), &out.stdout);
        assert_no_secret(&format!("run {n}'s stderr"), &out.stderr);
    }
    let shown = text(&second);
    assert!(
        shown.contains("err (secret other) out (secret token)"),
        "the failing step's stderr is shown, redacted: {shown}"
    );
    assert!(
        shown.contains("said = out (secret token)"),
        "the output is shown, redacted: {shown}"
    );

    // The state directory: journal, log, anchor, key, anything else.
    let files = files_under(&d.join("st"));
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")));
    assert!(files.iter().any(|f| f.ends_with("log.jsonl")));
    for f in &files {
        assert_no_secret(&f.display().to_string(), &std::fs::read(f).expect("read"));
    }
    let journal = std::fs::read_to_string(d.join("st/journal.jsonl")).expect("journal");
    assert!(journal.contains("out (secret token)"), "{journal}");

    // The review, every form.
    for args in [
        vec!["review", "st/log.jsonl"],
        vec!["review", "st/log.jsonl", "--format", "json"],
        vec!["review", "st/log.jsonl", "--verify"],
    ] {
        let out = salvage()
            .current_dir(d)
            .args(&args)
            .output()
            .expect("review");
        assert!(!out.stdout.is_empty(), "{args:?} printed nothing");
        assert_no_secret(&format!("{args:?} stdout"), &out.stdout);
        assert_no_secret(&format!("{args:?} stderr"), &out.stderr);
    }
    // The plan too, given the same way.
    let plan = salvage()
        .current_dir(d)
        .args(["plan", "secrets.salvage", "--param-file", "token=token.txt"])
        .env("SALVAGE_PARAM_other", ENV_SECRET)
        .output()
        .expect("plan");
    assert!(plan.status.success(), "{}", text(&plan));
    assert_no_secret("the plan", &[plan.stdout, plan.stderr].concat());
}

#[test]
fn the_checker_warns_of_a_secret_in_an_argv_and_refuses_a_bad_env_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let check = |body: &str| {
        let rb = format!("runbook \"w\" {{\n  param pw: secret\n{body}\n}}\n");
        std::fs::write(d.join("w.salvage"), rb).expect("write");
        salvage()
            .current_dir(d)
            .args(["check", "w.salvage"])
            .output()
            .expect("check")
    };
    let warned = check(
        r#"  step a = exec(argv: ["mysql", "-p${pw}"], effect: "read")
  step b = pipe(from: "/dev/null", into: ["psql", "--password=${pw}"], effect: "read")"#,
    );
    let t = text(&warned);
    assert_eq!(
        warned.status.code(),
        Some(0),
        "a warning, not an error: {t}"
    );
    assert_eq!(t.matches("shows in /proc/PID/cmdline").count(), 2, "{t}");
    assert!(t.contains("w.salvage:3:"), "names the line: {t}");
    assert!(t.contains("env:"), "says what to do instead: {t}");

    let quiet =
        check(r#"  step a = exec(argv: ["mysql"], env: ["MYSQL_PWD=${pw}"], effect: "read")"#);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet));
    assert!(!text(&quiet).contains("cmdline"), "{}", text(&quiet));

    let bad = check(r#"  step a = exec(argv: ["x"], env: ["NOEQUALS", "1X=y"], effect: "read")"#);
    let t = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{t}");
    assert!(
        t.contains("has no `=`") && t.contains("not a variable name"),
        "{t}"
    );
    assert!(t.contains("w.salvage:3:"), "{t}");
}

#[test]
fn a_bad_param_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("s.salvage"), RUNBOOK).expect("write");
    std::fs::write(d.join("bin.txt"), b"ab\xffcd").expect("write");
    for (file, want) in [
        ("missing.txt", "missing.txt: cannot read it"),
        ("bin.txt", "not UTF-8 text at byte offset 2"),
        (".", "not a regular file"),
    ] {
        let out = salvage()
            .current_dir(d)
            .args(["run", "s.salvage", "--state", "st"])
            .arg("--param-file")
            .arg(format!("token={file}"))
            .args(["--param", "other=x"])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(want), "{file}: {}", text(&out));
        assert!(!d.join("st").exists(), "{file}: nothing was started");
    }
    // No way in at all, and no terminal to ask at: the error says how to give it.
    let out = salvage()
        .current_dir(d)
        .args(["run", "s.salvage", "--state", "st", "--param", "other=x"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("pass --param-file token=FILE or set SALVAGE_PARAM_token"),
        "{}",
        text(&out)
    );
}

/// Runs `script` (a pseudo-terminal) around `cmd`, types `keys` once the prompt shows, and
/// returns everything the terminal showed.
fn at_a_terminal(dir: &Path, cmd: &str, keys: &[u8]) -> Option<String> {
    at_a_terminal_then(dir, cmd, |stdin| {
        stdin.write_all(keys).expect("type");
        stdin.flush().expect("flush");
    })
}

/// [`at_a_terminal`] with what to do once the prompt shows.
fn at_a_terminal_then(
    dir: &Path,
    cmd: &str,
    act: impl FnOnce(&mut std::process::ChildStdin),
) -> Option<String> {
    if !salvage_testkit::require_tool("secrets (at a terminal)", &["script"]) {
        return None;
    }
    let mut child = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start script");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !contains(&seen.lock().expect("lock"), "not echoed") {
        assert!(
            Instant::now() < deadline,
            "no prompt: {}",
            String::from_utf8_lossy(&seen.lock().expect("lock"))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    act(&mut stdin);
    let status = child.wait().expect("wait");
    drop(stdin);
    reader.join().expect("reader");
    assert!(status.success() || status.code().is_some());
    let out = String::from_utf8_lossy(&seen.lock().expect("lock")).into_owned();
    Some(out)
}

const PROMPTED: &str = r#"runbook "prompted" {
  param token: secret
  step a = exec(argv: ["sh", "-c", "printf '%s' \"$T\" > got"], env: ["T=${token}"], effect: "read")
}
"#;

#[test]
fn a_missing_secret_is_asked_at_the_terminal_without_echo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("p.salvage"), PROMPTED).expect("write");
    let bin = env!("CARGO_BIN_EXE_salvage");
    let cmd = format!("{bin} run p.salvage --state st -q; echo \"rc=$?\"; stty -a");
    let Some(shown) = at_a_terminal(d, &cmd, format!("{FILE_SECRET}\r").as_bytes()) else {
        return;
    };
    assert!(shown.contains("rc=0"), "{shown}");
    assert_eq!(
        std::fs::read_to_string(d.join("got")).expect("got"),
        FILE_SECRET
    );
    assert!(!shown.contains(FILE_SECRET), "echoed: {shown}");
    assert!(
        shown.contains(" echo ") && !shown.contains("-echo "),
        "the terminal's echo is back on: {shown}"
    );
    for f in files_under(&d.join("st")) {
        assert_no_secret(&f.display().to_string(), &std::fs::read(&f).expect("read"));
    }
}

#[test]
fn ctrl_c_at_the_secret_prompt_stops_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("p.salvage"), PROMPTED).expect("write");
    let bin = env!("CARGO_BIN_EXE_salvage");
    let cmd = format!("{bin} run p.salvage --state st -q; echo \"rc=$?\"; stty -a");
    let Some(shown) = at_a_terminal(d, &cmd, b"half\x03") else {
        return;
    };
    assert!(shown.contains("rc=130"), "{shown}");
    assert!(shown.contains("interrupted"), "{shown}");
    assert!(
        shown.contains(" echo ") && !shown.contains("-echo "),
        "the terminal's echo is back on: {shown}"
    );
    assert!(
        shown.contains("isig") && !shown.contains("-isig"),
        "{shown}"
    );
    assert!(!d.join("got").exists());
}

#[test]
fn sigterm_at_the_secret_prompt_stops_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("p.salvage"), PROMPTED).expect("write");
    let bin = env!("CARGO_BIN_EXE_salvage");
    let state = d.join("st-sigterm");
    let state_arg = state.display().to_string();
    let cmd = format!("{bin} run p.salvage --state {state_arg} -q; echo \"rc=$?\"; stty -a");
    let Some(shown) = at_a_terminal_then(d, &cmd, |_| {
        let ours: Vec<u32> = all_cmdlines()
            .into_iter()
            .filter(|(_, c)| {
                contains(c, &state_arg) && contains(c, "p.salvage") && !contains(c, "stty")
            })
            .filter_map(|(pid, _)| pid.parse().ok())
            .collect();
        assert_eq!(ours.len(), 1, "the salvage process at the prompt");
        // SAFETY: kill(2) to the process this test started.
        unsafe {
            libc::kill(ours[0] as i32, libc::SIGTERM);
        }
    }) else {
        return;
    };
    assert!(shown.contains("rc=130"), "{shown}");
    assert!(
        shown.contains(" echo ") && !shown.contains("-echo "),
        "the terminal's echo is back on: {shown}"
    );
}

#[test]
fn pipe_hands_a_secret_to_its_program_through_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("pipe.salvage"),
        r#"runbook "piped" {
  param token: secret
  step p = pipe(from: "data.txt", into: ["sh", "-c", "cat > got-data; printf '%s' \"$T\" > got-env"], env: ["T=${token}"], effect: "read")
}
"#,
    )
    .expect("write");
    std::fs::write(d.join("data.txt"), "streamed bytes").expect("write");
    std::fs::write(d.join("tok"), format!("{FILE_SECRET}\n")).expect("write");
    let out = salvage()
        .current_dir(d)
        .args([
            "run",
            "pipe.salvage",
            "--param-file",
            "token=tok",
            "--state",
            "st",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(d.join("got-data")).expect("data"),
        "streamed bytes"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("got-env")).expect("env"),
        FILE_SECRET
    );
    assert_no_secret("the terminal", &[out.stdout, out.stderr].concat());
    for f in files_under(&d.join("st")) {
        assert_no_secret(&f.display().to_string(), &std::fs::read(&f).expect("read"));
    }
}
