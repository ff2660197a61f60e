//! Every filesystem and container salvage probes, made by its own mkfs tool (or hand-crafted
//! where the tool needs the kernel: md RAID, LVM2), placed in GPT partitions and compared with
//! `blkid -p --offset --size` field by field.

use salvage_testkit::partition::{
    blkid, compare_fs, compare_with_tools, lvm_label, make_fs, md_v1, md_v090, poke, read, sfdisk,
    sparse,
};

const MIB: u64 = 1 << 20;

#[test]
fn partition_every_filesystem_matches_blkid() {
    if !salvage_testkit::require_tool(
        "partition_every_filesystem_matches_blkid",
        &[
            "sfdisk",
            "blkid",
            "mkfs.ext4",
            "mkfs.xfs",
            "mkfs.btrfs",
            "mkfs.vfat",
            "mkfs.exfat",
            "mkntfs",
            "mkswap",
            "cryptsetup",
        ],
    ) {
        return;
    }
    let kinds: [(&str, u64); 15] = [
        ("ext2", 8),
        ("ext3", 16),
        ("ext4", 16),
        ("xfs", 32),
        ("btrfs", 128),
        ("swap", 8),
        ("vfat12", 4),
        ("vfat16", 32),
        ("vfat32", 64),
        ("exfat", 8),
        ("ntfs", 8),
        ("luks1", 8),
        ("luks2", 24),
        ("md", 8),
        ("lvm", 8),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("all.img");
    // md gets four partitions (0.90, 1.0, 1.1, 1.2).
    let mut script = String::from("label: gpt\n");
    let mut total = 1;
    for (kind, mib) in kinds {
        let n = if kind == "md" { 4 } else { 1 };
        for _ in 0..n {
            script.push_str(&format!("size={}MiB, name=\"{kind}\"\n", mib));
            total += mib;
        }
    }
    sparse(&img, (total + 2) * MIB);
    sfdisk(&img, &script);
    let t = read(&img);
    let mut i = 0;
    for (kind, _) in kinds {
        let p = &t.partitions[i];
        match kind {
            "md" => {
                let uuid = |n: u8| {
                    [
                        n, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
                        0xdd, 0xee, 0xff,
                    ]
                };
                let (at, sb) = md_v090(p.size_bytes, uuid(0x90));
                poke(&img, p.offset + at, &sb);
                for (j, v) in ["1.0", "1.1", "1.2"].iter().enumerate() {
                    let q = &t.partitions[i + 1 + j];
                    let (at, sb) =
                        md_v1(q.size_bytes, v, uuid(j as u8 + 1), &format!("host:md{j}"));
                    poke(&img, q.offset + at, &sb);
                }
                i += 4;
            }
            "lvm" => {
                let (at, s) = lvm_label("AbCdEf0123456789ghijklmnopqrstUV", p.size_bytes);
                poke(&img, p.offset + at, &s);
                i += 1;
            }
            _ => {
                let label = format!("{}_L", kind.to_uppercase());
                make_fs(dir.path(), &img, p.offset, p.size_bytes, kind, &label);
                i += 1;
            }
        }
    }
    let t = read(&img);
    let fields = compare_with_tools(&img, &t);
    let types: Vec<&str> = t
        .partitions
        .iter()
        .map(|p| p.filesystem.as_ref().map_or("-", |f| f.fs_type.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            "ext2",
            "ext3",
            "ext4",
            "xfs",
            "btrfs",
            "swap",
            "vfat",
            "vfat",
            "vfat",
            "exfat",
            "ntfs",
            "crypto_LUKS",
            "crypto_LUKS",
            "linux_raid_member",
            "linux_raid_member",
            "linux_raid_member",
            "linux_raid_member",
            "LVM2_member"
        ]
    );
    let versions: Vec<Option<&str>> = t
        .partitions
        .iter()
        .map(|p| p.filesystem.as_ref().and_then(|f| f.version.as_deref()))
        .collect();
    for (p, v) in t.partitions.iter().zip(&versions) {
        let b = blkid(&img, p.offset, p.size_bytes);
        if p.filesystem.as_ref().is_some_and(|f| f.fs_type != "swap") {
            assert_eq!(
                b.get("VERSION").map(String::as_str),
                *v,
                "VERSION of partition {}",
                p.number
            );
        }
    }
    // Every probe found a label where the tool sets one.
    for p in &t.partitions {
        let fs = p.filesystem.as_ref().expect("filesystem");
        let b = blkid(&img, p.offset, p.size_bytes);
        compare_fs(&format!("partition {}", p.number), Some(fs), &b);
    }
    eprintln!(
        "compared {fields} fields over {} filesystems",
        t.partitions.len()
    );
}
