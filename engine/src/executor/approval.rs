//! [`Approval`]: a manual step's answer ([`approve`]), and whether the operator is
//! [`interrupted`] the run while asked.

use super::run_options::RunOptions;
use super::shared::Shared;
use salvage_language::plan::PlanStep;
use std::sync::atomic::Ordering;

/// How a manual step was answered.
pub(super) enum Approval {
    Yes(&'static str),
    No,
    Waiting,
    /// Ctrl-C (or SIGTERM, SIGHUP) while the question was asked.
    Interrupted,
}

/// Whether the run is being interrupted: the cancel flag, or a signal the flag has not been
/// handed yet (a question at the terminal returns at once on Ctrl-C).
pub(super) fn interrupted(shared: &Shared) -> bool {
    shared.cancel.load(Ordering::SeqCst) || shared.interrupts.any()
}

/// Asks for a manual step's approval, unless `--approve` gave it.
pub(super) fn approve(step: &PlanStep, text: &str, opts: &RunOptions, shared: &Shared) -> Approval {
    if opts.approve.contains(&step.id) {
        return Approval::Yes("--approve");
    }
    let answer = shared
        .prompter
        .confirm(&format!("[{}] {text}\nApprove and continue?", step.id));
    if interrupted(shared) {
        return Approval::Interrupted;
    }
    match answer {
        Some(true) => Approval::Yes("terminal"),
        Some(false) => Approval::No,
        None => Approval::Waiting,
    }
}
