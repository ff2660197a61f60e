//! `salvage image` on a real failing disk (root): a FUSE file whose reads fail with EIO on
//! chosen ranges (testkit's `FailDisk`). salvage and GNU ddrescue must find the same bad
//! ranges at sector granularity and produce the same bytes everywhere else; a run killed
//! halfway must resume to the same image as an uninterrupted one.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use salvage_imager::{BlockStatus, Mapfile, Phase};
use salvage_testkit::{FailDisk, FailDiskSpec, SlowRange, require_root};

use salvage_testkit::pattern;

const MIB: u64 = 1 << 20;
/// The seed of this file's test data.
const SEED: u64 = 0xD1B5_4A32_D192_ED03;

/// A mounted failing disk and its directory; the disk is unmounted first when dropped, even
/// when the test fails.
struct Setup {
    disk: FailDisk,
    dir: tempfile::TempDir,
    data: Vec<u8>,
}

fn setup(size: u64, bad: &[(u64, u64)], slow: &[SlowRange]) -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let data = pattern(size as usize, SEED);
    std::fs::write(dir.path().join("backing"), &data).expect("backing");
    std::fs::create_dir(dir.path().join("mnt")).expect("mountpoint");
    let spec = FailDiskSpec {
        flaky: Vec::new(),
        backing: dir.path().join("backing"),
        bad: bad.to_vec(),
        slow: slow.to_vec(),
    };
    let disk =
        FailDisk::mount(&spec, &dir.path().join("mnt")).expect("mount the FUSE failing disk");
    Setup { disk, dir, data }
}

fn salvage_cmd(s: &Setup, img: &str, map: &str) -> Command {
    let mut c = crate::common::salvage();
    c.arg("image")
        .arg(s.disk.file())
        .arg(img)
        .args(["--map", map, "-q"])
        .current_dir(s.dir.path());
    c
}

use crate::common::unrescued;

/// The sectors holding a bad byte, merged.
fn bad_sectors(bad: &[(u64, u64)], size: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut sorted = bad.to_vec();
    sorted.sort_unstable();
    for (s, n) in sorted {
        let start = s - s % 512;
        let end = (s + n).div_ceil(512).saturating_mul(512).min(size);
        match out.last_mut() {
            Some(last) if last.0 + last.1 >= start => last.1 = last.1.max(end - last.0),
            _ => out.push((start, end - start)),
        }
    }
    out
}

fn assert_same(a: &[u8], b: &[u8], what: &str) {
    let n = a.len().min(b.len());
    if let Some(i) = a[..n].iter().zip(&b[..n]).position(|(x, y)| x != y) {
        panic!("{what}: first difference at byte {i}");
    }
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
}

#[test]
fn image_fuse_failing_disk_matches_gnu_ddrescue() {
    if !salvage_testkit::require_tool(
        "image_fuse_failing_disk_matches_gnu_ddrescue",
        &["ddrescue"],
    ) {
        return;
    }
    if !require_root("image_fuse_failing_disk_matches_gnu_ddrescue") {
        return;
    }
    let size = 16 * MIB;
    let bad = [
        (0, 512),
        (MIB + 512, 4096),
        (5 * MIB + 100, 1000),
        (8 * MIB, 200 * 1024),
        (16 * MIB - 3 * 4096, 1),
    ];
    let s = setup(size, &bad, &[]);
    let out = salvage_cmd(&s, "s.img", "s.map")
        .arg("--json")
        .output()
        .expect("salvage runs");
    assert!(
        out.status.success(),
        "salvage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let of_bad = || {
        s.disk
            .stats()
            .reads_of_bad
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let salvage_reads_of_bad = of_bad();
    let dd = Command::new("ddrescue")
        .args(["-q"])
        .arg(s.disk.file())
        .args(["d.img", "d.map"])
        .current_dir(s.dir.path())
        .output()
        .expect("GNU ddrescue runs (apt-get install gddrescue)");
    assert!(
        dd.status.success(),
        "ddrescue: {}",
        String::from_utf8_lossy(&dd.stderr)
    );

    let ddrescue_reads_of_bad = of_bad() - salvage_reads_of_bad;
    assert!(
        salvage_reads_of_bad <= ddrescue_reads_of_bad,
        "salvage read bad sectors {salvage_reads_of_bad} times, ddrescue {ddrescue_reads_of_bad}"
    );
    let expected = bad_sectors(&bad, size);
    assert_eq!(
        unrescued(&s.dir.path().join("s.map")),
        expected,
        "salvage's bad ranges"
    );
    assert_eq!(
        unrescued(&s.dir.path().join("d.map")),
        expected,
        "ddrescue's bad ranges"
    );
    let s_img = std::fs::read(s.dir.path().join("s.img")).expect("s.img");
    let d_img = std::fs::read(s.dir.path().join("d.img")).expect("d.img");
    assert_same(&s_img, &d_img, "salvage vs ddrescue image");
    let mut want = s.data.clone();
    for &(start, n) in &expected {
        want[start as usize..(start + n) as usize].fill(0);
    }
    assert_same(
        &s_img,
        &want,
        "salvage image vs the backing file outside the bad sectors",
    );
    assert_eq!(
        report["bad_areas"].as_array().map(Vec::len),
        Some(expected.len())
    );
    assert!(
        s.disk
            .stats()
            .reads_failed
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
}

/// Starts salvage with a 1 s map interval, waits until a saved map shows the copy halfway,
/// then sends `signal`; returns the exit status.
fn interrupt_halfway(s: &Setup, signal: i32) -> std::process::ExitStatus {
    let mut child = salvage_cmd(s, "r.img", "r.map")
        .args(["--save-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("salvage starts");
    let map_path = s.dir.path().join("r.map");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no halfway map within 30 s");
        if let Ok(Some(m)) = Mapfile::load(&map_path) {
            let done = m.bytes(BlockStatus::Finished);
            if done > 6 * MIB && m.phase != Phase::Finished {
                break;
            }
            assert!(
                m.phase != Phase::Finished,
                "the run finished before it could be interrupted"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions; pid is our own child.
    unsafe { libc::kill(pid, signal) };
    child.wait().expect("salvage exits")
}

fn resume_case(signal: i32, name: &str) {
    if !require_root(name) {
        return;
    }
    let size = 16 * MIB;
    let bad = [
        (2 * MIB + 4096, 8192),
        (9 * MIB + 333, 1),
        (13 * MIB, 70_000),
    ];
    // 20 ms per 64 KiB read over 4..12 MiB: the copy takes at least 2.5 s.
    let slow = [SlowRange {
        start: 4 * MIB,
        size: 8 * MIB,
        delay: Duration::from_millis(20),
    }];
    let s = setup(size, &bad, &slow);
    let whole = salvage_cmd(&s, "w.img", "w.map")
        .status()
        .expect("salvage runs");
    assert!(whole.success());

    let status = interrupt_halfway(&s, signal);
    if signal == libc::SIGTERM {
        assert_eq!(status.code(), Some(130), "interrupted exit code");
    }
    let saved = Mapfile::load(&s.dir.path().join("r.map"))
        .expect("parses")
        .expect("saved");
    assert_ne!(saved.phase, Phase::Finished);
    assert!(saved.bytes(BlockStatus::Finished) < size);
    let resumed = salvage_cmd(&s, "r.img", "r.map")
        .status()
        .expect("salvage runs");
    assert!(resumed.success());

    assert_eq!(
        unrescued(&s.dir.path().join("r.map")),
        unrescued(&s.dir.path().join("w.map"))
    );
    assert_eq!(
        unrescued(&s.dir.path().join("r.map")),
        bad_sectors(&bad, size)
    );
    assert_same(
        &std::fs::read(s.dir.path().join("r.img")).expect("r.img"),
        &std::fs::read(s.dir.path().join("w.img")).expect("w.img"),
        "resumed vs uninterrupted image",
    );
}

#[test]
fn image_fuse_run_killed_halfway_resumes_to_the_same_image() {
    resume_case(
        libc::SIGKILL,
        "image_fuse_run_killed_halfway_resumes_to_the_same_image",
    );
}

#[test]
fn image_fuse_run_interrupted_by_sigterm_saves_the_map_and_resumes() {
    resume_case(
        libc::SIGTERM,
        "image_fuse_run_interrupted_by_sigterm_saves_the_map_and_resumes",
    );
}

/// Scattered bad sectors and flaky ones (failing once, then reading): each tool on its own
/// fresh failing disk; salvage rescues the same bytes as GNU ddrescue with no more reads of bad
/// sectors.
#[test]
fn scattered_and_flaky_sectors_cost_no_more_reads_than_ddrescue() {
    let name = "scattered_and_flaky_sectors_cost_no_more_reads_than_ddrescue";
    if !salvage_testkit::require_tool(name, &["ddrescue"]) || !require_root(name) {
        return;
    }
    let size = 16 * MIB;
    // 60 scattered bad sectors and 20 flaky ones, at fixed pseudo-random sectors.
    let mut x: u64 = 0x9e37_79b9;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % (size / 512)) * 512
    };
    let bad: Vec<(u64, u64)> = (0..60).map(|_| (next(), 512)).collect();
    let flaky: Vec<(u64, u64, u64)> = (0..20).map(|_| (next(), 512, 1)).collect();
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("backing"), pattern(size as usize, SEED)).expect("backing");
    let run = |tool: &str| -> (u64, Vec<(u64, u64)>, Vec<u8>) {
        let mnt = dir.path().join(format!("mnt-{tool}"));
        std::fs::create_dir(&mnt).expect("mountpoint");
        let spec = FailDiskSpec {
            flaky: flaky.clone(),
            backing: dir.path().join("backing"),
            bad: bad.clone(),
            slow: Vec::new(),
        };
        let disk = FailDisk::mount(&spec, &mnt).expect("mount the FUSE failing disk");
        let (img, map) = (format!("{tool}.img"), format!("{tool}.map"));
        let out = if tool == "salvage" {
            crate::common::salvage()
                .arg("image")
                .arg(disk.file())
                .args([&img, &map, "-q"])
                .current_dir(dir.path())
                .output()
        } else {
            Command::new("ddrescue")
                .arg("-q")
                .arg(disk.file())
                .args([&img, &map])
                .current_dir(dir.path())
                .output()
        }
        .expect("the tool runs");
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reads = disk
            .stats()
            .reads_of_bad
            .load(std::sync::atomic::Ordering::Relaxed);
        drop(disk);
        let image = std::fs::read(dir.path().join(&img)).expect("image");
        (reads, unrescued(&dir.path().join(&map)), image)
    };
    let (s_reads, s_bad, s_img) = run("salvage");
    let (d_reads, d_bad, d_img) = run("ddrescue");
    assert_eq!(s_bad, d_bad, "the same unrescued areas");
    assert_eq!(
        s_bad,
        bad_sectors(&bad, size),
        "exactly the bad sectors; flaky ones rescued"
    );
    let n = s_img.len().min(d_img.len());
    assert_same(&s_img[..n], &d_img[..n], "salvage vs ddrescue image");
    assert!(
        s_reads <= d_reads,
        "salvage read bad sectors {s_reads} times, ddrescue {d_reads}"
    );
}
