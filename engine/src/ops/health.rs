//! `health(disk: ...)`: runs `smartctl -j -a DISK` (with a timeout, killed on interrupt), keeps
//! its JSON in the step's work directory, and hands back what [`crate::disk_health`] read of
//! it. Without smartctl, or on a disk without SMART, the step succeeds with `available:
//! false` (and `passed: false`): an `assert health.passed` then stops the run, saying why.

use super::exec::{collect_output, sleep_or_forever};
use super::{OpContext, OpError, op_args};
use crate::disk_health::{self, Health};
use salvage_language::ops::health::{DEFAULT_TIMEOUT_MS, HealthArgs, smartctl_argv};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

/// Asks smartctl; returns the op's outputs.
pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: HealthArgs = op_args("health", args)?;
    let Some(disk) = args.disk.as_deref() else {
        return Err(OpError::new("health: give `disk:`"));
    };
    disk_health::check_disk(disk).map_err(|e| OpError::new(e.message))?;
    let argv = smartctl_argv(disk);
    let timeout = Duration::from_millis(args.timeout.unwrap_or(DEFAULT_TIMEOUT_MS));
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if disk_health::is_missing(&e) => {
            let health = Health::unavailable(disk, disk_health::MISSING);
            return Ok(finish(ctx, &argv, None, &health, ""));
        }
        Err(e) => return Err(OpError::new(format!("cannot start smartctl: {e}"))),
    };
    let (read_out, _read_err) = collect_output(&mut child)?;
    let waited = tokio::select! {
        status = child.wait() => Ok(status),
        _ = sleep_or_forever(Some(timeout)) => Err(false),
        _ = ctx.until_cancelled() => Err(true),
    };
    let status = match waited {
        Ok(s) => s.map_err(|e| OpError::new(format!("waiting for smartctl: {e}")))?,
        Err(interrupted) => {
            let _ = child.kill().await;
            let _ = child.wait().await;
            if interrupted {
                return Err(OpError::interrupted());
            }
            return Err(OpError::new(format!(
                "smartctl on {disk} gave no answer within {}: the disk may be hanging on SMART queries; raise `timeout:` or leave the health step out",
                salvage_text::duration_text::literal(timeout.as_millis() as u64)
            )));
        }
    };
    let stdout = read_out.await.unwrap_or_default();
    let health = disk_health::parse(disk, &stdout).map_err(|e| OpError::new(e.message))?;
    let dir = ctx.state.work_dir(&ctx.step);
    std::fs::create_dir_all(&dir)
        .map_err(|e| OpError::new(format!("mkdir {}: {e}", dir.display())))?;
    let path = dir.join("smartctl.json");
    std::fs::write(&path, &stdout)
        .map_err(|e| OpError::new(format!("write {}: {e}", path.display())))?;
    Ok(finish(
        ctx,
        &argv,
        status.code(),
        &health,
        &path.display().to_string(),
    ))
}

/// Logs what was read, prints the headline, and returns the outputs.
fn finish(
    ctx: &OpContext,
    argv: &[String],
    code: Option<i32>,
    health: &Health,
    report: &str,
) -> Value {
    let summary = health.summary();
    ctx.progress.println(&format!("[{}] {summary}", ctx.step));
    ctx.log(
        "health",
        crate::fields! {
            "argv" => argv,
            "exit_code" => code,
            "available" => health.available,
            "passed" => health.passed,
            "summary" => summary,
            "problems" => health.problems.clone(),
            "report" => report,
        },
    );
    health.outputs(report)
}
