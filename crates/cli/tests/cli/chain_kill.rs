//! kill -9 at random moments of a run of many trivial steps (the journal and the log are
//! synced in groups, behind the steps): every step the journal calls finished is skipped on
//! resume, never started again, and the log still verifies (after each kill and at the end).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: usize = 300;

/// A chain of `STEPS` trivial steps; every 7th creates a file (not read-only: it starts only
/// once what finished before it is durable).
fn runbook(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("work");
    let mut text = String::from("runbook \"chain\" {\n");
    for i in 0..STEPS {
        let after = if i == 0 {
            String::new()
        } else {
            format!(", after: [s{}]", i - 1)
        };
        if i % 7 == 3 {
            let f = work.join(format!("s{i}"));
            text.push_str(&format!(
                "  step s{i} = exec(argv: [\"touch\", \"{}\"], effect: \"create\"{after})\n",
                f.display()
            ));
        } else {
            text.push_str(&format!(
                "  step s{i} = exec(argv: [\"true\"], effect: \"read\"{after})\n"
            ));
        }
    }
    text.push_str("}\n");
    let rb = dir.join("chain.salvage");
    std::fs::write(&rb, text).expect("write runbook");
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
        .args(["-q", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The steps the journal calls finished: a `finished` record not followed by a `started` of
/// the same step (a torn last line is ignored, as the journal's reader does).
fn journal_finished(state: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(state.join("journal.jsonl")).unwrap_or_default();
    let mut done = BTreeSet::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v["step"].as_str().unwrap_or_default().to_string();
        match v["record"].as_str() {
            Some("finished") => {
                done.insert(step);
            }
            Some("started") => {
                done.remove(&step);
            }
            _ => {}
        }
    }
    done
}

/// The log's events from the last `run_started` on, as (event, step).
fn last_run_events(state: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(state.join("log.jsonl")).expect("log");
    let events: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["event"].as_str().unwrap_or_default().to_string(),
                v["step"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let start = events
        .iter()
        .rposition(|(e, _)| e == "run_started")
        .expect("a run_started");
    events[start..].to_vec()
}

/// Every step in `finished` was skipped by the last run and not started by it.
fn assert_skipped(state: &Path, finished: &BTreeSet<String>, seed: u64) {
    let events = last_run_events(state);
    let of = |kind: &str| -> BTreeSet<String> {
        events
            .iter()
            .filter(|(e, _)| e == kind)
            .map(|(_, s)| s.clone())
            .collect()
    };
    let (skipped, started) = (of("step_skipped"), of("step_started"));
    let not_skipped: Vec<_> = finished.difference(&skipped).collect();
    let rerun: Vec<_> = finished.intersection(&started).collect();
    assert!(
        not_skipped.is_empty() && rerun.is_empty(),
        "seed {seed}: steps the journal called finished were not skipped {not_skipped:?} or \
         ran again {rerun:?}"
    );
}

/// The log a killed run left verifies: its chain is whole, and its anchor records its last
/// line, or the line before it when the kill fell between the log's write and the anchor's
/// (a few microseconds, with no `fdatasync` between them).
fn assert_verifies_after_kill(state: &Path, seed: u64) {
    let out = crate::common::salvage()
        .args(["review", "--verify", "--format", "json"])
        .arg(state.join("log.jsonl"))
        .output()
        .expect("review --verify");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "seed {seed}: review --verify --format json: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let problems = report["verify"]["problems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let anchor_one_behind = problems.len() == 1
        && problems[0]["kind"]["kind"] == "anchor_extra"
        && problems[0]["kind"]["extra"] == 1;
    assert!(
        problems.is_empty() || anchor_one_behind,
        "seed {seed}: the log a killed run left does not verify: {problems:#?}"
    );
}

/// A small xorshift: the kill points vary from run to run, and a failure names its seed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn kill_9_at_random_moments_of_a_chain_then_resume() {
    let dir = tempfile::tempdir().expect("tmp");
    let rb = runbook(dir.path());
    let state = dir.path().join("state");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let first_seed = seed;
    let mut before: Option<BTreeSet<String>> = None;
    for round in 0..5 {
        // Kill once the journal has finished a random number of steps more than the last
        // kill left (so this run got past its skips), plus a random few hundred microseconds:
        // anywhere in a step's life.
        let done = before.as_ref().map_or(0, BTreeSet::len);
        let target = done + 1 + (next(&mut seed) % 50) as usize;
        let child = run(&rb, &state).spawn().expect("start salvage");
        let mut child = Run(Some(child));
        let deadline = Instant::now() + Duration::from_secs(120);
        while journal_finished(&state).len() < target {
            if let Some(c) = child.0.as_mut()
                && c.try_wait().ok().flatten().is_some()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "seed {first_seed}: round {round}: the run never finished {target} steps"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(next(&mut seed) % 800));
        drop(child);
        assert_verifies_after_kill(&state, first_seed);
        if let Some(finished) = &before {
            assert_skipped(&state, finished, first_seed);
        }
        let finished = journal_finished(&state);
        if let Some(earlier) = &before {
            assert!(
                earlier.is_subset(&finished),
                "seed {first_seed}: a finished step is no longer finished"
            );
        }
        before = Some(finished);
    }
    let out = run(&rb, &state).output().expect("resume");
    assert!(
        out.status.success(),
        "seed {first_seed}: the resumed run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let finished = before.expect("killed at least once");
    assert!(
        !finished.is_empty(),
        "seed {first_seed}: the kills left no finished step to skip"
    );
    assert_skipped(&state, &finished, first_seed);
    assert_eq!(
        journal_finished(&state).len(),
        STEPS,
        "seed {first_seed}: every step finished in the end"
    );
    let verify = crate::common::salvage()
        .args(["review", "--verify"])
        .arg(state.join("log.jsonl"))
        .output()
        .expect("review --verify");
    assert_eq!(
        verify.status.code(),
        Some(0),
        "seed {first_seed}: the log does not verify:\n{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
