//! A manual step at its turn: approved (journaled as finished), refused (a failure),
//! interrupted, or left waiting for `--approve`.

use super::super::approval::{Approval, approve};
use super::super::now_rfc3339;
use super::super::run_outcome::RunStatus;
use super::{Scheduler, State};
use crate::fields;
use crate::resolve::{self, Resolved};
use crate::state::journal::Record;
use std::sync::atomic::Ordering;

impl Scheduler<'_> {
    /// Asks for manual step `i`'s approval and acts on the answer.
    pub(super) fn ask_manual(&mut self, i: usize, resolved: &Resolved, fp: String) {
        let text = resolved
            .args
            .get("text")
            .map(resolve::text_of)
            .unwrap_or_default();
        match approve(&self.steps[i], &text, self.opts, self.shared) {
            Approval::Yes(via) => self.approved(i, via, &text, resolved, fp),
            Approval::No => self.fail(i, "not approved"),
            Approval::Interrupted => {
                self.shared.cancel.store(true, Ordering::SeqCst);
                if self.outcome.status == RunStatus::Ok {
                    self.outcome.status = RunStatus::Interrupted;
                }
                self.stop = true;
            }
            Approval::Waiting => self.wait_for_approval(i, &text, resolved),
        }
    }

    /// Logs the approval and journals the step as finished, so a rerun with the same
    /// inputs does not ask again.
    fn approved(&mut self, i: usize, via: &str, text: &str, resolved: &Resolved, fp: String) {
        let step = &self.steps[i];
        let user = &self.opts.user;
        self.shared.log.event(
            "approval",
            fields! {"step" => step.id, "by" => user, "via" => via, "text" => resolve::redact_str(text, &resolved.secrets)},
        );
        let _ = self.shared.journal.append(&Record::Finished {
            step: step.id.clone(),
            fingerprint: fp,
            outputs: serde_json::json!({"approved_by": user}),
            time: now_rfc3339(),
        });
        self.outcome
            .outputs
            .insert(step.id.clone(), serde_json::json!({}));
        self.outcome.ok.push(step.id.clone());
        self.state[i] = State::Done;
    }

    /// Nobody could answer: the run ends waiting at step `i`, with its question.
    fn wait_for_approval(&mut self, i: usize, text: &str, resolved: &Resolved) {
        let step = &self.steps[i];
        let question = resolve::redact_str(text, &resolved.secrets);
        self.shared
            .log
            .event("waiting", fields! {"step" => step.id, "text" => question});
        self.outcome.status = RunStatus::Waiting(step.id.clone());
        self.outcome.question = Some(question);
        self.stop = true;
    }
}
