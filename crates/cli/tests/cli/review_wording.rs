//! What the summary, `review` and `cleanup` say must agree with what happened: an interrupted
//! step is INTERRUPTED in both the summary and the review; a reflink snapshot that fell back to
//! a copy is called a copy; `salvage cleanup` lists what it undid.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::output_in as salvage;

use crate::common::text;

/// A snapshot (a reflink where the filesystem can, else a copy) and a step that waits.
const RUNBOOK: &str = r#"runbook "words" {
  step snap = snapshot(backend: "reflink", source: "disk.img", dest: "snap.img", allow_copy: true)
  step wait = exec(argv: ["sh", "-c", "echo $$ > child.pid; exec sleep 60"], effect: "read", after: [snap])
}
"#;

/// Starts the run and waits until the waiting step's child is running.
fn start(dir: &Path) -> Child {
    std::fs::write(dir.join("words.salvage"), RUNBOOK).expect("write");
    std::fs::write(dir.join("disk.img"), vec![7u8; 64 * 1024]).expect("disk");
    let child = crate::common::salvage()
        .args(["run", "words.salvage", "--state", "st"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start salvage");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(dir.join("child.pid")).is_ok_and(|p| p.ends_with('\n')) {
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid this test started.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

fn kill_child_of_step(dir: &Path) {
    if let Ok(pid) = std::fs::read_to_string(dir.join("child.pid"))
        && let Ok(pid) = pid.trim().parse::<u32>()
    {
        signal(pid, libc::SIGKILL);
    }
}

#[test]
fn an_interrupted_step_is_interrupted_in_the_summary_and_the_review() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let child = start(d);
    signal(child.id(), libc::SIGINT);
    let out = child.wait_with_output().expect("wait");
    kill_child_of_step(d);
    let summary = text(&out);
    assert_eq!(out.status.code(), Some(130), "{summary}");
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("wait "))
        .unwrap_or_else(|| panic!("no summary line for wait: {summary}"));
    assert!(line.contains("INTERRUPTED"), "{line}");

    let review = salvage(d, &["review", "st/log.jsonl"]);
    let r = text(&review);
    let step = r
        .lines()
        .find(|l| l.contains("wait (exec, read)"))
        .unwrap_or_else(|| panic!("no review line for wait: {r}"));
    assert!(step.contains("INTERRUPTED"), "{step}");
    assert!(!r.contains("FAILED"), "{r}");
    assert!(r.contains("1 interrupted"), "{r}");
}

#[test]
fn a_copy_snapshot_is_called_a_copy_and_cleanup_lists_what_it_undid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut child = start(d);
    // A crash: nothing is cleaned up by the run itself.
    child.kill().expect("kill -9");
    let _ = child.wait();
    kill_child_of_step(d);
    assert!(
        d.join("snap.img").exists(),
        "the crashed run left its snapshot"
    );

    let journal = std::fs::read_to_string(d.join("st/journal.jsonl")).expect("journal");
    let log = std::fs::read_to_string(d.join("st/log.jsonl")).expect("log");
    let copied = log.contains("\"stdout\":\"plain copy");
    let review = text(&salvage(d, &["review", "st/log.jsonl"]));
    if copied {
        assert!(
            review.contains("snapshot copy (reflink not possible)"),
            "{review}"
        );
        assert!(!review.contains("reflink snapshot"), "{review}");
        assert!(!review.contains("ioctl(FICLONE)"), "{review}");
    } else {
        // This filesystem clones: then it is a reflink, and says so.
        assert!(review.contains("reflink snapshot"), "{review}");
    }
    assert!(journal.contains("\"record\":\"attached\""), "{journal}");

    let cleanup = salvage(d, &["cleanup", "--state", "st"]);
    let c = text(&cleanup);
    assert_eq!(cleanup.status.code(), Some(0), "{c}");
    let undone = c
        .lines()
        .find(|l| l.starts_with("undone: "))
        .unwrap_or_else(|| panic!("cleanup does not list what it undid: {c}"));
    assert!(
        undone.contains("snap.img") && undone.contains("(step snap)"),
        "{undone}"
    );
    assert!(c.contains("1 undone, 0 already gone"), "{c}");
    assert!(!d.join("snap.img").exists(), "the leftover was removed");

    let again = salvage(d, &["cleanup", "--state", "st"]);
    assert!(
        text(&again).contains("nothing was left attached"),
        "{}",
        text(&again)
    );
}
