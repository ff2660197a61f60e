//! The damage map against debugfs: ext images made by mke2fs -d (no root), unreadable areas
//! placed in file data, directories, inode tables, extent-tree and indirect blocks, the journal,
//! free space and outside every partition, given as a simulated bad map. debugfs `icheck`
//! names the owner of each unreadable block, `ncheck` every path of those inodes, `imap` and
//! `testi` the inodes of an inode-table block; salvage must name exactly those, no more.

mod fat;
mod inline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use salvage_filesystem::{DamageReport, Unreadable, damage_report};
use salvage_testkit::filesystem::{P1_SECTORS, P1_START, P2_SECTORS, P2_START, SECTOR};
use salvage_testkit::filesystem::{mkfs_ext4, write_mbr_disk};
use salvage_testkit::require_tool;

/// debugfs on `image` (with `?offset=N` for a partition), one request.
fn debugfs(image: &str, request: &str) -> String {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(request)
        .arg(image)
        .output()
        .expect("run debugfs");
    assert!(out.status.success(), "debugfs {request}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `icheck` over every block in one call: block -> owning inode.
fn icheck(image: &str, blocks: &BTreeSet<u64>) -> BTreeMap<u64, u32> {
    let list: Vec<String> = blocks.iter().map(u64::to_string).collect();
    let text = debugfs(image, &format!("icheck {}", list.join(" ")));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            let b = f.next()?.trim().parse().ok()?;
            let i = f.next()?.trim().parse().ok()?;
            Some((b, i))
        })
        .collect()
}

/// `ncheck` over every inode in one call: inode -> its paths ("//x" read as "/x").
fn ncheck(image: &str, inodes: &BTreeSet<u32>) -> BTreeMap<u32, BTreeSet<String>> {
    let mut map: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    if inodes.is_empty() {
        return map;
    }
    let list: Vec<String> = inodes.iter().map(u32::to_string).collect();
    let text = debugfs(image, &format!("ncheck {}", list.join(" ")));
    for l in text.lines().skip(1) {
        if let Some((i, p)) = l.split_once('\t') {
            let p = p
                .strip_prefix('/')
                .filter(|p| p.starts_with('/'))
                .unwrap_or(p);
            if let Ok(i) = i.trim().parse() {
                map.entry(i).or_default().insert(p.to_string());
            }
        }
    }
    map
}

/// The blocks of `path` (`blocks`: its tree blocks too, in the order met).
fn data_blocks(image: &str, path: &str) -> Vec<u64> {
    debugfs(image, &format!("blocks {path}"))
        .split_whitespace()
        .map(|w| w.parse().expect("a block number"))
        .collect()
}

/// The tree blocks `stat` lists for `path`: `(ETB0)`, `(ETB1)`, `(IND)`, `(DIND)`, ...
fn tree_blocks(image: &str, path: &str, tag: &str) -> Vec<u64> {
    let text = debugfs(image, &format!("stat {path}"));
    text.split([',', ' ', '\n'])
        .filter_map(|t| t.trim().strip_prefix(&format!("({tag}):")))
        .map(|b| b.parse().expect("a block number"))
        .collect()
}

/// The inode number of `path`.
fn inode_of(image: &str, path: &str) -> u32 {
    let text = debugfs(image, &format!("stat {path}"));
    let at = text.find("Inode: ").expect("an inode line") + 7;
    text[at..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("an inode number")
}

/// The inode-table block holding `ino` (`imap`).
fn imap_block(image: &str, ino: u32) -> u64 {
    let text = debugfs(image, &format!("imap <{ino}>"));
    let at = text.find("located at block ").expect("imap answer") + 17;
    text[at..]
        .split(',')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .expect("a block number")
}

fn in_use(image: &str, ino: u32) -> bool {
    debugfs(image, &format!("testi <{ino}>")).contains("marked in use")
}

/// Bad byte ranges of a filesystem at `offset` with block size `bs`: whole blocks, and
/// `(block, byte in block, length)` pieces.
fn bad_bytes(offset: u64, bs: u64, blocks: &[u64], pieces: &[(u64, u64, u64)]) -> Unreadable {
    Unreadable::new(
        blocks
            .iter()
            .map(|&b| (offset + b * bs, offset + (b + 1) * bs))
            .chain(
                pieces
                    .iter()
                    .map(|&(b, at, len)| (offset + b * bs + at, offset + b * bs + at + len)),
            ),
    )
}

/// Every block touched by the bad bytes, as block numbers of the filesystem at `offset`.
fn touched_blocks(bad: &Unreadable, offset: u64, end: u64, bs: u64) -> BTreeSet<u64> {
    let mut set = BTreeSet::new();
    for (s, e) in bad.within(offset, end) {
        for b in (s - offset) / bs..(e - offset).div_ceil(bs) {
            set.insert(b);
        }
    }
    set
}

/// Every inode salvage says owns an unreadable block (files, directories, files hit where
/// they hold no data, and the owners of tree blocks and the journal).
fn salvage_owners(r: &DamageReport, partition: Option<u32>) -> BTreeSet<u32> {
    let mut set: BTreeSet<u32> = r
        .files
        .iter()
        .chain(&r.directories)
        .chain(&r.no_data_lost)
        .filter(|f| f.partition == partition)
        .map(|f| f.inode)
        .collect();
    for m in r.metadata.iter().filter(|m| m.partition == partition) {
        set.extend(m.inodes.iter().copied());
    }
    set
}

/// Checks the report for the filesystem at `image` (debugfs's name for it) against debugfs:
/// the owners of the unreadable blocks, and every path of every file, directory and lost
/// inode. `itable` are the inode-table blocks made unreadable.
fn compare(r: &DamageReport, image: &str, partition: Option<u32>, touched: &BTreeSet<u64>) {
    let owners: BTreeSet<u32> = icheck(image, touched).into_values().collect();
    assert_eq!(
        salvage_owners(r, partition),
        owners,
        "owners of the unreadable blocks: salvage (left) vs debugfs icheck (right)\n{r:#?}"
    );
    let mut named: BTreeSet<u32> = owners.clone();
    named.extend(r.inodes.iter().map(|i| i.inode));
    let paths = ncheck(image, &named);
    for f in r
        .files
        .iter()
        .chain(&r.directories)
        .filter(|f| f.partition == partition)
    {
        let want: Vec<String> = paths
            .get(&f.inode)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        assert_eq!(f.paths, want, "paths of inode {}", f.inode);
        assert!(f.lost_bytes > 0 && f.lost_bytes <= f.size, "{f:?}");
    }
    for i in r.inodes.iter().filter(|i| i.partition == partition) {
        let want: Vec<String> = paths
            .get(&i.inode)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        assert_eq!(i.paths, want, "paths of lost inode {}", i.inode);
    }
}

/// A file of `len` bytes of a pattern seeded by `seed`.
fn write_file(path: &Path, len: usize, seed: u8) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    std::fs::write(path, data).expect("write file");
}

/// The tree: files of many sizes, hard links, a directory of many blocks, a sparse file with
/// 1,500 data blocks between holes (a depth-2 extent tree), a long symlink.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("docs/deep/er")).expect("mkdir");
    std::fs::create_dir_all(root.join("many")).expect("mkdir");
    for i in 0..40 {
        write_file(&root.join(format!("docs/f{i}")), 1000 + i * 9_000, i as u8);
    }
    write_file(&root.join("docs/deep/er/linked"), 70_000, 7);
    std::fs::hard_link(root.join("docs/deep/er/linked"), root.join("many/link2"))
        .expect("hard link");
    std::fs::hard_link(root.join("docs/deep/er/linked"), root.join("link3")).expect("link");
    for i in 0..400 {
        std::fs::write(
            root.join(format!(
                "many/a-rather-long-entry-name-to-fill-blocks-{i:04}"
            )),
            b"x",
        )
        .expect("small file");
    }
    let sparse = std::fs::File::create(root.join("sparse")).expect("sparse");
    use std::os::unix::fs::FileExt;
    for i in 0..1500u64 {
        sparse
            .write_all_at(&[0xA5; 4096], i * 8192)
            .expect("sparse block");
    }
    std::os::unix::fs::symlink("a/".repeat(60), root.join("longlink")).expect("symlink");
}

fn mkfs(tree: &Path, image: &Path, args: &[&str], size: &str) {
    let out = Command::new("mke2fs")
        .args(["-q", "-F"])
        .args(args)
        .arg("-d")
        .arg(tree)
        .arg(image)
        .arg(size)
        .output()
        .expect("run mke2fs");
    assert!(out.status.success(), "mke2fs: {out:?}");
}

#[test]
fn ext4_areas_in_data_directories_inode_tables_extent_tree_journal_and_free_space() {
    if !require_tool("damage ext4 vs debugfs", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    make_tree(&tree);
    let image = tmp.path().join("fs.img");
    mkfs(
        &tree,
        &image,
        &["-t", "ext4", "-b", "4096", "-g", "8192"],
        "64M",
    );
    let img = image.to_str().expect("utf-8 path");
    let bs = 4096;

    let f5 = data_blocks(img, "/docs/f5");
    let f7 = data_blocks(img, "/docs/f7");
    let linked = data_blocks(img, "/docs/deep/er/linked");
    let many = data_blocks(img, "/many");
    assert!(many.len() >= 3, "the directory spans blocks: {many:?}");
    let etb1 = tree_blocks(img, "/sparse", "ETB1");
    assert!(etb1.len() >= 3, "a depth-2 extent tree: {etb1:?}");
    let journal = data_blocks(img, "<8>");
    let f20 = inode_of(img, "/docs/f20");
    let itable = imap_block(img, f20);
    let free: u64 = debugfs(img, "ffb 1 12000")
        .split_whitespace()
        .last()
        .and_then(|w| w.parse().ok())
        .expect("a free block");

    let bad = bad_bytes(
        0,
        bs,
        &[
            f5[1], linked[3], many[1], etb1[1], journal[5], itable, free,
            8192, // group 1's backup superblock
        ],
        &[(f7[2], 1024, 512)],
    );
    let report = damage_report(&image, &bad).expect("damage report");
    let touched = touched_blocks(&bad, 0, u64::MAX, bs);
    compare(&report, img, None, &touched);

    // The inode-table block: every in-use inode in it, as testi says, with ncheck's paths.
    let per_block = (bs / 256) as u32;
    let first = f20 - (f20 - 1) % per_block;
    let want: Vec<u32> = (first..first + per_block)
        .filter(|&i| in_use(img, i))
        .collect();
    let got: Vec<u32> = report.inodes.iter().map(|i| i.inode).collect();
    assert_eq!(got, want, "inodes of the unreadable inode-table block");
    assert!(want.contains(&f20));

    // Byte ranges inside the files.
    let file = |path: &str| {
        report
            .files
            .iter()
            .find(|f| f.paths.iter().any(|p| p == path))
            .unwrap_or_else(|| panic!("{path} in {report:#?}"))
    };
    let f5r = file("/docs/f5");
    assert_eq!(
        (f5r.ranges[0].start, f5r.ranges[0].end, f5r.lost_bytes),
        (4096, 8192, 4096)
    );
    let f7r = file("/docs/f7");
    assert_eq!(
        (f7r.ranges[0].start, f7r.ranges[0].end, f7r.lost_bytes),
        (2 * 4096 + 1024, 2 * 4096 + 1536, 512)
    );
    let l = file("/link3");
    assert_eq!(
        l.paths,
        ["/docs/deep/er/linked", "/link3", "/many/link2"],
        "a hard link is named by every path"
    );
    // The extent leaf: what it maps is lost, from the first logical block it covers.
    let sp = file("/sparse");
    assert!(sp.hit.contains(&"extent tree block".to_string()), "{sp:?}");
    assert_eq!(sp.ranges.len(), 1);
    assert!(
        sp.ranges[0].start > 0 && sp.ranges[0].end < sp.size,
        "{sp:?}"
    );
    let dirs: Vec<&str> = report
        .directories
        .iter()
        .map(|d| d.paths[0].as_str())
        .collect();
    assert_eq!(dirs, ["/many"]);

    let what: BTreeSet<&str> = report.metadata.iter().map(|m| m.what.as_str()).collect();
    for w in [
        "journal",
        "extent tree block",
        "inode table",
        "backup superblock",
    ] {
        assert!(what.contains(w), "{w} in {what:?}");
    }
    let free_area = (free * bs, (free + 1) * bs);
    assert!(
        report.no_file.iter().any(|a| (a.bytes.start, a.bytes.end) == free_area
            && a.place.starts_with("free space")),
        "{:?}",
        report.no_file
    );
    assert!(report.unknown.is_empty(), "{:?}", report.unknown);
    assert_eq!(report.counts.files, report.files.len());
    assert!(
        report
            .headline()
            .starts_with(&format!("{} files damaged", report.files.len())),
        "{}",
        report.headline()
    );
}

#[test]
fn ext2_indirect_blocks_and_a_partitioned_disk() {
    if !require_tool(
        "damage ext2 vs debugfs",
        &["mke2fs", "mkfs.ext4", "debugfs"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("d")).expect("mkdir");
    write_file(&tree.join("d/big"), 400 * 1024, 3);
    write_file(&tree.join("small"), 5000, 4);
    let image = tmp.path().join("ext2.img");
    mkfs(&tree, &image, &["-t", "ext2", "-b", "1024"], "8M");
    let img = image.to_str().expect("utf-8 path");
    let ind = tree_blocks(img, "/d/big", "IND");
    let dind = tree_blocks(img, "/d/big", "DIND");
    let l300: u64 = debugfs(img, "bmap /d/big 300")
        .trim()
        .parse()
        .expect("bmap answers a block");
    assert_eq!(
        (ind.len(), dind.len()),
        (2, 1),
        "IND, and DIND with its IND"
    );
    // The first indirect block, and a data block reached through the double indirect one.
    let bad = bad_bytes(0, 1024, &[ind[0], l300], &[]);
    let report = damage_report(&image, &bad).expect("damage report");
    compare(&report, img, None, &touched_blocks(&bad, 0, u64::MAX, 1024));
    let f = &report.files[0];
    assert_eq!(f.paths, ["/d/big"]);
    // The indirect block maps logical blocks 12..268; block 300 is one more.
    let want = [(12 * 1024, 268 * 1024), (300 * 1024, 301 * 1024)];
    let got: Vec<(u64, u64)> = f.ranges.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(got, want);
    assert!(f.hit.contains(&"indirect block".to_string()));

    // Two ext4 partitions of an MBR disk: areas in partition 2's data, in the MBR, and in the
    // gap before partition 1.
    let disk = tmp.path().join("disk.img");
    write_mbr_disk(
        &disk,
        P2_START + P2_SECTORS + 2048,
        &[(P1_START, P1_SECTORS), (P2_START, P2_SECTORS)],
    );
    mkfs_ext4(&disk, &tree, P1_START, P1_SECTORS);
    mkfs_ext4(&disk, &tree, P2_START, P2_SECTORS);
    let p2 = P2_START * SECTOR;
    let p2_name = format!("{}?offset={p2}", disk.display());
    let small = data_blocks(&p2_name, "/small");
    let bad = Unreadable::new([
        (0, 512),
        (4096, 8192),
        (p2 + small[1] * 1024 + 100, p2 + small[1] * 1024 + 200),
    ]);
    let report = damage_report(&disk, &bad).expect("damage report");
    compare(
        &report,
        &p2_name,
        Some(2),
        &touched_blocks(&bad, p2, p2 + P2_SECTORS * SECTOR, 1024),
    );
    assert_eq!(report.files.len(), 1, "{report:#?}");
    assert_eq!(report.files[0].paths, ["/small"]);
    assert_eq!(
        (report.files[0].ranges[0].start, report.files[0].lost_bytes),
        (1124, 100)
    );
    assert_eq!(report.metadata[0].what, "partition table (MBR)");
    assert_eq!(report.no_file[0].place, "outside every partition");
    assert_eq!(
        (report.no_file[0].bytes.start, report.no_file[0].bytes.end),
        (4096, 8192)
    );
}

#[test]
fn an_image_that_is_not_there_is_an_error_naming_it() {
    let e = damage_report(
        &PathBuf::from("/nonexistent/disk.img"),
        &Unreadable::new([(0, 512)]),
    )
    .expect_err("no image");
    assert!(e.to_string().contains("/nonexistent/disk.img"), "{e}");
}

#[test]
fn a_file_whose_block_map_is_broken_is_damaged_whole_never_intact() {
    if !require_tool("damage broken block map", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    write_file(&tree.join("whole"), 3 * 4096 + 100, 1);
    write_file(&tree.join("fine"), 5000, 2);
    // Ten extents between holes: more than i_block's four, so one extent tree block.
    let sparse = std::fs::File::create(tree.join("sparse")).expect("sparse");
    use std::os::unix::fs::FileExt;
    for i in 0..10u64 {
        sparse
            .write_all_at(&[0x5A; 4096], i * 3 * 4096)
            .expect("sparse block");
    }
    drop(sparse);
    let image = tmp.path().join("broken.img");
    mkfs(&tree, &image, &["-t", "ext4", "-b", "4096"], "16M");
    let img = image.to_str().expect("utf-8 path");
    let etb = tree_blocks(img, "/sparse", "ETB0");
    assert_eq!(etb.len(), 1, "one extent tree block");
    let whole = inode_of(img, "/whole");
    let sparse_ino = inode_of(img, "/sparse");
    // The root of /whole's extent tree loses its magic; /sparse's tree block reads as zeros.
    let out = Command::new("debugfs")
        .args(["-w", "-R", "sif /whole block[0] 0"])
        .arg(img)
        .output()
        .expect("debugfs -w");
    assert!(out.status.success(), "{out:?}");
    salvage_testkit::filesystem::write_at(&image, etb[0] * 4096, &[0u8; 4096]);

    // One unreadable block, in free space: the filesystem is mapped.
    let free: u64 = debugfs(img, "ffb 1 3000")
        .split_whitespace()
        .last()
        .and_then(|w| w.parse().ok())
        .expect("a free block");
    let report = damage_report(&image, &bad_bytes(0, 4096, &[free], &[])).expect("report");
    type Lost = (u32, Vec<(u64, u64)>, Vec<String>);
    let got: Vec<Lost> = report
        .files
        .iter()
        .map(|f| {
            (
                f.inode,
                f.ranges.iter().map(|r| (r.start, r.end)).collect(),
                f.hit.clone(),
            )
        })
        .collect();
    let size = 10 * 3 * 4096 - 2 * 4096;
    let mut want = vec![
        (
            whole,
            vec![(0, 3 * 4096 + 100)],
            vec!["block map unreadable".to_string()],
        ),
        (
            sparse_ino,
            vec![(0, size)],
            vec!["block map unreadable".to_string()],
        ),
    ];
    want.sort();
    assert_eq!(got, want, "{report:#?}");
    let w = report
        .files
        .iter()
        .find(|f| f.inode == whole)
        .expect("/whole");
    assert_eq!(w.paths, ["/whole"]);
    assert_eq!(report.counts.files, 2);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&format!("inode {whole}:"))),
        "{:?}",
        report.warnings
    );
    assert!(report.headline().starts_with("2 files damaged"));
}
