//! The run log and `salvage review`: fixture logs written with the real `EventLog` (fixed
//! clock), their text and JSON reviews as insta snapshots under snapshots/review/, tamper
//! detection with line numbers, damage recovery, and the exit codes of the binary.

use salvage_engine::event_log::{
    EventLog, FindingKind, LogErrorKind, VerifyReport, parse_millis, read, read_lenient, verify,
    verify_bytes,
};
use salvage_engine::review::{build, text};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn root() -> PathBuf {
    salvage_testkit::workspace_root()
}

const START: &str = "2026-11-22T05:40:18.123Z";

/// Writes a fixture log through `EventLog`, with a clock the script moves.
struct Script {
    path: PathBuf,
    now: Arc<AtomicI64>,
    log: Option<EventLog>,
}

impl Script {
    fn new(path: &Path) -> Script {
        let now = Arc::new(AtomicI64::new(parse_millis(START).expect("start time")));
        Script {
            path: path.to_path_buf(),
            now,
            log: None,
        }
    }

    fn clock(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let now = Arc::clone(&self.now);
        move || UNIX_EPOCH + Duration::from_millis(now.load(Ordering::SeqCst) as u64)
    }

    /// Opens (or reopens, as a resumed run does) the log.
    fn open(&mut self) -> &mut Self {
        self.log = None;
        let log = EventLog::open_append(&self.path).expect("open log");
        self.log = Some(log.with_clock(self.clock()));
        self
    }

    /// Closes the log, as a crashed or finished process does.
    fn close(&mut self) -> &mut Self {
        self.log = None;
        self
    }

    /// Moves the clock forward.
    fn wait(&mut self, ms: i64) -> &mut Self {
        self.now.fetch_add(ms, Ordering::SeqCst);
        self
    }

    fn ev(&mut self, event: &str, fields: Value) -> &mut Self {
        let Value::Object(map) = fields else {
            panic!("fields must be an object")
        };
        self.log
            .as_ref()
            .expect("log open")
            .append(event, map)
            .expect("append");
        self.wait(100)
    }

    fn run_started(&mut self, resumed: bool) -> &mut Self {
        self.ev(
            "run_started",
            json!({
                "runbook": "rescue-failing-root-disk",
                "file": "runbooks/rescue-failing-root-disk.salvage",
                "runbook_sha256": "5d41402abc4b2a76b9719d911017c592ae4bc3b1f2b8f0d5c7c1b2e3d4f5a6b7",
                "salvage_version": "0.1.0",
                "host": "rescue-box",
                "user": "root",
                "params": {"disk": "/dev/sdb", "work": "/srv/rescue", "retries": 2,
                           "token": "(secret token)", "label": "root disk"},
                "state_dir": "/srv/rescue/.salvage",
                "resumed": resumed,
                "jobs": 1,
            }),
        )
    }

    fn step(&mut self, step: &str, op: &str, effect: &str, args: Value) -> &mut Self {
        self.ev(
            "step_started",
            json!({"step": step, "op": op, "effect": effect, "args": args}),
        )
    }

    fn command(&mut self, step: &str, argv: &[&str], exit: Option<i32>, ms: i64) -> &mut Self {
        let failure = match argv[0] {
            "mount" => {
                "mount: /mnt/rescue: wrong fs type, bad option, bad superblock on /dev/loop3"
            }
            _ => "cp: error writing '/srv/rescue/files/var/log/syslog': No space left on device",
        };
        let (signal, stderr) = match exit {
            None => (json!("SIGKILL"), ""),
            Some(0) => (Value::Null, ""),
            Some(_) => (Value::Null, failure),
        };
        self.wait(ms).ev(
            "command",
            json!({"step": step, "argv": argv, "exit_code": exit, "signal": signal,
                   "duration_ms": ms, "stdout": "", "stderr": stderr}),
        )
    }

    fn ok(&mut self, step: &str, ms: i64, outputs: Value) -> &mut Self {
        self.ev(
            "step_finished",
            json!({"step": step, "status": "ok", "duration_ms": ms, "outputs": outputs}),
        )
    }

    fn failed(&mut self, step: &str, ms: i64, error: &str) -> &mut Self {
        self.ev(
            "step_finished",
            json!({"step": step, "status": "failed", "duration_ms": ms, "outputs": {},
                   "error": error}),
        )
    }

    fn skipped(&mut self, step: &str) -> &mut Self {
        self.ev(
            "step_skipped",
            json!({"step": step,
                   "reason": format!("resumed: inputs unchanged since the run of {START}")}),
        )
    }

    fn attached(&mut self, step: &str, what: &str, undo: &str) -> &mut Self {
        self.ev(
            "attached",
            json!({"step": step, "what": what, "undo": undo}),
        )
    }

    fn cleanup(&mut self, step: &str, action: &str, error: Option<&str>) -> &mut Self {
        let mut f = json!({"step": step, "action": action,
                           "status": if error.is_some() { "failed" } else { "ok" }});
        if let Some(e) = error {
            f["error"] = json!(e);
        }
        self.ev("cleanup", f)
    }

    fn finished(&mut self, status: &str, ms: i64, counts: [i64; 4]) -> &mut Self {
        let [ok, failed, skipped, not_run] = counts;
        self.ev(
            "run_finished",
            json!({"status": status, "duration_ms": ms,
                   "counts": {"ok": ok, "failed": failed, "skipped": skipped, "not_run": not_run}}),
        )
    }

    /// The image step, complete.
    fn image(&mut self) -> &mut Self {
        self.step(
            "img",
            "image",
            "create",
            json!({"source": "/dev/sdb", "dest": "/srv/rescue/root.img",
                       "map": "/srv/rescue/root.map", "retries": 2}),
        )
        .command(
            "img",
            &[
                "ddrescue",
                "-d",
                "-r2",
                "/dev/sdb",
                "/srv/rescue/root.img",
                "/srv/rescue/root.map",
            ],
            Some(0),
            754_300,
        )
        .ok(
            "img",
            754_400,
            json!({"dest": "/srv/rescue/root.img", "bad_bytes": 4096}),
        )
    }

    /// Attach the root filesystem: a loop device, then a read-only mount.
    fn mount(&mut self) -> &mut Self {
        self.step(
            "mnt",
            "mount",
            "attach",
            json!({"partition": "/srv/rescue/root.img@1048576", "path": "/mnt/rescue"}),
        )
        .command(
            "mnt",
            &[
                "losetup",
                "--find",
                "--show",
                "--read-only",
                "--offset",
                "1048576",
                "/srv/rescue/root.img",
            ],
            Some(0),
            40,
        )
        .attached(
            "mnt",
            "loop device /dev/loop3 over /srv/rescue/root.img at offset 1048576",
            "losetup -d /dev/loop3",
        )
        .command(
            "mnt",
            &[
                "mount",
                "-o",
                "ro,noload,nosuid,nodev,noexec",
                "/dev/loop3",
                "/mnt/rescue",
            ],
            Some(0),
            120,
        )
        .attached(
            "mnt",
            "mount /dev/loop3 on /mnt/rescue (ro,noload)",
            "umount /mnt/rescue",
        )
        .ok(
            "mnt",
            300,
            json!({"path": "/mnt/rescue", "device": "/dev/loop3"}),
        )
    }

    fn copy(&mut self) -> &mut Self {
        self.step(
            "files",
            "copy",
            "create",
            json!({"from": "/mnt/rescue", "to": "/srv/rescue/files"}),
        )
        .wait(61_000)
        .ok(
            "files",
            61_100,
            json!({"manifest": "/srv/rescue/files.manifest", "files": 48_213}),
        )
    }

    fn unmount(&mut self) -> &mut Self {
        self.cleanup("mnt", "umount /mnt/rescue", None).cleanup(
            "mnt",
            "losetup -d /dev/loop3",
            None,
        )
    }
}

const ASK: &str = "Check /srv/rescue/roots.txt before copying: is this the right root?";

fn success(s: &mut Script) {
    s.open().run_started(false).image().mount();
    s.ev(
        "approval",
        json!({"step": "confirm_root", "by": "alice", "via": "terminal", "text": ASK}),
    )
    .copy()
    .unmount()
    .finished("ok", 816_000, [4, 0, 0, 0]);
}

fn failed_with_cleanup(s: &mut Script) {
    s.open().run_started(false).image();
    s.step(
        "mnt",
        "mount",
        "attach",
        json!({"partition": "/srv/rescue/root.img@1048576"}),
    )
    .command(
        "mnt",
        &[
            "losetup",
            "--find",
            "--show",
            "--read-only",
            "--offset",
            "1048576",
            "/srv/rescue/root.img",
        ],
        Some(0),
        40,
    )
    .attached(
        "mnt",
        "loop device /dev/loop3 over /srv/rescue/root.img at offset 1048576",
        "losetup -d /dev/loop3",
    )
    .command(
        "mnt",
        &["losetup", "--find", "--show", "/srv/rescue/overlay.img"],
        Some(0),
        30,
    )
    .attached(
        "mnt",
        "loop device /dev/loop4 over /srv/rescue/overlay.img",
        "losetup -d /dev/loop4",
    )
    .command(
        "mnt",
        &[
            "mount",
            "-o",
            "ro,noload,nosuid,nodev,noexec",
            "/dev/loop3",
            "/mnt/rescue",
        ],
        Some(32),
        90,
    )
    .failed(
        "mnt",
        400,
        "mount exited with 32: wrong fs type on /dev/loop3 (is the offset right?)",
    )
    .cleanup(
        "mnt",
        "losetup -d /dev/loop4",
        Some("losetup: /dev/loop4: detach failed: Device or resource busy"),
    )
    .cleanup("mnt", "losetup -d /dev/loop3", None)
    .finished("failed", 756_000, [1, 1, 0, 3]);
}

fn resumed(s: &mut Script) {
    s.open().run_started(false).image().mount();
    s.step(
        "files",
        "copy",
        "create",
        json!({"from": "/mnt/rescue", "to": "/srv/rescue/files"}),
    )
    .command(
        "files",
        &["cp", "-a", "/mnt/rescue/.", "/srv/rescue/files"],
        Some(1),
        5000,
    )
    .failed(
        "files",
        5100,
        "copy: /srv/rescue/files: No space left on device",
    )
    .unmount()
    .finished("failed", 760_000, [2, 1, 0, 1])
    .close()
    .wait(1_800_000)
    .open()
    .run_started(true)
    .skipped("img")
    .mount()
    .copy()
    .unmount()
    .finished("ok", 62_000, [2, 0, 1, 0]);
}

fn approval(s: &mut Script) {
    s.open().run_started(false).image();
    s.ev("waiting", json!({"step": "confirm_root", "text": ASK}))
        .finished("waiting", 755_000, [1, 0, 0, 2])
        .close()
        .wait(600_000)
        .open()
        .run_started(true)
        .skipped("img")
        .ev(
            "approval",
            json!({"step": "confirm_root", "by": "alice", "via": "--approve", "text": ASK}),
        )
        .copy()
        .finished("ok", 61_400, [1, 0, 1, 0]);
}

fn crash_then_recovered(s: &mut Script) {
    s.open().run_started(false).image().mount();
    s.step(
        "files",
        "copy",
        "create",
        json!({"from": "/mnt/rescue", "to": "/srv/rescue/files"}),
    )
    .command(
        "files",
        &["cp", "-a", "/mnt/rescue/.", "/srv/rescue/files"],
        None,
        30_000,
    )
    .close()
    .wait(300_000)
    .open()
    .run_started(true)
    .ev(
        "recovered",
        json!({"action": "umount /mnt/rescue", "status": "ok"}),
    )
    .ev(
        "recovered",
        json!({"action": "losetup -d /dev/loop3", "status": "ok"}),
    )
    .skipped("img")
    .mount()
    .copy()
    .unmount()
    .finished("ok", 62_000, [2, 0, 1, 0]);
}

fn torn_then_continued(s: &mut Script) {
    s.open().run_started(false).image().mount().close();
    // The crash cut the next write short: half a line, no newline.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&s.path)
        .expect("open");
    std::io::Write::write_all(&mut f, br#"{"seq":10,"time":"2026-11-22T05:52:5"#).expect("tear");
    drop(f);
    let err = EventLog::open_append(&s.path).expect_err("a torn tail must be refused");
    assert!(
        matches!(err.kind, LogErrorKind::DamagedTail { line: 11, .. }),
        "{err}"
    );
    let log = EventLog::open_append_after_damage(&s.path).expect("continue after damage");
    s.log = Some(log.with_clock(s.clock()));
    s.run_started(true)
        .ev(
            "recovered",
            json!({"action": "umount /mnt/rescue", "status": "ok"}),
        )
        .ev(
            "recovered",
            json!({"action": "losetup -d /dev/loop3", "status": "failed"}),
        )
        .skipped("img")
        .finished("interrupted", 900, [0, 0, 1, 3]);
}

type Fixture = fn(&mut Script);

const FIXTURES: &[(&str, Fixture)] = &[
    ("success", success),
    ("failed_with_cleanup", failed_with_cleanup),
    ("resumed", resumed),
    ("approval", approval),
    ("crash_then_recovered", crash_then_recovered),
    ("torn_then_continued", torn_then_continued),
];

/// Writes the fixture into a temporary directory and returns its bytes; the committed copy in
/// engine/tests/logs/ must be identical (SALVAGE_BLESS_LOGS=1 rewrites it).
fn fixture(name: &str) -> Vec<u8> {
    let f = FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    let mut s = Script::new(&path);
    (f.1)(&mut s);
    s.close();
    let bytes = std::fs::read(&path).expect("read fixture");
    let committed = root()
        .join("engine/tests/logs")
        .join(format!("{name}.jsonl"));
    if std::env::var_os("SALVAGE_BLESS_LOGS").is_some() || !committed.exists() {
        // Tests run in parallel, as threads of one process: write aside (a name of this
        // process and call) and rename, so no reader sees half a file.
        static ASIDE: AtomicI64 = AtomicI64::new(0);
        let n = ASIDE.fetch_add(1, Ordering::Relaxed);
        let aside = committed.with_extension(format!("tmp{}-{n}", std::process::id()));
        std::fs::write(&aside, &bytes).expect("write fixture");
        std::fs::rename(&aside, &committed).expect("rename fixture");
    }
    let on_disk = std::fs::read(&committed).expect("read committed fixture");
    assert!(
        on_disk == bytes,
        "{} differs from what EventLog writes now (SALVAGE_BLESS_LOGS=1 to rewrite)",
        committed.display()
    );
    bytes
}

fn display_name(name: &str) -> String {
    format!("engine/tests/logs/{name}.jsonl")
}

fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots/review"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

fn review_of(name: &str, bytes: &[u8]) -> (VerifyReport, salvage_engine::review::Review) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    std::fs::write(&path, bytes).expect("write");
    let contents = read_lenient(&path).expect("read");
    (
        verify_bytes(display_name(name), bytes),
        build(&display_name(name), &contents),
    )
}

#[test]
fn fixtures_review_as_snapshots() {
    let settings = snapshot_settings();
    for (name, _) in FIXTURES {
        let bytes = fixture(name);
        let (report, review) = review_of(name, &bytes);
        let text = format!("{report}\n{}", text::render(&review));
        let json = serde_json::to_string_pretty(&json!({"verify": report, "review": review}))
            .expect("json");
        settings.bind(|| {
            insta::assert_snapshot!(format!("{name}.text"), text);
            insta::assert_snapshot!(format!("{name}.json"), json);
        });
    }
}

/// What every fixture's verdict must be: only the torn one is damaged.
#[test]
fn fixture_verdicts() {
    for (name, _) in FIXTURES {
        let report = verify_bytes(name.to_string(), &fixture(name));
        let kinds: Vec<(Option<usize>, &FindingKind)> =
            report.problems.iter().map(|p| (p.line, &p.kind)).collect();
        if *name == "torn_then_continued" {
            assert!(!report.is_valid());
            assert!(
                matches!(
                    kinds[..],
                    [
                        (Some(11), FindingKind::NotAnEvent { .. }),
                        (Some(12), FindingKind::SegmentBoundary { .. }),
                    ]
                ),
                "{report}"
            );
            assert!(
                report.warnings.iter().any(|w| w.line == Some(13)
                    && matches!(w.kind, FindingKind::RunNeverFinished { started: 1 })),
                "{report}"
            );
        } else {
            assert!(report.is_valid(), "{name}: {report}");
        }
        if *name == "crash_then_recovered" {
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| matches!(w.kind, FindingKind::RunNeverFinished { started: 1 })),
                "{report}"
            );
        }
    }
}

#[test]
fn review_flags_left_attached_and_links_recovery() {
    let (_, review) = review_of("failed", &fixture("failed_with_cleanup"));
    let run = &review.runs[0];
    assert_eq!(run.left_attached.len(), 1, "{run:#?}");
    assert_eq!(run.left_attached[0].undo, "losetup -d /dev/loop4");
    assert!(text::render(&review).contains("LEFT ATTACHED"));

    let (_, review) = review_of("crash", &fixture("crash_then_recovered"));
    let crashed = &review.runs[0];
    assert!(crashed.finished.is_none());
    assert_eq!(crashed.left_attached.len(), 2);
    assert!(
        crashed
            .left_attached
            .iter()
            .all(|l| l.recovered_at_line.is_some())
    );
    assert!(review.runs[1].left_attached.is_empty());
}

/// Ways to tamper with a log, and the findings (line, kind) each must produce.
type Tamper = fn(&mut Vec<Vec<u8>>);

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect()
}

#[expect(
    clippy::ptr_arg,
    reason = "one signature for all tampers; others insert/remove"
)]
fn edit_byte(lines: &mut Vec<Vec<u8>>) {
    // "/dev/loop3" -> "/dev/loop9" inside line 9 (the `attached` of the loop device).
    let l = &mut lines[8];
    let at = l
        .windows(5)
        .position(|w| w == b"loop3")
        .expect("loop3 in line 9")
        + 4;
    l[at] = b'9';
}

fn drop_line(lines: &mut Vec<Vec<u8>>) {
    lines.remove(6);
}

#[expect(
    clippy::ptr_arg,
    reason = "one signature for all tampers; others insert/remove"
)]
fn swap_lines(lines: &mut Vec<Vec<u8>>) {
    lines.swap(6, 7);
}

fn forge_line(lines: &mut Vec<Vec<u8>>) {
    // A forger who knows the format chains a fake line to line 6 with the next seq.
    let prev = salvage_engine::event_log::line_hash(&lines[5]);
    let forged = format!(
        r#"{{"seq":6,"time":"2026-11-22T05:52:53.000Z","event":"approval","step":"mnt","by":"mallory","via":"terminal","text":"ok","prev":"{prev}"}}"#
    );
    lines.insert(6, forged.into_bytes());
}

fn garbage_line(lines: &mut Vec<Vec<u8>>) {
    lines.insert(4, b"this is not json".to_vec());
}

#[expect(
    clippy::ptr_arg,
    reason = "one signature for all tampers; others insert/remove"
)]
fn invalid_utf8(lines: &mut Vec<Vec<u8>>) {
    lines[4].extend_from_slice(&[0xff, 0xfe]);
}

fn drop_first(lines: &mut Vec<Vec<u8>>) {
    lines.remove(0);
}

/// (what, how, the (line, finding kind) pairs it must produce, in order).
type TamperCase = (&'static str, Tamper, &'static [(usize, &'static str)]);

const TAMPERS: &[TamperCase] = &[
    ("edit a byte in line 9", edit_byte, &[(10, "prev_mismatch")]),
    (
        "drop line 7",
        drop_line,
        &[(7, "prev_mismatch"), (7, "seq_gap")],
    ),
    (
        "swap lines 7 and 8",
        swap_lines,
        &[
            (7, "prev_mismatch"),
            (7, "seq_gap"),
            (8, "prev_mismatch"),
            (8, "seq_not_increasing"),
            (9, "prev_mismatch"),
        ],
    ),
    (
        "insert a forged line",
        forge_line,
        &[(8, "prev_mismatch"), (8, "seq_not_increasing")],
    ),
    (
        "insert garbage",
        garbage_line,
        &[(5, "not_an_event"), (6, "prev_mismatch")],
    ),
    (
        "invalid UTF-8",
        invalid_utf8,
        &[(5, "not_an_event"), (6, "prev_mismatch")],
    ),
    (
        "drop the first line",
        drop_first,
        &[(1, "first_prev_not_zero"), (1, "first_seq_not_zero")],
    ),
];

fn kind_tag(k: &FindingKind) -> String {
    serde_json::to_value(k).expect("json")["kind"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn findings(r: &VerifyReport) -> Vec<(usize, String)> {
    r.problems
        .iter()
        .map(|p| (p.line.unwrap_or(0), kind_tag(&p.kind)))
        .collect()
}

#[test]
fn tampering_is_detected_at_the_right_line() {
    let original = fixture("success");
    assert!(verify_bytes("x".into(), &original).is_valid());
    for (what, tamper, expected) in TAMPERS {
        let mut lines = lines_of(&original);
        tamper(&mut lines);
        let report = verify_bytes("x".into(), &join(&lines));
        let got = findings(&report);
        let want: Vec<(usize, String)> =
            expected.iter().map(|(l, k)| (*l, k.to_string())).collect();
        assert_eq!(got, want, "{what}:\n{report}");
        assert!(!report.is_valid(), "{what}");
    }
}

#[test]
fn messages_name_the_line_and_the_cause() {
    let mut lines = lines_of(&fixture("success"));
    edit_byte(&mut lines);
    let report = verify_bytes("x".into(), &join(&lines));
    assert_eq!(
        report.problems[0].to_string(),
        "line 10: prev does not match the hash of line 9 — line 9 was edited, or a line between \
         them was dropped/inserted"
    );
    let mut lines = lines_of(&fixture("success"));
    lines.drain(6..9);
    let report = verify_bytes("x".into(), &join(&lines));
    assert!(
        report.problems[1]
            .to_string()
            .starts_with("line 7: seq 9 after 5 — lines were dropped (3 missing)"),
        "{report}"
    );
    let mut lines = lines_of(&fixture("success"));
    garbage_line(&mut lines);
    let report = verify_bytes("x".into(), &join(&lines));
    let offset: usize = lines[..4].iter().map(|l| l.len() + 1).sum();
    assert!(
        report.problems[0].to_string().starts_with(&format!(
            "line 5: not a log event (byte {offset}): not JSON"
        )),
        "{report}"
    );
}

#[test]
fn a_cut_tail_is_reported() {
    let original = fixture("success");
    let n = lines_of(&original).len();
    // Cut in the middle of the last line: torn.
    let cut = &original[..original.len() - 20];
    let report = verify_bytes("x".into(), cut);
    assert_eq!(findings(&report), [(n, "torn".to_string())], "{report}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.line == Some(n - 1) && matches!(w.kind, FindingKind::EndsUnfinished { .. })),
        "{report}"
    );
    // Cut whole lines: the chain holds, but the log ends without run_finished, and the head
    // hash is no longer the one recorded.
    let mut lines = lines_of(&original);
    lines.truncate(n - 1);
    let report = verify_bytes("x".into(), &join(&lines));
    assert!(report.is_valid());
    assert_eq!(report.warnings.len(), 1, "{report}");
    assert!(
        report.warnings[0].to_string().starts_with(&format!(
            "line {}: the log ends without run_finished",
            n - 1
        )),
        "{report}"
    );
    let full = verify_bytes("x".into(), &original);
    assert_ne!(full.head_sha256, report.head_sha256);
    assert!(full.warnings.is_empty(), "{full}");
}

#[test]
fn verify_is_not_a_no_op() {
    // Would pass for a verify that always says "valid" only if every assertion below were
    // missing: each of these logs must be rejected.
    let original = fixture("success");
    let mut edited = original.clone();
    let i = edited.iter().position(|&b| b == b'\n').expect("newline") + 30;
    edited[i] ^= 1;
    for bad in [
        edited,
        Vec::new(),
        b"garbage\n".to_vec(),
        original[..original.len() / 2].to_vec(),
    ] {
        assert!(
            !verify_bytes("x".into(), &bad).is_valid(),
            "{:?}",
            String::from_utf8_lossy(&bad)
        );
    }
    assert!(verify_bytes("x".into(), &original).is_valid());
}

#[test]
fn verify_names_a_missing_file() {
    let report = verify(Path::new("/nonexistent/run.log"));
    assert!(!report.is_valid());
    assert!(
        report.to_string().contains("/nonexistent/run.log"),
        "{report}"
    );
}

#[test]
fn writer_creates_0600_and_continues_the_chain() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    {
        let log = EventLog::open_append(&path).expect("open");
        log.append("run_started", Map::new()).expect("append");
    }
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    {
        let log = EventLog::open_append(&path).expect("reopen");
        log.append("run_finished", Map::new()).expect("append");
    }
    let lines = read(&path).expect("read");
    assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(lines[1].prev, lines[0].hash);
    assert!(verify(&path).is_valid());
}

#[test]
fn writer_refuses_bad_input_and_a_second_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    let log = EventLog::open_append(&path).expect("open");
    let mut f = Map::new();
    f.insert("seq".into(), json!(3));
    assert!(matches!(
        log.append("x", f).expect_err("reserved").kind,
        LogErrorKind::ReservedField(_)
    ));
    assert!(matches!(
        log.append("Bad Name", Map::new()).expect_err("name").kind,
        LogErrorKind::BadEventName(_)
    ));
    let second = EventLog::open_append(&path).expect_err("locked");
    assert!(matches!(second.kind, LogErrorKind::Locked), "{second}");
    assert!(second.to_string().contains("run.log"));
    let missing = EventLog::open_append(&dir.path().join("no/such/dir/run.log")).expect_err("io");
    assert!(
        missing.to_string().contains("no/such/dir/run.log"),
        "{missing}"
    );
}

#[test]
fn concurrent_appends_keep_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    let log = Arc::new(EventLog::open_append(&path).expect("open"));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let mut f = Map::new();
                    f.insert("step".into(), json!(format!("t{t}-{i}")));
                    log.append("step_started", f).expect("append");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let report = verify(&path);
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.lines, 200);
}

#[test]
fn a_missing_final_newline_is_completed_not_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.log");
    EventLog::open_append(&path)
        .expect("open")
        .append("run_started", Map::new())
        .expect("append");
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.pop();
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(
        verify(&path).warnings[0].kind,
        FindingKind::NoFinalNewline
    ));
    EventLog::open_append(&path)
        .expect("reopen")
        .append("run_finished", Map::new())
        .expect("append");
    let report = verify(&path);
    assert!(report.is_valid(), "{report}");
    // A log written without an anchor or key (not through `salvage run`) is unproven.
    assert!(report.warnings.is_empty(), "{report}");
    assert_eq!(
        report.unproven.iter().map(|u| &u.kind).collect::<Vec<_>>(),
        [&FindingKind::NoAnchor],
        "{report}"
    );
}

#[test]
fn garbage_logs_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("empty", &b""[..]),
        (
            "garbage",
            &b"\x00\x01\xff\n{not json\n\n[1,2]\n{\"seq\":-1}\n"[..],
        ),
        ("blank", &b"\n\n"[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let report = verify(&path);
        assert!(!report.is_valid(), "{name}");
        let contents = read_lenient(&path).expect("lenient");
        assert!(contents.lines.is_empty());
        let review = build(name, &contents);
        let _ = text::render(&review);
        if !bytes.is_empty() {
            let err = read(&path).expect_err("strict");
            assert!(err.to_string().contains(&format!("{name}:1:")), "{err}");
        }
        // A damaged file can still be continued.
        EventLog::open_append_after_damage(&path)
            .expect("continue")
            .append("run_started", Map::new())
            .expect("append");
    }
}

use crate::common::code_out_err as salvage;

#[test]
fn binary_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.log");
    std::fs::write(&good, fixture("success")).expect("write");
    let good = good.to_str().expect("utf8");
    // A fixture has neither anchor nor key: intact, but not proven (exit 3), never VALID.
    let (code, out, _) = salvage(&["review", good, "--verify"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("UNPROVEN") && !out.contains(": VALID") && out.contains("run 1 (line 1)"),
        "{out}"
    );

    let mut lines = lines_of(&fixture("success"));
    edit_byte(&mut lines);
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, join(&lines)).expect("write");
    let bad = bad.to_str().expect("utf8");
    let (code, out, _) = salvage(&["review", bad, "--verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("NOT VALID") && out.contains("line 10: prev does not match"),
        "{out}"
    );
    assert!(
        out.contains("run 1 (line 1)"),
        "the review is still printed: {out}"
    );
    let (code, _, _) = salvage(&["review", bad]);
    assert_eq!(code, 0, "without --verify the review is just printed");

    let (code, out, _) = salvage(&["review", bad, "--verify", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("json output");
    assert_eq!(doc["verify"]["problems"][0]["line"], 10);
    assert_eq!(doc["runs"][0]["runbook"], "rescue-failing-root-disk");

    let (code, _, err) = salvage(&["review", "/nonexistent/run.log", "--verify"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/run.log"), "{err}");

    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").expect("write");
    let empty = empty.to_str().expect("utf8");
    let (code, _, err) = salvage(&["review", empty]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = salvage(&["review", empty, "--verify"]);
    assert_eq!(code, 1, "{out}");
}

/// A log of three events written with its anchor and a state key beside it.
fn anchored_log(dir: &Path) -> PathBuf {
    let log_path = dir.join("log.jsonl");
    let key = [9u8; 32];
    std::fs::write(dir.join("key"), key).expect("key");
    let log = EventLog::open_append(&log_path)
        .expect("open")
        .with_anchor(Some(key))
        .expect("anchor");
    for event in ["run_started", "step_started", "run_finished"] {
        log.append(event, Map::new()).expect("append");
    }
    log_path
}

fn anchor_findings(path: &Path) -> Vec<FindingKind> {
    verify(path).problems.into_iter().map(|p| p.kind).collect()
}

#[test]
fn the_anchor_catches_an_edited_last_line_a_cut_tail_and_a_forged_append() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = anchored_log(dir.path());
    let original = std::fs::read(&path).expect("log");
    assert!(verify(&path).is_valid(), "{}", verify(&path));
    assert!(
        !verify(&path)
            .warnings
            .iter()
            .any(|w| w.kind == FindingKind::NoAnchor)
    );

    // The last line edited: the chain alone cannot see it.
    let mut lines = lines_of(&original);
    let last = lines.len() - 1;
    let edited = String::from_utf8(lines[last].clone())
        .expect("utf8")
        .replace("run_finished", "run_finishes");
    lines[last] = edited.into_bytes();
    std::fs::write(&path, join(&lines)).expect("write");
    assert!(verify_bytes("x".into(), &join(&lines)).is_valid());
    assert_eq!(anchor_findings(&path), [FindingKind::AnchorEdited]);

    // The last line dropped.
    let mut lines = lines_of(&original);
    lines.pop();
    std::fs::write(&path, join(&lines)).expect("write");
    assert_eq!(
        anchor_findings(&path),
        [FindingKind::AnchorCut { anchored: 3 }]
    );

    // A forged line appended with the right prev and seq.
    let lines = lines_of(&original);
    let prev = salvage_engine::event_log::line_hash(&lines[2]);
    let mut forged = original.clone();
    forged.extend_from_slice(
        format!(
            "{{\"seq\":3,\"time\":\"2026-12-02T04:00:00.000Z\",\"event\":\"note\",\"prev\":\"{prev}\"}}\n"
        )
        .as_bytes(),
    );
    std::fs::write(&path, &forged).expect("write");
    assert!(
        verify_bytes("x".into(), &forged).is_valid(),
        "the chain holds"
    );
    assert_eq!(
        anchor_findings(&path),
        [FindingKind::AnchorExtra { extra: 1 }]
    );

    // The anchor rewritten to match the cut log, without the key: its MAC gives it away.
    let mut lines = lines_of(&original);
    lines.pop();
    std::fs::write(&path, join(&lines)).expect("write");
    let head = salvage_engine::event_log::line_hash(&lines[1]);
    let anchor = salvage_engine::event_log::anchor_path(&path);
    let text = std::fs::read_to_string(&anchor).expect("anchor");
    let mac = text.split_whitespace().nth(2).expect("mac").to_string();
    std::fs::write(&anchor, format!("{:020} {head} {mac}\n", 2)).expect("forge");
    assert_eq!(anchor_findings(&path), [FindingKind::AnchorForged]);

    // A log without its anchor while the key is beside it: a failure, not a warning.
    std::fs::write(&path, &original).expect("write");
    std::fs::remove_file(&anchor).expect("rm");
    assert_eq!(anchor_findings(&path), [FindingKind::AnchorMissing]);
}

/// `salvage report`'s HTML and Markdown of every fixture, as snapshots under snapshots/report/:
/// deterministic for a given log (the same input twice gives the same bytes). The image step's
/// map is a fixed one, so the grid and its totals are in the snapshot.
#[test]
fn fixtures_report_as_snapshots() {
    use salvage_engine::report::{MapView, ReportInput, render_html, render_markdown};
    use salvage_imager::{BlockStatus, Mapfile};
    let mut settings = snapshot_settings();
    settings.set_snapshot_path(root().join("snapshots/report"));
    let mut map = Mapfile::new(0, 64 << 20);
    map.set_status(0, 60 << 20, BlockStatus::Finished);
    map.set_status(10 << 20, 4096, BlockStatus::BadSector);
    map.set_status(20 << 20, 1 << 20, BlockStatus::NonScraped);
    map.set_status(30 << 20, 65536, BlockStatus::NonTrimmed);
    for (name, _) in FIXTURES {
        let bytes = fixture(name);
        let (report, review) = review_of(name, &bytes);
        let input = || ReportInput {
            review: &review,
            verify: &report,
            maps: vec![MapView {
                step: "img".into(),
                path: "/srv/rescue/root.map".into(),
                map: Ok(map.clone()),
            }],
            deps: Ok(vec![
                ("mnt".into(), vec!["img".into()]),
                ("files".into(), vec!["mnt".into(), "confirm_root".into()]),
                ("confirm_root".into(), vec!["mnt".into()]),
            ]),
        };
        let html = render_html(&input());
        assert_eq!(
            html,
            render_html(&input()),
            "the same input gives the same bytes"
        );
        for must in [
            "<svg class=\"graph\"",
            "<svg class=\"timeline\"",
            "<svg class=\"map\"",
            "Log verification",
        ] {
            assert!(html.contains(must), "{name}: no {must}");
        }
        // Self-contained: no script, nothing fetched (the SVG namespace is only a name).
        for never in ["<script", "src=", "href=", "@import", "url(http"] {
            assert!(!html.contains(never), "{name}: the page holds {never}");
        }
        let md = render_markdown(&input());
        settings.bind(|| {
            insta::assert_snapshot!(format!("{name}.html"), html);
            insta::assert_snapshot!(format!("{name}.md"), md);
        });
    }
}
