//! The text form of a plan: what a reviewer reads before anything touches a disk.

use crate::effect::Effect;
use crate::plan::{Expr, ParamSource, Plan, PlanStep, StepKind};
use std::fmt::Write;

/// Renders a plan as text.
pub fn render(plan: &Plan) -> String {
    let mut o = String::new();
    let kind = if plan.is_define { "define" } else { "runbook" };
    let _ = writeln!(o, "{kind} {:?}  ({})", plan.name, plan.file);
    if let Some(about) = &plan.about {
        let _ = writeln!(o, "  {about}");
    }
    for d in &plan.docs {
        let _ = writeln!(o, "  {d}");
    }
    if !plan.params.is_empty() {
        let _ = writeln!(o, "\nparams");
        let w = plan.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let tw = plan
            .params
            .iter()
            .map(|p| p.ty.to_string().len())
            .max()
            .unwrap_or(0);
        for p in &plan.params {
            let value = match (&p.value, p.source) {
                (Some(v), _) => v.shown(),
                (None, _) => "(not given)".into(),
            };
            let source = match p.source {
                ParamSource::Given => "given",
                ParamSource::Default => "default",
                ParamSource::Missing => "required",
            };
            let _ = writeln!(
                o,
                "  {:w$}  {:tw$}  {value}  ({source})",
                p.name,
                p.ty.to_string()
            );
            for d in &p.docs {
                let _ = writeln!(o, "  {:w$}  {d}", "");
            }
        }
    }
    let _ = writeln!(o, "\nsteps ({}, in order)", plan.steps.len());
    for (n, s) in plan.steps.iter().enumerate() {
        let waits = s.waits_for();
        let after = if waits.is_empty() {
            String::new()
        } else {
            format!("  after {}", waits.join(", "))
        };
        let confirm = if s.effect == Effect::Modify {
            "  needs --yes"
        } else {
            ""
        };
        let each = in_loops(plan, s);
        match &s.kind {
            StepKind::ForEach { var, list, text } => {
                let _ = writeln!(
                    o,
                    "\n  {}. for each {var} in {text}{}{each}",
                    n + 1,
                    known_list(list)
                );
                let _ = writeln!(
                    o,
                    "       the steps in it run once per element, as STEP[1], STEP[2], ... in list order"
                );
            }
            StepKind::Assert { text, .. } => {
                let _ = writeln!(o, "\n  {}. assert {text}{after}{each}", n + 1);
            }
            _ => {
                let _ = writeln!(
                    o,
                    "\n  {}. {} = {}  [{}]{after}{confirm}{each}",
                    n + 1,
                    s.id,
                    s.op_name(),
                    s.effect
                );
            }
        }
        if let Some(w) = &s.when {
            let _ = writeln!(o, "       when {}{}", w.text, condition_note(&w.cond));
        }
        for d in &s.docs {
            let _ = writeln!(o, "       {d}");
        }
        if let StepKind::Manual { text } = &s.kind {
            let _ = writeln!(o, "       asks: {}{}", text.shown(), known_after(text));
        }
        if let StepKind::Assert { cond, message, .. } = &s.kind {
            let _ = writeln!(
                o,
                "       checked as soon as it is known{}; when false the run starts nothing more, cleans up and stops (exit 7): {}",
                condition_note(cond),
                message.shown()
            );
        }
        let w = s.args.iter().map(|a| a.name.len()).max().unwrap_or(0);
        for a in &s.args {
            let note = if a.defaulted {
                "  (default)".to_string()
            } else {
                known_after(&a.value)
            };
            let _ = writeln!(o, "       {:w$}  {}{note}", a.name, a.value.shown());
        }
        let cmds = s.commands();
        if !cmds.is_empty() {
            let _ = writeln!(o, "     runs");
            for c in cmds {
                let _ = writeln!(o, "       {c}");
            }
        }
        let cleanup = s.cleanup();
        if !cleanup.is_empty() {
            let _ = writeln!(o, "     cleanup");
            for c in cleanup {
                let _ = writeln!(o, "       {c}");
            }
        }
    }
    let undo: Vec<_> = plan
        .steps
        .iter()
        .rev()
        .filter(|s| !s.cleanup().is_empty())
        .collect();
    if !undo.is_empty() {
        let _ = writeln!(
            o,
            "\ncleanup, in the order it runs (at the end, on failure, on Ctrl-C, after a crash)"
        );
        for s in undo {
            for c in s.cleanup() {
                let _ = writeln!(o, "  {}: {c}", s.id);
            }
        }
    }
    if !plan.outputs.is_empty() {
        let _ = writeln!(o, "\noutputs");
        for (k, v) in &plan.outputs {
            let _ = writeln!(o, "  {k} = {}{}", v.shown(), known_after(v));
        }
    }
    let modify: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.effect == Effect::Modify)
        .map(|s| s.id.as_str())
        .collect();
    let _ = writeln!(o);
    if modify.is_empty() {
        let _ = writeln!(
            o,
            "nothing here modifies existing data; `salvage run` needs no --yes"
        );
    } else {
        let _ = writeln!(
            o,
            "modifies existing data: {} (run with --yes, or answer yes at the prompt)",
            modify.join(", ")
        );
    }
    o
}

/// `  for each part` after a step inside loops (the innermost last).
fn in_loops(plan: &Plan, s: &PlanStep) -> String {
    let vars: Vec<String> = s
        .loops
        .iter()
        .map(|id| {
            plan.steps
                .iter()
                .find(|l| l.id == *id)
                .and_then(|l| match &l.kind {
                    StepKind::ForEach { var, .. } => Some(var.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| id.clone())
        })
        .collect();
    if vars.is_empty() {
        String::new()
    } else {
        format!("  (for each {})", vars.join(", each "))
    }
}

/// `, known after table` for a loop's list; `, 3 elements` when it is known now.
fn known_list(list: &Expr) -> String {
    let mut deps = Vec::new();
    list.collect_deps(&mut deps);
    deps.sort();
    deps.dedup();
    match list {
        Expr::List(items) if deps.is_empty() && items.len() == 1 => ", 1 element".to_string(),
        Expr::List(items) if deps.is_empty() => format!(", {} elements", items.len()),
        _ if deps.is_empty() => String::new(),
        _ => format!(", known after {}", deps.join(", ")),
    }
}

/// `, known after check` for a condition; `  (true now)` / `  (false now)` when known.
fn condition_note(cond: &Expr) -> String {
    let mut deps = Vec::new();
    cond.collect_deps(&mut deps);
    deps.sort();
    deps.dedup();
    match cond {
        Expr::Bool(true) => "  (true now)".into(),
        Expr::Bool(false) => "  (false now: skipped)".into(),
        _ if deps.is_empty() => String::new(),
        _ => format!(", known after {}", deps.join(", ")),
    }
}

/// `  (from img.dest)` when a value comes from a step but is known now; `  (known after x, y)`
/// when it is not; nothing for plain values.
fn known_after(e: &Expr) -> String {
    let mut deps = Vec::new();
    e.collect_deps(&mut deps);
    deps.sort();
    deps.dedup();
    if deps.is_empty() {
        return String::new();
    }
    match e {
        Expr::Ref(r) if r.known.is_some() => format!("  (from {})", r.display_path()),
        Expr::Ref(r) => format!("  (known after {})", r.step),
        _ if e.known_text().is_some() => String::new(),
        _ => format!("  (known after {})", deps.join(", ")),
    }
}
