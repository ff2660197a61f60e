//! Inline data against debugfs: files and directories whose bytes live in the inode
//! (`i_block`, then the `system.data` extended attribute), made by `mke2fs -O inline_data -d`
//! (and, as root, an inline directory the kernel grew into `system.data`). Unreadable areas
//! on the inode-table block holding them, on an xattr block, and on a file named only by an
//! inline directory.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use salvage_filesystem::damage_report;
use salvage_testkit::filesystem::leftovers;
use salvage_testkit::require_tool;

use super::{
    bad_bytes, compare, data_blocks, debugfs, imap_block, in_use, inode_of, mkfs, touched_blocks,
    write_file,
};

/// `Size of inline data: N` of `stat PATH`, when the inode is inline.
fn inline_size(image: &str, path: &str) -> Option<u64> {
    let text = debugfs(image, &format!("stat {path}"));
    let at = text.find("Size of inline data: ")? + 21;
    text[at..].split_whitespace().next()?.parse().ok()
}

/// `File ACL: N` of `stat PATH`: the inode's xattr block.
fn xattr_block(image: &str, path: &str) -> u64 {
    let text = debugfs(image, &format!("stat {path}"));
    let at = text.find("File ACL: ").expect("a File ACL line") + 10;
    text[at..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a block number")
}

/// The tree: small files (inline, one past 60 bytes so it continues in `system.data`), an
/// inline directory holding an inline directory and a file too big to be inline.
fn inline_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).expect("mkdir");
    std::fs::write(root.join("tiny"), b"hi there").expect("write");
    write_file(&root.join("hundred"), 100, 1);
    write_file(&root.join("tagged"), 30, 2);
    write_file(&root.join("sub/big"), 20_000, 3);
    std::fs::write(root.join("sub/deeper/z"), b"z\n").expect("write");
    for i in 0..12 {
        write_file(&root.join(format!("s{i:02}")), 10 + i * 7, i as u8);
    }
}

/// In-use inodes of the inode-table block holding `ino` (1 KiB blocks, 256-byte inodes).
fn inodes_in_block_of(img: &str, ino: u32) -> Vec<u32> {
    let first = ino - (ino - 1) % 4;
    (first..first + 4).filter(|&i| in_use(img, i)).collect()
}

#[test]
fn inline_files_and_directories_against_debugfs() {
    if !require_tool("damage inline data vs debugfs", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    inline_tree(&tree);
    let image = tmp.path().join("inline.img");
    mkfs(
        &tree,
        &image,
        &["-t", "ext4", "-O", "inline_data", "-b", "1024", "-I", "256"],
        "8M",
    );
    let img = image.to_str().expect("utf-8 path");
    // An xattr too big for the inode goes to an xattr block; system.data stays in the inode.
    let value = tmp.path().join("value");
    std::fs::write(&value, vec![b'v'; 600]).expect("write");
    let out = Command::new("debugfs")
        .args(["-w", "-R"])
        .arg(format!("ea_set -f {} /tagged user.big", value.display()))
        .arg(img)
        .output()
        .expect("debugfs -w");
    assert!(out.status.success(), "{out:?}");

    // They really are inline.
    assert_eq!(inline_size(img, "/tiny"), Some(60));
    assert_eq!(
        inline_size(img, "/hundred"),
        Some(100),
        "continues in system.data"
    );
    assert_eq!(inline_size(img, "/tagged"), Some(60));
    assert!(inline_size(img, "/sub").is_some(), "an inline directory");
    assert!(inline_size(img, "/sub/deeper").is_some());
    assert_eq!(inline_size(img, "/sub/big"), None);
    let tagged_xattr = xattr_block(img, "/tagged");
    assert!(tagged_xattr > 0);

    // No unreadable byte: nothing damaged, no warning (i_block of an inline inode is never
    // read as block numbers).
    let clean = damage_report(&image, &bad_bytes(0, 1024, &[], &[])).expect("report");
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);

    let hundred = inode_of(img, "/hundred");
    let tagged = inode_of(img, "/tagged");
    let itable = imap_block(img, hundred);
    assert_ne!(
        imap_block(img, tagged),
        itable,
        "the xattr case stands apart"
    );
    let big = data_blocks(img, "/sub/big");
    let bad = bad_bytes(0, 1024, &[itable, big[2], tagged_xattr], &[]);
    let report = damage_report(&image, &bad).expect("damage report");
    compare(&report, img, None, &touched_blocks(&bad, 0, u64::MAX, 1024));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);

    // The inline files of the unreadable inode-table block are lost whole, with their paths.
    let lost: Vec<u32> = report.inodes.iter().map(|i| i.inode).collect();
    let want = inodes_in_block_of(img, hundred);
    assert_eq!(lost, want, "inodes of the unreadable inode-table block");
    let h = report
        .inodes
        .iter()
        .find(|i| i.inode == hundred)
        .expect("/hundred lost");
    assert_eq!(h.paths, ["/hundred"]);

    // A file named only by an inline directory is found by its path.
    let files: Vec<(&str, u64)> = report
        .files
        .iter()
        .map(|f| (f.paths[0].as_str(), f.lost_bytes))
        .collect();
    assert_eq!(files, [("/sub/big", 1024)]);

    // The xattr block of an inline file whose data is all in its inode: metadata hit, the
    // file intact (debugfs still reads it whole).
    let x = report
        .metadata
        .iter()
        .find(|m| m.what == "extended attribute block")
        .expect("xattr block hit");
    assert_eq!(
        (x.inodes.clone(), x.paths.clone()),
        (vec![tagged], vec!["/tagged".to_string()])
    );
    assert!(report.no_data_lost.is_empty(), "{:?}", report.no_data_lost);
    let mut named: BTreeSet<&str> = BTreeSet::new();
    for f in report.files.iter().chain(&report.directories) {
        named.extend(f.paths.iter().map(String::as_str));
    }
    assert!(
        !named.contains("/tagged"),
        "an intact inline file called damaged"
    );

    // A 256-byte piece: only the inode there is lost, not its neighbours in the block.
    let slot = u64::from((hundred - 1) % 4) * 256;
    let piece = bad_bytes(0, 1024, &[], &[(itable, slot, 256)]);
    let report = damage_report(&image, &piece).expect("damage report");
    let lost: Vec<u32> = report.inodes.iter().map(|i| i.inode).collect();
    assert_eq!(lost, [hundred]);
}

/// Unmounts its target on drop, even when the test panics.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn an_inline_directory_grown_into_system_data_names_its_files() {
    if !require_tool(
        "damage inline directory vs debugfs",
        &["mke2fs", "debugfs", "mount"],
    ) {
        return;
    }
    if !salvage_testkit::require_root("an_inline_directory_grown_into_system_data_names_its_files")
    {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    inline_tree(&tree);
    let image = tmp.path().join("inline.img");
    mkfs(
        &tree,
        &image,
        &["-t", "ext4", "-O", "inline_data", "-b", "1024", "-I", "256"],
        "8M",
    );
    let img = image.to_str().expect("utf-8 path");
    let before = inline_size(img, "/sub").expect("an inline directory");
    // The kernel adds entries to an inline directory by growing system.data: /sub's i_block
    // holds "big" and "deeper"; the filler takes what is left, so "in-the-tail" and its
    // neighbour are only in system.data.
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let status = Command::new("mount")
        .args(["-o", "loop"])
        .arg(&image)
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(status.success(), "mount -o loop");
    {
        let _guard = Unmount(&mnt);
        std::fs::write(mnt.join("sub/fill-up-name-xyz"), b"f").expect("write");
        write_file(&mnt.join("sub/in-the-tail"), 9000, 9);
        std::fs::write(mnt.join("sub/tail-neighbour"), b"n").expect("write");
    }
    assert!(
        leftovers(tmp.path()).is_empty(),
        "{:?}",
        leftovers(tmp.path())
    );
    let after = inline_size(img, "/sub").expect("still inline");
    assert!(
        after > 60 && after > before,
        "/sub grew into system.data: {after}"
    );

    let tail = data_blocks(img, "/sub/in-the-tail");
    let neighbour = inode_of(img, "/sub/tail-neighbour");
    let itable = imap_block(img, neighbour);
    let bad = bad_bytes(0, 1024, &[tail[0], itable], &[]);
    let report = damage_report(&image, &bad).expect("damage report");
    compare(&report, img, None, &touched_blocks(&bad, 0, u64::MAX, 1024));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let files: Vec<&[String]> = report.files.iter().map(|f| f.paths.as_slice()).collect();
    assert_eq!(files, [["/sub/in-the-tail".to_string()]]);
    let n = report
        .inodes
        .iter()
        .find(|i| i.inode == neighbour)
        .expect("the neighbour's inode is lost");
    assert_eq!(n.paths, ["/sub/tail-neighbour"]);
}
