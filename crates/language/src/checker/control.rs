//! Control statements: `for NAME in LIST { ... }` (its variable declared, its list checked to
//! be a list, its body lowered as templates the run instantiates per element), `assert COND
//! "message"` (a step of its own that later steps wait for), and `when: COND` of a step.

use super::expression::written;
use super::{Cx, Decl, Scope, location};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::effect::Effect;
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast;
use std::collections::{BTreeMap, BTreeSet};

/// Each checked loop's list and its text, by the loop statement's start.
pub(super) type LoopLists = BTreeMap<usize, (Expr, String)>;

impl Cx {
    /// Declares a loop's variable (an error when the name is taken: it would hide a step or
    /// param). Returns the loop's id, or `None` when it is not declared.
    pub(super) fn declare_loop(
        &mut self,
        scope: &mut Scope,
        f: &ast::ForLoop,
        loops: &[String],
        first: &mut BTreeMap<String, (ast::Span, &'static str)>,
    ) -> Option<String> {
        let name = &f.var.name;
        if let Some((prev, what)) = first.get(name) {
            let kind = K::Shadows {
                name: name.clone(),
                what: "loop variable",
                first: what,
            };
            let d =
                Diagnostic::error(&scope.file, f.var.span, kind).with_label(*prev, "declared here");
            self.diags.push(d);
            return None;
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
        first.insert(name.clone(), (f.var.span, "loop variable"));
        let id = format!("{}{}", scope.prefix, name);
        scope.names.insert(
            name.clone(),
            Decl::LoopVar {
                id: id.clone(),
                ty: None,
            },
        );
        if !loops.is_empty() {
            scope.loops_of.insert(name.clone(), loops.to_vec());
        }
        Some(id)
    }

    /// Checks a loop's list (a list, whose element type the variable takes).
    pub(super) fn check_loop_list(
        &mut self,
        scope: &mut Scope,
        f: &ast::ForLoop,
        lists: &mut LoopLists,
    ) {
        let enclosing = scope.loops_of.get(&f.var.name).cloned().unwrap_or_default();
        *scope.current.borrow_mut() = enclosing;
        let lowered = self.lower(scope, &f.list);
        scope.current.borrow_mut().clear();
        let Some((list, ty)) = lowered else { return };
        let Type::List(elem) = ty else {
            self.err(&scope.file, f.list.span, K::LoopNotList { ty });
            return;
        };
        if let Some(Decl::LoopVar { ty, .. }) = scope.names.get_mut(&f.var.name) {
            *ty = Some(*elem);
        }
        lists.insert(f.span.start, (list, written(scope, &f.list)));
    }

    /// The step a loop stands for in the plan: its list, waited for like any value.
    pub(super) fn loop_step(
        &self,
        scope: &Scope,
        f: &ast::ForLoop,
        list: &Expr,
        text: &str,
    ) -> PlanStep {
        let mut deps = Vec::new();
        list.collect_deps(&mut deps);
        deps.sort();
        deps.dedup();
        PlanStep {
            id: format!("{}{}", scope.prefix, f.var.name),
            kind: StepKind::ForEach {
                var: f.var.name.clone(),
                list: list.clone(),
                text: text.to_string(),
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
