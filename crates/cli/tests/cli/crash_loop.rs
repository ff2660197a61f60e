//! kill -9 in the middle of a `for` loop (ext4, swap, ext4: instance 1 copied, instance 3
//! mounted and waiting), then resume: instance 1 is not done again, the swap instance is
//! skipped by `when:` again, instance 3 finishes, and the copies equal the disk's files.
//! And kill -9 after a loop and after the step that follows it (reading the loop's outputs,
//! and one waiting for a step inside it): on resume neither the loop nor those steps run again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn runbook(dir: &Path) -> PathBuf {
    let rb = dir.join("loop.salvage");
    std::fs::write(
        &rb,
        format!(
            r#"runbook "kill-mid-loop" {{
  param work: path = "{w}"
  step disk  = synth(dest: "${{work}}/disk.img", size: 48MiB, partitions: ["1MiB+20MiB ext4 data", "21MiB+4MiB swap", "25MiB+20MiB ext4 root"], files: 20, seed: 3)
  step table = partitions(source: disk.path)
  for part in table.partitions {{
    step mnt   = mount(partition: part, when: part.fstype == "ext4")
    step hold  = exec(argv: ["sh", "-c", "[ ${{part.number}} != 3 ] || while [ ! -e {w}/go ]; do sleep 0.05; done"], effect: "read", after: [mnt])
    step files = copy(from: mnt.path, to: "${{work}}/p${{part.number}}", after: [hold])
  }}
  output manifests = files.manifest
}}"#,
            w = dir.join("work").display()
        ),
    )
    .expect("write runbook");
    rb
}

/// A salvage run, killed with SIGKILL when dropped before it ends.
struct Run(Option<Child>);

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn run(rb: &Path, state: &Path) -> Command {
    let mut c = crate::common::salvage();
    c.args(["run", rb.to_str().expect("utf-8"), "--state"])
        .arg(state)
        .arg("-q")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The log's events as (event, step, reason).
fn events(state: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(state.join("log.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            (s("event"), s("step"), s("reason"))
        })
        .collect()
}

/// The files a copy's manifest lists as copied, with the sha256 of each copy on disk, sorted
/// (the manifest's own hashes are blake3; synth's list of what it made is sha256).
fn copied(manifest: &Path) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect();
    let dest = records
        .iter()
        .find(|r| r["record"] == "header")
        .and_then(|h| h["dest"].as_str())
        .map(PathBuf::from)
        .expect("manifest header names its dest");
    let mut v: Vec<(String, String)> = records
        .iter()
        .filter(|e| e["record"] == "entry" && e["status"] == "copied" && e["kind"] == "file")
        .map(|e| {
            let path = e["path"].as_str().unwrap_or("").to_string();
            let sha = salvage_testkit::filesystem::sha256_file(&dest.join(&path));
            (path, sha)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn kill_9_mid_loop_then_resume() {
    let name = "kill_9_mid_loop_then_resume";
    if !salvage_testkit::require_tool(name, &["mkfs.ext4"]) || !salvage_testkit::require_root(name)
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work");
    let rb = runbook(dir.path());
    let state = dir.path().join("state");

    let mut first = Run(Some(run(&rb, &state).spawn().expect("start")));
    let deadline = Instant::now() + Duration::from_secs(60);
    // Killed once instance 1 is copied and instance 3 waits, its mount live.
    loop {
        let ev = events(&state);
        let copied_1 = ev
            .iter()
            .any(|(e, s, _)| e == "step_finished" && s == "files[1]");
        let holding_3 = ev
            .iter()
            .any(|(e, s, _)| e == "step_started" && s == "hold[3]");
        if copied_1 && holding_3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the loop never got there: {ev:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = first.0.take().map(|mut c| {
        c.kill().expect("kill -9");
        c.wait().expect("wait")
    });
    assert!(killed.is_some_and(|s| !s.success()));
    let before = events(&state).len();

    std::fs::write(work.join("go"), "").expect("go");
    let out = run(&rb, &state).output().expect("resume");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let resumed: Vec<(String, String, String)> = events(&state).split_off(before);
    let skipped = |step: &str, why: &str| {
        resumed
            .iter()
            .any(|(e, s, r)| e == "step_skipped" && s == step && r.starts_with(why))
    };
    let started = |step: &str| {
        resumed
            .iter()
            .any(|(e, s, _)| e == "step_started" && s == step)
    };
    // Instance 1 finished before the kill: not done again.
    assert!(skipped("files[1]", "resumed"), "{resumed:?}");
    assert!(!started("files[1]") && !started("mnt[1]"), "{resumed:?}");
    // The swap partition: skipped by its when: in both runs.
    assert!(skipped("mnt[2]", "when part.fstype"), "{resumed:?}");
    assert!(skipped("files[2]", "needs mnt[2]"), "{resumed:?}");
    // Instance 3 was cut short: mounted again (the kill's mount was undone) and copied.
    assert!(started("mnt[3]") && started("files[3]"), "{resumed:?}");
    assert!(
        stderr.contains("skipped (when part.fstype == \"ext4\")"),
        "{stderr}"
    );
    let manifests = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        manifests.contains("p1.manifest.jsonl") && manifests.contains("p3.manifest.jsonl"),
        "{manifests}"
    );

    // What was copied is what the disk holds: every file synth made, by hash.
    let made = std::fs::read_to_string(work.join("disk.img.files.jsonl")).expect("files");
    for (part, manifest) in [(1, "p1.manifest.jsonl"), (3, "p3.manifest.jsonl")] {
        let got = copied(&work.join(manifest));
        let mut want: Vec<(String, String)> = made
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["partition"] == part)
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
                (
                    format!("/{}", s("path").trim_start_matches('/')),
                    s("sha256"),
                )
            })
            .collect();
        want.sort();
        assert!(!want.is_empty());
        for w in &want {
            assert!(
                got.iter()
                    .any(|g| g.1 == w.1
                        && g.0.trim_start_matches('/') == w.0.trim_start_matches('/')),
                "partition {part}: {} not copied",
                w.0
            );
        }
    }
    assert!(!work.join("p2").exists(), "the swap partition was copied");
    // Nothing of ours left mounted.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = dir.path().display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&root)),
        "left mounted:\n{mounts}"
    );
}

/// A loop, a step reading its outputs, a step ordered after a step inside it, then a step that
/// waits for `go`.
fn runbook_after(dir: &Path) -> PathBuf {
    let rb = dir.join("after.salvage");
    std::fs::write(
        &rb,
        format!(
            r#"runbook "kill-after-loop" {{
  param work: path = "{w}"
  step disk  = synth(dest: "${{work}}/disk.img", size: 48MiB, partitions: ["1MiB+20MiB ext4 data", "21MiB+4MiB swap", "25MiB+20MiB ext4 root"], files: 8, seed: 4)
  step table = partitions(source: disk.path)
  for part in table.partitions {{
    step mnt   = mount(partition: part, when: part.fstype == "ext4")
    step files = copy(from: mnt.path, to: "${{work}}/p${{part.number}}")
  }}
  step first = exec(argv: ["wc", "-l", files.manifest[1]], effect: "read")
  step stamp = exec(argv: ["sh", "-c", "date +%s%N >> {w}/stamps"], effect: "create", after: [files])
  step hold  = exec(argv: ["sh", "-c", "while [ ! -e {w}/go ]; do sleep 0.05; done"], effect: "read", after: [first, stamp])
  output lines = first.stdout
}}"#,
            w = dir.join("work").display()
        ),
    )
    .expect("write runbook");
    rb
}

#[test]
fn kill_9_after_a_loop_then_resume() {
    let name = "kill_9_after_a_loop_then_resume";
    if !salvage_testkit::require_tool(name, &["mkfs.ext4"]) || !salvage_testkit::require_root(name)
    {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work");
    let rb = runbook_after(dir.path());
    let state = dir.path().join("state");

    let mut first = Run(Some(run(&rb, &state).spawn().expect("start")));
    let deadline = Instant::now() + Duration::from_secs(60);
    // Killed once the loop and the steps after it are done and `hold` waits.
    loop {
        let ev = events(&state);
        if ev
            .iter()
            .any(|(e, s, _)| e == "step_started" && s == "hold")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the run never got there: {ev:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = first.0.take().map(|mut c| {
        c.kill().expect("kill -9");
        c.wait().expect("wait")
    });
    assert!(killed.is_some_and(|s| !s.success()));
    let before = events(&state).len();
    let stamps = std::fs::read_to_string(work.join("stamps")).expect("stamps");
    assert_eq!(stamps.lines().count(), 1, "{stamps}");

    std::fs::write(work.join("go"), "").expect("go");
    let out = run(&rb, &state).output().expect("resume");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let resumed: Vec<(String, String, String)> = events(&state).split_off(before);
    let skipped = |step: &str| {
        resumed
            .iter()
            .any(|(e, s, r)| e == "step_skipped" && s == step && r.starts_with("resumed"))
    };
    let started: Vec<&str> = resumed
        .iter()
        .filter(|(e, _, _)| e == "step_started")
        .map(|(_, s, _)| s.as_str())
        .collect();
    // Only the step the kill cut short runs again.
    assert_eq!(started, ["hold"], "{resumed:?}");
    for step in ["files[1]", "files[3]", "first", "stamp"] {
        assert!(skipped(step), "{step} not skipped as done: {resumed:?}");
    }
    let stamps = std::fs::read_to_string(work.join("stamps")).expect("stamps");
    assert_eq!(stamps.lines().count(), 1, "`stamp` ran again: {stamps}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("lines ="), "{stdout}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = dir.path().display().to_string();
    assert!(
        !mounts.lines().any(|l| l.contains(&root)),
        "left mounted:\n{mounts}"
    );
}
