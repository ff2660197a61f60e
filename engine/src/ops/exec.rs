//! `exec`: runs a program without a shell, with a timeout, output captured into the log.

use super::{OpContext, OpError, bounded, op_args};
use salvage_language::ops::exec::ExecArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// Output kept in the log per stream.
pub(crate) const LOG_OUTPUT_LIMIT: usize = 16 * 1024;
/// Output kept in memory per stream (the `stdout` output is bounded too).
const KEEP_LIMIT: usize = 1 << 20;

pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: ExecArgs = op_args("exec", args)?;
    let argv = &args.argv;
    let Some((prog, rest)) = argv.split_first() else {
        return Err(OpError::new(
            "exec: argv is empty; give the program and its arguments",
        ));
    };
    let env = super::child_env::child_env(&args.env)?;
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(rest)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(cwd) = &args.cwd {
        cmd.current_dir(cwd);
    }
    let timeout = args.timeout.map(Duration::from_millis);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| OpError::new(format!("cannot start `{prog}`: {e}")))?;
    let (read_out, read_err) = collect_output(&mut child)?;
    let waited = tokio::select! {
        status = child.wait() => Ok(status),
        _ = sleep_or_forever(timeout) => Err("timed out"),
        _ = ctx.until_cancelled() => Err("interrupted"),
    };
    let (status, why) = match waited {
        Ok(s) => (
            Some(s.map_err(|e| OpError::new(format!("waiting for `{prog}`: {e}")))?),
            None,
        ),
        Err(why) => {
            let _ = child.kill().await;
            (child.wait().await.ok(), Some(why))
        }
    };
    let stdout = read_out.await.unwrap_or_default();
    let stderr = read_err.await.unwrap_or_default();
    let code = status.and_then(|s| s.code());
    use std::os::unix::process::ExitStatusExt;
    let signal = status.and_then(|s| s.signal());
    ctx.log(
        "command",
        crate::fields! {
            "argv" => argv,
            "env" => super::child_env::names(&env),
            "exit_code" => code,
            "signal" => signal.map(|s| format!("signal {s}")),
            "duration_ms" => started.elapsed().as_millis() as u64,
            "stdout" => bounded(&stdout, LOG_OUTPUT_LIMIT),
            "stderr" => bounded(&stderr, LOG_OUTPUT_LIMIT),
        },
    );
    match why {
        Some("interrupted") => return Err(OpError::interrupted()),
        Some(w) => {
            return Err(OpError::new(format!(
                "`{prog}` {w} after {}",
                salvage_text::duration_text::literal(
                    timeout.map(|t| t.as_millis() as u64).unwrap_or(0)
                )
            )));
        }
        None => {}
    }
    if code != Some(0) {
        let tail = String::from_utf8_lossy(&stderr);
        let tail = tail.trim().lines().last().unwrap_or("");
        return Err(OpError::new(match code {
            Some(c) => format!(
                "`{prog}` exited with {c}{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            ),
            None => format!("`{prog}` was killed by signal {}", signal.unwrap_or(0)),
        }));
    }
    Ok(json!({
        "exit_code": code.unwrap_or(0),
        "stdout": bounded(&stdout, LOG_OUTPUT_LIMIT),
    }))
}

/// Reads a child's stdout and stderr to their end in the background (so it never blocks on a
/// full pipe), keeping the first MiB of each.
pub(crate) fn collect_output(
    child: &mut tokio::process::Child,
) -> Result<(Output, Output), OpError> {
    let mut out = child
        .stdout
        .take()
        .ok_or_else(|| OpError::new("no stdout pipe"))?;
    let mut err = child
        .stderr
        .take()
        .ok_or_else(|| OpError::new("no stderr pipe"))?;
    Ok((
        tokio::spawn(async move { read_bounded(&mut out).await }),
        tokio::spawn(async move { read_bounded(&mut err).await }),
    ))
}

/// A stream being read in the background.
pub(crate) type Output = tokio::task::JoinHandle<Vec<u8>>;

async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if kept.len() < KEEP_LIMIT {
                    let room = KEEP_LIMIT - kept.len();
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
    }
    kept
}

pub(crate) async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending::<()>().await,
    }
}
