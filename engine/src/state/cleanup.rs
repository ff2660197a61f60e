//! [`undo_live`]: undoes the attachments the journal says are live, newest first, logging each
//! as `cleanup`. The executor calls it at a step's end, at the run's end and after a crash; an
//! op calls it to undo its own step-scoped attachments early.

use crate::fields;
use crate::log_sink::LogSink;
use crate::state::journal::{Journal, Record, Scope};

/// Undoes live attachments: one step's step-scoped ones (`Some(step)`), or every one left
/// (`None`: the end of the run). Newest first; each logged as `cleanup`. Blocking. Returns
/// the undos that failed.
pub fn undo_live(journal: &Journal, log: &dyn LogSink, step: Option<&str>) -> Vec<String> {
    let mut live: Vec<_> = journal
        .live()
        .into_iter()
        .filter(|l| match step {
            Some(s) => l.step == s && l.scope == Scope::Step,
            None => true,
        })
        .collect();
    live.reverse();
    let mut failures = Vec::new();
    for l in live {
        let action = l.undo.describe();
        match l.undo.run() {
            Ok(note) => {
                if let Err(e) = journal.append(&Record::Undone { id: l.id }) {
                    failures.push(format!(
                        "{action}: done, but the journal could not say so: {e}"
                    ));
                }
                log.event("cleanup", fields! {"step" => l.step, "action" => action, "status" => note.status(), "note" => note.note()});
            }
            Err(e) => {
                log.event("cleanup", fields! {"step" => l.step, "action" => action, "status" => "failed", "error" => e});
                failures.push(format!("{action}: {e}"));
            }
        }
    }
    failures
}
