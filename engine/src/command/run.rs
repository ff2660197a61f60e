//! `salvage run FILE`: executes a runbook; rerunning the same command resumes. And
//! `salvage cleanup --state DIR`: undoes what a crashed run left attached.

use super::{load_and_check, parse_param, print_diagnostics};
use crate::executor::journal::Journal;
use crate::executor::log_sink::LogSink;
use crate::executor::progress::{Progress, ProgressMode};
use crate::executor::prompter::TerminalPrompter;
use crate::executor::state_dir::StateDir;
use crate::executor::{self, RunOptions, RunStatus, Shared};
use crate::fields;
use crate::plan::Plan;
use clap::Args;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// `salvage run FILE [--param k=v]... [--state DIR] [--log FILE] [--jobs N] [--yes]`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runbook.
    pub file: PathBuf,
    /// A param value, NAME=VALUE; repeat for each param.
    #[arg(long = "param", short = 'p', value_parser = parse_param, value_name = "NAME=VALUE")]
    pub params: Vec<(String, String)>,
    /// A param value read from a file, NAME=PATH (one trailing newline dropped): the way to
    /// give a secret, which --param shows to every process. SALVAGE_PARAM_<NAME> in the
    /// environment works too.
    #[arg(long = "param-file", value_parser = super::param_sources::parse_param_file, value_name = "NAME=PATH")]
    pub param_files: Vec<(String, PathBuf)>,
    /// The state directory: journal (checkpoints), lock, mounts. Rerun with the same one to
    /// resume. Default: .salvage/RUNBOOK-NAME
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The JSON-lines log (hash-chained; `salvage review` reads it). Default: STATE/log.jsonl
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Independent steps run at once, up to this many.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub jobs: usize,
    /// Let steps that modify existing data run (they are listed by `salvage plan`).
    #[arg(long)]
    pub yes: bool,
    /// Approve a manual step by name (logged with who and when); repeat for each.
    #[arg(long, value_name = "STEP")]
    pub approve: Vec<String>,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Go on in a state directory that was run with other param values (the steps they reach
    /// run again). Without it such a run is refused (exit 4), so two incidents never share a
    /// journal and log.
    #[arg(long)]
    pub new_params: bool,
}

/// `salvage cleanup --state DIR`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The state directory of the run to clean up after.
    #[arg(long)]
    pub state: PathBuf,
    /// The log to record the cleanup in. Default: STATE/log.jsonl
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// The default state directory of a runbook.
pub fn default_state(plan: &Plan) -> PathBuf {
    let safe: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(".salvage").join(safe)
}

/// Who runs salvage, for approvals and the log: the account of the real uid (from the
/// password database, not from the environment), and the sudo user's name when run through
/// sudo (`alice via sudo as root`).
pub fn user() -> String {
    let uid = nix::unistd::getuid();
    let account = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name);
    match std::env::var("SUDO_USER") {
        Ok(sudo) if uid.is_root() && !sudo.is_empty() && sudo != account => {
            format!("{sudo} via sudo as {account}")
        }
        _ => account,
    }
}

/// Opens the run log with its anchor (`<log>.head`, its MAC keyed with the state key).
fn open_log(path: &Path, key: &[u8; 32]) -> Result<Arc<dyn LogSink>, String> {
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
        .map(|l| Arc::new(l) as Arc<dyn LogSink>)
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
    pub prompter: Arc<dyn crate::executor::prompter::Prompter>,
    /// Accept params that differ from those the state was run with.
    pub new_params: bool,
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
    crate::executor::params_stamp::check_and_record(&state, plan, s.new_params)
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
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let source_hash = std::fs::read(s.file)
        .map(|b| hex::encode(Sha256::digest(&b)))
        .unwrap_or_default();
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
    log.event(
        "run_started",
        fields! {
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
        },
    );
    let started = std::time::Instant::now();
    let opts = s.opts.clone();
    let result = runtime.block_on(async {
        let cancel = shared.cancel.clone();
        let notify = shared.cancel_notify.clone();
        // The binary's one signal mechanism (SIGINT, SIGTERM, SIGHUP: a dropped SSH session
        // stops the run cleanly, so the same command resumes it), watched here and handed on
        // to the executor's cancel flag and its waiters.
        let signalled = crate::interrupt::Interrupt::install();
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let count = crate::interrupt::Interrupt::count();
                if count == seen || !signalled.load(Ordering::SeqCst) {
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
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            log.event(
                "run_finished",
                fields! {"status" => "failed", "duration_ms" => started.elapsed().as_millis() as u64, "error" => e.to_string()},
            );
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
                "skipped": outcome.skipped.len(),
                "not_run": outcome.not_run.len(),
                "partial": outcome.partial.len(),
                "interrupted": outcome.interrupted.len(),
            }),
            "outputs" => outputs.clone(),
        },
    );
    Ok(Finished {
        outcome,
        outputs,
        log: log_path,
    })
}

/// Runs `salvage run`.
pub fn command(args: &RunArgs) -> i32 {
    let params =
        match super::param_sources::gather(&args.file, &args.params, &args.param_files, true) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("salvage run: {}", e.message);
                return e.exit;
            }
        };
    super::param_sources::forget_env();
    let checked = load_and_check(&args.file, Some(&params));
    print_diagnostics(&checked.diagnostics);
    if checked.has_errors() {
        return 2;
    }
    let Some(plan) = checked.plans.into_iter().next().filter(|p| !p.is_define) else {
        eprintln!(
            "salvage run: {} holds definitions only; run a runbook that uses them",
            args.file.display()
        );
        return 2;
    };
    let manuals: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.kind, crate::plan::StepKind::Manual { .. }))
        .map(|s| s.id.as_str())
        .collect();
    for name in &args.approve {
        if !manuals.contains(&name.as_str()) {
            let hint = if manuals.is_empty() {
                "the runbook has no manual steps".to_string()
            } else {
                format!("its manual steps are {}", manuals.join(", "))
            };
            eprintln!("salvage run: --approve {name}: no manual step of that name; {hint}");
            return 2;
        }
    }
    let state = args.state.clone().unwrap_or_else(|| default_state(&plan));
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bars
    } else {
        ProgressMode::Lines
    };
    let session = Session {
        file: &args.file,
        state: state.clone(),
        log: args.log.clone(),
        opts: RunOptions {
            jobs: args.jobs,
            yes: args.yes,
            approve: args.approve.iter().cloned().collect(),
            user: user(),
        },
        progress,
        prompter: Arc::new(TerminalPrompter::default()),
        new_params: args.new_params,
    };
    match run_session(&plan, session) {
        Ok(f) => {
            summary(&plan, &f.outcome, &f.outputs, &f.log, &state);
            f.outcome.status.exit_code()
        }
        Err(e) => {
            eprintln!("salvage run: {e}");
            4
        }
    }
}

fn runbook_outputs(
    plan: &Plan,
    outputs: &BTreeMap<String, Value>,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let run_secrets = executor::resolve::run_secrets(plan);
    for (name, e) in &plan.outputs {
        let mut secrets = run_secrets.clone();
        if let Ok(v) = executor::resolve::resolve(e, outputs, &mut secrets) {
            m.insert(name.clone(), executor::resolve::redact(&v, &secrets));
        }
    }
    m
}

fn summary(
    plan: &Plan,
    o: &executor::RunOutcome,
    outputs: &serde_json::Map<String, Value>,
    log: &Path,
    state: &Path,
) {
    let mut lines = Vec::new();
    for s in &plan.steps {
        let lost = o
            .partial
            .iter()
            .find(|(id, _)| *id == s.id)
            .map(|(_, n)| format!("PARTIAL: {n} entries lost (see its manifest)"));
        let word = if o.ok.contains(&s.id) {
            lost.unwrap_or_else(|| "ok".to_string())
        } else if o.skipped.contains(&s.id) {
            match lost {
                Some(l) => format!("skipped (done in an earlier run; {l})"),
                None => "skipped (done in an earlier run)".to_string(),
            }
        } else if o.interrupted.contains(&s.id) {
            "INTERRUPTED (stopped halfway; rerun the same command to resume)".to_string()
        } else if let Some((_, why)) = o.failed.iter().find(|(id, _)| *id == s.id) {
            format!("FAILED: {why}")
        } else if o.status == RunStatus::Waiting(s.id.clone()) {
            "WAITING for approval".to_string()
        } else {
            "not run".to_string()
        };
        lines.push(format!("  {:<24} {word}", s.id));
    }
    let headline = match o.status {
        RunStatus::Partial => {
            let lost: u64 = o.partial.iter().map(|(_, n)| n).sum();
            format!(
                "PARTIAL: completed with losses ({lost} entries lost in {} step(s))",
                o.partial.len()
            )
        }
        _ => o.status.word().to_string(),
    };
    eprintln!("\nrunbook {:?}: {headline}", plan.name);
    for l in lines {
        eprintln!("{l}");
    }
    for (k, v) in outputs {
        let shown = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("{k} = {shown}");
    }
    for f in &o.cleanup_failures {
        eprintln!("salvage: CLEANUP FAILED, something may be left attached: {f}");
    }
    match &o.status {
        RunStatus::Waiting(step) => {
            if let Some(q) = &o.question {
                eprintln!("\n{step} asks: {q}");
            }
            eprintln!(
                "\nwaiting for a person: rerun the same command with --approve {step} (logged with your name) to continue"
            )
        }
        RunStatus::Refused(why) => eprintln!("\nnothing was run: {why}"),
        RunStatus::Failed => {
            eprintln!("\nfix the failure and rerun the same command: finished steps are skipped")
        }
        RunStatus::Interrupted => eprintln!("\ninterrupted; rerun the same command to resume"),
        RunStatus::Partial => eprintln!(
            "\ncompleted with losses (exit code 6): the entries marked unreadable in the manifest were not recovered"
        ),
        RunStatus::Ok => {}
    }
    eprintln!(
        "log: {}   (salvage review {})\nstate: {}",
        log.display(),
        log.display(),
        state.display()
    );
}

/// Runs `salvage cleanup`.
pub fn cleanup_command(args: &CleanupArgs) -> i32 {
    if !args.state.join("journal.jsonl").exists() {
        eprintln!(
            "salvage cleanup: {} has no journal: not a salvage state directory",
            args.state.display()
        );
        return 2;
    }
    let state = match StateDir::open(&args.state) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let log_path = args.log.clone().unwrap_or_else(|| state.default_log_path());
    let log = match open_log(&log_path, state.key()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let (journal, _replay) = match Journal::open(&state.journal_path()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let shared = Shared {
        state,
        journal: Arc::new(journal),
        log,
        progress: Arc::new(Progress::new(ProgressMode::Quiet)),
        cancel: Arc::new(AtomicBool::new(false)),
        cancel_notify: Arc::new(Notify::new()),
        prompter: Arc::new(crate::executor::prompter::NoPrompter),
    };
    let r = executor::recover(&shared);
    for u in &r.undone {
        println!("undone: {u}");
    }
    for g in &r.already_gone {
        println!("already gone: {g}");
    }
    for f in &r.left_alone {
        println!("left alone (used by something else now): {f}");
    }
    for f in &r.failures {
        eprintln!("salvage cleanup: FAILED: {f}");
    }
    if r.undone.is_empty()
        && r.already_gone.is_empty()
        && r.left_alone.is_empty()
        && r.failures.is_empty()
    {
        println!("nothing was left attached: nothing to undo");
    } else {
        println!(
            "{} undone, {} already gone, {} left alone, {} failed",
            r.undone.len(),
            r.already_gone.len(),
            r.left_alone.len(),
            r.failures.len()
        );
    }
    i32::from(!r.failures.is_empty())
}
