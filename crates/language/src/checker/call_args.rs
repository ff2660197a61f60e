//! A definition call's arguments: each checked against the definition's params and bound
//! (secrets stay secret), defaults filled in, missing ones reported; `after:` taken aside.

use super::{Cx, DefineInfo, ParamBinding, Scope};
use crate::diagnostic::{DiagnosticKind as K, suggest};
use crate::plan::Expr;
use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ast;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Param name → its binding in the definition's instance.
type Bindings = BTreeMap<String, ParamBinding>;

impl Cx {
    /// The bindings of a call's instance, and the steps its `after:` names.
    pub(super) fn bind_call_args(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        info: &DefineInfo,
        dfile: &Arc<SourceFile>,
    ) -> (Bindings, Vec<String>, Option<crate::plan::When>) {
        let mut bindings = BTreeMap::new();
        let mut given = BTreeSet::new();
        let mut after = Vec::new();
        let mut when = None;
        for a in &s.args {
            if !given.insert(a.name.name.clone()) {
                let arg = a.name.name.clone();
                self.err(&scope.file, a.name.span, K::DuplicateArg { arg });
                continue;
            }
            if a.name.name == "after" {
                after = self.lower_after(scope, &a.value);
                continue;
            }
            if a.name.name == "when" {
                when = self.lower_when(scope, &a.value);
                continue;
            }
            if let Some(binding) = self.bind_call_arg(scope, s, info, a) {
                bindings.insert(a.name.name.clone(), binding);
            }
        }
        self.bind_unbound_params(scope, s, info, dfile, &given, &mut bindings);
        (bindings, after, when)
    }

    /// One argument of a call: a param of the definition, of its type.
    fn bind_call_arg(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        info: &DefineInfo,
        a: &ast::Arg,
    ) -> Option<ParamBinding> {
        let Some((_, ty, _)) = info.params.iter().find(|(n, _, _)| *n == a.name.name) else {
            let names: Vec<String> = info.params.iter().map(|(n, _, _)| n.clone()).collect();
            let suggestion = suggest(&a.name.name, names.iter().map(String::as_str));
            self.err(
                &scope.file,
                a.name.span,
                K::UnknownArg {
                    op: s.op.name.clone(),
                    arg: a.name.name.clone(),
                    suggestion,
                    expected: names,
                },
            );
            return None;
        };
        let mut e = self.lower_typed(scope, &a.value, ty, &a.name.name)?;
        if *ty == Type::Secret && !e.is_secret() {
            e = Expr::Secret {
                name: a.name.name.clone(),
                value: Box::new(e),
            };
        }
        Some(ParamBinding {
            ty: ty.clone(),
            value: e,
        })
    }

    /// The params the call did not bind: a bad argument bound symbolically (already reported),
    /// a default lowered in the definition's file, or a missing argument (an error).
    fn bind_unbound_params(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        info: &DefineInfo,
        dfile: &Arc<SourceFile>,
        given: &BTreeSet<String>,
        bindings: &mut Bindings,
    ) {
        let symbolic = |name: &String, ty: &Type| ParamBinding {
            ty: ty.clone(),
            value: Expr::Param(name.clone()),
        };
        for (name, ty, default) in &info.params {
            if given.contains(name) && !bindings.contains_key(name) {
                // Reported at the call; bind it symbolically so the expansion says nothing more.
                bindings.insert(name.clone(), symbolic(name, ty));
            }
            if bindings.contains_key(name) {
                continue;
            }
            match default {
                Some(d) => {
                    let empty = Scope::empty(dfile);
                    if let Some(e) = self.lower_typed(&empty, d, ty, name) {
                        let binding = ParamBinding {
                            ty: ty.clone(),
                            value: e,
                        };
                        bindings.insert(name.clone(), binding);
                    }
                }
                None => {
                    self.err(
                        &scope.file,
                        s.op.span,
                        K::MissingArg {
                            op: s.op.name.clone(),
                            arg: name.clone(),
                            about: format!("a {ty}"),
                        },
                    );
                    bindings.insert(name.clone(), symbolic(name, ty));
                }
            }
        }
    }
}
