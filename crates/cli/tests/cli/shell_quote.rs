//! The shell quoter read back by real shells: every quoted word, hostile bytes included, must
//! come out of `sh`, `dash` and `bash` as exactly the bytes that went in, and nothing in it may
//! be run, expanded or redirected. The plan's `execve` lines and the review's command lines are
//! read back the same way.

use salvage_text::shell_quote::{quote_argv, quote_bytes};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

/// The shells to read quoted words back with: a missing one skips naming it, or fails under
/// `SALVAGE_REQUIRE_ROOT_TESTS=1`.
fn shells(test: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for sh in ["sh", "dash", "bash"] {
        let there = Command::new(sh)
            .args(["-c", ":"])
            .status()
            .is_ok_and(|s| s.success());
        if there {
            found.push(sh);
            continue;
        }
        let required = std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{test}: needs the program `{sh}` and SALVAGE_REQUIRE_ROOT_TESTS=1 forbids skipping"
        );
        eprintln!("SKIP {test} with {sh}: the program `{sh}` is not installed");
    }
    found
}

/// Runs `printf '%s\n' WORDS` in `shell` inside `cwd` and returns its stdout.
fn read_back(shell: &str, words: &str, cwd: &Path) -> Vec<u8> {
    let script = format!("printf '%s\\n' {words}");
    let out = Command::new(shell)
        .arg("-c")
        .arg(OsStr::from_bytes(script.as_bytes()))
        .current_dir(cwd)
        .env("HOME", "/nonexistent-home")
        .output()
        .expect("run the shell");
    assert!(
        out.status.success(),
        "{shell} refused {script:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn expected(words: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in words {
        v.extend_from_slice(w);
        v.push(b'\n');
    }
    v
}

fn hostile() -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = [
        "echo",
        "x>/tmp/salvage-owned-by-quote-test",
        "$(touch made-by-dollar-paren)",
        "`touch made-by-backtick`",
        "(sub)",
        "a;touch made-by-semicolon",
        "a|touch made-by-pipe",
        "a&&touch made-by-and",
        "it's",
        "'",
        "''",
        "\"double\"",
        "back\\slash",
        "new\nline",
        "\n",
        "trailing newline\n",
        "tab\there",
        "*",
        "?",
        "[a-z]*",
        "~",
        "~root",
        "$HOME",
        "${HOME}",
        "$1",
        "!",
        "!!",
        "#comment",
        "{a,b}",
        "",
        "-",
        "--",
        "-rf",
        "--param=x",
        "A=B",
        " leading space",
        "héllo wörld",
        "\u{1b}[2J",
        "\u{7f}",
        "%s%n",
        "\\0",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    words.push(vec![0xff, 0xfe]);
    words.push(b"a\xc3".to_vec());
    words.push(b"\xe2\x82".to_vec());
    words.push(b"ok\x80'\x01\n".to_vec());
    // Pseudo-random words of any byte but NUL (argv cannot hold one).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 12) as usize;
        let mut w = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.push(((x >> 24) as u8).max(1));
        }
        words.push(w);
    }
    words
}

#[test]
fn quoted_words_read_back_byte_exact_in_every_shell() {
    let words = hostile();
    let quoted: Vec<String> = words.iter().map(|w| quote_bytes(w)).collect();
    for q in &quoted {
        assert!(
            !q.chars().any(|c| c != '\n' && c.is_control()),
            "a control character left raw on the terminal: {q:?}"
        );
    }
    let joined = quoted.join(" ");
    for shell in shells("quoted_words_read_back_byte_exact_in_every_shell") {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = read_back(shell, &joined, dir.path());
        // Word by word first, so a failure names the word.
        for (w, q) in words.iter().zip(&quoted) {
            let one = read_back(shell, q, dir.path());
            assert_eq!(
                one,
                expected(std::slice::from_ref(w)),
                "{shell} read {q:?} back wrong (wanted {w:?})"
            );
        }
        assert_eq!(got, expected(&words), "{shell}: all words at once");
        let made: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(
            made.is_empty(),
            "{shell} ran something inside a quoted word: {made:?}"
        );
    }
    assert!(!Path::new("/tmp/salvage-owned-by-quote-test").exists());
}

#[test]
fn the_first_word_with_an_equals_sign_is_not_an_assignment() {
    let line = quote_argv(&["A=B"]);
    assert_eq!(line, "'A=B'");
    for shell in shells("the_first_word_with_an_equals_sign_is_not_an_assignment") {
        // Bare, `A=B` is an assignment and succeeds; quoted, it is a program that is not found.
        let status = Command::new(shell)
            .args(["-c", &format!("{line} 2>/dev/null")])
            .status()
            .expect("run the shell");
        assert_eq!(
            status.code(),
            Some(127),
            "{shell} ran {line} as an assignment"
        );
    }
}

fn salvage(args: &[&str], cwd: &Path) -> std::process::Output {
    crate::common::output_in(cwd, args)
}

const HOSTILE_RUNBOOK: &str = r#"runbook "paste" {
  step say = exec(argv: ["printf", "%s\n", "x>owned", "$(touch by-dollar)", "(sub)", "`touch by-tick`", "it's", "", "a\nb", "*", "~", "-n"], effect: "read")
}
"#;

fn hostile_argv() -> Vec<Vec<u8>> {
    [
        "printf",
        "%s\n",
        "x>owned",
        "$(touch by-dollar)",
        "(sub)",
        "`touch by-tick`",
        "it's",
        "",
        "a\nb",
        "*",
        "~",
        "-n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// What `printf '%s\n' WORDS` prints for the words after `execve` / in the review's line.
fn check_pasted(line: &str, what: &str) {
    let words = hostile_argv();
    for shell in shells(what) {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = read_back(shell, line, dir.path());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected(&words)),
            "{what}: {shell} read {line:?} back wrong"
        );
        let made: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(made.is_empty(), "{what}: pasting ran something: {made:?}");
    }
}

#[test]
fn a_plans_execve_line_pastes_into_a_shell_as_the_argv_it_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("paste.salvage"), HOSTILE_RUNBOOK).expect("write");
    let out = salvage(&["plan", "paste.salvage", "--format", "json"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let line = plan["steps"][0]["commands"][0]
        .as_str()
        .expect("a command line")
        .to_string();
    let words = line.strip_prefix("execve ").expect("an execve line");
    check_pasted(words, "plan");
    // The text plan prints the same line.
    let text = salvage(&["plan", "paste.salvage"], dir.path());
    assert!(String::from_utf8_lossy(&text.stdout).contains(&line));
}

#[test]
fn a_reviews_command_line_pastes_into_a_shell_as_the_argv_that_ran() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("paste.salvage"), HOSTILE_RUNBOOK).expect("write");
    let out = salvage(
        &["run", "paste.salvage", "--state", "st", "--quiet"],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let review = salvage(&["review", "st/log.jsonl", "--format", "json"], dir.path());
    let doc: serde_json::Value = serde_json::from_slice(&review.stdout).expect("review json");
    let shell = doc["runs"][0]["steps"][0]["commands"][0]["shell"]
        .as_str()
        .unwrap_or_else(|| panic!("no shell line in {doc}"))
        .to_string();
    check_pasted(&shell, "review");
    let text = salvage(&["review", "st/log.jsonl"], dir.path());
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&shell),
        "the text review shows the same line"
    );
}
