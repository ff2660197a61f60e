//! `health`: a disk's SMART health through `smartctl -j -a DISK` (smartmontools' JSON).

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{arg, def, none, out, outs, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `health` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct HealthArgs {
    /// The disk (a block device; an NVMe controller or namespace too).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub disk: Option<String>,
    /// Kill smartctl after this many milliseconds.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub timeout: Option<u64>,
}

/// How long smartctl may take when `timeout:` is not given, in milliseconds (as [`SIG`] says).
pub const DEFAULT_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// The argv the op runs for `disk`: the plan prints it and the run executes it.
pub fn smartctl_argv(disk: &str) -> Vec<String> {
    ["smartctl", "-j", "-a", disk]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn health_commands(a: &dyn ArgView) -> Vec<String> {
    vec![
        format!(
            "execve {} (read-only SMART queries; timeout {})",
            salvage_text::shell_quote::quote_argv(&smartctl_argv(&show(a, "disk"))),
            show(a, "timeout")
        ),
        "without smartctl (or without SMART on the disk): available = false, passed = false, counts -1; the step still succeeds".into(),
    ]
}

/// The `health` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "health",
    about: "Read a disk's SMART health with smartctl: the overall assessment, reallocated, pending and uncorrectable sectors, power-on hours, temperature, error log, NVMe warnings. For `assert` and `when:`.",
    args: &[
        arg("disk", Type::Device, "the disk to ask (sdX, nvmeN)"),
        def(
            "timeout",
            Type::Duration,
            "5min",
            "kill smartctl after this long (a dying disk can hang a query)",
        ),
    ],
    one_of: &[],
    outputs: &[
        out(
            "available",
            Type::Bool,
            "whether SMART data was read: false when smartctl is missing or the disk gives no SMART",
        ),
        out(
            "passed",
            Type::Bool,
            "the drive's overall assessment is PASSED (false when it says FAILED, and when nothing was read)",
        ),
        out(
            "healthy",
            Type::Bool,
            "passed, and no reallocated, pending or uncorrectable sector, NVMe critical warning or media error",
        ),
        out(
            "protocol",
            Type::String,
            "\"ATA\", \"NVMe\", \"SCSI\", or \"unknown\"",
        ),
        out(
            "reallocated_sectors",
            Type::Int,
            "ATA attribute 5 (raw); -1 when not reported",
        ),
        out(
            "pending_sectors",
            Type::Int,
            "ATA attribute 197, sectors waiting to be remapped (raw); -1 when not reported",
        ),
        out(
            "offline_uncorrectable",
            Type::Int,
            "ATA attribute 198 (raw); -1 when not reported",
        ),
        out(
            "power_on_hours",
            Type::Int,
            "hours powered on; -1 when not reported",
        ),
        out(
            "temperature",
            Type::Int,
            "degrees Celsius now; -1 when not reported",
        ),
        out(
            "error_log_count",
            Type::Int,
            "errors the drive logged (ATA error log, or NVMe error-log entries); -1 when not reported",
        ),
        out(
            "critical_warning",
            Type::Int,
            "the NVMe critical-warning bits (0 = none); -1 when not NVMe",
        ),
        out(
            "media_errors",
            Type::Int,
            "NVMe unrecovered media and data-integrity errors; -1 when not NVMe",
        ),
        outs(
            "problems",
            Type::String,
            "each finding in words (\"8 pending sectors\"), empty when healthy",
        ),
        out(
            "summary",
            Type::String,
            "the one-line answer: \"SMART PASSED; 8 pending sectors\"",
        ),
        out(
            "report",
            Type::Path,
            "smartctl's JSON as read, in the step's work directory (\"\" when smartctl is missing)",
        ),
    ],
    value: Some("passed"),
    effect: Effect::Read,
    effect_rule: read,
    commands: health_commands,
    cleanup: none,
};
