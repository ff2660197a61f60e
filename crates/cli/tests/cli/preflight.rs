//! The preflight: `salvage plan` lists the programs a runbook starts, whether each is found
//! and runs here, and what salvage does without it; `salvage run` refuses before touching
//! anything when a program a step needs is missing or does not run. Each test gives salvage
//! a PATH of its own.

use crate::common::salvage;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A runbook that images a file, makes a qcow2 overlay of the image (qemu-img) and runs a
/// runbook program only when a condition holds.
const RUNBOOK: &str = r#"
runbook "preflight" {
  param disk: path
  param work: path
  step img  = image(source: disk, dest: "${work}/disk.img", map: "${work}/disk.map")
  step snap = snapshot(source: img.dest, backend: "qcow2", dest: "${work}/overlay.qcow2")
  step rare = exec(argv: ["rare-tool", "--go"], effect: "read", when: img.bad_bytes > 0)
}
"#;

struct Setup {
    dir: tempfile::TempDir,
    bin: PathBuf,
    runbook: PathBuf,
    disk: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let runbook = dir.path().join("pf.salvage");
    std::fs::write(&runbook, RUNBOOK).expect("runbook");
    let disk = dir.path().join("disk.raw");
    std::fs::write(&disk, vec![7u8; 1 << 20]).expect("disk");
    Setup {
        dir,
        bin,
        runbook,
        disk,
    }
}

fn script(bin: &Path, name: &str, body: &str) {
    let p = bin.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

impl Setup {
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn salvage(&self, cmd: &str, extra: &[&str]) -> (i32, String, String) {
        let out = salvage()
            .arg(cmd)
            .arg(&self.runbook)
            .args(["-p", &format!("disk={}", self.disk.display())])
            .args(["-p", &format!("work={}", self.work().display())])
            .args(extra)
            .env("PATH", &self.bin)
            .output()
            .expect("run salvage");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn plan_names_a_missing_program_what_salvage_does_without_it_and_the_fix() {
    let s = setup();
    let (code, out, err) = s.salvage("plan", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("programs this plan starts, on this machine:"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("  qemu-img ") && l.ends_with(" MISSING (not on PATH)")),
        "{out}"
    );
    assert!(
        out.contains(
            "step `snap`: needed; without it: step `snap` fails: no qcow2 overlay is made"
        ),
        "{out}"
    );
    assert!(
        out.contains("fix: install qemu-utils (apt-get install qemu-utils)"),
        "{out}"
    );
    assert!(
        out.contains("step `rare`: needed when img.bad_bytes > 0"),
        "{out}"
    );
    // The warning on stderr points at the step's line.
    assert!(
        err.contains("step `snap` runs `qemu-img`, which is not installed here"),
        "{err}"
    );

    let (code, out, err) = s.salvage("plan", &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let programs = &j["this_machine"]["programs"];
    let qemu = programs
        .as_array()
        .and_then(|a| a.iter().find(|p| p["program"] == "qemu-img"))
        .unwrap_or_else(|| panic!("no qemu-img in {programs}"));
    assert_eq!(qemu["found"], false);
    assert_eq!(qemu["runs"], false);
    assert_eq!(qemu["required"], true);
    let rare = programs
        .as_array()
        .and_then(|a| a.iter().find(|p| p["program"] == "rare-tool"))
        .expect("rare-tool listed");
    assert_eq!(rare["required"], false);
}

#[test]
fn plan_runs_a_found_program_and_tells_one_that_does_not_load() {
    let s = setup();
    script(&s.bin, "qemu-img", "echo 'qemu-img version 9.9.9'");
    let (code, out, err) = s.salvage("plan", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("qemu-img: runs (qemu-img version 9.9.9)"),
        "{out}"
    );

    // On the seed's machine: on PATH, but its libraries cannot be read.
    script(
        &s.bin,
        "qemu-img",
        "echo 'qemu-img: error while loading shared libraries: libglib-2.0.so.0: cannot open shared object file: Input/output error' >&2; exit 127",
    );
    let (code, out, err) = s.salvage("plan", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("qemu-img: DOES NOT RUN: `--version` failed to load (exit 127): qemu-img: error while loading shared libraries"),
        "{out}"
    );
}

#[test]
fn run_refuses_a_missing_program_before_touching_anything() {
    let s = setup();
    let state = s.dir.path().join("state");
    let (code, out, err) = s.salvage("run", &["--state", state.to_str().expect("utf-8"), "-q"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("step `snap` runs `qemu-img`, which is not installed here (not on PATH)"),
        "{err}"
    );
    assert!(err.contains("fix: install qemu-utils"), "{err}");
    assert!(
        err.contains("refused before anything was started or written"),
        "{err}"
    );
    // The conditional one is only a warning.
    assert!(
        err.contains("warning: `rare-tool` is not installed here"),
        "{err}"
    );
    assert!(!state.exists(), "a state directory was made");
    assert!(!s.work().exists(), "the image step ran");
}

#[test]
fn run_refuses_a_program_that_does_not_run_and_goes_when_it_does() {
    let s = setup();
    let state = s.dir.path().join("state");
    script(&s.bin, "qemu-img", "exit 127");
    let (code, _, err) = s.salvage("run", &["--state", state.to_str().expect("utf-8"), "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("but does not run here: `--version` failed to load (exit 127)"),
        "{err}"
    );
    assert!(!state.exists());

    // A qemu-img that runs: the preflight lets the run start (the stand-in records its calls
    // and makes the overlay file the way `qemu-img create` would leave one).
    let calls = s.dir.path().join("qemu-calls");
    script(
        &s.bin,
        "qemu-img",
        &format!(
            "echo \"$1\" >> '{}'; case \"$1\" in --version) echo 'qemu-img version 9.9.9';; create) for a; do last=$a; done; : > \"$last\";; esac",
            calls.display()
        ),
    );
    let (code, out, err) = s.salvage("run", &["--state", state.to_str().expect("utf-8"), "-q"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(s.work().join("disk.img").exists(), "{out}{err}");
    // Once by the preflight, once by the step (the overlay is removed at cleanup).
    let calls = std::fs::read_to_string(&calls).expect("qemu-img was called");
    assert_eq!(calls.lines().collect::<Vec<_>>(), ["--version", "create"]);
    assert!(err.contains("rare                     skipped"), "{err}");
}
