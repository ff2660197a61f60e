//! The command line on hostile input: every bad file gets a diagnostic and exit 1, never a
//! panic; plans render in every format; dot output renders with Graphviz.

use std::io::Write;
use std::process::{Command, Output};

use crate::common::output as salvage;

fn check_bytes(bytes: &[u8]) -> Output {
    let mut f = tempfile::Builder::new()
        .suffix(".salvage")
        .tempfile()
        .expect("tempfile");
    f.write_all(bytes).expect("write");
    salvage(&["check", f.path().to_str().expect("utf-8 path")])
}

fn assert_diagnosed(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit code; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
    assert!(stderr.contains("×"), "{what}: no diagnostic: {stderr}");
    assert!(
        stderr.len() < 20_000,
        "{what}: diagnostic is {} bytes",
        stderr.len()
    );
}

#[test]
fn hostile_files_are_diagnosed_not_panicked() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "binary garbage",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("10 MB of one line", {
            let mut v = b"runbook \"x\" { about \"".to_vec();
            v.extend(std::iter::repeat_n(b'a', 10 << 20));
            v.extend(b"\" step a = nope() }");
            v
        }),
        ("10,000 nested brackets", {
            let mut v = b"runbook \"x\" { step a = exec(argv: ".to_vec();
            v.extend(std::iter::repeat_n(b'[', 10_000));
            v
        }),
        (
            "invalid UTF-8",
            b"runbook \"x\" {\n  about \"\xff\xfe\"\n}\n".to_vec(),
        ),
        ("NUL bytes", b"runbook \"x\" {\0}".to_vec()),
    ];
    for (what, bytes) in cases {
        assert_diagnosed(&check_bytes(&bytes), what);
    }
}

#[test]
fn long_line_diagnostic_is_clipped_and_located() {
    let mut v = b"runbook \"x\" { about \"".to_vec();
    v.extend(std::iter::repeat_n(b'a', 1 << 20));
    v.extend(b"\" step a = nope() }");
    let out = check_bytes(&v);
    assert_diagnosed(&out, "long line");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let col = 1 + "runbook \"x\" { about \"".len() + (1 << 20) + "\" step a = ".len();
    assert!(
        stderr.contains(&format!(":1:{col}]")),
        "real column {col} not shown: {stderr}"
    );
}

#[test]
fn missing_file_is_an_error() {
    let out = salvage(&["check", "/nonexistent/x.salvage"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `/nonexistent/x.salvage`"));
}

fn runbook(name: &str) -> String {
    salvage_testkit::workspace_root()
        .join("runbooks")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn plan_requires_params_and_names_the_flag() {
    let out = salvage(&["plan", &runbook("rescue-failing-root-disk.salvage")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --param disk=VALUE"));
}

#[test]
fn plan_warns_about_a_device_missing_here() {
    let out = salvage(&[
        "plan",
        &runbook("rescue-failing-root-disk.salvage"),
        "--param",
        "disk=/dev/salvage-none",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist on this machine"));
}

#[test]
fn plan_unknown_param_suggests() {
    let out = salvage(&[
        "plan",
        &runbook("rescue-failing-root-disk.salvage"),
        "--param",
        "dsk=/dev/sdb",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `disk`?"));
}

#[test]
fn plan_json_is_json_with_every_step() {
    let out = salvage(&[
        "plan",
        &runbook("rescue-failing-root-disk.salvage"),
        "-p",
        "disk=/dev/sdb",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "img",
            "table",
            "roots",
            "check",
            "repair",
            "mnt",
            "confirm_root",
            "files",
            "proof"
        ]
    );
}

#[test]
fn plan_dot_renders_with_graphviz() {
    if !salvage_testkit::require_tool("plan_dot_renders_with_graphviz", &["dot"]) {
        return;
    }
    let out = salvage(&[
        "plan",
        &runbook("rescue-failing-root-disk.salvage"),
        "-p",
        "disk=/dev/sdb",
        "--format",
        "dot",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let mut dot = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("graphviz `dot` must be installed (.ci/run installs graphviz)");
    dot.stdin
        .take()
        .expect("stdin")
        .write_all(&out.stdout)
        .expect("feed dot");
    let rendered = dot.wait_with_output().expect("dot");
    assert!(
        rendered.status.success(),
        "dot failed: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let svg = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        svg.contains("<svg") && svg.contains("confirm_root"),
        "no graph drawn"
    );
}

#[test]
fn check_reports_errors_of_all_files() {
    let dir = salvage_testkit::workspace_root().join("engine/tests/runbooks/broken");
    let dir = dir.display();
    let out = salvage(&[
        "check",
        &format!("{dir}/unknown_op.salvage"),
        &format!("{dir}/cycle.salvage"),
        &runbook("dd-image-offset.salvage"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown op `imgae`") && stderr.contains("dependency cycle"));
    assert!(stderr.contains("2 of 3 file(s) have errors"), "{stderr}");
}

#[test]
fn plan_probe_shows_real_offsets_and_writes_nothing() {
    if !salvage_testkit::require_tool(
        "plan_probe_shows_real_offsets_and_writes_nothing",
        &["mkfs.ext4"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let rb = dir.path().join("make.salvage");
    let img = dir.path().join("disk.img");
    std::fs::write(
        &rb,
        format!(
            r#"runbook "make" {{ step d = synth(dest: "{}", size: 24MiB, partitions: ["32256+20MiB ext3 data"], files: 5) }}"#,
            img.display()
        ),
    )
    .expect("runbook");
    let state = dir.path().join("state");
    let made = salvage(&[
        "run",
        rb.to_str().expect("utf-8"),
        "--state",
        state.to_str().expect("utf-8"),
        "-q",
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    let out = salvage(&[
        "plan",
        &runbook("dd-image-offset.salvage"),
        "-p",
        &format!("image={}", img.display()),
        "--probe",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ext3 at byte offset 32256"), "{text}");
    assert!(
        !text.contains("<table.partition[1]>"),
        "the probe left a reference unresolved: {text}"
    );
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(before, after, "plan --probe wrote something");
}
