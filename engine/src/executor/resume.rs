//! Resume: which steps a previous run finished with the same inputs ([`resume_set`]), and
//! which steps are never skipped ([`always_runs`]).

use crate::resolve;
use crate::state::journal;
use salvage_language::effect::Effect;
use salvage_language::plan::{Plan, PlanStep};
use salvage_language::value_type::Type;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The steps a previous run finished with the same inputs, with their outputs: they are
/// skipped. A step that attaches something (its attachment was undone at the end of that run)
/// is redone when a step after it still has to run.
pub(super) fn resume_set(
    plan: &Plan,
    key: &[u8; 32],
    replay: &journal::Replay,
) -> BTreeMap<String, Value> {
    let mut done = finished_alike(plan, key, replay);
    redo_needed_attachments(plan, &mut done);
    done
}

/// The steps the journal shows finished with the inputs they would have now (chained through
/// the steps they wait for), whose files are still there.
fn finished_alike(
    plan: &Plan,
    key: &[u8; 32],
    replay: &journal::Replay,
) -> BTreeMap<String, Value> {
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    let mut fps: BTreeMap<&str, &str> = BTreeMap::new();
    for step in &plan.steps {
        let Some((fp, outputs, _)) = replay.finished.get(&step.id) else {
            continue;
        };
        let waits = step.waits_for();
        if !waits.iter().all(|w| done.contains_key(w)) {
            continue;
        }
        let Ok(r) = resolve::resolve_step(step, &done) else {
            continue;
        };
        let now = resolve::chain(
            &resolve::fingerprint(key, step.op_name(), &r.args),
            waits
                .iter()
                .filter_map(|w| Some((w.as_str(), *fps.get(w.as_str())?))),
        );
        if now == *fp && outputs_exist(step, outputs) {
            done.insert(step.id.clone(), outputs.clone());
            fps.insert(step.id.as_str(), fp.as_str());
        }
    }
    done
}

/// Takes out of `done` every attaching step that a step still to run waits for.
fn redo_needed_attachments(plan: &Plan, done: &mut BTreeMap<String, Value>) {
    // Reverse order: an attaching step is needed again when anything after it will run.
    let mut will_run: BTreeSet<&str> = plan
        .steps
        .iter()
        .filter(|s| !done.contains_key(&s.id) || always_runs(s))
        .map(|s| s.id.as_str())
        .collect();
    for step in plan.steps.iter().rev() {
        if step.effect != Effect::Attach || !done.contains_key(&step.id) {
            continue;
        }
        let needed = plan
            .steps
            .iter()
            .any(|d| will_run.contains(d.id.as_str()) && d.waits_for().contains(&step.id));
        if needed {
            done.remove(&step.id);
            will_run.insert(step.id.as_str());
        }
    }
}

/// Whether the files a finished step made are still there (a deleted copy is made again).
/// Attaching steps are left out: their mount points go away at every cleanup.
fn outputs_exist(step: &PlanStep, outputs: &Value) -> bool {
    let Some(op) = step.op() else { return true };
    if step.effect == Effect::Attach {
        return true;
    }
    op.outputs
        .iter()
        .filter(|o| o.ty == Type::Path && !o.list)
        .all(|o| match outputs.get(o.name) {
            Some(Value::String(p)) => std::path::Path::new(p).exists(),
            _ => true,
        })
}

/// Steps never skipped on resume: checking is cheap and must see the files as they are now.
pub(super) fn always_runs(step: &PlanStep) -> bool {
    step.op_name() == "verify"
}
