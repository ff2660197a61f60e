//! [`undo_scope`]: [`undo_live`] on the blocking pool, after a step and at the run's end
//! (when there is something to undo).

use crate::log_sink::LogSink;
use crate::state::cleanup::undo_live;
use crate::state::journal::Journal;
use std::sync::Arc;

/// [`undo_live`] on the blocking pool.
pub(super) async fn undo_scope(
    journal: &Arc<Journal>,
    log: &Arc<dyn LogSink>,
    step: Option<&str>,
) -> Vec<String> {
    // Most steps attach nothing: no trip to the blocking pool for them.
    let scoped = |l: &crate::state::journal::Live| {
        step.is_none_or(|s| l.step == s && l.scope == crate::state::journal::Scope::Step)
    };
    if !journal.live().iter().any(scoped) {
        return Vec::new();
    }
    let (journal, log, step) = (journal.clone(), log.clone(), step.map(str::to_string));
    tokio::task::spawn_blocking(move || undo_live(&journal, log.as_ref(), step.as_deref()))
        .await
        .unwrap_or_else(|e| vec![format!("cleanup stopped unexpectedly: {e}")])
}
