//! An op step: its arguments checked against the op table (unknown, duplicate, missing,
//! one-of groups, types, choices) and lowered into a [`PlanStep`] with its effect and deps.

use super::{Cx, Scope, location};
use crate::diagnostic::{DiagnosticKind as K, suggest};
use crate::op_table::OpSig;
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast;
use std::collections::{BTreeMap, BTreeSet};

/// An op step's arguments as lowered so far.
struct OpArgs {
    /// Argument name → value (given, or the op table's default).
    values: BTreeMap<String, Expr>,
    /// Arguments that took the op table's default.
    defaulted: BTreeSet<&'static str>,
    /// The steps `after:` names.
    after: Vec<String>,
    /// `when:`, when given.
    when: Option<When>,
    /// Every argument name written, once.
    given: BTreeSet<String>,
    /// No error so far.
    ok: bool,
}

impl Cx {
    /// Lowers an op step; `None` when any of its arguments is wrong (reported).
    pub(super) fn lower_op_step(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        id: &str,
        sig: &'static OpSig,
    ) -> Option<PlanStep> {
        let mut args = self.lower_op_args(scope, s, sig);
        self.fill_op_defaults(scope, s, sig, &mut args);
        self.check_one_of(scope, s, sig, &mut args);
        if !self.check_dest_is_source(scope, s, sig, &args.values) {
            args.ok = false;
        }
        self.warn_in_place_without_repair(scope, s, sig, &args.values);
        if !args.ok {
            return None;
        }
        Some(plan_step(scope, s, id, sig, args))
    }

    /// The arguments as written: each known to the op, once, of its type.
    fn lower_op_args(&mut self, scope: &Scope, s: &ast::Step, sig: &'static OpSig) -> OpArgs {
        let mut args = OpArgs {
            values: BTreeMap::new(),
            defaulted: BTreeSet::new(),
            after: Vec::new(),
            when: None,
            given: BTreeSet::new(),
            ok: true,
        };
        for a in &s.args {
            if !args.given.insert(a.name.name.clone()) {
                let arg = a.name.name.clone();
                self.err(&scope.file, a.name.span, K::DuplicateArg { arg });
                args.ok = false;
                continue;
            }
            if a.name.name == "after" {
                args.after = self.lower_after(scope, &a.value);
                continue;
            }
            if a.name.name == "when" {
                args.when = self.lower_when(scope, &a.value);
                args.ok &= args.when.is_some();
                continue;
            }
            match self.lower_op_arg(scope, sig, a) {
                Some(e) => {
                    args.values.insert(a.name.name.clone(), e);
                }
                None => args.ok = false,
            }
        }
        args
    }

    /// One argument as written: known to the op, of its type, one of its choices.
    fn lower_op_arg(&mut self, scope: &Scope, sig: &'static OpSig, a: &ast::Arg) -> Option<Expr> {
        let file = &scope.file;
        let Some(asig) = sig.arg(&a.name.name) else {
            let mut names: Vec<&str> = sig.args.iter().map(|x| x.name).collect();
            names.push("after");
            names.push("when");
            let suggestion = suggest(&a.name.name, names.iter().copied());
            self.err(
                file,
                a.name.span,
                K::UnknownArg {
                    op: sig.name.into(),
                    arg: a.name.name.clone(),
                    suggestion,
                    expected: names.iter().map(|n| n.to_string()).collect(),
                },
            );
            return None;
        };
        let e = self.lower_typed(scope, &a.value, &asig.full_type(), &a.name.name)?;
        self.check_choice(file, asig, &e, a.value.span);
        if sig.name == "copy" && asig.name == "paths" {
            self.check_copy_paths(file, &e, &a.value);
        }
        self.check_child_args(file, sig.name, &a.name.name, &e, &a.value);
        Some(e)
    }

    /// The arguments not written: a required one is an error, others take their default.
    fn fill_op_defaults(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        sig: &'static OpSig,
        args: &mut OpArgs,
    ) {
        for asig in sig.args {
            if args.values.contains_key(asig.name) || args.given.contains(asig.name) {
                continue;
            }
            if asig.required {
                self.err(
                    &scope.file,
                    s.op.span,
                    K::MissingArg {
                        op: sig.name.into(),
                        arg: asig.name.into(),
                        about: asig.about.into(),
                    },
                );
                args.ok = false;
            } else if let Some(d) = asig.default {
                args.values
                    .insert(asig.name.into(), default_expr(&asig.ty, d));
                args.defaulted.insert(asig.name);
            }
        }
    }

    /// Each of the op's one-of groups has exactly one argument written.
    fn check_one_of(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        sig: &'static OpSig,
        args: &mut OpArgs,
    ) {
        for group in sig.one_of {
            let n = group.iter().filter(|g| args.given.contains(**g)).count();
            if n != 1 {
                self.err(
                    &scope.file,
                    s.op.span,
                    K::OneOf {
                        op: sig.name.into(),
                        args: group.iter().map(|g| g.to_string()).collect(),
                        given: n,
                    },
                );
                args.ok = false;
            }
        }
    }
}

/// The checked step: its effect from its arguments, its deps from their references.
fn plan_step(scope: &Scope, s: &ast::Step, id: &str, sig: &'static OpSig, a: OpArgs) -> PlanStep {
    let file = &scope.file;
    let effect = sig.effect_of(&MapView(&a.values));
    let mut deps = Vec::new();
    for v in a.values.values() {
        v.collect_deps(&mut deps);
    }
    if let Some(w) = &a.when {
        w.cond.collect_deps(&mut deps);
    }
    deps.sort();
    deps.dedup();
    let args = sig
        .args
        .iter()
        .filter_map(|asig| {
            a.values.get(asig.name).map(|v| PlanArg {
                name: asig.name.into(),
                value: v.clone(),
                defaulted: a.defaulted.contains(asig.name),
            })
        })
        .collect();
    PlanStep {
        id: id.to_string(),
        kind: StepKind::Op(sig),
        args,
        deps,
        after: a.after,
        effect,
        docs: s.docs.clone(),
        file: file.name.clone(),
        span: s.span,
        location: location(file, s.span),
        when: a.when,
        loops: Vec::new(),
    }
}

/// The op table's default text as a value of the argument's type.
fn default_expr(ty: &Type, text: &str) -> Expr {
    match ty {
        Type::Int => text
            .parse()
            .map(Expr::Int)
            .unwrap_or_else(|_| Expr::Str(text.into())),
        Type::Size => salvage_grammar::parse_size(text)
            .map(Expr::Size)
            .unwrap_or_else(|| Expr::Str(text.into())),
        Type::Bool => Expr::Bool(text == "true"),
        Type::Duration => salvage_grammar::parse_duration(text)
            .map(Expr::Duration)
            .unwrap_or_else(|| Expr::Str(text.into())),
        _ => Expr::Str(text.into()),
    }
}
