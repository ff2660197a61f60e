//! A directory hard-link loop in a corrupt or hostile ext4 (made with `debugfs -w -R "link dir
//! dir/sub/loop"`): the copy must end, with bounded output, naming the loop once; by the
//! userspace reader (any user) and from the kernel's read-only mount (root).

use std::path::Path;
use std::process::Command;

use salvage_filesystem::{EntryStatus, Manifest};

/// `program` (e2fsprogs), or a skip naming it (a failure in CI).
fn have(program: &str) -> bool {
    salvage_testkit::require_tool(module_path!(), &[program])
}

/// An ext4 image whose `dir/sub/loop` is a hard link to `dir`.
fn looped_image(root: &Path) -> std::path::PathBuf {
    let tree = root.join("tree");
    std::fs::create_dir_all(tree.join("dir/sub")).unwrap();
    std::fs::write(tree.join("dir/sub/f"), b"hello\n").unwrap();
    std::fs::write(tree.join("dir/a"), vec![7u8; 100_000]).unwrap();
    std::fs::write(tree.join("top"), b"top\n").unwrap();
    let img = root.join("fs.img");
    salvage_testkit::ext4_image(&tree, &img, "4M", &[]);
    let out = Command::new("debugfs")
        .args(["-w", "-R", "link dir dir/sub/loop"])
        .arg(&img)
        .output()
        .expect("debugfs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ls = Command::new("debugfs")
        .args(["-R", "ls dir/sub"])
        .arg(&img)
        .output()
        .expect("debugfs ls");
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains("loop"),
        "the loop was made"
    );
    img
}

fn du_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += m.len();
        if m.is_dir() {
            total += du_bytes(&e.path());
        }
    }
    total
}

fn check_copy(root: &Path, from: &Path) {
    let out_dir = root.join("out");
    let out = crate::common::salvage()
        .arg("copy")
        .arg(from)
        .arg(&out_dir)
        .output()
        .expect("salvage copy");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.matches("directory loop").count(),
        1,
        "the loop is reported once: {stdout}"
    );
    assert!(stdout.contains("dir/sub/loop"), "{stdout}");
    assert!(stdout.contains("hard link back to /dir"), "{stdout}");
    // Everything once, nothing nested.
    assert_eq!(
        std::fs::read(out_dir.join("dir/sub/f")).unwrap(),
        b"hello\n"
    );
    assert_eq!(std::fs::read(out_dir.join("top")).unwrap(), b"top\n");
    assert!(!out_dir.join("dir/sub/loop").exists());
    assert!(du_bytes(&out_dir) < 200_000, "bounded output");
    let manifest = Manifest::read(&root.join("out.manifest.jsonl")).expect("manifest");
    let looped: Vec<_> = manifest
        .entries
        .iter()
        .filter(|e| e.path == "dir/sub/loop")
        .collect();
    assert_eq!(looped.len(), 1);
    assert_eq!(looped[0].status, EntryStatus::Skipped);
    assert!(manifest.entries.len() < 10, "{:?}", manifest.entries);
}

#[test]
fn userspace_copy_stops_at_a_directory_hard_link_loop() {
    if !have("mke2fs") || !have("debugfs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = looped_image(tmp.path());
    check_copy(tmp.path(), &img);
}

#[test]
fn mounted_copy_stops_at_a_directory_hard_link_loop() {
    if !salvage_testkit::require_root("mounted_copy_stops_at_a_directory_hard_link_loop")
        || !have("mke2fs")
        || !have("debugfs")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = looped_image(tmp.path());
    let mnt = tmp.path().join("mnt");
    let out = crate::common::salvage()
        .arg("mount")
        .arg(&img)
        .arg(&mnt)
        .output()
        .expect("salvage mount");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The kernel may refuse to show the second alias of a directory (ELOOP); either way the
    // copy must end and say what it did not copy.
    let copy = crate::common::salvage()
        .arg("copy")
        .arg(&mnt)
        .arg(tmp.path().join("out"))
        .output()
        .expect("salvage copy");
    let _ = Command::new("umount").arg(&mnt).status();
    let stdout = String::from_utf8_lossy(&copy.stdout);
    assert!(
        stdout.contains("dir/sub/loop"),
        "{stdout}{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    assert_eq!(
        std::fs::read(tmp.path().join("out/dir/sub/f")).unwrap(),
        b"hello\n"
    );
    assert!(
        du_bytes(&tmp.path().join("out")) < 200_000,
        "bounded output"
    );
}
