//! `pipe`: streams a file into a program's stdin with progress (bytes, rate, ETA), as `pv`
//! does in the seed's database restore.

use super::exec::{LOG_OUTPUT_LIMIT, collect_output, sleep_or_forever};
use super::{OpContext, OpError, bounded, op_args};
use salvage_language::ops::pipe::PipeArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: PipeArgs = op_args("pipe", args)?;
    let from = args
        .from
        .clone()
        .ok_or_else(|| OpError::new("pipe: `from` is missing"))?;
    let argv = &args.into;
    let Some((prog, rest)) = argv.split_first() else {
        return Err(OpError::new(
            "pipe: `into` is empty; give the program and its arguments",
        ));
    };
    let from_path = std::path::PathBuf::from(&from);
    let opened =
        tokio::task::spawn_blocking(move || salvage_sys::open_source::open_source(&from_path))
            .await
            .map_err(|e| OpError::new(format!("cannot open {from}: {e}")))?;
    let mut file = tokio::fs::File::from_std(
        opened.map_err(|e| OpError::new(format!("cannot open {from}: {e}")))?,
    );
    let total = file.metadata().await.ok().map(|m| m.len());
    let env = super::child_env::child_env(&args.env)?;
    let mut child = tokio::process::Command::new(prog)
        .args(rest)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| OpError::new(format!("cannot start `{prog}`: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| OpError::new("no stdin pipe"))?;
    let (read_out, read_err) = collect_output(&mut child)?;
    let task = ctx.progress.bytes(&ctx.step, total);
    let started = Instant::now();
    let timeout = args.timeout.map(Duration::from_millis);
    let copy = async {
        let mut buf = vec![0u8; 256 * 1024];
        let mut sent: u64 = 0;
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| format!("reading {from}: {e}"))?;
            if n == 0 {
                break;
            }
            if let Err(e) = stdin.write_all(&buf[..n]).await {
                // The program stopped reading: its exit status says why.
                return Ok::<(u64, Option<String>), String>((sent, Some(e.to_string())));
            }
            sent += n as u64;
            task.set(sent, "");
        }
        drop(stdin);
        Ok((sent, None))
    };
    let outcome = tokio::select! {
        r = copy => r.map_err(OpError::new),
        _ = sleep_or_forever(timeout) => Err(OpError::new(format!("`{prog}` timed out"))),
        _ = ctx.until_cancelled() => Err(OpError::interrupted()),
    };
    let (sent, broken) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill().await;
            task.abandon();
            return Err(e);
        }
    };
    let status = child
        .wait()
        .await
        .map_err(|e| OpError::new(format!("waiting for `{prog}`: {e}")))?;
    task.finish(sent);
    let stdout = read_out.await.unwrap_or_default();
    let stderr = read_err.await.unwrap_or_default();
    ctx.log(
        "command",
        crate::fields! {
            "argv" => argv,
            "env" => super::child_env::names(&env),
            "stdin" => from,
            "exit_code" => status.code(),
            "duration_ms" => started.elapsed().as_millis() as u64,
            "bytes" => sent,
            "stdout" => bounded(&stdout, LOG_OUTPUT_LIMIT),
            "stderr" => bounded(&stderr, LOG_OUTPUT_LIMIT),
        },
    );
    if !status.success() {
        let tail = String::from_utf8_lossy(&stderr);
        return Err(OpError::new(format!(
            "`{prog}` exited with {} after {sent} bytes{}",
            status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "a signal".into()),
            tail.trim()
                .lines()
                .last()
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        )));
    }
    if let Some(e) = broken {
        return Err(OpError::new(format!(
            "`{prog}` stopped reading after {sent} bytes: {e}"
        )));
    }
    Ok(json!({ "bytes": sent, "exit_code": 0 }))
}
