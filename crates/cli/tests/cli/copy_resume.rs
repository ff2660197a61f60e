//! A copy cut short (out of space, killed) goes on in place with `--resume` (and the runbook
//! op on a rerun): files its manifest lists as copied are kept as they are (same inode, not
//! read again), the rest is copied, and the manifest ends complete and verifiable.

use std::io::Write;
use std::os::unix::fs::MetadataExt;

/// mke2fs (e2fsprogs), or a skip naming it (a failure in CI).
fn have_mke2fs() -> bool {
    salvage_testkit::require_tool(module_path!(), &["mke2fs"])
}

use crate::common::status_text as salvage;

#[test]
fn a_cut_short_copy_resumes_in_place_keeping_finished_files() {
    if !have_mke2fs() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    for (name, byte) in [("a", 1u8), ("b", 2), ("d/c", 3), ("e", 4)] {
        std::fs::write(tree.join(name), vec![byte; 300_000]).unwrap();
    }
    let img = tmp.path().join("fs.img");
    salvage_testkit::ext4_image(&tree, &img, "8M", &[]);
    let dest = tmp.path().join("out");
    let manifest = tmp.path().join("out.manifest.jsonl");
    let (code, text) = salvage(&["copy", img.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    let full = std::fs::read_to_string(&manifest).unwrap();

    // Make it the copy of a run cut short while writing `d/c`: the manifest stops after `b`
    // (no summary), `d/c` is half written, `e` was never started.
    let mut cut = String::new();
    for line in full.lines() {
        if line.contains("\"path\":\"d\"") {
            break;
        }
        cut.push_str(line);
        cut.push('\n');
    }
    assert!(
        cut.contains("\"path\":\"b\"") && !cut.contains("\"summary\""),
        "{cut}"
    );
    std::fs::write(&manifest, &cut).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(dest.join("d/c"))
        .unwrap()
        .set_len(1000)
        .unwrap();
    std::fs::remove_file(dest.join("e")).unwrap();
    // Mark every file left in the copy with an mtime the source never had: a file copied
    // again gets the source's mtime back, a kept one keeps the mark.
    const MARK: i64 = 1_000_000_000;
    for name in ["a", "b", "d/c"] {
        let f = std::fs::File::options()
            .write(true)
            .open(dest.join(name))
            .unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(MARK as u64))
            .unwrap();
    }
    let mtime = |p: &str| std::fs::metadata(dest.join(p)).unwrap().mtime();

    // Without --resume the destination is refused (not empty); with it the copy goes on.
    let (code, text) = salvage(&["copy", img.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not empty"), "{text}");
    let (code, text) = salvage(&[
        "copy",
        "--resume",
        img.to_str().unwrap(),
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(mtime("a"), MARK, "a was kept, not copied again");
    assert_eq!(mtime("b"), MARK, "b was kept, not copied again");
    assert_ne!(mtime("d/c"), MARK, "the half-written d/c was copied again");
    for (name, byte) in [("a", 1u8), ("b", 2), ("d/c", 3), ("e", 4)] {
        assert_eq!(
            std::fs::read(dest.join(name)).unwrap(),
            vec![byte; 300_000],
            "{name}"
        );
    }
    let resumed = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(resumed.lines().count(), full.lines().count(), "{resumed}");
    assert!(resumed.contains("\"record\":\"summary\""), "{resumed}");
    assert!(!tmp.path().join("out.manifest.jsonl.resuming").exists());
    let (code, text) = salvage(&["verify", manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");

    // A kept file changed in the source since would not be kept: shown by a copy whose
    // manifest claims a different size for `a`.
    let tampered: String = resumed
        .lines()
        .map(|l| {
            if l.contains("\"path\":\"a\"") {
                format!("{}\n", l.replace("\"size\":300000", "\"size\":299999"))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(tampered, resumed);
    let mut f = std::fs::File::create(&manifest).unwrap();
    f.write_all(tampered.as_bytes()).unwrap();
    let (code, text) = salvage(&[
        "copy",
        "--resume",
        img.to_str().unwrap(),
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_ne!(
        mtime("a"),
        MARK,
        "a no longer matched its manifest line: copied again"
    );
    assert_eq!(mtime("b"), MARK, "b still kept");
    let (code, text) = salvage(&["verify", manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
}

/// The runbook op: a run interrupted (SIGINT) in the middle of a copy from a slow disk, then
/// run again, goes on with the copy in place instead of starting over beside it.
#[test]
fn an_interrupted_copy_step_resumes_in_place_on_the_rerun() {
    use salvage_testkit::{FailDisk, FailDiskSpec, SlowRange};
    use std::time::{Duration, Instant};
    if !salvage_testkit::require_root("an_interrupted_copy_step_resumes_in_place_on_the_rerun")
        || !have_mke2fs()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let names = ["a", "b", "c", "d"];
    for (i, name) in names.iter().enumerate() {
        let data: Vec<u8> = (0..2u32 << 20).map(|j| (j % 253) as u8 ^ i as u8).collect();
        std::fs::write(tree.join(name), data).unwrap();
    }
    let backing = tmp.path().join("backing");
    salvage_testkit::ext4_image(&tree, &backing, "16M", &[]);
    std::fs::create_dir(tmp.path().join("mnt")).unwrap();
    let spec = FailDiskSpec {
        flaky: Vec::new(),
        backing: backing.clone(),
        bad: Vec::new(),
        slow: vec![SlowRange {
            start: 0,
            size: 16 << 20,
            delay: Duration::from_millis(25),
        }],
    };
    let disk = FailDisk::mount(&spec, &tmp.path().join("mnt")).expect("FUSE disk");
    let files = tmp.path().join("files");
    let rb = tmp.path().join("copy.salvage");
    std::fs::write(
        &rb,
        format!(
            "runbook \"resume\" {{\n  step files = copy(from: \"userspace-ext:{}?offset=0\", to: \"{}\")\n}}\n",
            disk.file().display(),
            files.display()
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let mut first = crate::common::salvage()
        .arg("run")
        .arg(&rb)
        .arg("--state")
        .arg(&state)
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("first run");
    let manifest = tmp.path().join("files.manifest.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    // `b` is created once `a` is copied and recorded.
    while !files.join("b").exists() {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the copy ended before it could be cut"
        );
        assert!(Instant::now() < deadline, "the copy never got to b");
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let cut = std::fs::read_to_string(&manifest).unwrap();
    assert!(!cut.contains("\"record\":\"summary\""), "cut short: {cut}");
    assert!(cut.contains("\"path\":\"a\""), "a was finished: {cut}");
    const MARK: i64 = 1_000_000_000;
    let f = std::fs::File::options()
        .write(true)
        .open(files.join("a"))
        .unwrap();
    f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(MARK as u64))
        .unwrap();
    drop(f);

    let (code, text) = salvage(&[
        "run",
        rb.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("resuming the interrupted copy"), "{text}");
    assert!(!text.contains("moved aside"), "{text}");
    let a = std::fs::metadata(files.join("a")).unwrap();
    assert_eq!(a.mtime(), MARK, "a was kept from the first run");
    for (i, name) in names.iter().enumerate() {
        let data: Vec<u8> = (0..2u32 << 20).map(|j| (j % 253) as u8 ^ i as u8).collect();
        assert_eq!(std::fs::read(files.join(name)).unwrap(), data, "{name}");
    }
    let done = std::fs::read_to_string(&manifest).unwrap();
    assert!(done.contains("\"record\":\"summary\""), "{done}");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
