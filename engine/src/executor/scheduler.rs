//! [`Scheduler`]: the run loop. Each turn notices an interrupt, launches what is ready, and
//! waits for a step to end; at the end it names what never ran, settles the status and
//! cleans up.

mod control_flow;
mod launch;
mod manual_step;

use super::RunOptions;
use super::group_commit::GroupCommit;
use super::run_outcome::{RunOutcome, RunStatus, losses_of};
use super::shared::Shared;
use super::step_task::TaskResult;
use super::undo_scope::undo_scope;
use crate::fields;
use crate::state::journal;
use salvage_language::plan::PlanStep;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::{JoinError, JoinSet};

/// How long an interrupted run waits for its running steps before abandoning them.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Where a step is in this run.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Pending,
    Running,
    Done,
    Failed,
    /// Skipped by its `when:`, or because a step it needs was: what waits for it only to be
    /// ordered after it goes on.
    Skipped,
}

/// One run's scheduling state.
pub(super) struct Scheduler<'a> {
    /// The plan's steps, then the instances loops make as the run goes.
    steps: Vec<PlanStep>,
    /// Step id → index in `steps`.
    index: BTreeMap<String, usize>,
    /// A loop's template step → the indexes of its instances (once its loop is expanded).
    instances: BTreeMap<usize, Vec<usize>>,
    /// The steps that stand for one element of a loop (`part[2]`): done as they are made.
    elements: BTreeSet<usize>,
    opts: &'a RunOptions,
    shared: &'a Shared,
    /// The journal's replay, with this run's secrets put back.
    replay: &'a journal::Replay,
    /// What a previous run finished with the same inputs (see `resume_set`; loop instances
    /// are added as loops expand).
    done_before: BTreeMap<String, Value>,
    /// Every secret param's value in the plan.
    run_secrets: &'a [(String, String)],
    outcome: RunOutcome,
    state: Vec<State>,
    /// The resource keys of each running step.
    running_keys: BTreeMap<usize, Vec<String>>,
    tasks: JoinSet<TaskResult>,
    /// No new step is launched (a failure, an interrupt, a question waiting).
    stop: bool,
    jobs: usize,
    /// Steps that ran with inputs unlike their last run's: what waits for them runs again too.
    changed: BTreeSet<String>,
    /// The chained fingerprint of every step launched or skipped in this run.
    fps: BTreeMap<String, String>,
    /// When the run was interrupted: steps still running after STOP_GRACE are abandoned.
    cancelled_at: Option<Instant>,
    /// Syncs the journal and the log behind finished steps (taken when the run ends).
    commit: Option<GroupCommit>,
}

impl<'a> Scheduler<'a> {
    pub(super) fn new(
        steps: &'a [PlanStep],
        opts: &'a RunOptions,
        shared: &'a Shared,
        replay: &'a journal::Replay,
        done_before: &'a BTreeMap<String, Value>,
        run_secrets: &'a [(String, String)],
    ) -> Scheduler<'a> {
        Scheduler {
            steps: steps.to_vec(),
            index: steps
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i))
                .collect(),
            instances: BTreeMap::new(),
            elements: BTreeSet::new(),
            opts,
            shared,
            replay,
            done_before: done_before.clone(),
            run_secrets,
            outcome: RunOutcome::empty(),
            state: vec![State::Pending; steps.len()],
            running_keys: BTreeMap::new(),
            tasks: JoinSet::new(),
            stop: false,
            jobs: opts.jobs.max(1),
            changed: BTreeSet::new(),
            fps: BTreeMap::new(),
            cancelled_at: None,
            commit: Some(GroupCommit::start(
                shared.journal.clone(),
                shared.log.clone(),
            )),
        }
    }

    /// Runs the steps to the end, then cleans up.
    pub(super) async fn run(mut self) -> RunOutcome {
        loop {
            if self.grace_ran_out() {
                self.abandon_running();
                break;
            }
            if !self.stop {
                self.launch_ready();
            }
            if self.tasks.is_empty() {
                break;
            }
            if let Some(joined) = self.next_finished().await {
                self.collect(joined);
            }
        }
        self.finish().await
    }

    fn cancelled(&self) -> bool {
        self.shared.cancel.load(Ordering::SeqCst)
    }

    /// Notices an interrupt (no more launches), and whether steps still run `STOP_GRACE`
    /// after it.
    fn grace_ran_out(&mut self) -> bool {
        if self.cancelled() && self.outcome.status == RunStatus::Ok {
            self.outcome.status = RunStatus::Interrupted;
            self.stop = true;
        }
        if !self.cancelled() {
            return false;
        }
        let since = *self.cancelled_at.get_or_insert_with(Instant::now);
        !self.tasks.is_empty() && since.elapsed() >= STOP_GRACE
    }

    /// A step stuck in a system call that no signal ends: stop waiting for it, so an interrupt
    /// always ends the run (its cleanup still runs in `finish`).
    fn abandon_running(&mut self) {
        for (i, s) in self.state.iter_mut().enumerate() {
            if *s == State::Running {
                *s = State::Failed;
                let why = format!(
                    "did not stop within {} s of the interrupt; abandoned",
                    STOP_GRACE.as_secs()
                );
                let id = &self.steps[i].id;
                self.shared.progress.println(&format!("[{id}] {why}"));
                self.shared.log.event(
                    "step_finished",
                    fields! {"step" => id, "status" => "failed", "duration_ms" => 0, "error" => why},
                );
                self.outcome.not_run.push(id.clone());
            }
        }
        self.tasks.detach_all();
    }

    /// Waits for a step to end, or for a signal (`None`; also every 250 ms).
    async fn next_finished(&mut self) -> Option<Result<TaskResult, JoinError>> {
        tokio::select! {
            j = self.tasks.join_next() => j,
            _ = self.shared.cancel_notify.notified() => None,
            _ = tokio::time::sleep(Duration::from_millis(250)) => None,
        }
    }

    /// Takes in a step that ended: its outputs, or its failure (which stops new launches).
    fn collect(&mut self, joined: Result<TaskResult, JoinError>) {
        let (i, result, secrets) = match joined {
            Ok(v) => v,
            Err(e) => {
                // A panicking op: record it as a failure of an unknown step and stop.
                self.outcome
                    .failed
                    .push(("(unknown)".into(), format!("an op panicked: {e}")));
                self.stop = true;
                return;
            }
        };
        self.running_keys.remove(&i);
        let id = self.steps[i].id.clone();
        match result {
            Ok(outputs) => {
                // Its `finished` record is written, not yet durable.
                if let Some(c) = &self.commit {
                    c.request();
                }
                self.outcome.outputs.insert(id.clone(), outputs);
                self.outcome.ok.push(id);
                self.state[i] = State::Done;
            }
            Err(e) => {
                self.state[i] = State::Failed;
                if e.interrupted {
                    self.outcome.interrupted.push(id);
                } else {
                    // The summary prints this: a failing program's stderr may hold a secret.
                    let why = crate::resolve::redact_str(&e.message, &secrets);
                    self.outcome.failed.push((id, why));
                }
                self.stop = true;
            }
        }
    }

    /// Syncs everything written so far (the journal and the log) before returning: before
    /// a step that changes anything starts, what finished before it is on disk.
    pub(super) fn barrier(&self) -> Result<(), String> {
        self.commit.as_ref().map_or(Ok(()), GroupCommit::barrier)
    }

    /// Names what never started, settles the status, undoes what is still attached, and
    /// makes the journal and the log durable.
    async fn finish(mut self) -> RunOutcome {
        for (i, s) in self.state.iter().enumerate() {
            let id = &self.steps[i].id;
            let shown = !self.elements.contains(&i)
                && (!self.steps[i].in_loop() || !self.instances.contains_key(&i));
            if shown {
                self.outcome.order.push(id.clone());
            }
            if *s == State::Pending && shown && !self.outcome.not_run.contains(id) {
                self.outcome.not_run.push(id.clone());
            }
        }
        self.settle_status();
        self.outcome.cleanup_failures =
            undo_scope(&self.shared.journal, &self.shared.log, None).await;
        if let Some(Err(e)) = self.commit.take().map(GroupCommit::stop) {
            self.outcome.failed.push((
                "(journal)".into(),
                format!(
                    "the journal could not be synced to disk: {e}; after a power cut, steps \
                     reported finished may run again"
                ),
            ));
            self.outcome.status = RunStatus::Failed;
        }
        self.outcome
    }

    /// Failed, interrupted or partial, from what the steps did.
    fn settle_status(&mut self) {
        let outcome = &mut self.outcome;
        if !outcome.failed.is_empty() && matches!(outcome.status, RunStatus::Ok) {
            outcome.status = RunStatus::Failed;
        }
        if self.shared.cancel.load(Ordering::SeqCst) && outcome.status == RunStatus::Ok {
            outcome.status = RunStatus::Interrupted;
        }
        for s in &self.steps {
            let done = outcome.ok.contains(&s.id) || outcome.skipped.contains(&s.id);
            let losses = outcome.outputs.get(&s.id).map_or(0, losses_of);
            if done && losses > 0 {
                outcome.partial.push((s.id.clone(), losses));
            }
        }
        if outcome.status == RunStatus::Ok && !outcome.partial.is_empty() {
            outcome.status = RunStatus::Partial;
        }
    }

    /// Marks step `i` failed with `why` (logged), and stops new launches.
    fn fail(&mut self, i: usize, why: &str) {
        let step = &self.steps[i];
        self.shared.log.event(
            "step_finished",
            fields! {"step" => step.id, "status" => "failed", "duration_ms" => 0, "error" => why},
        );
        self.outcome.failed.push((step.id.clone(), why.to_string()));
        self.state[i] = State::Failed;
        self.stop = true;
    }
}
