//! A copy killed with SIGKILL at any point and resumed ends with a correct manifest: every
//! file listed with the hash of what is in the copy, verify clean. The copy claims files only
//! after a `syncfs`, so what a kill (or a crash) cuts off is copied again on resume.

use std::path::Path;
use std::time::{Duration, Instant};

fn files_in(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_copy_killed_twice_and_resumed_ends_with_a_correct_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    for d in 0..20 {
        let dir = src.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..150 {
            std::fs::write(
                dir.join(format!("f{f:03}")),
                format!("{d}/{f}\n").repeat(f + 1),
            )
            .unwrap();
        }
    }
    for i in 0..4u8 {
        std::fs::write(src.join(format!("big{i}")), vec![i + 1; 24 << 20]).unwrap();
    }
    let dest = tmp.path().join("out");
    let manifest = tmp.path().join("out.manifest.jsonl");
    // Killed once early and once later, at whatever point the copy has reached.
    for (round, at_least) in [(0, 200usize), (1, 1500)] {
        let mut cmd = crate::common::salvage();
        cmd.arg("copy").arg(&src).arg(&dest);
        if round > 0 {
            cmd.arg("--resume");
        }
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while files_in(&dest) < at_least && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let (code, text) = crate::common::status_text(&[
        "copy",
        src.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(code, Some(0), "{text}");
    let m = salvage_filesystem::Manifest::read(&manifest).unwrap();
    let summary = m.summary.as_ref().expect("a complete manifest");
    assert_eq!(summary.files, 20 * 150 + 4, "{summary:?}");
    for e in m
        .entries
        .iter()
        .filter(|e| e.kind == salvage_filesystem::EntryKind::File)
    {
        let copied = dest.join(e.rel_path());
        assert_eq!(
            e.content_hash().map(|h| h.hex().to_string()),
            Some(salvage_testkit::filesystem::blake3_file(&copied)),
            "{}",
            e.path
        );
        assert_eq!(
            std::fs::read(&copied).unwrap(),
            std::fs::read(src.join(e.rel_path())).unwrap(),
            "{}",
            e.path
        );
    }
    let (code, text) = crate::common::status_text(&["verify", manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
}
