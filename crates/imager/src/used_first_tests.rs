//! `--domain used` on a partitioned ext4 disk: the used data is rescued and equals the files,
//! free space is never read (a bad area placed there is never hit), and `UsedFirst` goes on to
//! the free space afterwards. Also the ddrescue controls: a timeout, a read-error limit, and
//! the copying-pass selection.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use super::*;
use salvage_testkit::filesystem::{mkfs_ext4, write_mbr_disk};
use salvage_testkit::{pattern, require_tool};

const MIB: u64 = 1 << 20;

/// A 64 MiB disk: MBR, ext4 from 1 MiB holding 3 MiB of files; returns its tree.
fn disk(dir: &Path) -> std::path::PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("d")).expect("tree");
    std::fs::write(tree.join("big.bin"), pattern(3 * MIB as usize, 11)).expect("big");
    for i in 0..20 {
        std::fs::write(
            tree.join(format!("d/f{i}")),
            pattern(3000 + i * 77, i as u64),
        )
        .expect("file");
    }
    let img = dir.join("src");
    let sectors = 64 * MIB / 512;
    write_mbr_disk(&img, sectors, &[(2048, sectors - 2048)]);
    mkfs_ext4(&img, &tree, 2048, sectors - 2048);
    tree
}

/// The files of the image's filesystem, dumped by debugfs into `out`.
fn dump(img: &Path, out: &Path) {
    std::fs::create_dir_all(out).expect("out");
    let status = Command::new("debugfs")
        .arg("-R")
        .arg(format!("rdump / {}", out.display()))
        .arg(format!("{}?offset={MIB}", img.display()))
        .output()
        .expect("debugfs runs");
    assert!(status.status.success());
}

#[test]
fn used_domain_rescues_the_files_and_never_reads_free_space() {
    if !require_tool(
        "used_domain_rescues_the_files_and_never_reads_free_space",
        &["mkfs.ext4", "debugfs"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let tree = disk(dir.path());
    let mut opts = ImageOptions::new(
        dir.path().join("src"),
        dir.path().join("img"),
        dir.path().join("map"),
    );
    // A bad area in the filesystem's free space (past group 7's superblock copy at 57 MiB, no
    // file, bitmap or inode table there): never read.
    opts.bad_map = Some(BadMap::from_ranges([(58 * MIB, 4 * MIB)]));
    let (report, domain) = rescue_used_first(
        &opts,
        UsedDomain::UsedOnly,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("rescue");
    assert_eq!(report.bad_bytes, 0, "a bad area in free space was read");
    assert!(report.complete, "the used domain is rescued whole");
    assert!(domain.used_bytes >= 3 * MIB, "{domain:?}");
    assert!(domain.free_bytes_not_read > 32 * MIB, "{domain:?}");
    assert!(domain.rounds >= 2, "{domain:?}");
    let map = Mapfile::load(&dir.path().join("map"))
        .expect("map")
        .expect("exists");
    // Free space stays untried, but for the few areas the first rounds probed before the
    // table was known (filesystem signatures at the disk's start and end).
    let untried = map.bytes(BlockStatus::NonTried);
    assert!(
        untried <= domain.free_bytes_not_read && untried + MIB >= domain.free_bytes_not_read,
        "untried {untried}, free {}",
        domain.free_bytes_not_read
    );
    // The files read out of the image equal the originals.
    let out = dir.path().join("out");
    dump(&dir.path().join("img"), &out);
    assert_eq!(
        std::fs::read(out.join("big.bin")).expect("big.bin"),
        std::fs::read(tree.join("big.bin")).expect("orig")
    );
    for i in 0..20 {
        let name = format!("d/f{i}");
        assert_eq!(
            std::fs::read(out.join(&name)).expect("dumped"),
            std::fs::read(tree.join(&name)).expect("orig"),
            "{name}"
        );
    }

    // Used first, then the rest: the free space is read last, and the bad area found there.
    let (report, domain) = rescue_used_first(
        &opts,
        UsedDomain::UsedFirst,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("rescue");
    assert_eq!(domain.free_bytes_not_read, 0);
    assert_eq!(report.bad_bytes, 4 * MIB);
    assert_eq!(report.rescued_bytes, 60 * MIB);
}

#[test]
fn limits_stop_the_run_with_the_map_saved() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("src"), pattern(4 * MIB as usize, 5)).expect("src");
    let mut opts = ImageOptions::new(
        dir.path().join("src"),
        dir.path().join("img"),
        dir.path().join("map"),
    );
    opts.bad_map = Some(BadMap::from_ranges(
        (0..20).map(|i| (i * 100 * 1024 + 4096, 512)),
    ));
    opts.max_read_errors = Some(3);
    let err = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("stops");
    assert!(err.to_string().contains("--max-read-errors 3"), "{err}");
    assert_eq!(err.exit_code(), 1);
    let map = Mapfile::load(&dir.path().join("map"))
        .expect("map")
        .expect("saved");
    assert!(map.bytes(BlockStatus::Finished) > 0);

    // Only the first copying pass, no trimming or scraping: failed blocks stay non-trimmed.
    let mut opts = ImageOptions::new(
        dir.path().join("src"),
        dir.path().join("img2"),
        dir.path().join("map2"),
    );
    opts.bad_map = Some(BadMap::from_ranges([(MIB, 512)]));
    opts.cpass = Some(vec![1]);
    opts.no_trim = true;
    opts.no_scrape = true;
    let r = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect("rescue");
    let map = Mapfile::load(&dir.path().join("map2"))
        .expect("map")
        .expect("saved");
    assert!(
        map.bytes(BlockStatus::NonScraped) > 0,
        "failed block left for scraping"
    );
    assert!(!r.complete);
    opts.cpass = Some(vec![7]);
    let err = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("bad pass");
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn direct_output_writes_the_same_image() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = pattern(3 * MIB as usize + 1000, 8);
    std::fs::write(dir.path().join("src"), &data).expect("src");
    let mut opts = ImageOptions::new(
        dir.path().join("src"),
        dir.path().join("img"),
        dir.path().join("map"),
    );
    opts.bad_map = Some(BadMap::from_ranges([(MIB + 100, 512)]));
    opts.direct_output = true;
    match rescue(&opts, &mut |_| {}, &AtomicBool::new(false)) {
        Ok(r) => {
            assert_eq!(r.bad_bytes, 1024, "the sectors holding the bad range");
            let img = std::fs::read(dir.path().join("img")).expect("img");
            let mut want = data.clone();
            want[MIB as usize..MIB as usize + 1024].fill(0);
            assert!(
                img == want,
                "the image differs from the source outside the bad sectors"
            );
        }
        // A filesystem without O_DIRECT (tmpfs) refuses the open: said, not ignored.
        Err(e) => assert!(e.to_string().contains("img"), "{e}"),
    }
}
