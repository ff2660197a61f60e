//! A copy cut short (out of space, killed) goes on in place with `--resume` (and the runbook
//! op on a rerun): files its manifest lists as copied are kept as they are (same inode, not
//! read again), the rest is copied, and the manifest ends complete and verifiable.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

fn have_mke2fs() -> bool {
    let ok = Command::new("mke2fs").arg("-V").output().is_ok();
    assert!(
        ok || std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_err(),
        "mke2fs (e2fsprogs) is required in CI"
    );
    if !ok {
        eprintln!("SKIP: mke2fs (e2fsprogs) is not installed");
    }
    ok
}

fn salvage(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_salvage"))
        .args(args)
        .output()
        .expect("salvage runs");
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

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
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("8M")
        .output()
        .expect("mke2fs");
    assert!(out.status.success());
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
