//! Control statements: `for NAME in LIST { ... }` (its variable declared, its list checked to
//! be a list, its body lowered as templates the run instantiates per element), `assert COND
//! "message"` (a step of its own that later steps wait for), and `when: COND` of a step.

use super::expression::written;
use super::{Cx, Decl, LoopVar, Scope, location};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::effect::Effect;
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast;
use std::collections::{BTreeMap, BTreeSet};

/// Each checked loop's list, its text and the loop's id, by the loop statement's start.
pub(super) type LoopLists = BTreeMap<usize, (Expr, String, String)>;

impl Cx {
    /// Declares a loop's variable (an error when the name is taken: it would hide a step,
    /// a param, or the variable of a loop around it; a sibling loop may reuse it). Returns the
    /// loop's id (`part`, or `part#2` for the second loop over `part`), or `None` when it is
    /// not declared.
    pub(super) fn declare_loop(
        &mut self,
        scope: &mut Scope,
        f: &ast::ForLoop,
        loops: &[String],
        first: &mut BTreeMap<String, (ast::Span, &'static str)>,
    ) -> Option<String> {
        let name = &f.var.name;
        let before = match scope.names.get(name) {
            Some(Decl::LoopVar(vars)) => vars.clone(),
            _ => Vec::new(),
        };
        if let Some((prev, what)) = first.get(name) {
            // A loop of the same name around this one would be hidden by it.
            let around = before.iter().find(|v| loops.contains(&v.id));
            if before.is_empty() || around.is_some() {
                let kind = K::Shadows {
                    name: name.clone(),
                    what: "loop variable",
                    first: what,
                };
                let label = around.map_or(*prev, |v| ast::Span::new(v.at, v.at + 3));
                let d = Diagnostic::error(&scope.file, f.var.span, kind)
                    .with_label(label, "declared here");
                self.diags.push(d);
                return None;
            }
        }
        if scope.params.contains_key(name) {
            let kind = K::Shadows {
                name: name.clone(),
                what: "loop variable",
                first: "param",
            };
            self.err(&scope.file, f.var.span, kind);
            return None;
        }
        first
            .entry(name.clone())
            .or_insert((f.var.span, "loop variable"));
        let id = match before.len() {
            0 => format!("{}{}", scope.prefix, name),
            n => format!("{}{}#{}", scope.prefix, name, n + 1),
        };
        let var = LoopVar {
            id: id.clone(),
            ty: None,
            at: f.span.start,
            enclosing: loops.to_vec(),
        };
        let mut vars = before;
        vars.push(var);
        scope.names.insert(name.clone(), Decl::LoopVar(vars));
        Some(id)
    }

    /// Checks a loop's list (a list, whose element type the variable takes).
    pub(super) fn check_loop_list(
        &mut self,
        scope: &mut Scope,
        f: &ast::ForLoop,
        lists: &mut LoopLists,
    ) {
        let Some(var) = scope
            .names
            .get_mut(&f.var.name)
            .and_then(|d| d.loop_var_at(f.span.start))
        else {
            return;
        };
        let (id, enclosing) = (var.id.clone(), var.enclosing.clone());
        *scope.current.borrow_mut() = enclosing;
        let lowered = self.lower(scope, &f.list);
        scope.current.borrow_mut().clear();
        let Some((list, ty)) = lowered else { return };
        let Type::List(elem) = ty else {
            self.err(&scope.file, f.list.span, K::LoopNotList { ty });
            return;
        };
        if let Some(var) = scope
            .names
            .get_mut(&f.var.name)
            .and_then(|d| d.loop_var_at(f.span.start))
        {
            var.ty = Some(*elem);
        }
        lists.insert(f.span.start, (list, written(scope, &f.list), id));
    }

    /// The step a loop stands for in the plan: its list, waited for like any value.
    pub(super) fn loop_step(
        &self,
        scope: &Scope,
        f: &ast::ForLoop,
        (list, text, id): &(Expr, String, String),
    ) -> PlanStep {
        let mut deps = Vec::new();
        list.collect_deps(&mut deps);
        deps.sort();
        deps.dedup();
        PlanStep {
            id: id.clone(),
            kind: StepKind::ForEach {
                var: f.var.name.clone(),
                list: list.clone(),
                text: text.clone(),
            },
            args: Vec::new(),
            deps,
            after: Vec::new(),
            effect: Effect::Read,
            docs: f.docs.clone(),
            file: scope.file.name.clone(),
            span: f.span,
            location: location(&scope.file, f.span),
            when: None,
            loops: Vec::new(),
        }
    }

    /// An assert: its condition (a bool) and its message (required).
    pub(super) fn lower_assert(&mut self, scope: &Scope, a: &ast::Assert) -> Option<PlanStep> {
        let cond = self.lower_condition(scope, &a.cond, "assert");
        let message = match &a.message {
            Some(m) => self.lower_string(scope, m),
            None => {
                self.err(&scope.file, a.keyword, K::AssertWithoutMessage);
                None
            }
        };
        let (cond, message) = (cond?, message?);
        let mut deps = Vec::new();
        cond.collect_deps(&mut deps);
        message.collect_deps(&mut deps);
        deps.sort();
        deps.dedup();
        let (line, _) = scope.file.line_col(a.span.start);
        Some(PlanStep {
            id: format!("{}assert@{line}", scope.prefix),
            kind: StepKind::Assert {
                cond,
                message,
                text: written(scope, &a.cond),
            },
            args: Vec::new(),
            deps,
            after: Vec::new(),
            effect: Effect::Read,
            docs: a.docs.clone(),
            file: scope.file.name.clone(),
            span: a.span,
            location: location(&scope.file, a.span),
            when: None,
            loops: Vec::new(),
        })
    }

    /// `when: COND` of a step.
    pub(super) fn lower_when(&mut self, scope: &Scope, value: &ast::Value) -> Option<When> {
        let cond = self.lower_condition(scope, value, "when")?;
        Some(When {
            cond,
            text: written(scope, value),
        })
    }
}

/// Marks the steps lowered inside a loop (`steps[start..]`) as its body: the loop is the
/// outermost of their loops so far, and each waits for it.
pub(super) fn enter_loop(steps: &mut [PlanStep], loop_id: &str) {
    for st in steps {
        st.loops.insert(0, loop_id.to_string());
        if !st.deps.iter().any(|d| d == loop_id) && !st.after.iter().any(|a| a == loop_id) {
            st.after.push(loop_id.to_string());
            st.after.sort();
        }
    }
}

/// Adds `when` to each step of a definition call (with `and` to a step's own).
pub(super) fn add_when(steps: &mut [PlanStep], when: &When) {
    for st in steps {
        let mut deps = Vec::new();
        when.cond.collect_deps(&mut deps);
        st.deps.extend(deps);
        st.deps.sort();
        st.deps.dedup();
        st.when = Some(match st.when.take() {
            None => when.clone(),
            Some(own) => When {
                cond: Expr::Op(Operation {
                    op: crate::operation::Operator::And,
                    args: vec![when.cond.clone(), own.cond],
                }),
                text: format!("({}) and ({})", when.text, own.text),
            },
        });
    }
}

/// Every step lowered after an assert in the same block (`steps[start..]`) waits for it, unless
/// the assert needs that step: an assert stops the run before what follows it starts.
pub(super) fn wait_for_asserts(steps: &mut [PlanStep], start: usize) {
    let asserts: Vec<usize> = (start..steps.len())
        .filter(|i| matches!(steps[*i].kind, StepKind::Assert { .. }))
        .collect();
    if asserts.is_empty() {
        return;
    }
    let index: BTreeMap<String, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    for a in asserts {
        let upstream = upstream_of(steps, &index, a);
        let id = steps[a].id.clone();
        for st in steps.iter_mut().skip(a + 1) {
            if !upstream.contains(&st.id) && !st.after.contains(&id) {
                st.after.push(id.clone());
                st.after.sort();
            }
        }
    }
}

/// The ids of every step that step `i` waits for, directly or through others.
fn upstream_of(steps: &[PlanStep], index: &BTreeMap<String, usize>, i: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![i];
    while let Some(j) = todo.pop() {
        for w in steps[j].waits_for() {
            if seen.insert(w.clone()) {
                if let Some(k) = index.get(&w) {
                    todo.push(*k);
                }
            }
        }
    }
    seen
}
