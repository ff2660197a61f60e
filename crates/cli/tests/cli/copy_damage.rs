//! A copy given what the image's unreadable areas hit (`salvage copy --damage REPORT` or
//! `--map MAP`, the `copy` op's `damage:`): the manifest marks each entry intact or damaged
//! with its damaged ranges; `verify` lists damaged files apart from mismatches (exit 6 when
//! the copy verifies but holds damaged files, 1 on a mismatch); a report of another
//! filesystem is refused; the run's summary and the review's headline carry the damage. An
//! ext4 image made with mke2fs -d (no root); as root, the same through a kernel mount, where
//! entries are matched by inode number, also from a subdirectory.

use std::path::Path;
use std::process::Command;

use crate::common::{code_out_err, output, text};
use salvage_testkit::{require_root, require_tool};
use serde_json::Value;

/// The first block of `path` in the image, per debugfs.
fn first_block(img: &Path, path: &str) -> u64 {
    let out = Command::new("debugfs")
        .args(["-R", &format!("blocks {path}")])
        .arg(img)
        .output()
        .expect("debugfs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|b| b.parse().ok())
        .expect("a block")
}

/// A 16 MiB ext4 image (4 KiB blocks) with docs/report.txt (3 blocks), docs/ok.txt,
/// more/x.txt and top.txt.
fn image(dir: &Path, name: &str) -> std::path::PathBuf {
    let tree = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(tree.join("docs")).expect("mkdir");
    std::fs::write(tree.join("docs/report.txt"), vec![b'r'; 3 * 4096]).expect("file");
    std::fs::write(tree.join("docs/ok.txt"), vec![b'o'; 5000]).expect("file");
    std::fs::write(tree.join("top.txt"), b"top\n").expect("file");
    std::fs::create_dir_all(tree.join("more")).expect("mkdir");
    std::fs::write(tree.join("more/x.txt"), b"x\n").expect("file");
    let img = dir.join(name);
    let ok = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg("16M")
        .status()
        .expect("mke2fs");
    assert!(ok.success());
    img
}

/// A simulated bad map: one `START+SIZE` line per area.
fn bad_map(path: &Path, bad: &[(u64, u64)]) {
    let text: String = bad.iter().map(|(s, n)| format!("{s}+{n}\n")).collect();
    std::fs::write(path, text).expect("map");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// The manifest's entries by path, and its summary.
fn manifest(path: &Path) -> (std::collections::BTreeMap<String, Value>, Value, Value) {
    let text = std::fs::read_to_string(path).expect("manifest");
    let mut entries = std::collections::BTreeMap::new();
    let (mut header, mut summary) = (Value::Null, Value::Null);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("a JSON line");
        match v["record"].as_str() {
            Some("entry") => {
                entries.insert(v["path"].as_str().unwrap_or_default().to_string(), v);
            }
            Some("header") => header = v,
            _ => summary = v,
        }
    }
    (entries, header, summary)
}

/// Writes the JSON damage report of `img` under `map` to `out`.
fn damage_json(img: &Path, map: &Path, out: &Path) {
    let (code, json, err) = code_out_err(&["damage", s(img), "--map", s(map), "--json"]);
    assert!(code == 0 || code == 1, "{err}");
    std::fs::write(out, json).expect("report");
}

#[test]
fn the_manifest_marks_damaged_files_and_verify_lists_them_apart() {
    if !require_tool("copy --damage", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let img = image(t, "disk.img");
    let report_block = first_block(&img, "/docs/report.txt");
    let more_block = first_block(&img, "/more");
    let m = t.join("disk.map");
    // The report's second block and half of its third (one range), and the block of
    // directory `more`.
    bad_map(
        &m,
        &[
            ((report_block + 1) * 4096, 4096),
            ((report_block + 2) * 4096, 2048),
            (more_block * 4096, 4096),
        ],
    );
    let report = t.join("damage.json");
    damage_json(&img, &m, &report);

    let out = t.join("out");
    let (code, stdout, err) = code_out_err(&["copy", s(&img), s(&out), "--damage", s(&report)]);
    assert_eq!(code, 6, "damaged files are losses: {stdout}{err}");
    assert!(
        stdout.contains("damage: 1 file damaged (6.0 KiB lost), 1 directory, 1 not known"),
        "{stdout}"
    );
    assert!(!stdout.contains("  docs/ok.txt"), "{stdout}");
    assert!(
        stdout.contains("docs/report.txt: 6.0 KiB lost at 4096+6144 (data)"),
        "{stdout}"
    );
    assert!(err.contains("PARTIAL"), "{err}");
    let (entries, header, summary) = manifest(&t.join("out.manifest.jsonl"));
    assert_eq!(header["format"], "salvage-manifest/2");
    assert_eq!(header["damage"]["filesystem"], "the image (ext4)");
    let r = &entries["docs/report.txt"];
    assert_eq!(r["damage"], "damaged");
    assert_eq!(r["damaged"], serde_json::json!([[4096, 6144]]));
    assert_eq!(r["lost_bytes"], 6144);
    assert_eq!(entries["docs/ok.txt"]["damage"], "intact");
    assert!(entries["docs/ok.txt"].get("damaged").is_none());
    assert_eq!(entries["top.txt"]["damage"], "intact");
    assert_eq!(entries["docs"]["damage"], "intact");
    assert_eq!(entries["more"]["damage"], "damaged");
    // Its names were not read: the userspace copy cannot tell whether x.txt is damaged.
    assert_eq!(entries["more/x.txt"]["damage"], "unknown");
    assert_eq!(summary["damage_unknown"], 1);
    assert_eq!(entries[""]["damage"], "intact");
    assert_eq!(summary["damaged_files"], 1);
    assert_eq!(summary["damaged_dirs"], 1);
    assert_eq!(summary["lost_bytes"], 6144);

    // The same marks when the damage is mapped by the copy itself from the map.
    let out2 = t.join("out2");
    let (code, _, err) = code_out_err(&["copy", s(&img), s(&out2), "--map", s(&m)]);
    assert_eq!(code, 6, "{err}");
    let (entries2, _, summary2) = manifest(&t.join("out2.manifest.jsonl"));
    assert_eq!(entries2["docs/report.txt"]["damaged"], r["damaged"]);
    assert_eq!(summary2, summary);

    // verify: the damaged file matches its damaged copy: not a mismatch, listed as damaged.
    let mpath = t.join("out.manifest.jsonl");
    let (code, vout, _) = code_out_err(&["verify", s(&mpath)]);
    assert_eq!(code, 6, "{vout}");
    assert!(vout.contains("DIFFERED: 0"), "{vout}");
    assert!(
        vout.contains("docs/report.txt: 6.0 KiB lost at 4096+6144; matches its damaged copy"),
        "{vout}"
    );
    assert!(
        vout.contains("VERIFIED, WITH LOSSES: 1 file damaged (6.0 KiB lost), 1 directory"),
        "{vout}"
    );
    let (code, json, _) = code_out_err(&["verify", s(&mpath), "--json"]);
    assert_eq!(code, 6);
    let v: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["damaged_bytes"], 6144);
    let damaged: Vec<&str> = v["damaged"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(damaged, vec!["docs/report.txt", "more"]);
    assert_eq!(v["damage_unknown"], serde_json::json!(["more/x.txt"]));

    // A damaged file whose copy changed since: a mismatch (exit 1), and still damaged.
    std::fs::write(out.join("docs/report.txt"), b"changed").expect("edit");
    let (code, json, _) = code_out_err(&["verify", s(&mpath), "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["differed"][0]["path"], "docs/report.txt");
    assert_eq!(v["damaged"][0]["matched"], false);

    // A copy made without a report: verify says damage is not known, exit 0.
    let plain = t.join("plain");
    let (code, _, _) = code_out_err(&["copy", s(&img), s(&plain)]);
    assert_eq!(code, 0);
    let (code, vout, _) = code_out_err(&["verify", s(&t.join("plain.manifest.jsonl"))]);
    assert_eq!(code, 0, "{vout}");
    assert!(vout.contains("DAMAGED: not known"), "{vout}");
    assert!(vout.contains("\nVERIFIED\n"), "{vout}");
}

#[test]
fn only_free_space_hit_means_every_entry_intact_and_another_report_is_refused() {
    if !require_tool("copy --damage", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let img = image(t, "disk.img");
    let m = t.join("disk.map");
    bad_map(&m, &[((16 << 20) - 4096, 4096)]);
    let out = t.join("out");
    let (code, stdout, err) = code_out_err(&["copy", s(&img), s(&out), "--map", s(&m)]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("damage: no file damaged"), "{stdout}");
    let (entries, _, summary) = manifest(&t.join("out.manifest.jsonl"));
    assert!(
        entries.values().all(|e| e["damage"] == "intact"),
        "{entries:?}"
    );
    assert_eq!(summary["damaged_files"], 0);

    // A report made from another filesystem (another UUID) is refused before copying.
    let other = image(t, "other.img");
    let report = t.join("other.json");
    damage_json(&other, &m, &report);
    let (code, _, err) =
        code_out_err(&["copy", s(&img), s(&t.join("out3")), "--damage", s(&report)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not about the filesystem being copied"),
        "{err}"
    );
    assert!(!t.join("out3").exists(), "nothing written");
    // Not a report at all: the file and where it stops parsing.
    std::fs::write(&report, "{\"image\": 3").expect("write");
    let (code, _, err) =
        code_out_err(&["copy", s(&img), s(&t.join("out4")), "--damage", s(&report)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("other.json") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn a_run_with_damage_and_copy_says_what_was_lost_in_its_summary_and_review() {
    if !require_tool("damage and copy ops", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let img = image(t, "disk.img");
    let block = first_block(&img, "/docs/report.txt");
    let m = t.join("disk.map");
    bad_map(&m, &[(block * 4096, 4096)]);
    let book = t.join("d.salvage");
    std::fs::write(
        &book,
        format!(
            "runbook \"what-was-lost\" {{\n  about \"copy and name the damaged files\"\n  step hit = damage(image: {img:?}, map: {m:?})\n  step files = copy(from: \"userspace-ext:{}?offset=0\", to: {:?}, damage: hit.report)\n  step proof = verify(manifest: files.manifest)\n  output damaged = files.damaged\n}}\n",
            img.display(),
            t.join("files")
        ),
    )
    .expect("runbook");
    let state = t.join("state");
    let out = output(&["run", s(&book), "--state", s(&state)]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(6), "{all}");
    assert!(
        all.contains(
            "PARTIAL: completed with losses (0 entries lost, 1 files damaged in 1 step(s)) — 1 file damaged (4.0 KiB lost), no directory, no metadata"
        ),
        "{all}"
    );
    assert!(
        all.contains("ok: 1 file damaged (4.0 KiB lost), no directory, no metadata"),
        "{all}"
    );
    assert!(
        all.contains("PARTIAL: 1 file damaged (4.0 KiB lost) (see its manifest)"),
        "{all}"
    );
    assert!(all.contains("damaged = 1"), "{all}");
    let (entries, _, _) = manifest(&t.join("files.manifest.jsonl"));
    assert_eq!(
        entries["docs/report.txt"]["damaged"],
        serde_json::json!([[0, 4096]])
    );
    let (code, review, _) = code_out_err(&["review", s(&state.join("log.jsonl"))]);
    assert_eq!(code, 0, "{review}");
    let run_line = review
        .lines()
        .find(|l| l.starts_with("run 1 "))
        .unwrap_or_default();
    assert!(
        run_line.ends_with(
            "— 1 file damaged (4.0 KiB lost), no directory, no metadata; in the copy: 1 file damaged (4.0 KiB lost)"
        ),
        "{review}"
    );
}

#[test]
fn a_mounted_copy_is_matched_by_inode_number_also_from_a_subdirectory() {
    if !require_tool(
        "copy --damage from a mount",
        &["mke2fs", "debugfs", "mount"],
    ) || !require_root("copy --damage from a mount")
    {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let img = image(t, "disk.img");
    let block = first_block(&img, "/docs/report.txt");
    let m = t.join("disk.map");
    bad_map(&m, &[((block + 2) * 4096, 4096)]);
    let report = t.join("damage.json");
    damage_json(&img, &m, &report);
    let mnt = t.join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let ok = Command::new("mount")
        .args(["-o", "ro,loop,noload"])
        .arg(&img)
        .arg(&mnt)
        .status()
        .expect("mount");
    assert!(ok.success());
    let result = std::panic::catch_unwind(|| {
        let out = t.join("out");
        let docs = mnt.join("docs");
        let (code, stdout, err) =
            code_out_err(&["copy", s(&docs), s(&out), "--damage", s(&report)]);
        assert_eq!(code, 6, "{stdout}{err}");
        let (entries, header, _) = manifest(&t.join("out.manifest.jsonl"));
        assert_eq!(header["damage"]["filesystem"], "the image (ext4)");
        assert_eq!(
            entries["report.txt"]["damaged"],
            serde_json::json!([[8192, 4096]])
        );
        assert_eq!(entries["ok.txt"]["damage"], "intact");
        // A directory on another filesystem: refused.
        let (code, _, err) = code_out_err(&[
            "copy",
            s(&t.join("disk.img.tree")),
            s(&t.join("out2")),
            "--damage",
            s(&report),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("not about the filesystem being copied"),
            "{err}"
        );
    });
    let _ = Command::new("umount").arg(&mnt).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// A file whose extent tree does not parse (readable bytes, a broken filesystem) cannot be
/// copied whole: the report counts it damaged ("block map unreadable") and the manifest marks
/// it damaged, never intact.
#[test]
fn a_file_whose_block_map_is_broken_is_marked_damaged() {
    if !require_tool("copy --damage broken block map", &["mke2fs", "debugfs"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    let img = image(t, "broken.img");
    let out = Command::new("debugfs")
        .args(["-w", "-R", "sif /docs/report.txt block[0] 0"])
        .arg(&img)
        .output()
        .expect("debugfs -w");
    assert!(out.status.success(), "{out:?}");
    // One unreadable block, in top.txt's data.
    let m = t.join("broken.map");
    bad_map(&m, &[(first_block(&img, "/top.txt") * 4096, 4096)]);
    let report = t.join("damage.json");
    damage_json(&img, &m, &report);
    let out = t.join("out");
    let (code, stdout, err) = code_out_err(&["copy", s(&img), s(&out), "--damage", s(&report)]);
    assert_eq!(code, 6, "{stdout}{err}");
    assert!(stdout.contains("damage: 2 files damaged"), "{stdout}{err}");
    let (entries, _, summary) = manifest(&t.join("out.manifest.jsonl"));
    let r = &entries["docs/report.txt"];
    assert_eq!(r["damage"], "damaged", "{r}");
    assert_eq!(r["damaged"], serde_json::json!([[0, 3 * 4096]]));
    assert_eq!(r["damage_hit"], serde_json::json!(["block map unreadable"]));
    assert_eq!(entries["docs/ok.txt"]["damage"], "intact");
    assert_eq!(summary["damaged_files"], 2);
}
