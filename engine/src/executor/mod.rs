//! The executor: runs a plan's DAG on tokio with checkpoints, resume, approvals, and cleanup
//! that always happens.
//!
//! Architecture invariant: every attachment is journaled before use and undone in reverse
//! order at the end of the run, on a failed step, on SIGINT/SIGTERM, and (from the journal) at
//! the start of the next run after a crash.

mod approval;
mod group_commit;
mod modify_confirmation;
mod recover;
mod resource_keys;
mod resume;
mod run_options;
mod run_outcome;
mod scheduler;
mod shared;
mod step_task;
mod undo_scope;

pub use recover::{Recovered, recover};
pub use run_options::RunOptions;
pub use run_outcome::{RunOutcome, RunStatus, losses_of};
pub use shared::Shared;

use crate::resolve;
use crate::state::exec_error::ExecError;
use crate::state::journal;
use modify_confirmation::confirm_modify;
use resume::resume_set;
use salvage_language::plan::Plan;
use scheduler::Scheduler;

/// Runs a plan. The journal's replay decides what is already done.
pub async fn run(
    plan: &Plan,
    opts: &RunOptions,
    shared: &Shared,
    replay: &journal::Replay,
) -> Result<RunOutcome, ExecError> {
    let run_secrets = resolve::run_secrets(plan);
    // The journal keeps outputs with every secret redacted: put this run's values back.
    let replay = &replay.with_secrets(&run_secrets);
    let done_before = resume_set(plan, shared.state.key(), replay);
    if let Some(status) = confirm_modify(&plan.steps, &done_before, opts, shared) {
        let mut outcome = RunOutcome::empty();
        outcome.status = status;
        outcome.not_run = plan.steps.iter().map(|s| s.id.clone()).collect();
        return Ok(outcome);
    }
    let scheduler = Scheduler::new(
        &plan.steps,
        opts,
        shared,
        replay,
        &done_before,
        &run_secrets,
    );
    Ok(scheduler.run().await)
}

/// Now as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    crate::event_log::format_time(std::time::SystemTime::now())
}
