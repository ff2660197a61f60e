//! kill -9 in the middle of a `for` loop (ext4, swap, ext4: instance 1 copied, instance 3
//! mounted and waiting), then resume: instance 1 is not done again, the swap instance is
//! skipped by `when:` again, instance 3 finishes, and the copies equal the disk's files.

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

/// Hashes of the files a copy's manifest lists, sorted.
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
        .map(std::path::PathBuf::from);
    // Manifest format 1 names each file's SHA-256; format 2 its BLAKE3, which must be the
    // copied file's, whose SHA-256 is then compared with synth's.
    let mut v: Vec<(String, String)> = records
        .iter()
        .filter(|e| e["record"] == "entry" && e["status"] == "copied")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            let path = s("path");
            let sha = match (e["sha256"].as_str(), e["blake3"].as_str(), &dest) {
                (Some(h), _, _) => h.to_string(),
                (None, Some(b3), Some(d)) => {
                    assert_eq!(
                        salvage_testkit::filesystem::blake3_file(&d.join(&path)),
                        b3,
                        "{path}"
                    );
                    salvage_testkit::filesystem::sha256_file(&d.join(&path))
                }
                _ => String::new(),
            };
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
