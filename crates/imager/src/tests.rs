//! Unit tests of the rescue algorithm against the in-process simulated bad map, compared with
//! a model: every sector without a bad byte is rescued, the bad sectors are exactly the
//! unrescued ones, no rescued byte is ever read again, and the image equals the source
//! everywhere else.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::Digest;

use super::source::ReadRecord;
use super::*;
use salvage_testkit::pattern;

#[derive(Clone)]
struct Case {
    size: u64,
    bad: Vec<(u64, u64)>,
    sector: u64,
    reverse: bool,
    retries: u32,
    domain: Option<(u64, u64)>,
    copy_size: Option<u64>,
    cluster_sectors: Option<u64>,
}

impl Case {
    fn new(size: u64, bad: &[(u64, u64)]) -> Self {
        Self {
            size,
            bad: bad.to_vec(),
            sector: 512,
            reverse: false,
            retries: 0,
            domain: None,
            copy_size: None,
            cluster_sectors: None,
        }
    }

    fn options(&self, dir: &Path) -> ImageOptions {
        let mut o = ImageOptions::new(dir.join("src"), dir.join("img"), dir.join("map"));
        // Without bad sectors the source is a plain file: good areas are kernel copies.
        o.bad_map = (!self.bad.is_empty()).then(|| BadMap::from_ranges(self.bad.iter().copied()));
        o.sector_size = Some(self.sector);
        o.hash = HashAlgorithm::Sha256;
        o.reverse = self.reverse;
        o.retries = self.retries;
        o.copy_size = self.copy_size;
        o.cluster_sectors = self.cluster_sectors;
        if let Some((s, n)) = self.domain {
            o.domain_start = s;
            o.domain_size = Some(n);
        }
        o
    }

    fn domain(&self) -> (u64, u64) {
        self.domain
            .map_or((0, self.size), |(s, n)| (s, (s + n).min(self.size)))
    }

    /// The model: unrescued areas are the sectors holding a bad byte, inside the domain.
    fn expected_bad(&self) -> Vec<(u64, u64)> {
        let (ds, de) = self.domain();
        let bm = BadMap::from_ranges(self.bad.iter().copied());
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &(s, e) in bm.ranges() {
            let s = (s - s % self.sector).max(ds);
            let e = e.div_ceil(self.sector).saturating_mul(self.sector).min(de);
            if s >= e {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.0 + last.1 >= s => last.1 = last.1.max(e - last.0),
                _ => out.push((s, e - s)),
            }
        }
        out
    }
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Runs `case` in `dir` (source written if missing) and checks it against the model.
fn check(case: &Case, dir: &Path) -> ImageReport {
    let src_path = dir.join("src");
    let data = pattern(case.size as usize, 0x5eed);
    if !src_path.exists() {
        std::fs::write(&src_path, &data).expect("write source");
    }
    let opts = case.options(dir);
    let cancel = AtomicBool::new(false);
    let mut log = Some(Vec::new());
    let report = rescue_recorded(&opts, &mut |_| {}, &cancel, &mut log).expect("rescue");
    let log = log.expect("log kept");
    verify(case, dir, &data, &report, &log);
    report
}

fn verify(case: &Case, dir: &Path, data: &[u8], report: &ImageReport, log: &[ReadRecord]) {
    let expected = case.expected_bad();
    let got: Vec<(u64, u64)> = report.bad_areas.iter().map(|a| (a.start, a.size)).collect();
    assert_eq!(got, expected, "unrescued areas differ from the bad sectors");
    let (ds, de) = case.domain();
    assert_eq!(
        report.rescued_bytes,
        (de - ds) - expected.iter().map(|a| a.1).sum::<u64>()
    );

    // The image equals the source everywhere but the bad sectors (zeros: a new image).
    let img = std::fs::read(dir.join("img")).expect("read image");
    assert_eq!(img.len() as u64, de, "image length");
    let is_bad = |i: u64| expected.iter().any(|&(s, n)| i >= s && i < s + n);
    for i in ds..de {
        let want = if is_bad(i) { 0 } else { data[i as usize] };
        assert_eq!(img[i as usize], want, "image byte {i}");
    }

    // No byte read successfully is ever asked for again.
    let mut good = Mapfile::new(0, case.size.max(1));
    for r in log {
        if let Some(i) = good.find(r.pos) {
            for b in &good.blocks()[i..] {
                if b.pos >= r.pos + r.len {
                    break;
                }
                assert!(
                    b.status != BlockStatus::Finished,
                    "read {}+{} re-reads rescued bytes {}+{}",
                    r.pos,
                    r.len,
                    b.pos,
                    b.size
                );
            }
        }
        good.set_status(r.pos, r.good, BlockStatus::Finished);
    }

    // Each bad sector is read a bounded number of times (copy, trim, scrape, retries).
    for &(s, n) in &expected {
        let mut sec = s;
        while sec < s + n {
            let reads = log
                .iter()
                .filter(|r| r.pos <= sec && sec < r.pos + r.len)
                .count();
            assert!(
                reads as u32 <= 2 + case.retries,
                "bad sector {sec} read {reads} times"
            );
            sec += case.sector;
        }
    }

    // The hash is the image's, over the domain.
    let want = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(&img[ds as usize..de as usize]))
    );
    assert_eq!(report.hash.as_deref(), Some(want.as_str()));

    // The saved map agrees and is finished.
    let map = Mapfile::load(&dir.join("map"))
        .expect("map parses")
        .expect("map exists");
    assert_eq!(map.phase, Phase::Finished);
    let unrescued: u64 = map
        .blocks()
        .iter()
        .filter(|b| b.status != BlockStatus::Finished)
        .map(|b| b.end().min(de).saturating_sub(b.pos.max(ds)))
        .sum();
    assert_eq!(unrescued, report.bad_bytes);
}

const MIB: u64 = 1 << 20;

#[test]
fn healthy_source_is_copied_whole() {
    let dir = tmpdir();
    let r = check(&Case::new(3 * MIB + 1536, &[]), dir.path());
    assert!(r.complete);
    assert_eq!(r.read_errors, 0);
}

/// Runs a rescue of `dir`'s `src` with `opts`, keeping the read log.
fn run_logged(opts: &ImageOptions) -> (ImageReport, Vec<ReadRecord>) {
    let mut log = Some(Vec::new());
    let r = rescue_recorded(opts, &mut |_| {}, &AtomicBool::new(false), &mut log).expect("rescue");
    (r, log.expect("log"))
}

#[test]
fn good_areas_of_a_file_are_kernel_copies_hashed_inline() {
    let dir = tmpdir();
    let size = 5 * MIB + 512;
    let data = pattern(size as usize, 7);
    std::fs::write(dir.path().join("src"), &data).expect("src");
    let mut opts = Case::new(size, &[]).options(dir.path());
    opts.hash = HashAlgorithm::Blake3;
    let (r, log) = run_logged(&opts);
    assert!(r.complete);
    assert!(!log.is_empty() && log.iter().all(|rec| rec.kernel && rec.good == rec.len));
    assert_eq!(log.iter().map(|rec| rec.len).sum::<u64>(), size);
    assert_eq!(std::fs::read(dir.path().join("img")).expect("img"), data);
    let want = format!("blake3:{}", blake3::hash(&data).to_hex());
    assert_eq!(r.hash.as_deref(), Some(want.as_str()));
    assert_eq!(r.hashed_inline_bytes, size, "hashed from the copied pages");
}

#[test]
fn sparse_and_simulated_runs_read_instead_of_kernel_copies() {
    let dir = tmpdir();
    let size = 2 * MIB;
    std::fs::write(dir.path().join("src"), pattern(size as usize, 9)).expect("src");
    let mut opts = Case::new(size, &[]).options(dir.path());
    opts.sparse = true;
    let (r, log) = run_logged(&opts);
    assert!(r.complete && log.iter().all(|rec| !rec.kernel));
    let dir = tmpdir();
    std::fs::write(dir.path().join("src"), pattern(size as usize, 9)).expect("src");
    let opts = Case::new(size, &[(MIB, 512)]).options(dir.path());
    let (_, log) = run_logged(&opts);
    assert!(log.iter().all(|rec| !rec.kernel));
}

#[test]
fn the_map_lists_what_is_not_on_disk_yet_unless_synced() {
    let dir = tmpdir();
    let size = 3 * MIB;
    std::fs::write(dir.path().join("src"), pattern(size as usize, 3)).expect("src");
    let opts = Case::new(size, &[(MIB, 4096)]).options(dir.path());
    let (r, _) = run_logged(&opts);
    let map = Mapfile::load(&dir.path().join("map"))
        .expect("map")
        .expect("map");
    let unsynced = map.unsynced.expect("an Unsynced line");
    assert_eq!(unsynced.bytes(), r.rescued_bytes);
    assert_eq!(unsynced.bytes(), r.unsynced_bytes);
    assert_eq!(
        unsynced.ranges,
        vec![(0, MIB), (MIB + 4096, 2 * MIB - 4096)]
    );
    let text = std::fs::read_to_string(dir.path().join("map")).expect("map");
    assert!(text.contains("# Unsynced: boot="), "{text}");

    let dir = tmpdir();
    std::fs::write(dir.path().join("src"), pattern(size as usize, 3)).expect("src");
    let mut opts = Case::new(size, &[(MIB, 4096)]).options(dir.path());
    opts.sync = true;
    let (r, _) = run_logged(&opts);
    let map = Mapfile::load(&dir.path().join("map"))
        .expect("map")
        .expect("map");
    assert_eq!(map.unsynced, None);
    assert_eq!(r.unsynced_bytes, 0);
}

/// A finished rescue whose map lists `[MIB, 2 MiB)` as not synced, written by `boot`, with
/// that part of the image lost (zeros), as after a crash.
fn lost_after_crash(dir: &Path, boot: &str) -> (Vec<u8>, ImageOptions) {
    let size = 3 * MIB;
    let data = pattern(size as usize, 11);
    std::fs::write(dir.join("src"), &data).expect("src");
    let opts = Case::new(size, &[]).options(dir);
    let (r, _) = run_logged(&opts);
    assert!(r.complete);
    let mut map = Mapfile::load(&dir.join("map")).expect("map").expect("map");
    map.unsynced = Some(Unsynced {
        boot: boot.to_string(),
        ranges: vec![(MIB, MIB)],
    });
    std::fs::write(dir.join("map"), map.render("test", "then", "now")).expect("map");
    let mut img = std::fs::read(dir.join("img")).expect("img");
    img[MIB as usize..2 * MIB as usize].fill(0);
    std::fs::write(dir.join("img"), &img).expect("img");
    (data, opts)
}

#[test]
fn after_a_restart_what_was_not_synced_is_read_again() {
    let dir = tmpdir();
    let (data, opts) = lost_after_crash(dir.path(), "another-boot");
    let (r, log) = run_logged(&opts);
    assert_eq!(r.reread_unsynced_bytes, MIB);
    assert!(r.complete);
    assert!(
        log.iter()
            .all(|rec| rec.pos >= MIB && rec.pos + rec.len <= 2 * MIB),
        "only the unsynced part is read: {log:?}"
    );
    assert_eq!(log.iter().map(|rec| rec.good).sum::<u64>(), MIB);
    assert_eq!(std::fs::read(dir.path().join("img")).expect("img"), data);
}

#[test]
fn in_the_same_boot_what_was_not_synced_is_synced_not_read() {
    let dir = tmpdir();
    let boot = super::unsynced::current_boot_id();
    if boot == "unknown" {
        eprintln!("skipped: this machine has no /proc/sys/kernel/random/boot_id");
        return;
    }
    let (_, opts) = lost_after_crash(dir.path(), &boot);
    let (r, log) = run_logged(&opts);
    assert_eq!(r.reread_unsynced_bytes, 0);
    assert!(log.is_empty(), "nothing is read again: {log:?}");
    let map = Mapfile::load(&dir.path().join("map"))
        .expect("map")
        .expect("map");
    assert_eq!(map.unsynced, None, "synced at the start of the run");
}

#[test]
fn bad_sectors_are_exactly_the_unrescued_ones() {
    let dir = tmpdir();
    let bad = [
        (4096, 512),
        (MIB + 1000, 3000),
        (2 * MIB, 70_000),
        (4 * MIB - 512, 512),
        (5 * MIB + 7, 1),
    ];
    let r = check(&Case::new(4 * MIB + 2 * MIB, &bad), dir.path());
    assert!(!r.complete);
    assert!(r.read_errors > 0);
}

#[test]
fn reverse_with_retries_and_small_reads() {
    let dir = tmpdir();
    let mut c = Case::new(3 * MIB, &[(0, 512), (300_000, 4096), (3 * MIB - 100, 100)]);
    c.reverse = true;
    c.retries = 2;
    c.copy_size = Some(128 * 1024);
    c.cluster_sectors = Some(16);
    check(&c, dir.path());
}

#[test]
fn domain_and_4k_sectors() {
    let dir = tmpdir();
    let mut c = Case::new(
        4 * MIB,
        &[(100, 10), (MIB + 5000, 10_000), (3 * MIB + 4096, 4096)],
    );
    c.sector = 4096;
    c.domain = Some((MIB, 2 * MIB + 8192));
    check(&c, dir.path());
}

#[test]
fn dense_bad_area_with_scattered_bad_sectors() {
    let dir = tmpdir();
    let bad: Vec<(u64, u64)> = (0..200).map(|i| (MIB + i * 5 * 512, 512)).collect();
    check(&Case::new(3 * MIB, &bad), dir.path());
}

/// Interrupts at a phase boundary, then reruns: the result equals an uninterrupted run.
fn interrupted_then_resumed(stop: impl Fn(&ImageStatus) -> bool) {
    let bad = [(200_000, 5000), (MIB + 3, 1), (2 * MIB, 300_000)];
    let case = Case::new(3 * MIB, &bad);
    let once = tmpdir();
    let whole = check(&case, once.path());

    let twice = tmpdir();
    let data = pattern(case.size as usize, 0x5eed);
    std::fs::write(twice.path().join("src"), &data).expect("write source");
    let opts = case.options(twice.path());
    let cancel = AtomicBool::new(false);
    let err = rescue(
        &opts,
        &mut |s| {
            if stop(s) {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .expect_err("interrupted");
    assert!(err.is_interrupted(), "{err}");
    let saved = Mapfile::load(&twice.path().join("map"))
        .expect("parses")
        .expect("saved");
    assert_ne!(saved.phase, Phase::Finished);
    let resumed = check(&case, twice.path());
    assert_eq!(resumed.hash, whole.hash);
    assert_eq!(resumed.bad_areas, whole.bad_areas);
    assert_eq!(
        std::fs::read(once.path().join("img")).expect("img"),
        std::fs::read(twice.path().join("img")).expect("img")
    );
}

#[test]
fn resume_after_interrupt_in_copying() {
    interrupted_then_resumed(|s| s.phase == Phase::Copying && s.pass == 2);
}

#[test]
fn resume_after_interrupt_in_trimming() {
    interrupted_then_resumed(|s| s.phase == Phase::Trimming);
}

#[test]
fn existing_image_is_not_truncated_and_keeps_old_data_in_bad_areas() {
    let dir = tmpdir();
    let size = 2 * MIB;
    std::fs::write(dir.path().join("src"), pattern(size as usize, 0x5eed)).expect("src");
    std::fs::write(dir.path().join("img"), vec![0xAAu8; (3 * MIB) as usize]).expect("img");
    let case = Case::new(size, &[(MIB, 512)]);
    let mut opts = case.options(dir.path());
    // An image with data and no map is refused (swapped SRC and DEST?) unless forced.
    let e = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("refused");
    assert!(
        matches!(e.kind, ImageErrorKind::DestHasDataWithoutMap { .. }),
        "{e}"
    );
    assert!(
        std::fs::read(dir.path().join("img"))
            .expect("img")
            .iter()
            .all(|&b| b == 0xAA)
    );
    opts.force = true;
    let r = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect("rescue");
    let img = std::fs::read(dir.path().join("img")).expect("img");
    assert_eq!(img.len() as u64, 3 * MIB, "the image was truncated");
    assert!(
        img[MIB as usize..MIB as usize + 512]
            .iter()
            .all(|&b| b == 0xAA)
    );
    assert!(img[2 * MIB as usize..].iter().all(|&b| b == 0xAA));
    assert_eq!(
        r.bad_areas,
        vec![BadArea {
            start: MIB,
            size: 512
        }]
    );
}

#[test]
fn refuses_the_source_as_image() {
    let dir = tmpdir();
    let src = dir.path().join("src");
    std::fs::write(&src, pattern(8192, 1)).expect("src");
    let link = dir.path().join("hardlink");
    std::fs::hard_link(&src, &link).expect("link");
    let opts = ImageOptions::new(&src, &link, dir.path().join("map"));
    let e = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("refused");
    assert!(matches!(e.kind, ImageErrorKind::DestIsSource { .. }), "{e}");
    assert_eq!(std::fs::read(&src).expect("src"), pattern(8192, 1));
}

#[test]
fn refuses_when_space_is_short() {
    let dir = tmpdir();
    let src = dir.path().join("src");
    let f = std::fs::File::create(&src).expect("src");
    f.set_len(15 << 40).expect("sparse 15 TiB source");
    let opts = ImageOptions::new(&src, dir.path().join("img"), dir.path().join("map"));
    let e = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("refused");
    assert!(matches!(e.kind, ImageErrorKind::NoSpace { .. }), "{e}");
    assert!(!dir.path().join("img").exists());
}

#[test]
fn corrupt_map_is_refused_with_its_line() {
    let dir = tmpdir();
    std::fs::write(dir.path().join("src"), pattern(4096, 1)).expect("src");
    std::fs::write(dir.path().join("map"), "0 ? 1\n0 4096 +x\n").expect("map");
    let opts = ImageOptions::new(
        dir.path().join("src"),
        dir.path().join("img"),
        dir.path().join("map"),
    );
    let e = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect_err("refused");
    assert!(
        matches!(e.kind, ImageErrorKind::MapSyntax { line: 2, .. }),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn resumes_a_partial_map_without_rereading_finished_blocks() {
    let dir = tmpdir();
    let size = 2 * MIB;
    let data = pattern(size as usize, 0x5eed);
    std::fs::write(dir.path().join("src"), &data).expect("src");
    // A map (2-field status line, as ddrescue <= 1.19) claiming the first MiB is done; the
    // image holds that MiB already.
    let mut img = vec![0u8; size as usize];
    img[..MIB as usize].copy_from_slice(&data[..MIB as usize]);
    std::fs::write(dir.path().join("img"), &img).expect("img");
    std::fs::write(
        dir.path().join("map"),
        format!("0x100000 ?\n0 {MIB:#x} +\n{MIB:#x} {MIB:#x} ?\n"),
    )
    .expect("map");
    let case = Case::new(size, &[]);
    let opts = case.options(dir.path());
    let mut log = Some(Vec::new());
    let r = rescue_recorded(&opts, &mut |_| {}, &AtomicBool::new(false), &mut log).expect("rescue");
    assert!(r.complete);
    let log = log.expect("log");
    assert!(
        log.iter().all(|rec| rec.pos >= MIB),
        "a finished block was read again"
    );
    assert_eq!(std::fs::read(dir.path().join("img")).expect("img"), data);
    assert_eq!(
        r.hashed_inline_bytes, 0,
        "the first MiB came from the earlier run"
    );
    let want = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data)));
    assert_eq!(r.hash.as_deref(), Some(want.as_str()));
}

#[test]
fn blake3_hash_is_computed_inline_despite_bad_areas_and_resume() {
    let dir = tmpdir();
    let size = 8 * MIB;
    let data = pattern(size as usize, 0x5eed);
    std::fs::write(dir.path().join("src"), &data).expect("src");
    let mut case = Case::new(size, &[(MIB + 4096, 512), (5 * MIB, 70_000)]);
    case.copy_size = Some(MIB);
    let mut opts = case.options(dir.path());
    opts.hash = HashAlgorithm::Blake3;
    let r = rescue(&opts, &mut |_| {}, &AtomicBool::new(false)).expect("rescue");
    let img = std::fs::read(dir.path().join("img")).expect("img");
    let want = format!("blake3:{}", blake3::hash(&img).to_hex());
    assert_eq!(r.hash.as_deref(), Some(want.as_str()));
    // Only the leaves (1 MiB each) holding bad sectors, and the ones just after them (whose
    // first 64 KiB were skipped after the error and read later, out of order), were read back
    // from the image: four of eight.
    assert!(
        r.hashed_inline_bytes >= size - 4 * MIB,
        "inline {}",
        r.hashed_inline_bytes
    );
}
