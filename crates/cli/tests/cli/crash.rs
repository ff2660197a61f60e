//! kill -9 at several points of a real run, then resume: the outputs equal an uninterrupted
//! run's, and nothing of ours is left attached (loop devices, mounts).

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn runbook(dir: &Path) -> PathBuf {
    let rb = dir.join("crash.salvage");
    std::fs::write(
        &rb,
        format!(
            r#"runbook "crash" {{
  param work: path = "{w}"
  step disk  = synth(dest: "${{work}}/disk.img", size: 24MiB, partitions: ["1MiB+20MiB ext4 root"], files: 60)
  step table = partitions(source: disk.path)
  step mnt   = mount(partition: table.partition[1])
  step hold  = exec(argv: ["sh", "-c", "while [ ! -e {w}/go ]; do sleep 0.05; done"], effect: "read", after: [mnt])
  step files = copy(from: mnt.path, to: "${{work}}/files", after: [hold])
  step proof = verify(manifest: files.manifest)
  output manifest = files.manifest
}}"#,
            w = dir.join("work").display()
        ),
    )
    .expect("write runbook");
    rb
}

/// A running salvage that is killed if the test fails before it ends (no stray runs holding
/// mounts after a failed test).
struct Run(Option<Child>);

impl Run {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    fn kill(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn wait_with_output(mut self) -> std::io::Result<std::process::Output> {
        self.0.take().expect("running").wait_with_output()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            std::thread::sleep(Duration::from_millis(500));
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start(rb: &Path, state: &Path) -> Run {
    Run(Some(
        crate::common::salvage()
            .args([
                "run",
                rb.to_str().expect("utf-8"),
                "--state",
                state.to_str().expect("utf-8"),
                "-q",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start salvage"),
    ))
}

/// Waits until the log holds a `step_started` of `step` after line `after`, at most 60 s;
/// returns the number of lines then.
fn wait_for_start(state: &Path, step: &str, after: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = std::fs::read_to_string(state.join("log.jsonl")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let found = lines.iter().skip(after).any(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .is_ok_and(|v| v["event"] == "step_started" && v["step"] == step)
        });
        if found {
            return lines.len();
        }
        assert!(
            Instant::now() < deadline,
            "the run never started {step}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_lines(state: &Path) -> usize {
    std::fs::read_to_string(state.join("log.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// Hashes of the copied files, by path (the manifest's entries).
fn copied(work: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(work.join("files.manifest.jsonl")).expect("manifest");
    let mut v: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["record"] == "entry")
        .map(|e| {
            (
                e["path"].as_str().unwrap_or("").to_string(),
                e["sha256"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn ours_left(root: &Path) -> Vec<String> {
    let mut left = Vec::new();
    let root_s = root.display().to_string();
    for entry in std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(b) = std::fs::read_to_string(entry.path().join("loop/backing_file")) {
            if b.trim().starts_with(&root_s) {
                left.push(format!(
                    "loop {}: {}",
                    entry.file_name().to_string_lossy(),
                    b.trim()
                ));
            }
        }
    }
    for line in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
    {
        if line
            .split(' ')
            .nth(4)
            .is_some_and(|m| m.starts_with(&root_s))
        {
            left.push(format!("mount: {line}"));
        }
    }
    left
}

#[test]
fn kill_9_at_several_points_then_resume() {
    if !salvage_testkit::require_tool("kill_9_at_several_points_then_resume", &["mkfs.ext4"]) {
        return;
    }
    if !salvage_testkit::require_root("kill_9_at_several_points_then_resume") {
        return;
    }
    // The uninterrupted run.
    let clean = tempfile::tempdir().expect("tmp");
    let rb = runbook(clean.path());
    std::fs::create_dir_all(clean.path().join("work")).expect("work");
    std::fs::write(clean.path().join("work/go"), "").expect("go");
    let out = start(&rb, &clean.path().join("state"))
        .wait_with_output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = copied(&clean.path().join("work"));
    assert!(
        expected.len() > 60,
        "the copy holds the files: {}",
        expected.len()
    );
    assert!(
        ours_left(clean.path()).is_empty(),
        "{:?}",
        ours_left(clean.path())
    );

    // Killed while the mount is live, then while copying, then resumed each time.
    let dir = tempfile::tempdir().expect("tmp");
    let rb = runbook(dir.path());
    let state = dir.path().join("state");
    for point in ["hold", "files"] {
        let before = log_lines(&state);
        let mut child = start(&rb, &state);
        wait_for_start(&state, point, before);
        if point == "files" {
            // Let the copy begin for real before the kill.
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill();
        if point == "hold" {
            assert!(
                !ours_left(dir.path()).is_empty(),
                "the killed run had a mount live"
            );
            std::fs::write(dir.path().join("work/go"), "").expect("go");
        }
    }
    let out = start(&rb, &state).wait_with_output().expect("resume");
    assert!(
        out.status.success(),
        "resume: {}\njournal:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(state.join("journal.jsonl")).unwrap_or_default()
    );
    assert_eq!(
        copied(&dir.path().join("work")),
        expected,
        "the resumed copy differs"
    );
    assert!(
        ours_left(dir.path()).is_empty(),
        "left attached: {:?}",
        ours_left(dir.path())
    );
    let log = std::fs::read_to_string(state.join("log.jsonl")).expect("log");
    assert!(
        log.contains("\"event\":\"recovered\""),
        "the crash leftovers were recovered and logged"
    );
    assert!(
        log.contains("\"event\":\"step_skipped\""),
        "finished steps were skipped on resume"
    );
    let verify = crate::common::salvage()
        .args([
            "review",
            state.join("log.jsonl").to_str().expect("utf-8"),
            "--verify",
        ])
        .output()
        .expect("review");
    assert!(
        verify.status.success(),
        "the log of killed runs still verifies: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn cleanup_command_undoes_a_killed_run() {
    if !salvage_testkit::require_tool("cleanup_command_undoes_a_killed_run", &["mkfs.ext4"]) {
        return;
    }
    if !salvage_testkit::require_root("cleanup_command_undoes_a_killed_run") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let rb = runbook(dir.path());
    let state = dir.path().join("state");
    let mut child = start(&rb, &state);
    wait_for_start(&state, "hold", 0);
    child.kill();
    assert!(
        !ours_left(dir.path()).is_empty(),
        "a mount was live when killed"
    );
    let out = crate::common::salvage()
        .args(["cleanup", "--state", state.to_str().expect("utf-8")])
        .output()
        .expect("cleanup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ours_left(dir.path()).is_empty(),
        "left: {:?}",
        ours_left(dir.path())
    );
}

#[test]
fn sigint_sigterm_and_sighup_stop_the_run_and_clean_up() {
    if !salvage_testkit::require_tool(
        "sigint_sigterm_and_sighup_stop_the_run_and_clean_up",
        &["mkfs.ext4"],
    ) {
        return;
    }
    if !salvage_testkit::require_root("sigint_sigterm_and_sighup_stop_the_run_and_clean_up") {
        return;
    }
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGHUP,
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let rb = runbook(dir.path());
        let state = dir.path().join("state");
        let child = start(&rb, &state);
        wait_for_start(&state, "hold", 0);
        assert!(
            !ours_left(dir.path()).is_empty(),
            "the mount is live before the signal"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).expect("signal");
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(130),
            "{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            ours_left(dir.path()).is_empty(),
            "{sig}: left attached: {:?}",
            ours_left(dir.path())
        );
        let log = std::fs::read_to_string(state.join("log.jsonl")).expect("log");
        let last: serde_json::Value =
            serde_json::from_str(log.lines().last().expect("a line")).expect("json");
        assert_eq!(last["event"], "run_finished");
        assert_eq!(last["status"], "interrupted", "{sig}");
        assert!(
            log.contains("\"event\":\"cleanup\""),
            "{sig}: the cleanup is logged"
        );
    }
}
