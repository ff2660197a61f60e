//! `CleanupStack`: attachments undone in reverse order when the stack is dropped, for the
//! standalone commands and the tests (the executor journals its own).

use super::attachment::{Attachment, UndoOutcome};
use super::error::FsError;

/// Attachments to undo, last first, at the latest when dropped (also on panic).
#[derive(Debug, Default)]
pub struct CleanupStack {
    pending: Vec<Attachment>,
}

impl CleanupStack {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers an attachment to undo.
    pub fn push(&mut self, attachment: Attachment) {
        self.pending.push(attachment);
    }

    /// The attachments still pending, in the order they were made.
    pub fn pending(&self) -> &[Attachment] {
        &self.pending
    }

    /// Undoes everything now, last first; returns each attachment with what its undo did. An
    /// attachment whose undo failed stays pending (and is tried again on drop).
    pub fn undo_all(&mut self) -> Vec<(Attachment, Result<UndoOutcome, FsError>)> {
        let mut results = Vec::new();
        let mut failed = Vec::new();
        while let Some(attachment) = self.pending.pop() {
            let outcome = attachment.undo();
            if outcome.is_err() {
                failed.push(attachment.clone());
            }
            results.push((attachment, outcome));
        }
        failed.reverse();
        self.pending = failed;
        results
    }
}

impl Drop for CleanupStack {
    fn drop(&mut self) {
        for (attachment, outcome) in self.undo_all() {
            if let Err(e) = outcome {
                eprintln!(
                    "salvage: could not undo {}: {e}; undo by hand: {}",
                    attachment.describe(),
                    attachment.undo_command()
                );
            }
        }
    }
}
