//! The executor: runs a plan's DAG on tokio with checkpoints, resume, approvals, and cleanup
//! that always happens.
//!
//! Architecture invariant: every attachment is journaled before use and undone in reverse
//! order at the end of the run, on a failed step, on SIGINT/SIGTERM, and (from the journal) at
//! the start of the next run after a crash.

use crate::fields;
use crate::log_sink::LogSink;
use crate::ops::{self, OpContext};
use crate::progress::Progress;
use crate::prompter::Prompter;
use crate::resolve;
use crate::state::cleanup::undo_live;
use crate::state::exec_error::ExecError;
use crate::state::journal::{Journal, Record};
use crate::state::state_dir::StateDir;
use crate::state::{journal, undo};
use salvage_language::effect::Effect;
use salvage_language::plan::{Plan, PlanStep, StepKind};
use salvage_language::value_type::Type;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Independent steps run at once, up to this many.
    pub jobs: usize,
    /// Steps that modify existing data may run without asking.
    pub yes: bool,
    /// Manual steps approved on the command line.
    pub approve: BTreeSet<String>,
    /// Who approves (for the log).
    pub user: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Every step finished or was skipped as already done.
    Ok,
    /// A step failed (the others stopped; cleanup ran).
    Failed,
    /// A manual step waits for approval: rerun with `--approve NAME`.
    Waiting(String),
    /// SIGINT or SIGTERM: running steps stopped, cleanup ran.
    Interrupted,
    /// Refused before anything ran (e.g. modify steps without `--yes`).
    Refused(String),
    /// Every step finished, but some lost entries they were asked for (a copy with unreadable
    /// files): completed with losses.
    Partial,
}

impl RunStatus {
    /// The process exit code: 0 ok, 1 a step failed, 3 waiting for approval, 5 refused,
    /// 6 completed with losses, 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunStatus::Ok => 0,
            RunStatus::Failed => 1,
            RunStatus::Waiting(_) => 3,
            RunStatus::Refused(_) => 5,
            RunStatus::Interrupted => 130,
            RunStatus::Partial => 6,
        }
    }

    /// The word the log uses.
    pub fn word(&self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Waiting(_) => "waiting",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Refused(_) => "refused",
            RunStatus::Partial => "partial",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// Steps run to success.
    pub ok: Vec<String>,
    /// Steps skipped because a previous run finished them with the same inputs.
    pub skipped: Vec<String>,
    /// Steps that failed, with why.
    pub failed: Vec<(String, String)>,
    /// Steps never started.
    pub not_run: Vec<String>,
    /// Steps stopped halfway by SIGINT/SIGTERM/SIGHUP: rerunning resumes them.
    pub interrupted: Vec<String>,
    /// Every step's outputs, run now or earlier.
    pub outputs: BTreeMap<String, Value>,
    /// Cleanup actions that failed (something may be left attached).
    pub cleanup_failures: Vec<String>,
    /// The question of the manual step the run waits at (secrets redacted).
    pub question: Option<String>,
    /// Steps done (now or earlier) that lost entries they were asked for, with how many.
    pub partial: Vec<(String, u64)>,
}

/// The entries a finished step lost (its `losses` output: a copy's unreadable entries).
pub fn losses_of(outputs: &Value) -> u64 {
    outputs.get("losses").and_then(Value::as_u64).unwrap_or(0)
}

/// What the executor shares with every step.
#[derive(Clone)]
pub struct Shared {
    /// The state directory.
    pub state: Arc<StateDir>,
    /// The journal.
    pub journal: Arc<Journal>,
    /// The run log.
    pub log: Arc<dyn LogSink>,
    /// The progress display.
    pub progress: Arc<Progress>,
    /// Set on SIGINT/SIGTERM.
    pub cancel: Arc<AtomicBool>,
    /// Woken when `cancel` is set.
    pub cancel_notify: Arc<Notify>,
    /// Asks the operator (a terminal, or nobody).
    pub prompter: Arc<dyn Prompter>,
    /// The operator's interrupting signals (counted by the binary's handlers).
    pub interrupts: crate::interrupts::Interrupts,
}

/// What a step's task hands back: its index, its result, its secrets.
type TaskResult = (usize, Result<Value, ops::OpError>, Vec<(String, String)>);

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Running,
    Done,
    Failed,
}

/// What recovering a crashed run's leftovers did.
#[derive(Debug, Default, Clone)]
pub struct Recovered {
    /// Leftovers undone: each undo as the log shows it, with its step.
    pub undone: Vec<String>,
    /// Leftovers already gone (undone before, or cleared by the kernel).
    pub already_gone: Vec<String>,
    /// Devices or mounts that something else uses now: left alone.
    pub left_alone: Vec<String>,
    /// Undos that failed: something may still be attached.
    pub failures: Vec<String>,
}

/// Undoes what a crashed run left attached (from the journal, then any mount under the state
/// directory), logging each action as `recovered`.
pub fn recover(shared: &Shared) -> Recovered {
    let mut report = Recovered::default();
    let mut live = shared.journal.live();
    live.reverse();
    for l in live {
        let action = l.undo.describe();
        match l.undo.run() {
            Ok(result) => {
                let _ = shared.journal.append(&Record::Undone { id: l.id });
                match &result {
                    undo::Undone::Done => report.undone.push(format!("{action} (step {})", l.step)),
                    undo::Undone::AlreadyGone => report
                        .already_gone
                        .push(format!("{action} (step {})", l.step)),
                    undo::Undone::LeftAlone(found) => {
                        report.left_alone.push(format!("{action}: {found}"))
                    }
                }
                shared.log.event(
                    "recovered",
                    fields! {"step" => l.step, "action" => action, "status" => result.status(), "note" => result.note()},
                );
            }
            Err(e) => {
                shared.log.event(
                    "recovered",
                    fields! {"step" => l.step, "action" => action, "status" => "failed", "error" => e},
                );
                report.failures.push(format!("{action}: {e}"));
            }
        }
    }
    for m in undo::mounts_under(&shared.state.path().join("mnt")) {
        let undo = undo::Undo::Command {
            argv: vec!["umount".into(), m.display().to_string()],
        };
        let action = undo.describe();
        match undo.run() {
            Ok(_) => {
                report
                    .undone
                    .push(format!("{action} (a mount under the state directory)"));
                shared
                    .log
                    .event("recovered", fields! {"action" => action, "status" => "ok"});
            }
            Err(e) => {
                shared.log.event(
                    "recovered",
                    fields! {"action" => action, "status" => "failed", "error" => e},
                );
                report.failures.push(format!("{action}: {e}"));
            }
        }
    }
    report
}

/// Runs a plan. The journal's replay decides what is already done.
pub async fn run(
    plan: &Plan,
    opts: &RunOptions,
    shared: &Shared,
    replay: &journal::Replay,
) -> Result<RunOutcome, ExecError> {
    let steps = &plan.steps;
    let index: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let run_secrets = resolve::run_secrets(plan);
    // The journal keeps outputs with every secret redacted: put this run's values back.
    let replay = &replay.with_secrets(&run_secrets);
    let done_before = resume_set(plan, shared.state.key(), replay);

    let mut outcome = RunOutcome {
        status: RunStatus::Ok,
        ok: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
        not_run: Vec::new(),
        interrupted: Vec::new(),
        outputs: BTreeMap::new(),
        cleanup_failures: Vec::new(),
        question: None,
        partial: Vec::new(),
    };

    // Steps that modify existing data need --yes or an interactive yes, before anything runs.
    let modify: Vec<&str> = steps
        .iter()
        .filter(|s| s.effect == Effect::Modify && !done_before.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    if !modify.is_empty() && opts.yes {
        shared.log.event(
            "confirmed",
            fields! {"steps" => modify, "by" => opts.user, "via" => "--yes"},
        );
    }
    if !modify.is_empty() && !opts.yes {
        let question = format!(
            "These steps modify existing data: {}. Run them? (see `salvage plan` for what they do)",
            modify.join(", ")
        );
        let answer = shared.prompter.confirm(&question);
        if interrupted(shared) {
            outcome.status = RunStatus::Interrupted;
            outcome.not_run = steps.iter().map(|s| s.id.clone()).collect();
            return Ok(outcome);
        }
        match answer {
            Some(true) => shared.log.event(
                "confirmed",
                fields! {"steps" => modify, "by" => opts.user, "via" => "terminal"},
            ),
            Some(false) => {
                outcome.status = RunStatus::Refused("the operator said no".into());
                outcome.not_run = steps.iter().map(|s| s.id.clone()).collect();
                return Ok(outcome);
            }
            None => {
                outcome.status = RunStatus::Refused(format!(
                    "steps {} modify existing data: rerun with --yes after reviewing `salvage plan`",
                    modify.join(", ")
                ));
                outcome.not_run = steps.iter().map(|s| s.id.clone()).collect();
                return Ok(outcome);
            }
        }
    }

    let mut state: Vec<State> = vec![State::Pending; steps.len()];
    let mut running_keys: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut tasks: JoinSet<TaskResult> = JoinSet::new();
    let mut stop = false;
    let jobs = opts.jobs.max(1);
    // Steps that ran with inputs unlike their last run's: what waits for them runs again too.
    let mut changed: BTreeSet<String> = BTreeSet::new();
    // The chained fingerprint of every step launched or skipped in this run.
    let mut fps: BTreeMap<String, String> = BTreeMap::new();
    // When the run was interrupted: steps still running after STOP_GRACE are abandoned.
    let mut cancelled_at: Option<std::time::Instant> = None;

    loop {
        if shared.cancel.load(Ordering::SeqCst) && outcome.status == RunStatus::Ok {
            outcome.status = RunStatus::Interrupted;
            stop = true;
        }
        if shared.cancel.load(Ordering::SeqCst) {
            let since = *cancelled_at.get_or_insert_with(std::time::Instant::now);
            if !tasks.is_empty() && since.elapsed() >= STOP_GRACE {
                // A step stuck in a system call that no signal ends: stop waiting for it, so
                // an interrupt always ends the run (its cleanup still runs below).
                for (i, s) in state.iter_mut().enumerate() {
                    if *s == State::Running {
                        *s = State::Failed;
                        let why = format!(
                            "did not stop within {} s of the interrupt; abandoned",
                            STOP_GRACE.as_secs()
                        );
                        shared.progress.println(&format!("[{}] {why}", steps[i].id));
                        shared.log.event(
                            "step_finished",
                            fields! {"step" => steps[i].id, "status" => "failed", "duration_ms" => 0, "error" => why},
                        );
                        outcome.not_run.push(steps[i].id.clone());
                    }
                }
                tasks.detach_all();
                break;
            }
        }
        // Launch what is ready.
        if !stop {
            for i in 0..steps.len() {
                if state[i] != State::Pending || tasks.len() >= jobs || stop {
                    continue;
                }
                let step = &steps[i];
                let waits = step.waits_for();
                if waits.iter().any(|w| {
                    index
                        .get(w.as_str())
                        .is_none_or(|j| state[*j] != State::Done)
                }) {
                    continue;
                }
                let resolved = match resolve::resolve_step(step, &outcome.outputs) {
                    Ok(mut r) => {
                        r.secrets.extend(run_secrets.iter().cloned());
                        r
                    }
                    Err(e) => {
                        fail(
                            step,
                            &resolve::redact_str(&e, &run_secrets),
                            shared,
                            &mut outcome,
                        );
                        state[i] = State::Failed;
                        stop = true;
                        continue;
                    }
                };
                let fp = resolve::chain(
                    &resolve::fingerprint(shared.state.key(), step.op_name(), &resolved.args),
                    waits
                        .iter()
                        .filter_map(|w| Some((w.as_str(), fps.get(w.as_str())?.as_str()))),
                );
                fps.insert(step.id.clone(), fp.clone());
                let upstream_changed = waits.iter().any(|w| changed.contains(w));
                if let Some((prev_fp, outputs, time)) = replay.finished.get(&step.id) {
                    if *prev_fp == fp
                        && done_before.contains_key(&step.id)
                        && !upstream_changed
                        && !always_runs(step)
                    {
                        shared.log.event(
                            "step_skipped",
                            fields! {"step" => step.id, "reason" => format!("resumed: inputs unchanged since the run that finished it at {time}")},
                        );
                        outcome.outputs.insert(step.id.clone(), outputs.clone());
                        outcome.skipped.push(step.id.clone());
                        state[i] = State::Done;
                        continue;
                    }
                }
                if let StepKind::Manual { .. } = step.kind {
                    let text = resolved
                        .args
                        .get("text")
                        .map(resolve::text_of)
                        .unwrap_or_default();
                    match approve(step, &text, opts, shared) {
                        Approval::Yes(via) => {
                            shared.log.event(
                                "approval",
                                fields! {"step" => step.id, "by" => opts.user, "via" => via, "text" => resolve::redact_str(&text, &resolved.secrets)},
                            );
                            let _ = shared.journal.append(&Record::Finished {
                                step: step.id.clone(),
                                fingerprint: fp,
                                outputs: serde_json::json!({"approved_by": opts.user}),
                                time: now_rfc3339(),
                            });
                            outcome
                                .outputs
                                .insert(step.id.clone(), serde_json::json!({}));
                            outcome.ok.push(step.id.clone());
                            state[i] = State::Done;
                        }
                        Approval::No => {
                            fail(step, "not approved", shared, &mut outcome);
                            state[i] = State::Failed;
                            stop = true;
                        }
                        Approval::Interrupted => {
                            shared.cancel.store(true, Ordering::SeqCst);
                            if outcome.status == RunStatus::Ok {
                                outcome.status = RunStatus::Interrupted;
                            }
                            stop = true;
                        }
                        Approval::Waiting => {
                            let question = resolve::redact_str(&text, &resolved.secrets);
                            shared
                                .log
                                .event("waiting", fields! {"step" => step.id, "text" => question});
                            outcome.status = RunStatus::Waiting(step.id.clone());
                            outcome.question = Some(question);
                            stop = true;
                        }
                    }
                    continue;
                }
                let keys = resource_keys(step, &resolved.args);
                let busy = running_keys
                    .values()
                    .flatten()
                    .any(|k| keys.iter().any(|m| overlaps(k, m)));
                if busy {
                    continue;
                }
                let Some(op) = step.op() else { continue };
                shared.log.event(
                    "step_started",
                    fields! {
                        "step" => step.id,
                        "op" => op.name,
                        "effect" => step.effect.name(),
                        "args" => resolve::redact(&Value::Object(resolved.args.clone().into_iter().collect()), &resolved.secrets),
                    },
                );
                if let Err(e) = shared.journal.append(&Record::Started {
                    step: step.id.clone(),
                }) {
                    fail(step, &e.to_string(), shared, &mut outcome);
                    state[i] = State::Failed;
                    stop = true;
                    continue;
                }
                if upstream_changed
                    || replay
                        .finished
                        .get(&step.id)
                        .is_none_or(|(prev, _, _)| *prev != fp)
                {
                    changed.insert(step.id.clone());
                }
                state[i] = State::Running;
                running_keys.insert(i, keys);
                let ctx = OpContext {
                    step: step.id.clone(),
                    state: shared.state.clone(),
                    journal: shared.journal.clone(),
                    cancel: shared.cancel.clone(),
                    cancel_notify: shared.cancel_notify.clone(),
                    log: shared.log.clone(),
                    progress: shared.progress.clone(),
                    secrets: resolved.secrets.clone(),
                    partial_before: replay.unfinished.contains(&step.id),
                };
                let args = resolved.args.clone();
                let secrets = resolved.secrets.clone();
                let fp2 = fp.clone();
                let started = Instant::now();
                let journal = shared.journal.clone();
                let step_id = step.id.clone();
                let log = shared.log.clone();
                tasks.spawn(async move {
                    let result = ops::run(op, &args, &ctx).await;
                    undo_scope(&journal, &log, Some(&step_id)).await;
                    let ms = started.elapsed().as_millis() as u64;
                    match &result {
                        Ok(outputs) => {
                            let record = Record::Finished {
                                step: step_id.clone(),
                                fingerprint: fp2,
                                outputs: resolve::redact(outputs, &secrets),
                                time: now_rfc3339(),
                            };
                            if let Err(e) = journal.append(&record) {
                                return (i, Err(ops::OpError::new(e.to_string())), secrets);
                            }
                            let losses = losses_of(outputs);
                            let mut fields = fields! {"step" => step_id, "status" => if losses > 0 { "partial" } else { "ok" }, "duration_ms" => ms, "outputs" => resolve::redact(outputs, &secrets)};
                            if losses > 0 {
                                fields.insert("losses".into(), losses.into());
                            }
                            log.event("step_finished", fields);
                        }
                        Err(e) => log.event(
                            "step_finished",
                            fields! {"step" => step_id, "status" => if e.interrupted { "interrupted" } else { "failed" }, "duration_ms" => ms, "error" => resolve::redact_str(&e.message, &secrets)},
                        ),
                    }
                    (i, result, secrets)
                });
            }
        }
        if tasks.is_empty() {
            break;
        }
        // Wait for a step to end, or for a signal.
        let joined = tokio::select! {
            j = tasks.join_next() => j,
            _ = shared.cancel_notify.notified() => None,
            _ = tokio::time::sleep(Duration::from_millis(250)) => None,
        };
        let Some(joined) = joined else { continue };
        let (i, result, secrets) = match joined {
            Ok(v) => v,
            Err(e) => {
                // A panicking op: record it as a failure of an unknown step and stop.
                outcome
                    .failed
                    .push(("(unknown)".into(), format!("an op panicked: {e}")));
                stop = true;
                continue;
            }
        };
        running_keys.remove(&i);
        match result {
            Ok(outputs) => {
                outcome.outputs.insert(steps[i].id.clone(), outputs);
                outcome.ok.push(steps[i].id.clone());
                state[i] = State::Done;
            }
            Err(e) => {
                state[i] = State::Failed;
                if e.interrupted {
                    outcome.interrupted.push(steps[i].id.clone());
                } else {
                    // The summary prints this: a failing program's stderr may hold a secret.
                    outcome.failed.push((
                        steps[i].id.clone(),
                        resolve::redact_str(&e.message, &secrets),
                    ));
                }
                stop = true;
            }
        }
    }
    for (i, s) in state.iter().enumerate() {
        if *s == State::Pending && !outcome.not_run.contains(&steps[i].id) {
            outcome.not_run.push(steps[i].id.clone());
        }
    }
    if !outcome.failed.is_empty() && matches!(outcome.status, RunStatus::Ok) {
        outcome.status = RunStatus::Failed;
    }
    if shared.cancel.load(Ordering::SeqCst) && outcome.status == RunStatus::Ok {
        outcome.status = RunStatus::Interrupted;
    }
    for s in steps {
        let done = outcome.ok.contains(&s.id) || outcome.skipped.contains(&s.id);
        let losses = outcome.outputs.get(&s.id).map_or(0, losses_of);
        if done && losses > 0 {
            outcome.partial.push((s.id.clone(), losses));
        }
    }
    if outcome.status == RunStatus::Ok && !outcome.partial.is_empty() {
        outcome.status = RunStatus::Partial;
    }
    outcome.cleanup_failures = undo_scope(&shared.journal, &shared.log, None).await;
    Ok(outcome)
}

/// How long an interrupted run waits for its running steps before abandoning them.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Whether the files a finished step made are still there (a deleted copy is made again).
/// Attaching steps are left out: their mount points go away at every cleanup.
fn outputs_exist(step: &PlanStep, outputs: &Value) -> bool {
    let Some(op) = step.op() else { return true };
    if step.effect == Effect::Attach {
        return true;
    }
    op.outputs
        .iter()
        .filter(|o| o.ty == Type::Path && !o.list)
        .all(|o| match outputs.get(o.name) {
            Some(Value::String(p)) => std::path::Path::new(p).exists(),
            _ => true,
        })
}

/// Steps never skipped on resume: checking is cheap and must see the files as they are now.
fn always_runs(step: &PlanStep) -> bool {
    step.op_name() == "verify"
}

fn fail(step: &PlanStep, why: &str, shared: &Shared, outcome: &mut RunOutcome) {
    shared.log.event(
        "step_finished",
        fields! {"step" => step.id, "status" => "failed", "duration_ms" => 0, "error" => why},
    );
    outcome.failed.push((step.id.clone(), why.to_string()));
}

enum Approval {
    Yes(&'static str),
    No,
    Waiting,
    /// Ctrl-C (or SIGTERM, SIGHUP) while the question was asked.
    Interrupted,
}

/// Whether the run is being interrupted: the cancel flag, or a signal the flag has not been
/// handed yet (a question at the terminal returns at once on Ctrl-C).
fn interrupted(shared: &Shared) -> bool {
    shared.cancel.load(Ordering::SeqCst) || shared.interrupts.any()
}

fn approve(step: &PlanStep, text: &str, opts: &RunOptions, shared: &Shared) -> Approval {
    if opts.approve.contains(&step.id) {
        return Approval::Yes("--approve");
    }
    let answer = shared
        .prompter
        .confirm(&format!("[{}] {text}\nApprove and continue?", step.id));
    if interrupted(shared) {
        return Approval::Interrupted;
    }
    match answer {
        Some(true) => Approval::Yes("terminal"),
        Some(false) => Approval::No,
        None => Approval::Waiting,
    }
}

/// [`undo_live`] on the blocking pool.
async fn undo_scope(
    journal: &Arc<Journal>,
    log: &Arc<dyn LogSink>,
    step: Option<&str>,
) -> Vec<String> {
    let (journal, log, step) = (journal.clone(), log.clone(), step.map(str::to_string));
    tokio::task::spawn_blocking(move || undo_live(&journal, log.as_ref(), step.as_deref()))
        .await
        .unwrap_or_else(|e| vec![format!("cleanup stopped unexpectedly: {e}")])
}

/// The steps a previous run finished with the same inputs, with their outputs: they are
/// skipped. A step that attaches something (its attachment was undone at the end of that run)
/// is redone when a step after it still has to run.
fn resume_set(plan: &Plan, key: &[u8; 32], replay: &journal::Replay) -> BTreeMap<String, Value> {
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    let mut fps: BTreeMap<&str, &str> = BTreeMap::new();
    for step in &plan.steps {
        let Some((fp, outputs, _)) = replay.finished.get(&step.id) else {
            continue;
        };
        let waits = step.waits_for();
        if !waits.iter().all(|w| done.contains_key(w)) {
            continue;
        }
        let Ok(r) = resolve::resolve_step(step, &done) else {
            continue;
        };
        let now = resolve::chain(
            &resolve::fingerprint(key, step.op_name(), &r.args),
            waits
                .iter()
                .filter_map(|w| Some((w.as_str(), *fps.get(w.as_str())?))),
        );
        if now == *fp && outputs_exist(step, outputs) {
            done.insert(step.id.clone(), outputs.clone());
            fps.insert(step.id.as_str(), fp.as_str());
        }
    }
    // Reverse order: an attaching step is needed again when anything after it will run.
    let mut will_run: BTreeSet<&str> = plan
        .steps
        .iter()
        .filter(|s| !done.contains_key(&s.id) || always_runs(s))
        .map(|s| s.id.as_str())
        .collect();
    for step in plan.steps.iter().rev() {
        if step.effect != Effect::Attach || !done.contains_key(&step.id) {
            continue;
        }
        let needed = plan
            .steps
            .iter()
            .any(|d| will_run.contains(d.id.as_str()) && d.waits_for().contains(&step.id));
        if needed {
            done.remove(&step.id);
            will_run.insert(step.id.as_str());
        }
    }
    done
}

/// The paths and devices a step touches: two steps sharing one never run at once.
fn resource_keys(step: &PlanStep, args: &BTreeMap<String, Value>) -> Vec<String> {
    let Some(op) = step.op() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for a in op.args {
        if !matches!(a.ty, Type::Path | Type::Device | Type::Partition) {
            continue;
        }
        match args.get(a.name) {
            Some(Value::String(s)) => keys.push(s.clone()),
            Some(Value::Object(o)) => {
                if let Some(Value::String(s)) = o.get("source") {
                    keys.push(s.clone());
                }
            }
            Some(Value::Array(items)) => {
                keys.extend(items.iter().filter_map(|v| v.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    keys
}

/// Whether two paths are the same or one contains the other.
fn overlaps(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    crate::event_log::format_time(std::time::SystemTime::now())
}
