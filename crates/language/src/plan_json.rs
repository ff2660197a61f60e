//! The JSON form of a plan, for scripts and reviewers: the same content as the text form.

use crate::plan::{Plan, StepKind};
use serde_json::{Map, Value, json};

/// Renders a plan as a JSON value.
pub fn render(plan: &Plan) -> Value {
    let params: Vec<Value> = plan
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "type": p.ty.to_string(),
                "value": p.value.as_ref().map(|v| v.to_json()),
                "source": p.source,
                "docs": p.docs,
            })
        })
        .collect();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let mut args = Map::new();
            for a in &s.args {
                args.insert(a.name.clone(), a.value.to_json());
            }
            let defaulted: Vec<&str> = s
                .args
                .iter()
                .filter(|a| a.defaulted)
                .map(|a| a.name.as_str())
                .collect();
            let mut v = json!({
                "id": s.id,
                "op": s.op_name(),
                "effect": s.effect,
                "needs_confirmation": s.effect == crate::effect::Effect::Modify,
                "args": args,
                "defaulted": defaulted,
                "deps": s.deps,
                "after": s.after,
                "commands": s.commands(),
                "cleanup": s.cleanup(),
                "docs": s.docs,
                "location": s.location,
            });
            match &s.kind {
                StepKind::Manual { text } => v["asks"] = text.to_json(),
                StepKind::ForEach { var, list, text } => {
                    v["for_each"] = json!({ "var": var, "list": list.to_json(), "written": text });
                }
                StepKind::Assert {
                    cond,
                    message,
                    text,
                } => {
                    v["assert"] = json!({
                        "condition": cond.to_json(),
                        "written": text,
                        "message": message.to_json(),
                    });
                }
                StepKind::Op(_) => {}
            }
            if let Some(w) = &s.when {
                v["when"] = json!({ "condition": w.cond.to_json(), "written": w.text });
            }
            if !s.loops.is_empty() {
                v["loops"] = json!(s.loops);
            }
            v
        })
        .collect();
    let cleanup: Vec<Value> = plan
        .steps
        .iter()
        .rev()
        .flat_map(|s| {
            s.cleanup()
                .into_iter()
                .map(move |c| json!({ "step": s.id, "action": c }))
        })
        .collect();
    let outputs: Map<String, Value> = plan
        .outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    json!({
        "format": "salvage-plan/1",
        "kind": if plan.is_define { "define" } else { "runbook" },
        "name": plan.name,
        "file": plan.file,
        "about": plan.about,
        "params": params,
        "steps": steps,
        "cleanup_order": cleanup,
        "outputs": outputs,
    })
}
