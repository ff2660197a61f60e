//! Snapshots for real as root: a btrfs read-only subvolume snapshot removed by cleanup (and
//! kept with keep: true), and a reflink clone on btrfs.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn sh(argv: &[&str]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

use crate::common::output as salvage;

#[test]
fn btrfs_snapshot_is_removed_by_cleanup_and_reflink_clones() {
    if !salvage_testkit::require_tool(
        "btrfs_snapshot_is_removed_by_cleanup_and_reflink_clones",
        &["mkfs.btrfs", "btrfs"],
    ) {
        return;
    }
    if !salvage_testkit::require_root("btrfs_snapshot_is_removed_by_cleanup_and_reflink_clones") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let img = dir.path().join("btrfs.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let f = std::fs::File::create(&img).expect("img");
    f.set_len(256 << 20).expect("size");
    sh(&["mkfs.btrfs", "-q", img.to_str().expect("path")]);
    sh(&[
        "mount",
        "-o",
        "loop",
        img.to_str().expect("path"),
        mnt.to_str().expect("path"),
    ]);
    let _guard = Mounted(mnt.clone());
    let sub = mnt.join("data");
    sh(&["btrfs", "subvolume", "create", sub.to_str().expect("path")]);
    std::fs::write(sub.join("file"), vec![42u8; 1 << 20]).expect("write");
    let rb = dir.path().join("snap.salvage");
    std::fs::write(
        &rb,
        format!(
            r#"runbook "btrfs-snap" {{
  step s = snapshot(backend: "btrfs", source: "{sub}", dest: "{m}/snap")
  step k = snapshot(backend: "btrfs", source: "{sub}", dest: "{m}/kept", keep: true)
  step c = snapshot(backend: "reflink", source: "{sub}/file", dest: "{m}/clone", keep: true)
  step t = snapshot(backend: "reflink", source: "{sub}/file", dest: "{m}/temp-clone")
  step r = exec(argv: ["cmp", "{sub}/file", "{m}/temp-clone"], effect: "read", after: [t])
  step l = exec(argv: ["test", "-e", "{m}/snap/file"], effect: "read", after: [s])
}}"#,
            sub = sub.display(),
            m = mnt.display()
        ),
    )
    .expect("runbook");
    let state = dir.path().join("state");
    let out = salvage(&[
        "run",
        rb.to_str().expect("path"),
        "--state",
        state.to_str().expect("path"),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !Path::new(&mnt.join("snap")).exists(),
        "cleanup must delete the snapshot"
    );
    assert!(mnt.join("kept/file").exists(), "keep: true keeps it");
    assert_eq!(
        std::fs::read(mnt.join("clone")).expect("clone"),
        vec![42u8; 1 << 20]
    );
    assert!(
        !mnt.join("temp-clone").exists(),
        "a reflink snapshot without keep is removed at the end (after `r` compared it)"
    );
    let log = std::fs::read_to_string(state.join("log.jsonl")).expect("log");
    assert!(
        log.contains("btrfs subvolume delete"),
        "the cleanup is logged"
    );
}
