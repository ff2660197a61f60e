//! Sparse files stay sparse: a 2 GiB file with two small data areas in a 64 MiB ext4 image,
//! copied by the userspace reader (any user) and from a read-only mount (root): the copy has
//! the same bytes (hash) and few allocated blocks. A copy that cannot fit is refused before it
//! starts, naming both numbers.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use salvage_filesystem::{EntryStatus, Manifest};

const GIB: u64 = 1 << 30;

/// mke2fs (e2fsprogs), or a skip naming it (a failure in CI).
fn have_mke2fs() -> bool {
    salvage_testkit::require_tool(module_path!(), &["mke2fs"])
}

/// `tree/big`: 2 GiB, data at 0 and at 1 GiB, holes elsewhere; put in a 64 MiB ext4 image.
fn sparse_image(root: &Path) -> (PathBuf, String) {
    let tree = root.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let big = tree.join("big");
    let mut f = std::fs::File::create(&big).unwrap();
    f.write_all(&[0xAB; 10_000]).unwrap();
    f.seek(SeekFrom::Start(GIB)).unwrap();
    f.write_all(b"the middle of a sparse file").unwrap();
    f.set_len(2 * GIB).unwrap();
    drop(f);
    std::fs::write(tree.join("small"), b"small\n").unwrap();
    let hash = salvage_testkit::filesystem::blake3_file(&big);
    let img = root.join("fs.img");
    salvage_testkit::ext4_image(&tree, &img, "64M", &[]);
    std::fs::remove_file(&big).unwrap();
    (img, hash)
}

fn copy_and_check(root: &Path, from: &Path, hash: &str) {
    let out_dir = root.join("out");
    let out = crate::common::salvage()
        .arg("copy")
        .arg(from)
        .arg(&out_dir)
        .output()
        .expect("salvage copy");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let copied = out_dir.join("big");
    let meta = std::fs::metadata(&copied).unwrap();
    assert_eq!(meta.len(), 2 * GIB);
    let allocated = meta.blocks() * 512;
    assert!(
        allocated <= 1 << 20,
        "the copy allocates {allocated} bytes: not sparse"
    );
    let manifest = Manifest::read(&root.join("out.manifest.jsonl")).unwrap();
    let entry = manifest.entries.iter().find(|e| e.path == "big").unwrap();
    assert_eq!(entry.status, EntryStatus::Copied);
    assert_eq!(entry.size, 2 * GIB);
    assert_eq!(
        entry.blake3.as_deref(),
        Some(hash),
        "manifest hash = source hash"
    );
    assert_eq!(
        salvage_testkit::filesystem::blake3_file(&copied),
        hash,
        "copy hash = source hash"
    );
    let verify = crate::common::salvage()
        .arg("verify")
        .arg(root.join("out.manifest.jsonl"))
        .arg("--no-source")
        .output()
        .expect("salvage verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn userspace_copy_keeps_a_2gib_sparse_file_sparse() {
    if !have_mke2fs() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (img, hash) = sparse_image(tmp.path());
    copy_and_check(tmp.path(), &img, &hash);
}

#[test]
fn mounted_copy_keeps_a_2gib_sparse_file_sparse() {
    if !salvage_testkit::require_root("mounted_copy_keeps_a_2gib_sparse_file_sparse")
        || !have_mke2fs()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (img, hash) = sparse_image(tmp.path());
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
    let result = std::panic::catch_unwind(|| copy_and_check(tmp.path(), &mnt, &hash));
    let _ = Command::new("umount").arg(&mnt).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_copy_that_cannot_fit_is_refused_before_it_starts() {
    if !salvage_testkit::require_root("a_copy_that_cannot_fit_is_refused_before_it_starts")
        || !have_mke2fs()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    // 3 MiB of data that is not zeros: it must be written.
    let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8 + 1).collect();
    std::fs::write(tree.join("dense"), &data).unwrap();
    let img = tmp.path().join("fs.img");
    salvage_testkit::ext4_image(&tree, &img, "16M", &[]);
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .expect("mount tmpfs");
    assert!(mounted.success());
    let out = crate::common::salvage()
        .arg("copy")
        .arg(&img)
        .arg(small.join("out"))
        .output()
        .expect("salvage copy");
    let left: Vec<_> = std::fs::read_dir(&small).unwrap().collect();
    let _ = Command::new("umount").arg(&small).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not enough space for the copy"), "{err}");
    assert!(err.contains("1048576 bytes available"), "{err}");
    assert!(
        err.contains(&format!("up to {} bytes", 3u64 << 20)),
        "{err}"
    );
    assert!(left.is_empty(), "nothing written: {left:?}");
}
