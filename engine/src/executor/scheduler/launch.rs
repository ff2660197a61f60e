//! Launching ready steps: a step whose waits are done has its arguments resolved and its
//! fingerprint chained, then it is skipped (finished before with the same inputs), asked
//! (a manual step), or started as a task when no running step shares its resources.

use super::super::resource_keys::{overlaps, resource_keys};
use super::super::resume::always_runs;
use super::super::step_task::StepTask;
use super::{Scheduler, State};
use crate::fields;
use crate::ops::OpContext;
use crate::resolve::{self, Resolved};
use crate::state::journal::Record;
use salvage_language::effect::Effect;
use salvage_language::plan::StepKind;
use serde_json::Value;
use std::time::Instant;

impl Scheduler<'_> {
    /// Launches every pending step that is ready, in plan order, up to `jobs` at once.
    /// A step skipped on resume can make a loop or an assert ready: settle and launch again
    /// until a turn changes nothing.
    pub(super) fn launch_ready(&mut self) {
        loop {
            let pending = |s: &Self| s.state.iter().filter(|x| **x == State::Pending).count();
            let before = (pending(self), self.steps.len());
            self.settle_instant();
            for i in 0..self.steps.len() {
                if self.state[i] != State::Pending || self.tasks.len() >= self.jobs || self.stop {
                    continue;
                }
                self.try_step(i);
            }
            if self.stop || (pending(self), self.steps.len()) == before {
                return;
            }
        }
    }

    /// Step `i`, pending: skipped, asked, launched, or left for a later turn.
    fn try_step(&mut self, i: usize) {
        // Loops, asserts, `when:` and templates are settled by `settle_instant`.
        let step = &self.steps[i];
        if step.in_loop() || !matches!(step.kind, StepKind::Op(_) | StepKind::Manual { .. }) {
            return;
        }
        if !self.waits_done(i) || !self.when_settled(i) {
            return;
        }
        let Some(resolved) = self.resolve(i) else {
            return;
        };
        let fp = self.chain_fingerprint(i, &resolved);
        let upstream_changed = self.steps[i]
            .waits_for()
            .iter()
            .any(|w| self.changed.contains(w));
        if self.skip_if_resumed(i, &fp, upstream_changed) {
            return;
        }
        if let StepKind::Manual { .. } = self.steps[i].kind {
            self.ask_manual(i, &resolved, fp);
            return;
        }
        self.launch(i, resolved, fp, upstream_changed);
    }

    /// Whether every step that step `i` waits for is done (or, for one it is only ordered
    /// after, skipped).
    pub(super) fn waits_done(&self, i: usize) -> bool {
        let step = &self.steps[i];
        step.waits_for().iter().all(|w| {
            self.index.get(w.as_str()).is_some_and(|j| {
                self.state[*j] == State::Done
                    || (self.state[*j] == State::Skipped && !step.deps.contains(w))
            })
        })
    }

    /// Step `i`'s arguments from the outputs so far, with the run's secrets; a step that
    /// cannot be resolved fails.
    pub(super) fn resolve(&mut self, i: usize) -> Option<Resolved> {
        match resolve::resolve_step(&self.steps[i], &self.outcome.outputs) {
            Ok(mut r) => {
                r.secrets.extend(self.run_secrets.iter().cloned());
                Some(r)
            }
            Err(e) => {
                self.fail(i, &resolve::redact_str(&e, self.run_secrets));
                None
            }
        }
    }

    /// Step `i`'s fingerprint, chained with those of the steps it waits for (remembered).
    pub(super) fn chain_fingerprint(&mut self, i: usize, resolved: &Resolved) -> String {
        let step = &self.steps[i];
        let fp = resolve::chain(
            &resolve::fingerprint(self.shared.state.key(), step.op_name(), &resolved.args),
            step.waits_for()
                .iter()
                .filter_map(|w| Some((w.as_str(), self.fps.get(w.as_str())?.as_str()))),
        );
        self.fps.insert(step.id.clone(), fp.clone());
        fp
    }

    /// Skips step `i` when a previous run finished it with the same inputs (logged as
    /// `step_skipped`, its outputs taken from the journal).
    fn skip_if_resumed(&mut self, i: usize, fp: &str, upstream_changed: bool) -> bool {
        let step = &self.steps[i];
        let Some((prev_fp, outputs, time)) = self.replay.finished.get(&step.id) else {
            return false;
        };
        if *prev_fp != fp
            || !self.done_before.contains_key(&step.id)
            || upstream_changed
            || always_runs(step)
        {
            return false;
        }
        self.shared.log.event(
            "step_skipped",
            fields! {"step" => step.id, "reason" => format!("resumed: inputs unchanged since the run that finished it at {time}")},
        );
        self.outcome
            .outputs
            .insert(step.id.clone(), outputs.clone());
        self.outcome.skipped.push(step.id.clone());
        self.state[i] = State::Done;
        true
    }

    /// Starts op step `i` as a task, unless a running step shares one of its resources.
    fn launch(&mut self, i: usize, resolved: Resolved, fp: String, upstream_changed: bool) {
        let step = &self.steps[i];
        let keys = resource_keys(step, &resolved.args);
        let busy = self
            .running_keys
            .values()
            .flatten()
            .any(|k| keys.iter().any(|m| overlaps(k, m)));
        if busy {
            return;
        }
        let Some(op) = step.op() else { return };
        self.shared.log.event(
            "step_started",
            fields! {
                "step" => step.id,
                "op" => op.name,
                "effect" => step.effect.name(),
                "args" => resolve::redact(&Value::Object(resolved.args.clone().into_iter().collect()), &resolved.secrets),
            },
        );
        // `started` only matters to a step that leaves partial results (an op reads them as
        // `partial_before`): a read-only step's record need not wait for the disk. Any other
        // step starts only once everything before it, and its record, is durable.
        let read_only = step.effect == Effect::Read;
        let started = self.shared.journal.append_deferred(&Record::Started {
            step: step.id.clone(),
        });
        if let Err(e) = started
            .map_err(|e| e.to_string())
            .and_then(|()| if read_only { Ok(()) } else { self.barrier() })
        {
            self.fail(i, &e);
            return;
        }
        if upstream_changed
            || self
                .replay
                .finished
                .get(&step.id)
                .is_none_or(|(prev, _, _)| *prev != fp)
        {
            self.changed.insert(step.id.clone());
        }
        self.state[i] = State::Running;
        self.running_keys.insert(i, keys);
        let task = self.step_task(i, op, resolved, fp);
        self.tasks.spawn(task.run());
    }

    /// What step `i`'s task needs, taken now.
    fn step_task(
        &self,
        i: usize,
        op: &'static salvage_language::op_table::OpSig,
        resolved: Resolved,
        fp: String,
    ) -> StepTask {
        let step = &self.steps[i];
        let shared = self.shared;
        let ctx = OpContext {
            step: step.id.clone(),
            state: shared.state.clone(),
            journal: shared.journal.clone(),
            cancel: shared.cancel.clone(),
            cancel_notify: shared.cancel_notify.clone(),
            log: shared.log.clone(),
            progress: shared.progress.clone(),
            secrets: resolved.secrets.clone(),
            partial_before: self.replay.unfinished.contains(&step.id),
        };
        StepTask {
            index: i,
            op,
            args: resolved.args,
            ctx,
            secrets: resolved.secrets,
            fingerprint: fp,
            started: Instant::now(),
            journal: shared.journal.clone(),
            log: shared.log.clone(),
        }
    }
}
