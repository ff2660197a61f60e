//! GPT damage and geometry: a truncated image (no backup header), a corrupted primary header
//! and entry array (fall back to the backup), a hybrid MBR, and 4096-byte logical sectors
//! through a real loop device (root).

use std::path::Path;
use std::process::Command;

use salvage_partition::{GptHeaderUsed, Label, ProtectiveMbr, ReadOptions, read_table};
use salvage_testkit::partition::{
    compare_with_tools, make_fs, poke, read, run, sfdisk, sfdisk_json, sparse,
};

const MIB: u64 = 1 << 20;
const SCRIPT: &str =
    "label: gpt\nsize=4MiB, name=\"boot\"\nsize=8MiB, name=\"root\"\nsize=2MiB, type=S\n";

fn gpt_image(dir: &Path, name: &str) -> std::path::PathBuf {
    let img = dir.join(name);
    sparse(&img, 32 * MIB);
    sfdisk(&img, SCRIPT);
    img
}

fn same_partitions(a: &salvage_partition::PartitionTable, b: &salvage_partition::PartitionTable) {
    let key = |t: &salvage_partition::PartitionTable| {
        t.partitions
            .iter()
            .map(|p| {
                (
                    p.number,
                    p.start,
                    p.size,
                    p.type_code.clone(),
                    p.uuid.clone(),
                    p.name.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(a), key(b));
    assert_eq!(a.id, b.id);
}

#[test]
fn partition_gpt_truncated_image_reads_primary_and_warns() {
    if !salvage_testkit::require_tool(
        "partition_gpt_truncated_image_reads_primary_and_warns",
        &["sfdisk"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = gpt_image(dir.path(), "t.img");
    let whole = read(&img);
    compare_with_tools(&img, &whole);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .and_then(|f| f.set_len(20 * MIB))
        .expect("truncate");
    let t = read(&img);
    assert_eq!(t.label, Label::Gpt);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Primary));
    same_partitions(&whole, &t);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("truncated") && w.contains(&(32 * MIB - 512).to_string())),
        "no truncation warning naming the backup's byte offset: {:?}",
        t.warnings
    );
    // sfdisk shows only the protective MBR here.
    let sf = sfdisk_json(&img).expect("sfdisk");
    assert_eq!(sf["label"], "dos");
}

#[test]
fn partition_gpt_corrupt_primary_header_falls_back_to_backup() {
    if !salvage_testkit::require_tool(
        "partition_gpt_corrupt_primary_header_falls_back_to_backup",
        &["sfdisk"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = gpt_image(dir.path(), "c.img");
    let whole = read(&img);
    poke(&img, 512 + 60, b"\xde\xad");
    let t = read(&img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    same_partitions(&whole, &t);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("primary") && w.contains("CRC32") && w.contains("byte 512")),
        "{:?}",
        t.warnings
    );
    // libfdisk falls back the same way.
    compare_with_tools(&img, &t);
}

#[test]
fn partition_gpt_corrupt_primary_entries_fall_back_to_backup() {
    if !salvage_testkit::require_tool(
        "partition_gpt_corrupt_primary_entries_fall_back_to_backup",
        &["sfdisk"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = gpt_image(dir.path(), "e.img");
    let whole = read(&img);
    poke(&img, 1024 + 130, b"\xff\xff\xff");
    let t = read(&img);
    assert_eq!(t.gpt_header, Some(GptHeaderUsed::Backup));
    same_partitions(&whole, &t);
    assert!(
        t.warnings.iter().any(|w| w.contains("entry array CRC32")),
        "{:?}",
        t.warnings
    );
    compare_with_tools(&img, &t);
}

#[test]
fn partition_gpt_both_headers_corrupt_shows_protective_mbr_and_says_why() {
    if !salvage_testkit::require_tool(
        "partition_gpt_both_headers_corrupt_shows_protective_mbr_and_says_why",
        &["sfdisk"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = gpt_image(dir.path(), "b.img");
    poke(&img, 512 + 60, b"\xde\xad");
    poke(&img, 32 * MIB - 512 + 60, b"\xde\xad");
    let t = read(&img);
    assert_eq!(t.label, Label::Dos);
    assert_eq!(t.partitions.len(), 1);
    assert_eq!(t.partitions[0].type_code, "ee");
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("protective") && w.contains("--scan")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn partition_gpt_hybrid_mbr_is_reported() {
    if !salvage_testkit::require_tool("partition_gpt_hybrid_mbr_is_reported", &["sfdisk"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = gpt_image(dir.path(), "h.img");
    let t0 = read(&img);
    // Turn MBR entry 2 into a copy of GPT partition 1 (type 83), as gdisk's hybrid MBR does.
    let p = &t0.partitions[0];
    let mut e = [0u8; 16];
    e[4] = 0x83;
    e[8..12].copy_from_slice(&(p.start as u32).to_le_bytes());
    e[12..16].copy_from_slice(&(p.size as u32).to_le_bytes());
    poke(&img, 446 + 16, &e);
    let t = read(&img);
    assert_eq!(t.label, Label::Gpt);
    assert_eq!(t.mbr, Some(ProtectiveMbr::Hybrid));
    assert!(t.warnings.iter().any(|w| w.contains("hybrid")));
    same_partitions(&t0, &t);
    compare_with_tools(&img, &t);
}

/// A loop device detached when dropped.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

fn attach_4k(img: &Path) -> Loop {
    let dev = run(Command::new("losetup")
        .args(["-f", "--show", "-b", "4096"])
        .arg(img));
    Loop(dev.trim().to_string())
}

#[test]
fn partition_gpt_4096_byte_sectors() {
    if !salvage_testkit::require_tool(
        "partition_gpt_4096_byte_sectors",
        &["sfdisk", "losetup", "mkfs.ext4"],
    ) {
        return;
    }
    if !salvage_testkit::require_root("partition_gpt_4096_byte_sectors") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("4k.img");
    sparse(&img, 64 * MIB);
    let (sf, dev_table) = {
        let lo = attach_4k(&img);
        sfdisk(Path::new(&lo.0), SCRIPT);
        let sf = sfdisk_json(Path::new(&lo.0)).expect("sfdisk -J on the loop device");
        let dev_table =
            read_table(Path::new(&lo.0), &ReadOptions::default()).expect("read loop device");
        (sf, dev_table)
    };
    assert_eq!(sf["sectorsize"], 4096);
    assert_eq!(dev_table.sector_size, 4096);
    let t = read(&img);
    assert_eq!(t.label, Label::Gpt);
    assert_eq!(t.sector_size, 4096, "{:?}", t.warnings);
    let theirs = sf["partitions"].as_array().expect("partitions");
    assert_eq!(theirs.len(), t.partitions.len());
    for (s, p) in theirs.iter().zip(&t.partitions) {
        assert_eq!(s["start"], p.start);
        assert_eq!(s["size"], p.size);
        assert_eq!(s["type"].as_str(), Some(p.type_code.as_str()));
        assert_eq!(s["uuid"].as_str(), p.uuid.as_deref());
        assert_eq!(p.offset, p.start * 4096);
    }
    same_partitions(&dev_table, &t);
    // A filesystem at the 4K offset is found there.
    make_fs(
        dir.path(),
        &img,
        t.partitions[1].offset,
        t.partitions[1].size_bytes,
        "ext4",
        "ROOT4K",
    );
    let t = read(&img);
    let fs = t.partitions[1]
        .filesystem
        .as_ref()
        .expect("ext4 in partition 2");
    assert_eq!(fs.label.as_deref(), Some("ROOT4K"));
}

#[test]
fn partition_dos_4096_byte_sectors_decided_by_filesystems() {
    if !salvage_testkit::require_tool(
        "partition_dos_4096_byte_sectors_decided_by_filesystems",
        &["sfdisk", "losetup", "mkfs.ext4"],
    ) {
        return;
    }
    if !salvage_testkit::require_root("partition_dos_4096_byte_sectors_decided_by_filesystems") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("4kdos.img");
    sparse(&img, 64 * MIB);
    {
        let lo = attach_4k(&img);
        sfdisk(
            Path::new(&lo.0),
            "label: dos\nstart=256, size=2048, type=83\nstart=2304, size=4096, type=83\n",
        );
    }
    // MBR LBAs are in 4096-byte units: partition 2 starts at byte 2304 * 4096.
    make_fs(dir.path(), &img, 2304 * 4096, 4096 * 4096, "ext4", "DOS4K");
    let t = read(&img);
    assert_eq!(t.sector_size, 4096, "{:?}", t.warnings);
    assert_eq!(t.partitions[1].offset, 2304 * 4096);
    assert_eq!(
        t.partitions[1]
            .filesystem
            .as_ref()
            .and_then(|f| f.label.as_deref()),
        Some("DOS4K")
    );
    let forced = read_table(
        &img,
        &ReadOptions {
            sector_size: Some(512),
            ..ReadOptions::default()
        },
    )
    .expect("forced 512");
    assert_eq!(forced.sector_size, 512);
    assert_eq!(forced.partitions[1].offset, 2304 * 512);
}
