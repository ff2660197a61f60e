//! Lowering values: a value of the AST becomes a typed [`Expr`] in a scope (literals,
//! lists of one type, strings with interpolation folded where known, references), and
//! `after:` becomes the step ids it names.

use super::{Cx, Decl, Scope};
use crate::diagnostic::{DiagnosticKind as K, suggest};
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast::{self, StrPart, ValueKind};

impl Cx {
    /// Lowers a value that must be of type `want` (`what` names it in the error).
    pub(super) fn lower_typed(
        &mut self,
        scope: &Scope,
        value: &ast::Value,
        want: &Type,
        what: &str,
    ) -> Option<Expr> {
        let (e, got) = self.lower(scope, value)?;
        let got = match (&got, want) {
            // An empty list fits any list.
            (Type::List(_), Type::List(_)) if matches!(&e, Expr::List(v) if v.is_empty()) => {
                want.clone()
            }
            _ => got,
        };
        if !want.accepts(&got) {
            if let ValueKind::Ref(r) = &value.kind {
                if let (1.., Some(loop_id)) = scope.loops_outside(&r.root.name) {
                    let var = loop_id
                        .strip_prefix(scope.prefix.as_str())
                        .unwrap_or(&loop_id);
                    // `part#2`, the second loop over `part`, is written `part`.
                    let var = var.split('#').next().unwrap_or(var).to_string();
                    let shown = scope
                        .file
                        .text
                        .get(r.span.start..r.span.end)
                        .unwrap_or(&r.root.name)
                        .to_string();
                    let kind = K::LoopOutputNotList {
                        shown,
                        var,
                        want: want.clone(),
                    };
                    self.err(&scope.file, value.span, kind);
                    return None;
                }
            }
            self.err(
                &scope.file,
                value.span,
                K::TypeMismatch {
                    what: what.into(),
                    want: want.clone(),
                    got,
                },
            );
            return None;
        }
        Some(e)
    }

    /// Lowers a value, with its type.
    pub(super) fn lower(&mut self, scope: &Scope, value: &ast::Value) -> Option<(Expr, Type)> {
        Some(match &value.kind {
            ValueKind::Str(s) => (self.lower_string(scope, s)?, Type::String),
            ValueKind::Int(i) => (Expr::Int(*i), Type::Int),
            ValueKind::Size(b) => (Expr::Size(*b), Type::Size),
            ValueKind::Duration(d) => (Expr::Duration(*d), Type::Duration),
            ValueKind::Bool(b) => (Expr::Bool(*b), Type::Bool),
            ValueKind::List(items) => self.lower_list(scope, items)?,
            ValueKind::Ref(r) => self.lower_ref(scope, r)?,
            ValueKind::Binary { op, left, right } => {
                self.lower_binary(scope, value, *op, left, right)?
            }
            ValueKind::Not(inner) => self.lower_not(scope, inner)?,
            ValueKind::Call { name, args } => self.lower_call(scope, value, name, args)?,
        })
    }

    /// A list: every item lowered, all of one type (the widest; an empty list is of strings).
    fn lower_list(&mut self, scope: &Scope, items: &[ast::Value]) -> Option<(Expr, Type)> {
        let mut out = Vec::new();
        let mut elem: Option<Type> = None;
        let mut ok = true;
        for item in items {
            match self.lower(scope, item) {
                Some((e, t)) => {
                    match &elem {
                        None => elem = Some(t),
                        Some(prev) if prev.accepts(&t) => {}
                        Some(prev) if t.accepts(prev) => elem = Some(t),
                        Some(prev) => {
                            self.err(
                                &scope.file,
                                item.span,
                                K::TypeMismatch {
                                    what: "list item".into(),
                                    want: prev.clone(),
                                    got: t,
                                },
                            );
                            ok = false;
                        }
                    }
                    out.push(e);
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        Some((
            Expr::List(out),
            Type::List(Box::new(elem.unwrap_or(Type::String))),
        ))
    }

    /// A string: its interpolations lowered (each must interpolate), what is known now folded
    /// into text.
    pub(super) fn lower_string(&mut self, scope: &Scope, s: &ast::StringLit) -> Option<Expr> {
        let mut pieces = Vec::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => pieces.push(Piece::Text(t.clone())),
                StrPart::Interp(r) => match self.lower_ref(scope, r) {
                    Some((e, t)) => {
                        if !t.interpolates() {
                            self.err(&scope.file, r.span, K::NotInterpolable { ty: t });
                            ok = false;
                        } else {
                            pieces.push(Piece::Value(e));
                        }
                    }
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        Some(fold_known(pieces))
    }

    /// `after: [steps]`: the ids of the steps named (a definition call names all of its own).
    pub(super) fn lower_after(&mut self, scope: &Scope, value: &ast::Value) -> Vec<String> {
        let ValueKind::List(items) = &value.kind else {
            self.err(&scope.file, value.span, K::AfterNotSteps);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let ValueKind::Ref(r) = &item.kind else {
                self.err(&scope.file, item.span, K::AfterNotSteps);
                continue;
            };
            if !r.path.is_empty() {
                self.err(&scope.file, item.span, K::AfterNotSteps);
                continue;
            }
            match scope.names.get(&r.root.name) {
                Some(Decl::Op { id, .. }) | Some(Decl::Manual { id }) => out.push(id.clone()),
                Some(Decl::Call { ids, .. }) => out.extend(ids.iter().cloned()),
                Some(Decl::Broken) => {}
                Some(Decl::LoopVar(_)) => {
                    self.err(&scope.file, item.span, K::AfterNotSteps);
                }
                None if scope.params.contains_key(&r.root.name) => {
                    self.err(
                        &scope.file,
                        r.root.span,
                        K::AfterParam {
                            name: r.root.name.clone(),
                        },
                    );
                }
                None => {
                    let suggestion = suggest(&r.root.name, scope.names.keys().map(String::as_str));
                    self.err(
                        &scope.file,
                        r.root.span,
                        K::UnknownRef {
                            name: r.root.name.clone(),
                            suggestion,
                        },
                    );
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Folds what is known now into text: one string when everything is known.
fn fold_known(pieces: Vec<Piece>) -> Expr {
    let mut folded: Vec<Piece> = Vec::new();
    for p in pieces {
        let p = match p {
            Piece::Value(v) if !v.is_secret() => match v.known_text() {
                Some(t) => Piece::Text(t),
                None => Piece::Value(v),
            },
            p => p,
        };
        match (folded.last_mut(), p) {
            (Some(Piece::Text(a)), Piece::Text(b)) => a.push_str(&b),
            (_, p) => folded.push(p),
        }
    }
    match folded.as_slice() {
        [] => Expr::Str(String::new()),
        [Piece::Text(t)] => Expr::Str(t.clone()),
        _ => Expr::Interp(folded),
    }
}
