//! A run session: opens the state and the log, recovers what a crashed run left, runs the plan
//! while watching for the operator's interrupts, and logs the run's start and end. `salvage
//! run` and the runbook tests both run plans through [`run_session`].

use crate::executor::{self, RunOptions, Shared};
use crate::fields;
use crate::interrupts::Interrupts;
use crate::log_sink::LogSink;
use crate::progress::{Progress, ProgressMode};
use crate::prompter::Prompter;
use crate::state::journal::Journal;
use crate::state::state_dir::StateDir;
use salvage_language::plan::Plan;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Opens the run log with its anchor (`<log>.head`, its MAC keyed with the state key), its
/// appends synced in groups (the executor syncs it with the journal; [`run_session`] at the end).
pub fn open_log(path: &Path, key: &[u8; 32]) -> Result<Arc<dyn LogSink>, String> {
    use crate::event_log::{EventLog, LogErrorKind};
    let log = match EventLog::open_append(path) {
        Err(e) if matches!(e.kind, LogErrorKind::DamagedTail { .. }) => {
            eprintln!(
                "salvage: WARNING: {e}; continuing the log after the damage (review --verify will show it)"
            );
            EventLog::open_append_after_damage(path)
        }
        other => other,
    };
    log.and_then(|l| l.with_anchor(Some(*key)))
        .map(|l| Arc::new(l.with_deferred_sync()) as Arc<dyn LogSink>)
        .map_err(|e| e.to_string())
}

/// Everything a run needs besides the plan.
pub struct Session<'a> {
    /// The runbook file (for the log's hash and name).
    pub file: &'a Path,
    /// The state directory.
    pub state: PathBuf,
    /// The log file; default STATE/log.jsonl.
    pub log: Option<PathBuf>,
    /// Scheduling, --yes, approvals, who.
    pub opts: RunOptions,
    /// How progress shows.
    pub progress: ProgressMode,
    /// Who answers questions.
    pub prompter: Arc<dyn Prompter>,
    /// Accept params that differ from those the state was run with.
    pub new_params: bool,
    /// The operator's interrupting signals, counted by the binary's handlers.
    pub interrupts: Interrupts,
}

/// What a finished session reports.
pub struct Finished {
    /// The executor's outcome.
    pub outcome: executor::RunOutcome,
    /// The runbook's declared outputs, resolved.
    pub outputs: serde_json::Map<String, Value>,
    /// The log file.
    pub log: PathBuf,
}

/// Opens the state and the log, recovers leftovers of a crashed run, runs the plan with
/// signals handled, and logs the run's start and end. Errors here are the executor's own
/// (a locked state, an unwritable log), not a failing step.
pub fn run_session(plan: &Plan, s: Session<'_>) -> Result<Finished, String> {
    let state = Arc::new(StateDir::open(&s.state).map_err(|e| e.to_string())?);
    crate::state::params_stamp::check_and_record(&state, plan, s.new_params)
        .map_err(|e| e.to_string())?;
    let log_path = s.log.clone().unwrap_or_else(|| state.default_log_path());
    let log = open_log(&log_path, state.key())?;
    let (journal, replay) = Journal::open(&state.journal_path()).map_err(|e| e.to_string())?;
    let shared = Shared {
        state: state.clone(),
        journal: Arc::new(journal),
        log: log.clone(),
        progress: Arc::new(Progress::new(s.progress)),
        cancel: Arc::new(AtomicBool::new(false)),
        cancel_notify: Arc::new(Notify::new()),
        prompter: s.prompter.clone(),
        interrupts: s.interrupts.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let source_hash = crate::runbook_file::file_sha256(s.file).unwrap_or_default();
    let params: serde_json::Map<String, Value> = plan
        .params
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                Value::String(p.value.as_ref().map(|v| v.shown()).unwrap_or_default()),
            )
        })
        .collect();
    let mut started_fields = fields! {
            "runbook" => plan.name,
            "file" => s.file.display().to_string(),
            "runbook_sha256" => source_hash,
            "salvage_version" => env!("CARGO_PKG_VERSION"),
            "host" => nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
            "user" => s.opts.user,
            "params" => params,
            "state_dir" => s.state.display().to_string(),
            "resumed" => !replay.finished.is_empty(),
            "jobs" => s.opts.jobs,
    };
    if let Some(p) = &s.opts.saved_plan {
        started_fields.insert("plan".to_string(), p.clone());
    }
    log.event("run_started", started_fields);
    let started = std::time::Instant::now();
    let opts = s.opts.clone();
    let result = runtime.block_on(async {
        let cancel = shared.cancel.clone();
        let notify = shared.cancel_notify.clone();
        // The binary's signal handlers (SIGINT, SIGTERM, SIGHUP: a dropped SSH session stops
        // the run cleanly, so the same command resumes it) count into `s.interrupts`, watched
        // here and handed on to the executor's cancel flag and its waiters.
        let interrupts = shared.interrupts.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let count = interrupts.count();
                if count == seen {
                    continue;
                }
                if seen == 0 {
                    eprintln!("salvage: interrupted; stopping steps and cleaning up");
                } else {
                    eprintln!("salvage: still cleaning up; attachments are being undone");
                }
                seen = count;
                cancel.store(true, Ordering::SeqCst);
                notify.notify_waiters();
            }
        });
        let r = executor::recover(&shared);
        for u in &r.undone {
            eprintln!("salvage: undid a leftover of an earlier run: {u}");
        }
        for f in &r.failures {
            eprintln!("salvage: could not undo a leftover of an earlier run: {f}");
        }
        for f in &r.left_alone {
            eprintln!("salvage: a leftover of an earlier run is used by something else now, left alone: {f}");
        }
        executor::run(plan, &opts, &shared, &replay).await
    });
    // A step abandoned after an interrupt may still block a thread: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // The executor synced the journal at its end; a step abandoned after an interrupt may
    // have journaled since.
    if let Err(e) = shared.journal.sync() {
        eprintln!("salvage: WARNING: the journal could not be synced to disk ({e})");
    }
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            log.event(
                "run_finished",
                fields! {"status" => "failed", "duration_ms" => started.elapsed().as_millis() as u64, "error" => e.to_string()},
            );
            log.sync();
            return Err(e.to_string());
        }
    };
    let outputs = runbook_outputs(plan, &outcome.outputs);
    log.event(
        "run_finished",
        fields! {
            "status" => outcome.status.word(),
            "duration_ms" => started.elapsed().as_millis() as u64,
            "counts" => serde_json::json!({
                "ok": outcome.ok.len(),
                "failed": outcome.failed.len(),
                "skipped": outcome.skipped.len() + outcome.skipped_when.len(),
                "not_run": outcome.not_run.len(),
                "partial": outcome.partial.len(),
                "interrupted": outcome.interrupted.len(),
            }),
            "outputs" => outputs.clone(),
        },
    );
    log.sync();
    Ok(Finished {
        outcome,
        outputs,
        log: log_path,
    })
}

/// The runbook's declared outputs, resolved against the steps' outputs, secrets redacted.
pub fn runbook_outputs(
    plan: &Plan,
    outputs: &BTreeMap<String, Value>,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let run_secrets = crate::resolve::run_secrets(plan);
    for (name, e) in &plan.outputs {
        let mut secrets = run_secrets.clone();
        if let Ok(v) = crate::resolve::resolve(e, outputs, &mut secrets) {
            m.insert(name.clone(), crate::resolve::redact(&v, &secrets));
        }
    }
    m
}
