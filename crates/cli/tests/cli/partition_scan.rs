//! `--scan`: filesystems found by their signatures when the table is gone, at 1 MiB
//! boundaries, at sector 63 and at cylinder boundaries, and through an ext backup superblock
//! when the primary one is wiped. Offsets checked with blkid.

use std::process::Command;

use salvage_partition::{Label, ReadOptions, read_table};
use salvage_testkit::partition::{blkid, make_fs, poke, sfdisk, sparse};

const MIB: u64 = 1 << 20;

#[test]
fn partition_scan_finds_filesystems_after_the_table_is_wiped() {
    if !salvage_testkit::require_tool(
        "partition_scan_finds_filesystems_after_the_table_is_wiped",
        &[
            "sfdisk",
            "blkid",
            "mkfs.ext4",
            "mkfs.xfs",
            "mkfs.btrfs",
            "mkfs.vfat",
        ],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("lost.img");
    sparse(&img, 400 * MIB);
    // sector 63, a cylinder boundary + 63 (16128), 1 MiB boundaries.
    sfdisk(
        &img,
        "label: dos\nstart=63, size=16002, type=83\nstart=16128, size=16000, type=c\n\
         start=34816, size=131072, type=83\nstart=167936, size=262144, type=83\n",
    );
    let places = [
        (63 * 512, 16002 * 512, "ext4", "first"),
        (16128 * 512, 16000 * 512, "vfat12", "SECOND"),
        (34816 * 512, 131_072 * 512, "xfs", "third"),
        (167_936 * 512, 262_144 * 512, "btrfs", "fourth"),
    ];
    for (at, size, kind, label) in places {
        make_fs(dir.path(), &img, at, size, kind, label);
    }
    // Wipe the MBR.
    poke(&img, 0, &[0u8; 512]);
    let t = read_table(
        &img,
        &ReadOptions {
            scan: true,
            ..ReadOptions::default()
        },
    )
    .expect("read");
    assert_eq!(t.label, Label::None);
    let hits = t.scan.expect("scan results");
    let found: Vec<(u64, &str)> = hits
        .iter()
        .map(|h| {
            (
                h.offset,
                h.filesystem
                    .as_ref()
                    .map_or("ambivalent", |f| f.fs_type.as_str()),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (63 * 512, "ext4"),
            (16128 * 512, "vfat"),
            (34816 * 512, "xfs"),
            (167_936 * 512, "btrfs")
        ]
    );
    for h in &hits {
        let b = blkid(&img, h.offset, 400 * MIB - h.offset);
        let fs = h
            .filesystem
            .as_ref()
            .expect("one filesystem, not ambivalent");
        assert_eq!(b.get("TYPE"), Some(&fs.fs_type));
        assert_eq!(b.get("UUID"), fs.uuid.as_ref());
        assert_eq!(b.get("LABEL"), fs.label.as_ref());
        assert_eq!(h.sector * 512, h.offset);
    }
    // The CLI prints them too.
    let out = crate::common::salvage()
        .args(["partitions", "--scan"])
        .arg(&img)
        .output()
        .expect("run salvage");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("32256") && text.contains("LABEL=\"fourth\""),
        "{text}"
    );
}

#[test]
fn partition_scan_places_ext_from_a_backup_superblock() {
    if !salvage_testkit::require_tool(
        "partition_scan_places_ext_from_a_backup_superblock",
        &["mkfs.ext4", "blkid"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("nosb.img");
    sparse(&img, 64 * MIB);
    let fs = dir.path().join("fs.img");
    sparse(&fs, 48 * MIB);
    // 1 KiB blocks: backup superblocks at 8 MiB + 1 KiB steps, found by the 1 MiB probes.
    salvage_testkit::partition::run(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-b", "1024", "-L", "lost"])
            .arg(&fs),
    );
    salvage_testkit::partition::copy_in(&fs, &img, 4 * MIB);
    let before = blkid(&img, 4 * MIB, 48 * MIB);
    poke(&img, 4 * MIB + 1024, &[0u8; 1024]);
    assert!(
        blkid(&img, 4 * MIB, 48 * MIB).is_empty(),
        "primary superblock still found"
    );
    let t = read_table(
        &img,
        &ReadOptions {
            scan: true,
            ..ReadOptions::default()
        },
    )
    .expect("read");
    let hits = t.scan.expect("scan");
    let hit = hits
        .iter()
        .find(|h| h.offset == 4 * MIB)
        .expect("placed at 4 MiB from a backup");
    assert!(
        hit.found_by.starts_with("backup superblock"),
        "{}",
        hit.found_by
    );
    let fs = hit.filesystem.as_ref().expect("one filesystem");
    assert_eq!(fs.uuid.as_ref(), before.get("UUID"));
    assert_eq!(fs.label.as_deref(), Some("lost"));
}
