//! `salvage review --verify` never downgrades: with the state key at hand, a missing anchor is
//! a failure (so a recomputed chain, a cut tail or a dropped run cannot verify once `.head` is
//! deleted); a log written with `--log` outside the state directory is checked with
//! `--state DIR` or `--key FILE`, and without a key the verdict is UNPROVEN (exit 3), saying
//! what could not be proven, never VALID.

use salvage_engine::event_log::line_hash;
use serde_json::Value;
use std::path::Path;

use crate::common::code_text_in as salvage;

const RUNBOOK: &str = r#"runbook "logged" {
  step a = exec(argv: ["true"], effect: "read")
  step b = exec(argv: ["echo", "hello"], effect: "read", after: [a])
}
"#;

/// A directory with a state `st` whose log holds two whole runs (written by `salvage run`),
/// the second run's log elsewhere when `log` is given.
fn two_runs(log: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("logged.salvage"), RUNBOOK).expect("write");
    std::fs::create_dir(dir.path().join("elsewhere")).expect("mkdir");
    for _ in 0..2 {
        let mut args = vec!["run", "logged.salvage", "--state", "st", "-q"];
        if let Some(l) = log {
            args.extend(["--log", l]);
        }
        let (code, out) = salvage(dir.path(), &args);
        assert_eq!(code, 0, "{out}");
    }
    dir
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("log")
        .lines()
        .map(String::from)
        .collect()
}

/// Rewrites the lines as a forger would: seq from 0 and every prev recomputed, so the chain
/// and sequence hold.
fn recompute(lines: &[String]) -> String {
    let mut prev = "0".repeat(64);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let mut v: Value = serde_json::from_str(l).expect("event");
        v["seq"] = Value::from(i as u64);
        v["prev"] = Value::from(prev.clone());
        let text = serde_json::to_string(&v).expect("json");
        prev = line_hash(text.as_bytes());
        out.push_str(&text);
        out.push('\n');
    }
    out
}

fn verify(dir: &Path, log: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["review", log, "--verify"];
    args.extend_from_slice(extra);
    salvage(dir, &args)
}

#[test]
fn an_untouched_log_is_valid() {
    let dir = two_runs(None);
    let (code, out) = verify(dir.path(), "st/log.jsonl", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": VALID"), "{out}");
}

#[test]
fn without_its_anchor_while_the_key_exists_no_rewrite_verifies() {
    let dir = two_runs(None);
    let d = dir.path();
    let log = d.join("st/log.jsonl");
    let original = lines(&log);
    let run_starts: Vec<usize> = original
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"event\":\"run_started\""))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(run_starts.len(), 2);
    let mut edited = original.clone();
    edited[1] = edited[1].replace("\"step\":\"a\"", "\"step\":\"z\"");
    assert_ne!(edited, original, "the edit changed a line");
    let cases: Vec<(&str, String)> = vec![
        ("the untouched log", original.join("\n") + "\n"),
        ("a recomputed chain", recompute(&edited)),
        ("a cut tail", recompute(&original[..original.len() - 3])),
        ("a dropped run", recompute(&original[..run_starts[1]])),
        (
            "the first run dropped",
            recompute(&original[run_starts[1]..]),
        ),
    ];
    std::fs::remove_file(d.join("st/log.jsonl.head")).expect("delete the anchor");
    for (what, text) in cases {
        std::fs::write(&log, &text).expect("write");
        // The chain itself holds: only the anchor could tell.
        assert!(
            salvage_engine::event_log::verify_bytes("x".into(), text.as_bytes()).is_valid(),
            "{what}: the forged chain holds"
        );
        let (code, out) = verify(d, "st/log.jsonl", &[]);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("NOT VALID"), "{what}: {out}");
        assert!(out.contains("anchor (.head) is missing"), "{what}: {out}");
        assert!(!out.contains(": VALID"), "{what}: {out}");
    }
}

#[test]
fn a_log_written_elsewhere_is_checked_with_state_or_key_and_unproven_without() {
    let dir = two_runs(Some("elsewhere/run.jsonl"));
    let d = dir.path();
    assert!(d.join("elsewhere/run.jsonl.head").exists());
    assert!(!d.join("elsewhere/key").exists());

    // Untouched: valid with the key, unproven without it.
    let (code, out) = verify(d, "elsewhere/run.jsonl", &["--state", "st"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": VALID"), "{out}");
    let (code, out) = verify(d, "elsewhere/run.jsonl", &["--key", "st/key"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(d, "elsewhere/run.jsonl", &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("UNPROVEN"), "{out}");
    assert!(out.contains("--state DIR or --key FILE"), "{out}");
    assert!(
        out.contains("the log says its state directory was st"),
        "{out}"
    );

    // Rewritten whole with a recomputed chain and an anchor with a bogus MAC.
    let log = d.join("elsewhere/run.jsonl");
    let mut forged = lines(&log);
    forged.truncate(forged.len() - 4);
    let text = recompute(&forged);
    std::fs::write(&log, &text).expect("write");
    let last = text.lines().last().expect("a line");
    std::fs::write(
        d.join("elsewhere/run.jsonl.head"),
        format!(
            "{:020} {} {}\n",
            forged.len(),
            line_hash(last.as_bytes()),
            "ab".repeat(32)
        ),
    )
    .expect("forge the anchor");
    let (code, out) = verify(d, "elsewhere/run.jsonl", &[]);
    assert_eq!(code, 3, "never VALID without the key: {out}");
    assert!(!out.contains(": VALID"), "{out}");
    for extra in [["--state", "st"], ["--key", "st/key"]] {
        let (code, out) = verify(d, "elsewhere/run.jsonl", &extra);
        assert_eq!(code, 1, "{extra:?}: {out}");
        assert!(out.contains("no valid MAC"), "{extra:?}: {out}");
    }
    // JSON says the same.
    let (code, out) = verify(d, "elsewhere/run.jsonl", &["--format", "json"]);
    assert_eq!(code, 3);
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["verdict"], "unproven");
    assert_eq!(doc["verify"]["unproven"][0]["kind"]["kind"], "no_key");
}

#[test]
fn a_log_without_anchor_or_key_is_unproven_and_a_bad_key_is_refused() {
    let dir = two_runs(None);
    let d = dir.path();
    std::fs::create_dir(d.join("moved")).expect("mkdir");
    std::fs::copy(d.join("st/log.jsonl"), d.join("moved/log.jsonl")).expect("copy");
    let (code, out) = verify(d, "moved/log.jsonl", &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("UNPROVEN"), "{out}");
    assert!(
        out.contains("no anchor (.head) beside the log and no state key"),
        "{out}"
    );
    // With the key, the missing anchor is a failure.
    let (code, out) = verify(d, "moved/log.jsonl", &["--state", "st"]);
    assert_eq!(code, 1, "{out}");
    // A key that is not one.
    std::fs::write(d.join("short.key"), b"abc").expect("write");
    let (code, out) = verify(d, "moved/log.jsonl", &["--key", "short.key"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("short.key is not a salvage state key"),
        "{out}"
    );
    let (code, out) = verify(d, "moved/log.jsonl", &["--state", "nowhere"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nowhere/key: cannot read it"), "{out}");
}
