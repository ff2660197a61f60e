//! `salvage damage IMAGE --map MAP` and the `damage(...)` op end to end: a small ext4 image
//! (mke2fs -d, no root), a ddrescue map whose bad areas hit one file's data and free space;
//! the text and JSON answers, the exit codes, a map with a syntax error, and a run whose
//! review carries the headline.

use std::path::Path;
use std::process::Command;

use crate::common::{code_out_err, output};
use salvage_testkit::require_tool;

/// An ext4 image (4 KiB blocks) with /docs/report.txt of 3 blocks; returns the file's first
/// block.
fn image(dir: &Path) -> u64 {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("docs")).expect("mkdir");
    std::fs::write(tree.join("docs/report.txt"), vec![b'r'; 3 * 4096]).expect("file");
    let img = dir.join("disk.img");
    let ok = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("16M")
        .status()
        .expect("mke2fs");
    assert!(ok.success());
    let out = Command::new("debugfs")
        .args(["-R", "blocks /docs/report.txt"])
        .arg(&img)
        .output()
        .expect("debugfs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|b| b.parse().ok())
        .expect("a block")
}

/// A ddrescue map of a 16 MiB image: `bad` areas (start, size) are `-`, the rest `+`.
fn map(path: &Path, bad: &[(u64, u64)]) {
    let mut text = String::from("# Mapfile. Created by a test\n0 +\n");
    let mut pos = 0;
    for &(s, n) in bad {
        if s > pos {
            text.push_str(&format!("{pos:#x} {:#x} +\n", s - pos));
        }
        text.push_str(&format!("{s:#x} {n:#x} -\n"));
        pos = s + n;
    }
    if pos < 16 << 20 {
        text.push_str(&format!("{pos:#x} {:#x} +\n", (16 << 20) - pos));
    }
    std::fs::write(path, text).expect("map");
}

#[test]
fn damage_names_the_file_and_its_lost_bytes() {
    if !require_tool("salvage damage", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = image(tmp.path());
    let img = tmp.path().join("disk.img");
    let m = tmp.path().join("disk.map");
    // The file's second block, and the last block of the image (free space).
    map(&m, &[((first + 1) * 4096, 4096), ((16 << 20) - 4096, 4096)]);
    let (img_s, m_s) = (img.to_str().expect("utf-8"), m.to_str().expect("utf-8"));
    let (code, out, err) = code_out_err(&["damage", img_s, "--map", m_s]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("1 file damaged (4.0 KiB lost), no directory, no metadata"),
        "{out}"
    );
    assert!(out.contains("/docs/report.txt"), "{out}");
    assert!(out.contains("bytes 4096-8191"), "{out}");
    assert!(out.contains("free space of the image (ext4)"), "{out}");

    let (code, out, _) = code_out_err(&["damage", img_s, "--map", m_s, "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["files"][0]["paths"][0], "/docs/report.txt");
    assert_eq!(v["files"][0]["ranges"][0]["start"], 4096);
    assert_eq!(v["counts"]["file_bytes_lost"], 4096);
    assert_eq!(v["no_file"][0]["bytes"]["end"], 16 << 20);

    // Only free space: nothing hit, exit 0.
    map(&m, &[((16 << 20) - 4096, 4096)]);
    let (code, out, _) = code_out_err(&["damage", img_s, "--map", m_s]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("no file damaged, no directory, no metadata"),
        "{out}"
    );

    // A map that does not parse: exit 2, naming the file and the line.
    std::fs::write(&m, "0 +\n0 zz +\n").expect("map");
    let (code, _, err) = code_out_err(&["damage", img_s, "--map", m_s]);
    assert_eq!(code, 2);
    assert!(err.contains("disk.map") && err.contains('2'), "{err}");
}

#[test]
fn the_damage_op_in_a_run_and_its_review() {
    if !require_tool("damage op", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = image(tmp.path());
    let m = tmp.path().join("disk.map");
    map(&m, &[(first * 4096, 512)]);
    let book = tmp.path().join("d.salvage");
    std::fs::write(
        &book,
        format!(
            "runbook \"what-was-lost\" {{\n  about \"name the damaged files\"\n  step hit = damage(image: {:?}, map: {:?})\n  output summary = hit.summary\n  output files = hit.files\n}}\n",
            tmp.path().join("disk.img"),
            m
        ),
    )
    .expect("runbook");
    let state = tmp.path().join("state");
    let out = output(&[
        "run",
        book.to_str().expect("utf-8"),
        "--state",
        state.to_str().expect("utf-8"),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("files = [\"/docs/report.txt\"]"), "{text}");
    let log = state.join("log.jsonl");
    let (code, review, _) = code_out_err(&["review", log.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{review}");
    assert!(
        review.contains("damage    hit: 1 file damaged (512 B lost), no directory, no metadata"),
        "{review}"
    );
}
