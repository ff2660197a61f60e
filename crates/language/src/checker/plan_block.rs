//! Planning a block: a runbook (or a definition planned alone) with its params bound from
//! `--param` values or defaults, expanded, ordered into a [`Plan`].

use super::fill_known::fill_known;
use super::param_value::{bind_value, parse_param_values, symbolic_param};
use super::{Cx, ParamBinding, Scope};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K, suggest};
use crate::graph;
use crate::plan::*;
use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ast::{self, Block, BlockKind, Stmt, StrPart};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// `--param` values by name, in the order given (a list param joins them).
type Given<'p> = BTreeMap<&'p str, Vec<&'p str>>;

impl Cx {
    /// Checks a runbook (or a definition planned alone) and builds its plan.
    pub(super) fn plan_block(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        params: Option<&[(String, String)]>,
    ) -> Option<Plan> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let (plan_params, bindings) = self.bind_plan_params(file, block, params);
        let mut steps = Vec::new();
        let outputs = self.expand(file, block, "", Some(bindings), &mut steps);
        let declares_steps = declares_steps(&block.body);
        if !declares_steps && block.kind == BlockKind::Runbook {
            self.diags
                .push(Diagnostic::warning(file, block.name.span, K::NoSteps));
        }
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        // With other errors the plan is not made, but a cycle among the steps that did lower
        // is still reported: every error of a file at once.
        let has_errors = errors_after > errors_before;
        if !has_errors {
            fill_known(&mut steps);
        }
        let steps = self.order_steps(file, steps)?;
        if has_errors {
            return None;
        }
        let about = block.body.iter().find_map(|s| match s {
            Stmt::About(a) => Some(a.as_plain().unwrap_or_else(|| lit_text(a))),
            _ => None,
        });
        Some(Plan {
            name: block.name.name.clone(),
            file: file.name.clone(),
            is_define: block.kind == BlockKind::Define,
            about,
            docs: block.docs.clone(),
            params: plan_params,
            steps,
            outputs: outputs.into_iter().map(|(k, (_, e))| (k, e)).collect(),
        })
    }

    /// The block's params as the plan shows them, and as the steps see them.
    fn bind_plan_params(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        params: Option<&[(String, String)]>,
    ) -> (Vec<PlanParam>, BTreeMap<String, ParamBinding>) {
        let mut plan_params = Vec::new();
        let mut bindings = BTreeMap::new();
        let mut given: Given = BTreeMap::new();
        if let Some(ps) = params {
            for (k, v) in ps {
                given.entry(k).or_default().push(v);
            }
        }
        let declared: Vec<&ast::Param> = block
            .body
            .iter()
            .filter_map(|s| {
                if let Stmt::Param(p) = s {
                    Some(p)
                } else {
                    None
                }
            })
            .collect();
        self.report_unknown_params(&given, &declared);
        let mut seen_params = BTreeSet::new();
        for p in &declared {
            if !seen_params.insert(p.name.name.clone()) {
                continue; // the duplicate is reported by expand
            }
            let Some(ty) = Type::from_param_name(&p.ty.name) else {
                continue;
            };
            let (value, source) = self.param_value(file, block, p, &ty, &given, params.is_some());
            let bound = match &value {
                Some(v) => bind_value(&p.name.name, &ty, v.clone()),
                None => symbolic_param(&p.name.name, &ty),
            };
            bindings.insert(
                p.name.name.clone(),
                ParamBinding {
                    ty: ty.clone(),
                    value: bound.clone(),
                },
            );
            plan_params.push(PlanParam {
                name: p.name.name.clone(),
                ty,
                value: value.map(|_| bound),
                source,
                docs: p.docs.clone(),
            });
        }
        (plan_params, bindings)
    }

    /// A `--param` the block does not declare is an error.
    fn report_unknown_params(&mut self, given: &Given, declared: &[&ast::Param]) {
        for k in given.keys() {
            if !declared.iter().any(|p| p.name.name == *k) {
                let suggestion = suggest(k, declared.iter().map(|p| p.name.name.as_str()));
                self.diags.push(Diagnostic::bare(K::UnknownParam {
                    name: k.to_string(),
                    suggestion,
                }));
            }
        }
    }

    /// A param's value: given with `--param`, its default, or missing (an error when planning
    /// a runbook with params).
    fn param_value(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        p: &ast::Param,
        ty: &Type,
        given: &Given,
        planning: bool,
    ) -> (Option<Expr>, ParamSource) {
        if let Some(texts) = given.get(p.name.name.as_str()) {
            match parse_param_values(&p.name.name, ty, texts) {
                Ok(v) => (Some(v), ParamSource::Given),
                Err(d) => {
                    self.diags.push(d);
                    (None, ParamSource::Given)
                }
            }
        } else if let Some(def) = &p.default {
            let scope = Scope::empty(file);
            (
                self.lower_typed(&scope, def, ty, &p.name.name),
                ParamSource::Default,
            )
        } else {
            if planning && block.kind == BlockKind::Runbook {
                self.err(
                    file,
                    p.name.span,
                    K::MissingParam {
                        name: p.name.name.clone(),
                        ty: ty.clone(),
                    },
                );
            }
            (None, ParamSource::Missing)
        }
    }

    /// The steps in the order they run; a cycle among them is reported with its path.
    fn order_steps(
        &mut self,
        file: &Arc<SourceFile>,
        steps: Vec<PlanStep>,
    ) -> Option<Vec<PlanStep>> {
        match graph::order(&steps) {
            Ok(order) => {
                // Moved into place, not cloned: a plan's steps are held once.
                let mut slots: Vec<Option<PlanStep>> = steps.into_iter().map(Some).collect();
                Some(order.into_iter().filter_map(|i| slots[i].take()).collect())
            }
            Err(cycle) => {
                let first = &steps[cycle[0]];
                let mut path: Vec<String> = cycle.iter().map(|i| steps[*i].id.clone()).collect();
                path.push(first.id.clone());
                let mut d = Diagnostic::error(file, first.span, K::Cycle { path });
                for i in &cycle[1..] {
                    if steps[*i].file == file.name {
                        d = d.with_label(
                            steps[*i].span,
                            format!("`{}` is in the cycle", steps[*i].id),
                        );
                    }
                }
                self.diags.push(d);
                None
            }
        }
    }
}

/// A string's text with its interpolations shown as written (`${name}`).
fn lit_text(s: &ast::StringLit) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            StrPart::Text(t) => t.clone(),
            StrPart::Interp(r) => format!("${{{}}}", r.root.name),
        })
        .collect()
}

/// Whether statements declare a step (a loop's body included).
fn declares_steps(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Step(_) | Stmt::Manual(_) => true,
        Stmt::For(f) => declares_steps(&f.body),
        _ => false,
    })
}
