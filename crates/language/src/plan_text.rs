//! The text form of a plan: what a reviewer reads before anything touches a disk.

use crate::effect::Effect;
use crate::plan::{Expr, ParamSource, Plan, StepKind};
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
        let _ = writeln!(
            o,
            "\n  {}. {} = {}  [{}]{after}{confirm}",
            n + 1,
            s.id,
            s.op_name(),
            s.effect
        );
        for d in &s.docs {
            let _ = writeln!(o, "       {d}");
        }
        if let StepKind::Manual { text } = &s.kind {
            let _ = writeln!(o, "       asks: {}{}", text.shown(), known_after(text));
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
