//! [`RunOutcome`] and [`RunStatus`]: what a run did and how it ended (with its exit code).

use serde_json::Value;
use std::collections::BTreeMap;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Every step finished or was skipped as already done.
    Ok,
    /// A step failed (the others stopped; cleanup ran).
    Failed,
    /// A manual step waits for approval: rerun with `--approve NAME`.
    Waiting(String),
    /// SIGINT or SIGTERM: running steps stopped, cleanup ran.
    Interrupted,
    /// Refused before anything ran (e.g. modify steps without `--yes`).
    Refused(String),
    /// Every step finished, but some lost entries they were asked for (a copy with unreadable
    /// files, or files it marked damaged from a damage report): completed with losses.
    Partial,
    /// An `assert` was false: nothing more was started, cleanup ran. Holds its message.
    AssertFailed(String),
}

impl RunStatus {
    /// The process exit code: 0 ok, 1 a step failed, 3 waiting for approval, 5 refused,
    /// 6 completed with losses, 7 an `assert` stopped the run, 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunStatus::Ok => 0,
            RunStatus::Failed => 1,
            RunStatus::Waiting(_) => 3,
            RunStatus::Refused(_) => 5,
            RunStatus::Interrupted => 130,
            RunStatus::Partial => 6,
            RunStatus::AssertFailed(_) => 7,
        }
    }

    /// The word the log uses.
    pub fn word(&self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Waiting(_) => "waiting",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Refused(_) => "refused",
            RunStatus::Partial => "partial",
            RunStatus::AssertFailed(_) => "assert_failed",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// Steps run to success.
    pub ok: Vec<String>,
    /// Steps skipped because a previous run finished them with the same inputs.
    pub skipped: Vec<String>,
    /// Steps that failed, with why.
    pub failed: Vec<(String, String)>,
    /// Steps never started.
    pub not_run: Vec<String>,
    /// Steps stopped halfway by SIGINT/SIGTERM/SIGHUP: rerunning resumes them.
    pub interrupted: Vec<String>,
    /// Every step's outputs, run now or earlier.
    pub outputs: BTreeMap<String, Value>,
    /// Cleanup actions that failed (something may be left attached).
    pub cleanup_failures: Vec<String>,
    /// The question of the manual step the run waits at (secrets redacted).
    pub question: Option<String>,
    /// Steps done (now or earlier) that lost entries they were asked for, with how many.
    pub partial: Vec<(String, u64)>,
    /// Steps skipped by a `when:` (or because a step they need was), with why
    /// (`when check.exit_code != 0`).
    pub skipped_when: Vec<(String, String)>,
    /// The assert that stopped the run, with its message.
    pub assertion: Option<(String, String)>,
    /// The run's steps in plan order, a loop's instances in place of its body (`files[1]`,
    /// `files[2]`); empty when nothing was scheduled.
    pub order: Vec<String>,
}

impl RunOutcome {
    /// An outcome with nothing done yet: status ok, every list empty.
    pub(super) fn empty() -> RunOutcome {
        RunOutcome {
            status: RunStatus::Ok,
            ok: Vec::new(),
            skipped: Vec::new(),
            failed: Vec::new(),
            not_run: Vec::new(),
            interrupted: Vec::new(),
            outputs: BTreeMap::new(),
            cleanup_failures: Vec::new(),
            question: None,
            partial: Vec::new(),
            skipped_when: Vec::new(),
            assertion: None,
            order: Vec::new(),
        }
    }
}

/// The entries a finished step lost or holds damaged (its `losses` output: a copy's unreadable
/// entries; and a copy's `damaged` output: files marked damaged from a damage report).
pub fn losses_of(outputs: &Value) -> u64 {
    let n = |k: &str| outputs.get(k).and_then(Value::as_u64).unwrap_or(0);
    n("losses")
        + if outputs.get("manifest").is_some() {
            n("damaged")
        } else {
            0
        }
}
