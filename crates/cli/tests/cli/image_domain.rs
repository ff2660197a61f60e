//! `salvage image --domain used` and `salvage domain --used` on a partitioned ext4 disk, no
//! root: the files come out of the image whole while free space is left unread, and GNU
//! ddrescue takes salvage's domain mapfile.

use std::path::Path;
use std::process::Command;

use salvage_testkit::filesystem::{mkfs_ext4, write_mbr_disk};
use salvage_testkit::{pattern, require_tool};

const MIB: u64 = 1 << 20;

fn disk(dir: &Path) -> std::path::PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("d")).expect("tree");
    std::fs::write(tree.join("big.bin"), pattern(5 * MIB as usize, 21)).expect("big");
    for i in 0..30 {
        std::fs::write(
            tree.join(format!("d/f{i}")),
            pattern(2000 + i * 333, i as u64),
        )
        .expect("file");
    }
    let img = dir.join("disk.raw");
    let sectors = 96 * MIB / 512;
    write_mbr_disk(&img, sectors, &[(2048, sectors - 2048)]);
    mkfs_ext4(&img, &tree, 2048, sectors - 2048);
    tree
}

/// Every file of `tree` equals the one debugfs dumps from the filesystem at 1 MiB of `img`.
fn assert_files_equal(img: &Path, tree: &Path, out: &Path) {
    std::fs::create_dir_all(out).expect("out");
    let o = Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump / {}", out.display()))
        .arg(format!("{}?offset={MIB}", img.display()))
        .output()
        .expect("debugfs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names = vec!["big.bin".to_string()];
    names.extend((0..30).map(|i| format!("d/f{i}")));
    for name in names {
        assert_eq!(
            std::fs::read(out.join(&name)).expect("dumped"),
            std::fs::read(tree.join(&name)).expect("original"),
            "{name} differs in {}",
            img.display()
        );
    }
}

#[test]
fn image_domain_used_rescues_the_files_and_leaves_free_space() {
    if !require_tool(
        "image_domain_used_rescues_the_files_and_leaves_free_space",
        &["mkfs.ext4", "debugfs"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let tree = disk(dir.path());
    let out = crate::common::salvage()
        .args([
            "image", "disk.raw", "used.img", "used.map", "--domain", "used", "--json",
        ])
        .current_dir(dir.path())
        .output()
        .expect("salvage runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let free = report["domain"]["free_bytes_not_read"]
        .as_u64()
        .expect("free");
    let used = report["domain"]["used_bytes"].as_u64().expect("used");
    assert!(free > 60 * MIB, "free space not read: {free}");
    assert!((5 * MIB..20 * MIB).contains(&used), "used: {used}");
    assert_eq!(report["complete"], true);
    assert_files_equal(&dir.path().join("used.img"), &tree, &dir.path().join("o1"));
    // The human summary says what was not read.
    let out = crate::common::salvage()
        .args([
            "image", "disk.raw", "used.img", "used.map", "--domain", "used",
        ])
        .current_dir(dir.path())
        .output()
        .expect("salvage runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NOT READ"), "{text}");
    assert!(text.contains("free space not read"), "{text}");
}

#[test]
fn ddrescue_takes_the_domain_mapfile() {
    if !require_tool(
        "ddrescue_takes_the_domain_mapfile",
        &["mkfs.ext4", "debugfs", "ddrescue"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let tree = disk(dir.path());
    let out = crate::common::salvage()
        .args(["domain", "disk.raw", "--used", "-o", "used.domain"])
        .current_dir(dir.path())
        .output()
        .expect("salvage runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = Command::new("ddrescue")
        .args([
            "-q",
            "--domain-mapfile=used.domain",
            "disk.raw",
            "dd.img",
            "dd.map",
        ])
        .current_dir(dir.path())
        .output()
        .expect("ddrescue");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_files_equal(&dir.path().join("dd.img"), &tree, &dir.path().join("o2"));
    // salvage takes the same domain mapfile.
    let out = crate::common::salvage()
        .args([
            "image",
            "disk.raw",
            "s.img",
            "--domain-mapfile",
            "used.domain",
            "--json",
        ])
        .current_dir(dir.path())
        .output()
        .expect("salvage runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report["size"].as_u64().expect("size") < 30 * MIB);
    assert_files_equal(&dir.path().join("s.img"), &tree, &dir.path().join("o3"));
}
