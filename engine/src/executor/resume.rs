//! Resume: which steps a previous run finished with the same inputs ([`resume_set`]), and
//! which steps are never skipped ([`always_runs`]).

use crate::resolve;
use crate::state::journal;
use salvage_language::effect::Effect;
use salvage_language::plan::{Plan, PlanStep, StepKind};
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
    resume_among(&plan.steps, key, replay, &BTreeMap::new(), &BTreeMap::new())
}

/// [`resume_set`] for `steps` (the instances a loop made at run time), given what the run
/// already knows: the outputs and chained fingerprints of the steps done so far.
pub(super) fn resume_among(
    steps: &[PlanStep],
    key: &[u8; 32],
    replay: &journal::Replay,
    outputs: &BTreeMap<String, Value>,
    fps: &BTreeMap<String, String>,
) -> BTreeMap<String, Value> {
    let mut done = finished_alike(steps, key, replay, outputs, fps);
    redo_needed_attachments(steps, &mut done);
    done
}

/// The steps the journal shows finished with the inputs they would have now (chained through
/// the steps they wait for), whose files are still there. Asserts and loops are not
/// journaled: one whose values are known counts as done, as the run will find it; a step
/// whose `when:` is false counts as skipped. Steps inside loops are left to the run.
fn finished_alike(
    steps: &[PlanStep],
    key: &[u8; 32],
    replay: &journal::Replay,
    known: &BTreeMap<String, Value>,
    known_fps: &BTreeMap<String, String>,
) -> BTreeMap<String, Value> {
    let mut seen: BTreeMap<String, Value> = known.clone();
    let mut fps: BTreeMap<String, String> = known_fps.clone();
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    for step in steps {
        // Templates wait for their loop; what the run already settled stays as it is.
        if step.in_loop() || known_fps.contains_key(&step.id) {
            continue;
        }
        let waits = step.waits_for();
        if !waits.iter().all(|w| fps.contains_key(w)) {
            continue;
        }
        match resolve::when_holds(step, &seen) {
            Ok(true) => {}
            Ok(false) => {
                fps.insert(step.id.clone(), SKIPPED_FP.into());
                continue;
            }
            Err(_) => continue,
        }
        let Ok(r) = resolve::resolve_step(step, &seen) else {
            continue;
        };
        let now = resolve::chain(
            &resolve::fingerprint(key, step.op_name(), &r.args),
            waits
                .iter()
                .filter_map(|w| Some((w.as_str(), fps.get(w.as_str())?.as_str()))),
        );
        if !journaled(step) {
            if r.args.get("cond").is_none_or(|c| *c == Value::Bool(true)) {
                let out = r.args.get("list").cloned().unwrap_or(Value::Null);
                seen.insert(step.id.clone(), out.clone());
                fps.insert(step.id.clone(), now);
                done.insert(step.id.clone(), out);
            }
            continue;
        }
        let Some((fp, outputs, _)) = replay.finished.get(&step.id) else {
            continue;
        };
        if now == *fp && outputs_exist(step, outputs) {
            seen.insert(step.id.clone(), outputs.clone());
            done.insert(step.id.clone(), outputs.clone());
            fps.insert(step.id.clone(), fp.clone());
        }
    }
    done
}

/// The fingerprint a step skipped by its `when:` stands for.
pub(super) const SKIPPED_FP: &str = "skipped";

/// Whether the journal records the step: ops and manual steps; not asserts and loops, which
/// the run works out again each time.
pub(super) fn journaled(step: &PlanStep) -> bool {
    matches!(step.kind, StepKind::Op(_) | StepKind::Manual { .. })
}

/// Takes out of `done` every attaching step that a step still to run waits for.
fn redo_needed_attachments(steps: &[PlanStep], done: &mut BTreeMap<String, Value>) {
    // Reverse order: an attaching step is needed again when anything after it will run.
    let mut will_run: BTreeSet<&str> = steps
        .iter()
        .filter(|s| !done.contains_key(&s.id) || always_runs(s))
        .map(|s| s.id.as_str())
        .collect();
    for step in steps.iter().rev() {
        if step.effect != Effect::Attach || !done.contains_key(&step.id) {
            continue;
        }
        let needed = steps
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
