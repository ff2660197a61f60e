//! `salvage health` and the `health` op on recorded smartctl JSON (healthy and failing ATA and
//! NVMe drives, `tests/fixtures/smart/`), served by a stand-in `smartctl` first on PATH; and
//! without smartctl at all.

use crate::common::{salvage, text};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    salvage_testkit::workspace_root().join(format!("crates/cli/tests/fixtures/smart/{name}.json"))
}

/// A directory holding a `smartctl` that prints `name`'s JSON, records its argv, and exits with
/// the fixture's own `smartctl.exit_status` (as smartctl does). Shell builtins only: the
/// tests give it a PATH of its own directory.
fn stand_in(dir: &Path, name: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(name)).expect("fixture")).expect("json");
    let code = json["smartctl"]["exit_status"]
        .as_i64()
        .expect("exit_status");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nwhile IFS= read -r l; do printf '%s\\n' \"$l\"; done < '{}'\nexit {code}\n",
        dir.join("argv").display(),
        fixture(name).display()
    );
    let path = bin.join("smartctl");
    std::fs::write(&path, script).expect("write stand-in");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

/// A disk for the tests: any file that exists (the stand-in does not open it).
fn disk(dir: &Path) -> PathBuf {
    let d = dir.join("disk.img");
    std::fs::write(&d, vec![0u8; 1 << 20]).expect("disk");
    d
}

/// `salvage health DISK --json` with `bin` as the whole PATH: exit code and parsed JSON.
fn health_json(bin: &Path, disk: &Path) -> (i32, serde_json::Value, String) {
    let out = salvage()
        .args(["health", disk.to_str().expect("utf-8"), "--json"])
        .env("PATH", bin)
        .output()
        .expect("run salvage health");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn healthy_ata_drive_reads_as_healthy_and_smartctl_gets_json_flags() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = stand_in(dir.path(), "ata-healthy");
    let d = disk(dir.path());
    let (code, j, err) = health_json(&bin, &d);
    assert_eq!(code, 0, "{j} {err}");
    assert_eq!(j["available"], true);
    assert_eq!(j["passed"], true);
    assert_eq!(j["healthy"], true);
    assert_eq!(j["protocol"], "ATA");
    assert_eq!(j["reallocated_sectors"], 0);
    assert_eq!(j["pending_sectors"], 0);
    assert_eq!(j["offline_uncorrectable"], 0);
    assert_eq!(j["power_on_hours"], 21043);
    // temperature.current, not attribute 194's packed raw value.
    assert_eq!(j["temperature"], 33);
    assert_eq!(j["error_log_count"], 0);
    assert_eq!(j["problems"], serde_json::json!([]));
    let argv = std::fs::read_to_string(dir.path().join("argv")).expect("argv recorded");
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        ["-j", "-a", d.to_str().expect("utf-8")]
    );
}

#[test]
fn failing_ata_drive_names_its_sectors_and_exits_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = stand_in(dir.path(), "ata-failing");
    let d = disk(dir.path());
    let (code, j, err) = health_json(&bin, &d);
    assert_eq!(code, 1, "{j} {err}");
    assert_eq!(j["passed"], false);
    assert_eq!(j["healthy"], false);
    assert_eq!(j["reallocated_sectors"], 3960);
    assert_eq!(j["pending_sectors"], 1248);
    assert_eq!(j["offline_uncorrectable"], 1248);
    assert_eq!(j["power_on_hours"], 41876);
    assert_eq!(j["temperature"], 44);
    assert_eq!(j["error_log_count"], 2781);
    assert_eq!(j["exit_status"], 88);
    let problems = j["problems"].to_string();
    for want in [
        "overall assessment FAILED",
        "3960 reallocated sectors",
        "1248 pending sectors",
        "1248 offline-uncorrectable sectors",
        "Reallocated_Sector_Ct (id 5) at or below its threshold now",
    ] {
        assert!(problems.contains(want), "{want} missing from {problems}");
    }
    // The text form says the same.
    let out = salvage()
        .args(["health", d.to_str().expect("utf-8")])
        .env("PATH", &bin)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SMART FAILED"), "{text}");
    assert!(text.contains("pending sectors          1248"), "{text}");
}

#[test]
fn passing_ata_drive_with_pending_sectors_is_passed_but_not_healthy() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = stand_in(dir.path(), "ata-pending");
    let (code, j, err) = health_json(&bin, &disk(dir.path()));
    assert_eq!(code, 1, "{j} {err}");
    assert_eq!(j["passed"], true);
    assert_eq!(j["healthy"], false);
    assert_eq!(j["pending_sectors"], 8);
    assert_eq!(j["reallocated_sectors"], 16);
    assert_eq!(j["error_log_count"], 3);
    assert!(
        j["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("SMART PASSED; 16 reallocated sectors, 8 pending")),
        "{}",
        j["summary"]
    );
}

#[test]
fn nvme_drives_report_critical_warnings_and_media_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = disk(dir.path());
    let bin = stand_in(&dir.path().join("good"), "nvme-healthy");
    let (code, j, err) = health_json(&bin, &d);
    assert_eq!(code, 0, "{j} {err}");
    assert_eq!(j["protocol"], "NVMe");
    assert_eq!(j["critical_warning"], 0);
    assert_eq!(j["media_errors"], 0);
    assert_eq!(j["power_on_hours"], 8122);
    assert_eq!(j["temperature"], 41);
    // No ATA attributes on NVMe: not reported, never a made-up zero.
    assert_eq!(j["pending_sectors"], serde_json::Value::Null);

    let bin = stand_in(&dir.path().join("bad"), "nvme-failing");
    let (code, j, err) = health_json(&bin, &d);
    assert_eq!(code, 1, "{j} {err}");
    assert_eq!(j["passed"], false);
    assert_eq!(j["critical_warning"], 5);
    assert_eq!(j["media_errors"], 142);
    assert_eq!(j["error_log_count"], 311);
    assert_eq!(j["percentage_used"], 103);
    let problems = j["problems"].to_string();
    assert!(
        problems.contains(
            "NVMe critical warning 0x05: available spare below threshold, reliability degraded"
        ),
        "{problems}"
    );
    assert!(problems.contains("142 NVMe media errors"), "{problems}");
}

#[test]
fn without_smartctl_the_answer_is_unavailable_not_a_crash() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let (code, j, err) = health_json(&empty, &disk(dir.path()));
    assert_eq!(code, 3, "{j} {err}");
    assert_eq!(j["available"], false);
    assert_eq!(j["passed"], serde_json::Value::Null);
    assert!(
        j["unavailable_reason"]
            .as_str()
            .is_some_and(|r| r.contains("smartctl is not installed")),
        "{j}"
    );
}

#[test]
fn a_disk_that_does_not_exist_and_output_that_is_not_json_are_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = stand_in(dir.path(), "ata-healthy");
    let (code, _, err) = health_json(&bin, &dir.path().join("no-such-disk"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-disk"), "{err}");
    // An old smartctl without -j prints text.
    std::fs::write(
        bin.join("smartctl"),
        "#!/bin/sh\necho 'smartctl 6.6 2016-05-31 r4324'\necho '=======> UNRECOGNIZED OPTION: j'\nexit 1\n",
    )
    .expect("write");
    let (code, _, err) = health_json(&bin, &disk(dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("smartmontools 7.0 or later"), "{err}");
}

const GATE: &str = r#"
runbook "health-gate" {
  param disk: device
  param work: path

  step health = health(disk: disk)
  assert health.passed "SMART says ${disk} is failing: ${health.summary}"
  step img = image(source: disk, dest: "${work}/disk.img", map: "${work}/disk.map")
  step careful = image(source: disk, dest: "${work}/careful.img", map: "${work}/careful.map", when: health.pending_sectors != 0)
  output summary = health.summary
}
"#;

/// Runs the gate runbook with the stand-in for `name` (or none) as the whole PATH.
fn run_gate(name: Option<&str>) -> (i32, String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = match name {
        Some(n) => stand_in(dir.path(), n),
        None => {
            let b = dir.path().join("bin");
            std::fs::create_dir(&b).expect("mkdir");
            b
        }
    };
    let d = disk(dir.path());
    let work = dir.path().join("work");
    let runbook = dir.path().join("gate.salvage");
    std::fs::write(&runbook, GATE).expect("write runbook");
    let out = salvage()
        .arg("run")
        .arg(&runbook)
        .args(["-p", &format!("disk={}", d.display())])
        .args(["-p", &format!("work={}", work.display())])
        .args(["--state", dir.path().join("state").to_str().expect("utf-8")])
        .args(["-j", "1", "-q"])
        .env("PATH", &bin)
        .output()
        .expect("run");
    let text = text(&out);
    (out.status.code().unwrap_or(-1), text, work, dir)
}

#[test]
fn runbook_health_assert_stops_a_failing_drive_before_anything_is_imaged() {
    for fixture in ["ata-failing", "nvme-failing"] {
        let (code, text, work, dir) = run_gate(Some(fixture));
        assert_eq!(code, 7, "{fixture}: {text}");
        assert!(
            text.contains("is failing: SMART FAILED"),
            "{fixture}: {text}"
        );
        assert!(!work.join("disk.img").exists(), "{fixture}: imaged anyway");
        // smartctl's JSON is kept beside the run as evidence.
        let kept = dir.path().join("state/work/health/smartctl.json");
        let kept: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&kept).expect("kept report")).expect("json");
        assert_eq!(kept["smart_status"]["passed"], false);
    }
}

#[test]
fn runbook_health_assert_lets_a_healthy_drive_through_and_when_reads_pending_sectors() {
    let (code, text, work, _dir) = run_gate(Some("ata-healthy"));
    assert_eq!(code, 0, "{text}");
    assert!(work.join("disk.img").exists(), "{text}");
    assert!(!work.join("careful.img").exists(), "{text}");

    let (code, text, work, _dir) = run_gate(Some("ata-pending"));
    assert_eq!(code, 0, "{text}");
    assert!(work.join("disk.img").exists(), "{text}");
    assert!(work.join("careful.img").exists(), "{text}");
}

#[test]
fn runbook_without_smartctl_stops_at_the_assert_saying_why() {
    let (code, text, work, _dir) = run_gate(None);
    assert_eq!(code, 7, "{text}");
    assert!(text.contains("smartctl is not installed"), "{text}");
    assert!(!work.join("disk.img").exists(), "{text}");
}
