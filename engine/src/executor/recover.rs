//! [`recover`]: undoes what a crashed run left attached, reporting it as [`Recovered`].

use super::shared::Shared;
use crate::fields;
use crate::state::journal::Record;
use crate::state::undo;

/// What recovering a crashed run's leftovers did.
#[derive(Debug, Default, Clone)]
pub struct Recovered {
    /// Leftovers undone: each undo as the log shows it, with its step.
    pub undone: Vec<String>,
    /// Leftovers already gone (undone before, or cleared by the kernel).
    pub already_gone: Vec<String>,
    /// Devices or mounts that something else uses now: left alone.
    pub left_alone: Vec<String>,
    /// Undos that failed: something may still be attached.
    pub failures: Vec<String>,
}

/// Undoes what a crashed run left attached (from the journal, then any mount under the state
/// directory), logging each action as `recovered`.
pub fn recover(shared: &Shared) -> Recovered {
    let mut report = Recovered::default();
    undo_journaled_leftovers(shared, &mut report);
    unmount_strays(shared, &mut report);
    // What was undone is on disk before anything else happens.
    shared.log.sync();
    report
}

/// Undoes the journal's live attachments, newest first.
fn undo_journaled_leftovers(shared: &Shared, report: &mut Recovered) {
    let mut live = shared.journal.live();
    live.reverse();
    for l in live {
        let action = l.undo.describe();
        match l.undo.run() {
            Ok(result) => {
                let _ = shared.journal.append(&Record::Undone { id: l.id });
                match &result {
                    undo::Undone::Done => report.undone.push(format!("{action} (step {})", l.step)),
                    undo::Undone::AlreadyGone => report
                        .already_gone
                        .push(format!("{action} (step {})", l.step)),
                    undo::Undone::LeftAlone(found) => {
                        report.left_alone.push(format!("{action}: {found}"))
                    }
                }
                shared.log.event(
                    "recovered",
                    fields! {"step" => l.step, "action" => action, "status" => result.status(), "note" => result.note()},
                );
            }
            Err(e) => {
                shared.log.event(
                    "recovered",
                    fields! {"step" => l.step, "action" => action, "status" => "failed", "error" => e},
                );
                report.failures.push(format!("{action}: {e}"));
            }
        }
    }
}

/// Unmounts whatever is still mounted under the state directory's `mnt`.
fn unmount_strays(shared: &Shared, report: &mut Recovered) {
    for m in undo::mounts_under(&shared.state.path().join("mnt")) {
        let undo = undo::Undo::Command {
            argv: vec!["umount".into(), m.display().to_string()],
        };
        let action = undo.describe();
        match undo.run() {
            Ok(_) => {
                report
                    .undone
                    .push(format!("{action} (a mount under the state directory)"));
                shared
                    .log
                    .event("recovered", fields! {"action" => action, "status" => "ok"});
            }
            Err(e) => {
                shared.log.event(
                    "recovered",
                    fields! {"action" => action, "status" => "failed", "error" => e},
                );
                report.failures.push(format!("{action}: {e}"));
            }
        }
    }
}
