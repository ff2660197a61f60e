//! A disk's SMART health, read from smartctl's JSON (`smartctl -j -a DISK`, smartmontools 7
//! or later): the overall assessment, the sector counts that say a disk is dying, power-on
//! hours, temperature, the error log, NVMe critical warnings and media errors. The `health`
//! op and `salvage health` both read it through [`parse`]; neither guesses what smartctl did
//! not say (an unreported count is `None`, shown as -1 to runbooks).

use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// What smartctl said of one disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The disk asked.
    pub disk: String,
    /// Whether SMART data was read at all.
    pub available: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_reason: Option<String>,
    /// The overall assessment: `Some(true)` PASSED, `Some(false)` FAILED, `None` not given.
    pub passed: Option<bool>,
    /// `ATA`, `NVMe`, `SCSI`, or `unknown`.
    pub protocol: String,
    /// The model, as the drive names itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// ATA attribute 5, raw.
    pub reallocated_sectors: Option<i64>,
    /// ATA attribute 197, raw.
    pub pending_sectors: Option<i64>,
    /// ATA attribute 198, raw.
    pub offline_uncorrectable: Option<i64>,
    /// Hours powered on.
    pub power_on_hours: Option<i64>,
    /// Degrees Celsius now.
    pub temperature: Option<i64>,
    /// Errors in the drive's error log (ATA summary count, NVMe error-log entries).
    pub error_log_count: Option<i64>,
    /// The NVMe critical-warning byte.
    pub critical_warning: Option<i64>,
    /// NVMe unrecovered media and data-integrity errors.
    pub media_errors: Option<i64>,
    /// NVMe percentage of rated endurance used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage_used: Option<i64>,
    /// ATA attributes whose normalized value is at or below threshold now (`name (id N)`).
    pub failing_attributes: Vec<String>,
    /// smartctl's exit status, a bit mask (bit 3: the disk is failing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i64>,
    /// Every finding in words; empty when healthy.
    pub problems: Vec<String>,
}

/// Why SMART could not be asked at all (as opposed to a disk without SMART).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthErrorKind {
    /// smartctl could not open the disk (wrong path, no permission).
    Open,
    /// smartctl printed no JSON, or JSON of another shape.
    Output,
    /// smartctl could not be started or waited for, though it exists.
    Run,
}

/// Why SMART could not be asked, with the message for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthError {
    /// Which way it failed.
    pub kind: HealthErrorKind,
    /// What to tell the operator, naming the disk and the fix.
    pub message: String,
}

impl fmt::Display for HealthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HealthError {}

/// NVMe critical-warning bits, in words (NVMe base specification, SMART / Health log byte 0).
const NVME_WARNINGS: &[(i64, &str)] = &[
    (0x01, "available spare below threshold"),
    (0x02, "temperature outside its threshold"),
    (0x04, "reliability degraded by media or internal errors"),
    (0x08, "media placed in read-only mode"),
    (0x10, "volatile memory backup failed"),
    (0x20, "persistent memory region read-only"),
];

impl Health {
    /// The result when nothing could be read: smartctl missing, or no SMART on the disk.
    pub fn unavailable(disk: &str, reason: impl Into<String>) -> Self {
        Health {
            disk: disk.to_string(),
            available: false,
            unavailable_reason: Some(reason.into()),
            passed: None,
            protocol: "unknown".into(),
            model: None,
            serial: None,
            reallocated_sectors: None,
            pending_sectors: None,
            offline_uncorrectable: None,
            power_on_hours: None,
            temperature: None,
            error_log_count: None,
            critical_warning: None,
            media_errors: None,
            percentage_used: None,
            failing_attributes: Vec::new(),
            exit_status: None,
            problems: Vec::new(),
        }
    }

    /// Passed, and no sector, attribute, warning or media error that says otherwise.
    pub fn healthy(&self) -> bool {
        self.available && self.passed == Some(true) && self.problems.is_empty()
    }

    /// The one-line answer: `SMART PASSED; 8 pending sectors`.
    pub fn summary(&self) -> String {
        if !self.available {
            return format!(
                "SMART not read: {}",
                self.unavailable_reason
                    .as_deref()
                    .unwrap_or("unknown reason")
            );
        }
        let verdict = match self.passed {
            Some(true) => "SMART PASSED",
            Some(false) => "SMART FAILED",
            None => "SMART assessment not given",
        };
        let mut parts: Vec<String> = self
            .problems
            .iter()
            .filter(|p| !p.starts_with("overall assessment"))
            .cloned()
            .collect();
        if parts.is_empty() {
            parts.push("no reallocated, pending or uncorrectable sectors".into());
        }
        if let Some(n) = self.error_log_count.filter(|n| *n > 0) {
            parts.push(format!("{n} error-log entries"));
        }
        format!("{verdict}; {}", parts.join(", "))
    }

    /// The outputs of the `health` op; unknown counts are -1, an unknown assessment false.
    pub fn outputs(&self, report: &str) -> Value {
        let n = |v: Option<i64>| v.unwrap_or(-1);
        serde_json::json!({
            "available": self.available,
            "passed": self.passed == Some(true),
            "healthy": self.healthy(),
            "protocol": self.protocol,
            "reallocated_sectors": n(self.reallocated_sectors),
            "pending_sectors": n(self.pending_sectors),
            "offline_uncorrectable": n(self.offline_uncorrectable),
            "power_on_hours": n(self.power_on_hours),
            "temperature": n(self.temperature),
            "error_log_count": n(self.error_log_count),
            "critical_warning": n(self.critical_warning),
            "media_errors": n(self.media_errors),
            "problems": self.problems,
            "summary": self.summary(),
            "report": report,
        })
    }

    /// The text `salvage health` prints.
    pub fn render_text(&self) -> String {
        let mut out = format!("{}: {}\n", self.disk, self.summary());
        if !self.available {
            return out;
        }
        let show = |v: Option<i64>| v.map_or("not reported".to_string(), |n| n.to_string());
        let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<24} {v}\n"));
        line("protocol", self.protocol.clone());
        if let Some(m) = &self.model {
            line("model", m.clone());
        }
        if let Some(s) = &self.serial {
            line("serial", s.clone());
        }
        line(
            "overall assessment",
            match self.passed {
                Some(true) => "PASSED".into(),
                Some(false) => "FAILED".into(),
                None => "not given".into(),
            },
        );
        if self.protocol != "NVMe" {
            line("reallocated sectors", show(self.reallocated_sectors));
            line("pending sectors", show(self.pending_sectors));
            line("offline uncorrectable", show(self.offline_uncorrectable));
        }
        line("power-on hours", show(self.power_on_hours));
        line(
            "temperature",
            self.temperature
                .map_or("not reported".into(), |t| format!("{t} °C")),
        );
        line("error-log entries", show(self.error_log_count));
        if self.protocol == "NVMe" {
            line("critical warning", show(self.critical_warning));
            line("media errors", show(self.media_errors));
            if let Some(p) = self.percentage_used {
                line("endurance used", format!("{p}%"));
            }
        }
        for p in &self.problems {
            out.push_str(&format!("  problem: {p}\n"));
        }
        out
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
}

/// smartctl's own messages (`smartctl.messages[].string`), joined.
fn messages(json: &Value) -> String {
    json.pointer("/smartctl/messages")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|x| x.get("string").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// Reads smartctl's JSON output for `disk`. A disk without SMART is `available: false`; a disk
/// smartctl could not open, or output that is not smartctl's JSON, is an error.
pub fn parse(disk: &str, stdout: &[u8]) -> Result<Health, HealthError> {
    let json: Value = serde_json::from_slice(stdout).map_err(|e| HealthError {
        kind: HealthErrorKind::Output,
        message: if stdout.iter().all(u8::is_ascii_whitespace) {
            format!(
                "smartctl printed nothing for {disk}: smartmontools 7.0 or later is needed for -j (JSON)"
            )
        } else {
            format!("smartctl's output for {disk} is not JSON ({e}): smartmontools 7.0 or later is needed for -j")
        },
    })?;
    if json.get("smartctl").is_none() {
        return Err(HealthError {
            kind: HealthErrorKind::Output,
            message: format!(
                "the JSON read for {disk} has no `smartctl` object: it is not smartctl -j output"
            ),
        });
    }
    let exit_status = json.pointer("/smartctl/exit_status").and_then(int);
    let said = messages(&json);
    // Bit 1: the device could not be opened (or its identity could not be read).
    if exit_status.is_some_and(|s| s & 0b10 != 0) {
        return Err(HealthError {
            kind: HealthErrorKind::Open,
            message: format!(
                "smartctl could not open {disk}{}: check the device path (lsblk) and that salvage runs as root",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(" ({said})")
                }
            ),
        });
    }
    // Bit 0 without a device type: smartctl cannot talk to this kind of device (a virtio,
    // loop or other virtual disk): there is no SMART to read, which is not an error.
    if exit_status.is_some_and(|s| s & 0b1 != 0) {
        let mut h = Health::unavailable(
            disk,
            format!(
                "smartctl cannot ask this device for SMART{} (a virtual, loop or RAID-hidden disk has none; behind a USB bridge try smartctl -d sat)",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ),
        );
        h.exit_status = exit_status;
        return Ok(h);
    }
    let protocol = json
        .pointer("/device/protocol")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let passed = json
        .pointer("/smart_status/passed")
        .and_then(Value::as_bool);
    let supported = json
        .pointer("/smart_support/available")
        .and_then(Value::as_bool);
    if passed.is_none() && supported != Some(true) && protocol != "NVMe" {
        let reason = if supported == Some(false) {
            "the disk does not support SMART (or a USB bridge hides it; try smartctl -d sat)"
                .to_string()
        } else if said.is_empty() {
            "smartctl gave no SMART status".to_string()
        } else {
            said
        };
        let mut h = Health::unavailable(disk, reason);
        h.protocol = protocol;
        h.exit_status = exit_status;
        return Ok(h);
    }
    let text = |p: &str| json.pointer(p).and_then(Value::as_str).map(str::to_string);
    let mut h = Health::unavailable(disk, "");
    h.available = true;
    h.unavailable_reason = None;
    h.passed = passed;
    h.protocol = protocol;
    h.model = text("/model_name");
    h.serial = text("/serial_number");
    h.exit_status = exit_status;
    h.power_on_hours = json.pointer("/power_on_time/hours").and_then(int);
    h.temperature = json.pointer("/temperature/current").and_then(int);
    if let Some(table) = json
        .pointer("/ata_smart_attributes/table")
        .and_then(Value::as_array)
    {
        let raw = |id: i64| {
            table
                .iter()
                .find(|a| a.get("id").and_then(int) == Some(id))
                .and_then(|a| a.pointer("/raw/value").and_then(int))
        };
        h.reallocated_sectors = raw(5);
        h.pending_sectors = raw(197);
        h.offline_uncorrectable = raw(198);
        if h.power_on_hours.is_none() {
            h.power_on_hours = raw(9);
        }
        for a in table {
            if a.get("when_failed").and_then(Value::as_str) == Some("now") {
                let name = a.get("name").and_then(Value::as_str).unwrap_or("attribute");
                let id = a.get("id").and_then(int).unwrap_or(0);
                h.failing_attributes.push(format!("{name} (id {id})"));
            }
        }
    }
    h.error_log_count = json
        .pointer("/ata_smart_error_log/summary/count")
        .or_else(|| json.pointer("/ata_smart_error_log/extended/count"))
        .and_then(int);
    if let Some(nvme) = json.get("nvme_smart_health_information_log") {
        h.critical_warning = nvme.get("critical_warning").and_then(int);
        h.media_errors = nvme.get("media_errors").and_then(int);
        h.percentage_used = nvme.get("percentage_used").and_then(int);
        if h.error_log_count.is_none() {
            h.error_log_count = nvme.get("num_err_log_entries").and_then(int);
        }
        if h.power_on_hours.is_none() {
            h.power_on_hours = nvme.get("power_on_hours").and_then(int);
        }
        if h.temperature.is_none() {
            h.temperature = nvme.get("temperature").and_then(int);
        }
    }
    h.problems = problems(&h);
    Ok(h)
}

fn problems(h: &Health) -> Vec<String> {
    let mut out = Vec::new();
    match h.passed {
        Some(false) => {
            out.push("overall assessment FAILED: the drive predicts its own failure".into())
        }
        None => out.push("overall assessment not given".into()),
        Some(true) => {}
    }
    let mut count = |v: Option<i64>, one: &str, many: &str| {
        if let Some(n) = v.filter(|n| *n > 0) {
            out.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    count(
        h.reallocated_sectors,
        "reallocated sector",
        "reallocated sectors",
    );
    count(h.pending_sectors, "pending sector", "pending sectors");
    count(
        h.offline_uncorrectable,
        "offline-uncorrectable sector",
        "offline-uncorrectable sectors",
    );
    count(h.media_errors, "NVMe media error", "NVMe media errors");
    if let Some(w) = h.critical_warning.filter(|w| *w != 0) {
        let words: Vec<&str> = NVME_WARNINGS
            .iter()
            .filter(|(bit, _)| w & bit != 0)
            .map(|(_, s)| *s)
            .collect();
        out.push(format!(
            "NVMe critical warning 0x{w:02x}: {}",
            if words.is_empty() {
                "unknown bits".to_string()
            } else {
                words.join(", ")
            }
        ));
    }
    for a in &h.failing_attributes {
        out.push(format!("attribute {a} at or below its threshold now"));
    }
    out
}

/// Whether `err` from starting smartctl means it is not installed (or not runnable here).
pub fn is_missing(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
    ) || err.raw_os_error() == Some(libc::ENOEXEC)
}

/// The reason given when smartctl is not installed.
pub const MISSING: &str = "smartctl is not installed or does not run here (install smartmontools 7 or later, or carry a static smartctl); salvage does not read SMART itself";

/// Runs `smartctl -j -a DISK` and reads its answer, blocking; `salvage health` uses it (a
/// Ctrl-C reaches smartctl, in the same process group, as it reaches salvage). Returns the
/// health and smartctl's output as read.
pub fn read_blocking(disk: &str) -> Result<(Health, Vec<u8>), HealthError> {
    check_disk(disk)?;
    let argv = salvage_language::ops::health::smartctl_argv(disk);
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) => Ok((parse(disk, &out.stdout)?, out.stdout)),
        Err(e) if is_missing(&e) => Ok((Health::unavailable(disk, MISSING), Vec::new())),
        Err(e) => Err(HealthError {
            kind: HealthErrorKind::Run,
            message: format!("cannot run smartctl for {disk}: {e}"),
        }),
    }
}

/// Refuses a disk path that names nothing (smartctl would say only "Unable to detect device
/// type", as for a disk without SMART).
pub fn check_disk(disk: &str) -> Result<(), HealthError> {
    match std::fs::metadata(disk) {
        Ok(_) => Ok(()),
        Err(e) => Err(HealthError {
            kind: HealthErrorKind::Open,
            message: format!("{disk}: {e}: name the disk as lsblk lists it (/dev/sdX, /dev/nvmeN)"),
        }),
    }
}
