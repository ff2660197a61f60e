//! [`StepTask`]: one launched op step as a tokio task: runs the op, undoes what it attached,
//! journals and logs how it finished, and hands back a [`TaskResult`].

use super::now_rfc3339;
use super::run_outcome::losses_of;
use super::undo_scope::undo_scope;
use crate::fields;
use crate::log_sink::LogSink;
use crate::ops::{self, OpContext};
use crate::resolve;
use crate::state::journal::{Journal, Record};
use salvage_language::op_table::OpSig;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// What a step's task hands back: its index, its result, its secrets.
pub(super) type TaskResult = (usize, Result<Value, ops::OpError>, Vec<(String, String)>);

/// Everything a launched step's task owns.
pub(super) struct StepTask {
    /// The step's index in the plan.
    pub index: usize,
    pub op: &'static OpSig,
    pub args: BTreeMap<String, Value>,
    pub ctx: OpContext,
    pub secrets: Vec<(String, String)>,
    /// The step's chained fingerprint, journaled when it finishes.
    pub fingerprint: String,
    /// When the step was launched.
    pub started: Instant,
    pub journal: Arc<Journal>,
    pub log: Arc<dyn LogSink>,
}

impl StepTask {
    /// Runs the op, undoes the step's attachments, then journals and logs the end.
    pub(super) async fn run(self) -> TaskResult {
        let StepTask {
            index: i,
            op,
            args,
            ctx,
            secrets,
            fingerprint,
            started,
            journal,
            log,
        } = self;
        let step_id = ctx.step.clone();
        let result = ops::run(op, &args, &ctx).await;
        undo_scope(&journal, &log, Some(&step_id)).await;
        let ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(outputs) => {
                let record = Record::Finished {
                    step: step_id.clone(),
                    fingerprint,
                    outputs: resolve::redact(outputs, &secrets),
                    time: now_rfc3339(),
                };
                // Durable soon after: the scheduler asks the group commit for it.
                if let Err(e) = journal.append_deferred(&record) {
                    return (i, Err(ops::OpError::new(e.to_string())), secrets);
                }
                log_finished_ok(log.as_ref(), &step_id, ms, outputs, &secrets);
            }
            Err(e) => log.event(
                "step_finished",
                fields! {"step" => step_id, "status" => if e.interrupted { "interrupted" } else { "failed" }, "duration_ms" => ms, "error" => resolve::redact_str(&e.message, &secrets)},
            ),
        }
        (i, result, secrets)
    }
}

/// Logs a step that finished: `ok`, or `partial` with its losses.
fn log_finished_ok(
    log: &dyn LogSink,
    step_id: &str,
    ms: u64,
    outputs: &Value,
    secrets: &[(String, String)],
) {
    let losses = losses_of(outputs);
    let mut fields = fields! {"step" => step_id, "status" => if losses > 0 { "partial" } else { "ok" }, "duration_ms" => ms, "outputs" => resolve::redact(outputs, secrets)};
    if losses > 0 {
        fields.insert("losses".into(), losses.into());
    }
    log.event("step_finished", fields);
}
