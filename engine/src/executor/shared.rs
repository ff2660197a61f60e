//! [`Shared`]: what the executor hands every step (state directory, journal, log, progress,
//! the cancel flag, the prompter, the operator's interrupts).

use crate::log_sink::LogSink;
use crate::progress::Progress;
use crate::prompter::Prompter;
use crate::state::journal::Journal;
use crate::state::state_dir::StateDir;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::Notify;

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
