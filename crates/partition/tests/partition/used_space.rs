//! `used_space` against the filesystems' own tools: every block debugfs lists for a file is in
//! the domain, free space is not, the rounds converge from nothing rescued, and what cannot be
//! read counts as used.

use std::path::Path;
use std::process::Command;

use salvage_partition::used_space::{Known, Ranges, Step, UsedSpace, used_space};
use salvage_partition::{ByteSource, Disk};
use salvage_testkit::filesystem::{mkfs_ext4, write_mbr_disk};
use salvage_testkit::{pattern, require_tool};

const MIB: u64 = 1 << 20;

/// A disk image with an MBR and one ext4 partition at 1 MiB holding a few files, 1 KiB blocks.
fn ext4_disk(dir: &Path) -> (std::path::PathBuf, u64) {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).expect("tree");
    std::fs::write(tree.join("big.bin"), pattern(3 * MIB as usize, 7)).expect("big");
    std::fs::write(tree.join("sub/small.txt"), b"hello").expect("small");
    for i in 0..50 {
        std::fs::write(
            tree.join(format!("sub/f{i}")),
            pattern(5000 + i * 100, i as u64),
        )
        .expect("file");
    }
    let img = dir.join("disk.img");
    let sectors = 64 * MIB / 512;
    write_mbr_disk(&img, sectors, &[(2048, sectors - 2048)]);
    mkfs_ext4(&img, &tree, 2048, sectors - 2048);
    (img, MIB)
}

fn done(step: Step) -> UsedSpace {
    match step {
        Step::Done(u) => u,
        Step::Need(r) => panic!("still needs {r:?}"),
    }
}

/// The physical blocks (1 KiB) of `path` inside the filesystem at `offset`, from debugfs.
fn debugfs_blocks(img: &Path, offset: u64, path: &str) -> Vec<u64> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("blocks {path}"))
        .arg(format!("{}?offset={offset}", img.display()))
        .output()
        .expect("debugfs runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn covers(r: &Ranges, pos: u64, len: u64) -> bool {
    r.contains(pos, len)
}

#[test]
fn every_file_block_debugfs_lists_is_in_the_domain_and_free_space_is_not() {
    if !require_tool(
        "every_file_block_debugfs_lists_is_in_the_domain_and_free_space_is_not",
        &["mkfs.ext4", "debugfs"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (img, offset) = ext4_disk(dir.path());
    let disk = Disk::open(&img).expect("open");
    let u = done(used_space(&disk, &|_, _| Known::Rescued));
    let domain = u.domain();
    let mut checked = 0;
    for path in ["/big.bin", "/sub/small.txt", "/sub/f0", "/sub/f49", "/sub"] {
        for b in debugfs_blocks(&img, offset, path) {
            assert!(
                covers(&domain, offset + b * 1024, 1024),
                "block {b} of {path} is not in the domain: {:?}",
                u.notes
            );
            checked += 1;
        }
    }
    assert!(checked > 3000, "debugfs listed only {checked} blocks");
    // The MBR and the superblock are metadata.
    assert!(covers(&u.metadata, 0, 512));
    assert!(covers(&u.metadata, offset + 1024, 1024));
    // The filesystem is 63 MiB with about 4 MiB of files: most of it is free and left out.
    let total = domain.bytes();
    assert!(
        total > 3 * MIB && total < 24 * MIB,
        "domain of {total} bytes: {:?}",
        u.notes
    );
    assert!(
        u.notes
            .iter()
            .any(|n| n.contains("partition 1") && n.contains("ext"))
    );
}

#[test]
fn rounds_from_nothing_rescued_converge_to_the_same_answer() {
    if !require_tool(
        "rounds_from_nothing_rescued_converge_to_the_same_answer",
        &["mkfs.ext4"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (img, _) = ext4_disk(dir.path());
    let disk = Disk::open(&img).expect("open");
    let whole = done(used_space(&disk, &|_, _| Known::Rescued));
    let mut tried = Ranges::new();
    let mut rounds = 0;
    let got = loop {
        rounds += 1;
        assert!(rounds < 20, "no convergence");
        let t = tried.clone();
        let known = move |pos: u64, len: u64| {
            if t.contains(pos, len) {
                Known::Rescued
            } else {
                Known::NotYet
            }
        };
        match used_space(&disk, &known) {
            Step::Need(r) => {
                assert!(!r.is_empty());
                tried.add_all(&r);
            }
            Step::Done(u) => break u,
        }
    };
    assert_eq!(got, whole);
    assert!(
        rounds >= 3,
        "the table, then the superblock, then the bitmaps: {rounds}"
    );
    // Only small metadata areas were needed on the way, not the files.
    assert!(tried.bytes() < 2 * MIB, "needed {} bytes", tried.bytes());
}

#[test]
fn an_unreadable_bitmap_makes_its_group_used_and_an_unreadable_table_the_whole_disk() {
    if !require_tool(
        "an_unreadable_bitmap_makes_its_group_used_and_an_unreadable_table_the_whole_disk",
        &["mkfs.ext4"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (img, _) = ext4_disk(dir.path());
    let disk = Disk::open(&img).expect("open");
    let whole = done(used_space(&disk, &|_, _| Known::Rescued));
    // Find a block bitmap: the metadata block ranges of 1 KiB after the descriptors. Make
    // every metadata byte past the first 4 KiB of the filesystem unreadable but the
    // superblock and descriptors: bitmaps then cannot be read.
    let fs = MIB;
    let bad_from = fs + 8 * 1024;
    let known = |pos: u64, len: u64| {
        if pos + len > bad_from
            && pos < fs + 8 * MIB
            && whole
                .metadata
                .minus(&Ranges::from_iter([(0, bad_from)]))
                .overlaps(pos, len)
        {
            Known::Unreadable
        } else {
            Known::Rescued
        }
    };
    let u = done(used_space(&disk, &known));
    assert!(
        u.used.bytes() > whole.used.bytes() + 4 * MIB,
        "unreadable bitmaps did not count their groups as used: {} vs {}; {:?}",
        u.used.bytes(),
        whole.used.bytes(),
        u.notes
    );
    assert!(
        u.notes.iter().any(|n| n.contains("unreadable bitmaps")),
        "{:?}",
        u.notes
    );

    let bad_table = |pos: u64, _len: u64| {
        if pos < 512 {
            Known::Unreadable
        } else {
            Known::Rescued
        }
    };
    let u = done(used_space(&disk, &bad_table));
    assert_eq!(u.used.as_slice(), &[(0, disk.size_bytes())]);
}

#[test]
fn fat_clusters_in_use_are_in_the_domain() {
    if !require_tool(
        "fat_clusters_in_use_are_in_the_domain",
        &["mkfs.vfat", "mcopy"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let img = dir.path().join("fat.img");
    std::fs::File::create(&img)
        .and_then(|f| f.set_len(64 * MIB))
        .expect("image");
    let ok = Command::new("mkfs.vfat")
        .args(["-F", "32", "-n", "TEST"])
        .arg(&img)
        .output()
        .expect("mkfs.vfat")
        .status
        .success();
    assert!(ok);
    let file = dir.path().join("data.bin");
    let data = pattern(2 * MIB as usize, 3);
    std::fs::write(&file, &data).expect("data");
    let ok = Command::new("mcopy")
        .arg("-i")
        .arg(&img)
        .arg(&file)
        .arg("::data.bin")
        .status()
        .expect("mcopy")
        .success();
    assert!(ok);
    let disk = Disk::open(&img).expect("open");
    let u = done(used_space(&disk, &|_, _| Known::Rescued));
    let domain = u.domain();
    // Every sector of the image holding the file's bytes is in the domain.
    let bytes = std::fs::read(&img).expect("read");
    let wanted: std::collections::HashSet<&[u8]> = data.chunks(512).collect();
    let mut found = 0;
    for (i, chunk) in bytes.chunks(512).enumerate() {
        if wanted.contains(chunk) {
            assert!(
                covers(&domain, i as u64 * 512, 512),
                "file data at {} outside",
                i * 512
            );
            found += 1;
        }
    }
    assert_eq!(
        found,
        data.len() / 512,
        "sectors of the file found in the image"
    );
    assert!(
        domain.bytes() < 8 * MIB,
        "domain {} bytes: {:?}",
        domain.bytes(),
        u.notes
    );
    assert!(u.notes.iter().any(|n| n.contains("FAT32")), "{:?}", u.notes);
}
