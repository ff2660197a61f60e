//! Filling in step outputs the plan already knows (an output handing an argument through).

use crate::plan::*;
use std::collections::BTreeMap;

/// Fills in outputs the plan already knows (an output handing an argument through), until
/// nothing changes.
pub(super) fn fill_known(steps: &mut [PlanStep]) {
    for _ in 0..steps.len().max(1) {
        let known: BTreeMap<(String, String), Expr> = steps
            .iter()
            .filter_map(|s| s.op().map(|op| (s, op)))
            .flat_map(|(s, op)| {
                op.outputs.iter().filter_map(move |o| {
                    let arg = s.arg(o.from_arg?)?;
                    arg.known_text()?;
                    Some(((s.id.clone(), o.name.to_string()), arg.clone()))
                })
            })
            .collect();
        let mut changed = false;
        for s in steps.iter_mut() {
            for a in &mut s.args {
                changed |= fill_expr(&mut a.value, &known);
            }
            match &mut s.kind {
                StepKind::Manual { text } => changed |= fill_expr(text, &known),
                StepKind::ForEach { list, .. } => changed |= fill_expr(list, &known),
                StepKind::Assert { cond, message, .. } => {
                    changed |= fill_expr(cond, &known);
                    changed |= fill_expr(message, &known);
                }
                StepKind::Op(_) => {}
            }
            if let Some(w) = &mut s.when {
                changed |= fill_expr(&mut w.cond, &known);
            }
        }
        if !changed {
            break;
        }
    }
}

/// Fills one expression's references from `known`; whether anything changed.
fn fill_expr(e: &mut Expr, known: &BTreeMap<(String, String), Expr>) -> bool {
    match e {
        Expr::Ref(r) if r.known.is_none() && r.path.len() == 1 => {
            let PathElem::Field(f) = &r.path[0] else {
                return false;
            };
            match known.get(&(r.step.clone(), f.clone())) {
                Some(v) => {
                    r.known = Some(Box::new(v.clone()));
                    true
                }
                None => false,
            }
        }
        Expr::List(items) => items.iter_mut().fold(false, |c, i| fill_expr(i, known) | c),
        Expr::Interp(pieces) => pieces.iter_mut().fold(false, |c, p| match p {
            Piece::Value(v) => fill_expr(v, known) | c,
            Piece::Text(_) => c,
        }),
        Expr::Secret { value, .. } => fill_expr(value, known),
        Expr::Op(o) => o
            .args
            .iter_mut()
            .fold(false, |c, a| fill_expr(a, known) | c),
        _ => false,
    }
}
