//! `salvage fsck IMG` (and `copy`) without `--offset` read the image's partition table as
//! `salvage inspect` does: its only filesystem is used; with two, the error names the
//! `--offset` of each.

use salvage_testkit::filesystem::*;

/// mke2fs (e2fsprogs), or a skip naming it (a failure in CI).
fn have_mke2fs() -> bool {
    salvage_testkit::require_tool(module_path!(), &["mke2fs"])
}

use crate::common::status_text as salvage;

#[test]
fn fsck_without_offset_uses_the_only_filesystem_of_the_table() {
    if !have_mke2fs() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("hello"), b"hello\n").unwrap();
    let disk = tmp.path().join("disk.img");
    write_mbr_disk(
        &disk,
        P1_START + P1_SECTORS + 2048,
        &[(P1_START, P1_SECTORS)],
    );
    mkfs_ext4(&disk, &src, P1_START, P1_SECTORS);
    let (code, out) = salvage(&["fsck", disk.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let offset = (P1_START * SECTOR).to_string();
    assert!(
        out.contains(&format!("the filesystem at byte {offset} (partition 1")),
        "{out}"
    );
    // copy reads the table the same way.
    let (code, out) = salvage(&[
        "copy",
        disk.to_str().unwrap(),
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        std::fs::read(tmp.path().join("out/hello")).unwrap(),
        b"hello\n"
    );
}

#[test]
fn fsck_without_offset_on_two_filesystems_names_each_offset() {
    if !have_mke2fs() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let disk = tmp.path().join("disk.img");
    write_mbr_disk(
        &disk,
        P2_START + P2_SECTORS + 2048,
        &[(P1_START, P1_SECTORS), (P2_START, P2_SECTORS)],
    );
    mkfs_ext4(&disk, &src, P1_START, P1_SECTORS);
    mkfs_ext4(&disk, &src, P2_START, P2_SECTORS);
    let (code, out) = salvage(&["fsck", disk.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("holds a partition table"), "{out}");
    assert!(
        out.contains(&format!(
            "--offset {} (partition 1, ext4)",
            P1_START * SECTOR
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "--offset {} (partition 2, ext4)",
            P2_START * SECTOR
        )),
        "{out}"
    );
    // With --offset it checks the one asked for.
    let (code, out) = salvage(&[
        "fsck",
        disk.to_str().unwrap(),
        "--offset",
        &(P2_START * SECTOR).to_string(),
    ]);
    assert_eq!(code, Some(0), "{out}");
}
