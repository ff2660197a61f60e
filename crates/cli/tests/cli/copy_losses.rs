//! A copy that recovered nothing is a failure; one that lost some entries it was asked for
//! ends "completed with losses": exit 6 for `salvage copy` and `salvage run`, PARTIAL with
//! counts in the run summary and in `salvage review`. Made on ext4 images whose directory
//! blocks are overwritten with garbage (the userspace reader, any user).

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `program` (e2fsprogs), or a skip naming it (a failure in CI).
fn have(program: &str) -> bool {
    salvage_testkit::require_tool(module_path!(), &[program])
}

use crate::common::output as salvage;

use crate::common::text;

/// An ext4 image (1 KiB blocks) of `tree` with the blocks of directory `dir` overwritten.
fn damaged_image(root: &Path, dir: &str) -> PathBuf {
    let tree = root.join("tree");
    std::fs::create_dir_all(tree.join("lost")).unwrap();
    for i in 0..5 {
        std::fs::write(tree.join(format!("lost/f{i}")), format!("lost {i}\n")).unwrap();
    }
    std::fs::write(tree.join("kept"), b"kept\n").unwrap();
    let img = root.join("fs.img");
    salvage_testkit::ext4_image(&tree, &img, "4M", &["-b", "1024"]);
    let blocks = Command::new("debugfs")
        .args(["-R", &format!("blocks {dir}")])
        .arg(&img)
        .output()
        .expect("debugfs blocks");
    let listed = String::from_utf8_lossy(&blocks.stdout).into_owned();
    let numbers: Vec<u64> = listed
        .split_whitespace()
        .map(|b| b.parse().expect("a block number"))
        .collect();
    assert!(!numbers.is_empty(), "debugfs listed no block for {dir}");
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    for b in numbers {
        f.write_all_at(&[0xA5; 1024], b * 1024).unwrap();
    }
    img
}

fn runbook(root: &Path, img: &Path) -> PathBuf {
    let rb = root.join("copy.salvage");
    std::fs::write(
        &rb,
        format!(
            "runbook \"losses\" {{\n  step files = copy(from: \"userspace-ext:{}?offset=0\", to: \"{}\")\n}}\n",
            img.display(),
            root.join("files").display()
        ),
    )
    .unwrap();
    rb
}

#[test]
fn an_unreadable_root_directory_is_a_failure_not_ok() {
    if !have("mke2fs") || !have("debugfs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = damaged_image(tmp.path(), "/");
    let out_dir = tmp.path().join("out");
    let copy = salvage(&["copy", img.to_str().unwrap(), out_dir.to_str().unwrap()]);
    assert_eq!(copy.status.code(), Some(2), "{}", text(&copy));
    assert!(
        text(&copy).contains("nothing was recovered"),
        "{}",
        text(&copy)
    );

    let rb = runbook(tmp.path(), &img);
    let state = tmp.path().join("state");
    let run = salvage(&[
        "run",
        rb.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--quiet",
    ]);
    let t = text(&run);
    assert_eq!(run.status.code(), Some(1), "{t}");
    assert!(t.contains("FAILED: copy: nothing was recovered"), "{t}");
    let review = salvage(&["review", state.join("log.jsonl").to_str().unwrap()]);
    let r = text(&review);
    assert!(r.contains("FAILED"), "{r}");
    assert!(!r.contains(": ok in"), "{r}");
}

#[test]
fn lost_entries_end_as_completed_with_losses_exit_6_and_partial_in_review() {
    if !have("mke2fs") || !have("debugfs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = damaged_image(tmp.path(), "/lost");
    let out_dir = tmp.path().join("out");
    let copy = salvage(&["copy", img.to_str().unwrap(), out_dir.to_str().unwrap()]);
    let t = text(&copy);
    assert_eq!(copy.status.code(), Some(6), "{t}");
    assert!(
        t.contains("PARTIAL: completed with losses: 1 entries not recovered"),
        "{t}"
    );
    assert_eq!(std::fs::read(out_dir.join("kept")).unwrap(), b"kept\n");

    let rb = runbook(tmp.path(), &img);
    let state = tmp.path().join("state");
    let run = salvage(&[
        "run",
        rb.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--quiet",
    ]);
    let t = text(&run);
    assert_eq!(run.status.code(), Some(6), "{t}");
    assert!(
        t.contains(
            "runbook \"losses\": PARTIAL: completed with losses (1 entries lost in 1 step(s))"
        ),
        "{t}"
    );
    assert!(t.contains("PARTIAL: 1 entries lost"), "{t}");
    let review = salvage(&["review", state.join("log.jsonl").to_str().unwrap()]);
    let r = text(&review);
    assert!(
        r.contains("PARTIAL: completed with losses, 1 entries lost"),
        "{r}"
    );
    assert!(r.contains("1 ok (1 PARTIAL: completed with losses)"), "{r}");
    assert!(r.contains("partial in"), "{r}");

    // A rerun skips the finished copy and still ends with losses.
    let again = salvage(&[
        "run",
        rb.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--quiet",
    ]);
    let t = text(&again);
    assert_eq!(again.status.code(), Some(6), "{t}");
    assert!(
        t.contains("skipped (done in an earlier run; PARTIAL: 1 entries lost"),
        "{t}"
    );
}
