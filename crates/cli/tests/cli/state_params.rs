//! A state directory remembers (as keyed hashes) the params it was run with: a rerun with
//! other values is refused with exit 4, naming the params and how to start fresh, and leaves
//! the journal and log untouched; `--new-params` goes on with the new values. No value, a
//! secret's least of all, is stored.

use std::path::Path;
use std::process::{Output, Stdio};

const RUNBOOK: &str = r#"runbook "incident" {
  param word: string
  param token: secret
  param same: string = "kept"
  step say = exec(argv: ["echo", "${word}"], env: ["T=${token}"], effect: "read")
  output said = say.stdout
}
"#;

fn run(dir: &Path, word: &str, token: &str, extra: &[&str]) -> Output {
    crate::common::salvage()
        .args(["run", "incident.salvage", "-q"])
        .args(["-p", &format!("word={word}")])
        .args(extra)
        .env("SALVAGE_PARAM_token", token)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run salvage")
}

use crate::common::text;

#[test]
fn a_state_run_with_other_params_is_refused_until_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("incident.salvage"), RUNBOOK).expect("write");
    let state = d.join(".salvage/incident");

    let first = run(d, "alpha", "TokenOne-5b2", &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let same = run(d, "alpha", "TokenOne-5b2", &[]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "the same params resume: {}",
        text(&same)
    );

    let journal = std::fs::read(state.join("journal.jsonl")).expect("journal");
    let log = std::fs::read(state.join("log.jsonl")).expect("log");
    for (word, token, names) in [
        ("beta", "TokenOne-5b2", "`word`"),
        ("alpha", "TokenTwo-77c", "`token`"),
        ("beta", "TokenTwo-77c", "`token`, `word`"),
    ] {
        let out = run(d, word, token, &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{t}");
        assert!(t.contains(&format!("other values of {names}:")), "{t}");
        assert!(
            t.contains("give another --state DIR"),
            "says how to start fresh: {t}"
        );
        assert!(t.contains("--new-params"), "{t}");
        assert!(!t.contains("TokenOne") && !t.contains("TokenTwo"), "{t}");
        assert_eq!(
            std::fs::read(state.join("journal.jsonl")).expect("journal"),
            journal,
            "a refused run writes nothing to the journal"
        );
        assert_eq!(
            std::fs::read(state.join("log.jsonl")).expect("log"),
            log,
            "nor to the log"
        );
    }
    let stamp = std::fs::read_to_string(state.join("params.json")).expect("params.json");
    for value in ["alpha", "TokenOne", "kept"] {
        assert!(!stamp.contains(value), "params.json holds {value}: {stamp}");
    }
    assert!(
        stamp.contains("\"word\"") && stamp.contains("\"token\""),
        "{stamp}"
    );

    // Asked for: the step they reach runs again, and the new values are remembered.
    let moved = run(d, "beta", "TokenOne-5b2", &["--new-params"]);
    assert_eq!(moved.status.code(), Some(0), "{}", text(&moved));
    assert!(text(&moved).contains("said = beta"), "{}", text(&moved));
    let again = run(d, "beta", "TokenOne-5b2", &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let back = run(d, "alpha", "TokenOne-5b2", &[]);
    assert_eq!(back.status.code(), Some(4), "{}", text(&back));
}
