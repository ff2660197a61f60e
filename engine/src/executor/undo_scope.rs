//! [`undo_scope`]: [`undo_live`] on the blocking pool, after a step and at the run's end.

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
    let (journal, log, step) = (journal.clone(), log.clone(), step.map(str::to_string));
    tokio::task::spawn_blocking(move || undo_live(&journal, log.as_ref(), step.as_deref()))
        .await
        .unwrap_or_else(|e| vec![format!("cleanup stopped unexpectedly: {e}")])
}
