//! [`confirm_modify`]: steps that modify existing data need `--yes` or an interactive yes,
//! asked before anything runs.

use super::approval::interrupted;
use super::run_options::RunOptions;
use super::run_outcome::RunStatus;
use super::shared::Shared;
use crate::fields;
use salvage_language::effect::Effect;
use salvage_language::plan::PlanStep;
use serde_json::Value;
use std::collections::BTreeMap;

/// Confirms the steps still to run that modify existing data (logged as `confirmed`).
/// `Some` is how the run ends without running anything: interrupted or refused.
pub(super) fn confirm_modify(
    steps: &[PlanStep],
    done_before: &BTreeMap<String, Value>,
    opts: &RunOptions,
    shared: &Shared,
) -> Option<RunStatus> {
    let modify: Vec<&str> = steps
        .iter()
        .filter(|s| s.effect == Effect::Modify && !done_before.contains_key(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    if modify.is_empty() {
        return None;
    }
    if opts.yes {
        shared.log.event(
            "confirmed",
            fields! {"steps" => modify, "by" => opts.user, "via" => "--yes"},
        );
        return None;
    }
    ask_operator(&modify, opts, shared)
}

/// Asks at the terminal whether the modifying steps may run.
fn ask_operator(modify: &[&str], opts: &RunOptions, shared: &Shared) -> Option<RunStatus> {
    let question = format!(
        "These steps modify existing data: {}. Run them? (see `salvage plan` for what they do)",
        modify.join(", ")
    );
    let answer = shared.prompter.confirm(&question);
    if interrupted(shared) {
        return Some(RunStatus::Interrupted);
    }
    match answer {
        Some(true) => {
            shared.log.event(
                "confirmed",
                fields! {"steps" => modify, "by" => opts.user, "via" => "terminal"},
            );
            None
        }
        Some(false) => Some(RunStatus::Refused("the operator said no".into())),
        None => Some(RunStatus::Refused(format!(
            "steps {} modify existing data: rerun with --yes after reviewing `salvage plan`",
            modify.join(", ")
        ))),
    }
}
