//! Ops at run time: each op of the op table, given resolved arguments and a context, does its
//! work and returns its outputs as JSON. Only ops touch devices and files.
//!
//! Architecture invariant: an op that attaches anything (loop device, mount, snapshot) calls
//! [`OpContext::attach`] first, so the journal knows before the kernel does.

mod child_env;
mod damage;
mod disk;
mod dispatch;
mod exec;
mod health;
mod image;
mod partition_value;
mod pipe;
mod raid;
pub(crate) mod snapshot;
mod synth;
pub mod verify_image;

pub use dispatch::run;
pub(crate) use partition_value::table_json;

use crate::log_sink::LogSink;
use crate::progress::Progress;
use crate::resolve::redact;
use crate::state::journal::{Journal, Scope};
use crate::state::state_dir::StateDir;
use crate::state::undo::Undo;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Everything an op may use while it runs.
#[derive(Clone)]
pub struct OpContext {
    /// The step's id.
    pub step: String,
    /// The run's state directory.
    pub state: Arc<StateDir>,
    /// The journal.
    pub journal: Arc<Journal>,
    /// Set when the run is interrupted: long work checks it and stops cleanly.
    pub cancel: Arc<AtomicBool>,
    /// Woken when `cancel` is set.
    pub cancel_notify: Arc<Notify>,
    /// The run log.
    pub log: Arc<dyn LogSink>,
    /// The progress display.
    pub progress: Arc<Progress>,
    /// Secret values to redact from everything logged.
    pub secrets: Vec<(String, String)>,
    /// An earlier run started this step and never finished it: partial output may exist.
    pub partial_before: bool,
}

/// Why an op failed: what the log and the operator are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// The message, naming the file or device and the fix where there is one.
    pub message: String,
    /// Whether the op stopped because the run was interrupted.
    pub interrupted: bool,
}

impl OpError {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            interrupted: false,
        }
    }

    /// The op stopped because the run was interrupted.
    pub fn interrupted() -> Self {
        OpError {
            message: "interrupted".into(),
            interrupted: true,
        }
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl OpContext {
    /// Logs an event for this step, secrets redacted.
    pub fn log(&self, event: &str, mut fields: Map<String, Value>) {
        fields.insert("step".into(), Value::String(self.step.clone()));
        let mut ordered = Map::new();
        ordered.insert("step".into(), Value::String(self.step.clone()));
        for (k, v) in fields {
            if k != "step" {
                ordered.insert(k, redact(&v, &self.secrets));
            }
        }
        self.log.event(event, ordered);
    }

    /// Journals an attachment before it is used, and logs it. Returns its journal id.
    pub fn attach(&self, what: &str, undo: Undo, scope: Scope) -> Result<u64, OpError> {
        let describe = undo.describe();
        let id = self
            .journal
            .attached(&self.step, undo, scope)
            .map_err(|e| OpError::new(e.to_string()))?;
        self.log(
            "attached",
            crate::fields! {"what" => what, "undo" => describe},
        );
        Ok(id)
    }

    /// Whether the run is being interrupted.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Resolves once the run is interrupted, even if that happened before this was awaited
    /// (the waiter is registered before the flag is read, so no wake-up is lost).
    pub async fn until_cancelled(&self) {
        loop {
            let notified = self.cancel_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Undoes this step's step-scoped attachments now, newest first (between the filesystems an
/// op looks into one after another). Blocking.
pub(crate) fn undo_step_now(ctx: &OpContext) {
    for f in crate::state::cleanup::undo_live(&ctx.journal, ctx.log.as_ref(), Some(&ctx.step)) {
        ctx.progress
            .println(&format!("[{}] cleanup failed: {f}", ctx.step));
    }
}

/// An op's argument struct, read from its resolved arguments. The checker has validated their
/// types, so this fails only on a value no runbook can produce; the error names the op.
pub(crate) fn op_args<T: serde::de::DeserializeOwned>(
    op: &str,
    args: &BTreeMap<String, Value>,
) -> Result<T, OpError> {
    salvage_language::ops::arg_value::from_args(args)
        .map_err(|e| OpError::new(format!("{op}: an argument is not of its type: {e}")))
}

/// Keeps the first `limit` bytes of output for the log, saying how much was cut.
pub(crate) fn bounded(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    format!(
        "{}… ({} bytes more)",
        String::from_utf8_lossy(&bytes[..limit]),
        bytes.len() - limit
    )
}
