//! References: `name`, `name.field`, `name[1]`, `name[param]` lowered to a typed [`Expr`]: a
//! param's value, a step's output (a [`StepRef`]), or a definition call's output, then each
//! accessor applied to the value's type.

use super::{Cx, Decl, LoopVar, Scope};
use crate::diagnostic::{DiagnosticKind as K, suggest};
use crate::op_table::OpSig;
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast::{self, Accessor, Ident, Span};
use std::collections::BTreeMap;

/// A reference lowered so far: its value, its type, and how it reads (for messages).
struct Typed {
    expr: Expr,
    ty: Type,
    shown: String,
}

impl Cx {
    /// Lowers a reference, with its type.
    pub(super) fn lower_ref(&mut self, scope: &Scope, r: &ast::Reference) -> Option<(Expr, Type)> {
        let name = &r.root.name;
        if let Some(p) = scope.params.get(name) {
            if !r.path.is_empty() {
                self.err(
                    &scope.file,
                    r.span,
                    K::ParamHasNoFields { name: name.clone() },
                );
                return None;
            }
            return Some((p.value.clone(), p.ty.clone()));
        }
        let Some(decl) = scope.names.get(name) else {
            let suggestion = suggest(name, scope.all_names());
            self.err(
                &scope.file,
                r.root.span,
                K::UnknownRef {
                    name: name.clone(),
                    suggestion,
                },
            );
            return None;
        };
        let (mut cur, rest) = self.ref_root(scope, r, decl)?;
        // A step inside a loop, seen from outside it: one value per element, a list.
        let (outside, _) = scope.loops_outside(name);
        for _ in 0..outside {
            cur.ty = Type::List(Box::new(cur.ty));
        }
        for acc in rest {
            match acc {
                Accessor::IndexParam(id) => self.index_by_param(scope, id, &mut cur)?,
                Accessor::Index(n, span) => self.index(scope, *n, *span, &mut cur)?,
                Accessor::Field(f) => self.field(scope, f, &mut cur)?,
            }
        }
        Some((cur.expr, cur.ty))
    }

    /// The value a declared name gives (a step's output: its value output, or the field
    /// named first), and the accessors left to apply.
    fn ref_root<'r>(
        &mut self,
        scope: &Scope,
        r: &'r ast::Reference,
        decl: &Decl,
    ) -> Option<(Typed, &'r [Accessor])> {
        let name = &r.root.name;
        match decl {
            Decl::Manual { .. } => {
                self.err(
                    &scope.file,
                    r.span,
                    K::ManualHasNoValue { name: name.clone() },
                );
                None
            }
            Decl::Broken => None,
            Decl::LoopVar(vars) => {
                let current = scope.current.borrow();
                let Some(LoopVar { id, ty, .. }) = vars.iter().find(|v| current.contains(&v.id))
                else {
                    let kind = K::LoopVarOutside { name: name.clone() };
                    drop(current);
                    self.err(&scope.file, r.root.span, kind);
                    return None;
                };
                let typed = Typed {
                    expr: Expr::Ref(StepRef {
                        step: id.clone(),
                        path: Vec::new(),
                        known: None,
                    }),
                    ty: ty.clone()?,
                    shown: name.clone(),
                };
                Some((typed, r.path.as_slice()))
            }
            Decl::Op { id, sig } => self.op_output(scope, r, id, sig),
            Decl::Call {
                define, outputs, ..
            } => self.call_output(scope, r, define, outputs),
        }
    }

    /// An op step's output: the field named, or the op's value output.
    fn op_output<'r>(
        &mut self,
        scope: &Scope,
        r: &'r ast::Reference,
        id: &str,
        sig: &'static OpSig,
    ) -> Option<(Typed, &'r [Accessor])> {
        let file = &scope.file;
        let name = &r.root.name;
        let mut rest = r.path.as_slice();
        let out = match rest.first() {
            Some(Accessor::Field(f)) => {
                rest = &rest[1..];
                match sig.output(&f.name) {
                    Some(o) => o,
                    None => {
                        let names: Vec<&str> = sig.outputs.iter().map(|o| o.name).collect();
                        let suggestion = suggest(&f.name, names.iter().copied());
                        self.err(
                            file,
                            f.span,
                            K::UnknownField {
                                base: name.clone(),
                                field: f.name.clone(),
                                suggestion,
                                available: names.iter().map(|n| n.to_string()).collect(),
                            },
                        );
                        return None;
                    }
                }
            }
            _ => match sig.value.and_then(|v| sig.output(v)) {
                Some(o) => o,
                None => {
                    let outputs = sig.outputs.iter().map(|o| o.name.to_string()).collect();
                    let step = name.clone();
                    self.err(file, r.span, K::NoValue { step, outputs });
                    return None;
                }
            },
        };
        let expr = Expr::Ref(StepRef {
            step: id.to_string(),
            path: vec![PathElem::Field(out.name.into())],
            known: None,
        });
        let shown = format!("{name}.{}", out.name);
        Some((
            Typed {
                expr,
                ty: out.full_type(),
                shown,
            },
            rest,
        ))
    }

    /// A definition call's output: the field named first (a call has no value of its own).
    fn call_output<'r>(
        &mut self,
        scope: &Scope,
        r: &'r ast::Reference,
        define: &str,
        outputs: &BTreeMap<String, (Type, Expr)>,
    ) -> Option<(Typed, &'r [Accessor])> {
        let file = &scope.file;
        let name = &r.root.name;
        let Some(Accessor::Field(f)) = r.path.first() else {
            let outputs = outputs.keys().cloned().collect();
            let step = name.clone();
            self.err(file, r.span, K::NoValue { step, outputs });
            return None;
        };
        let rest = &r.path[1..];
        match outputs.get(&f.name) {
            Some((t, e)) => {
                let shown = format!("{name}.{}", f.name);
                let typed = Typed {
                    expr: e.clone(),
                    ty: t.clone(),
                    shown,
                };
                Some((typed, rest))
            }
            None => {
                let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                let suggestion = suggest(&f.name, names.iter().copied());
                self.err(
                    file,
                    f.span,
                    K::UnknownField {
                        base: format!("{name} ({define})"),
                        field: f.name.clone(),
                        suggestion,
                        available: names.iter().map(|n| n.to_string()).collect(),
                    },
                );
                None
            }
        }
    }

    /// `[param]`: an int param's value indexes like a number; a param without one yet
    /// indexes symbolically.
    fn index_by_param(&mut self, scope: &Scope, id: &Ident, cur: &mut Typed) -> Option<()> {
        let file = &scope.file;
        let Some(p) = scope.params.get(&id.name) else {
            let suggestion = suggest(&id.name, scope.params.keys().map(String::as_str));
            self.err(
                file,
                id.span,
                K::UnknownRef {
                    name: id.name.clone(),
                    suggestion,
                },
            );
            return None;
        };
        if !Type::Int.accepts(&p.ty) {
            self.err(
                file,
                id.span,
                K::TypeMismatch {
                    what: "index".into(),
                    want: Type::Int,
                    got: p.ty.clone(),
                },
            );
            return None;
        }
        if let Expr::Int(n) = &p.value {
            return self.index(scope, u64::try_from(*n).unwrap_or(0), id.span, cur);
        }
        let Type::List(elem) = &cur.ty else {
            self.not_indexable(scope, id.span, cur);
            return None;
        };
        let elem = (**elem).clone();
        extend_path(&mut cur.expr, PathElem::Var(id.name.clone()));
        cur.shown.push_str(&format!("[{}]", id.name));
        cur.ty = elem;
        Some(())
    }

    /// `[n]`: an item of a list, counted from 1.
    fn index(&mut self, scope: &Scope, n: u64, span: Span, cur: &mut Typed) -> Option<()> {
        let Type::List(elem) = &cur.ty else {
            self.not_indexable(scope, span, cur);
            return None;
        };
        if n == 0 {
            self.err(&scope.file, span, K::IndexZero);
            return None;
        }
        let elem = (**elem).clone();
        extend_path(&mut cur.expr, PathElem::Index(n));
        cur.shown.push_str(&format!("[{n}]"));
        cur.ty = elem;
        Some(())
    }

    fn not_indexable(&mut self, scope: &Scope, span: Span, cur: &Typed) {
        self.err(
            &scope.file,
            span,
            K::NotIndexable {
                base: cur.shown.clone(),
                ty: cur.ty.clone(),
            },
        );
    }

    /// `.field`: a field of the value's type.
    fn field(&mut self, scope: &Scope, f: &Ident, cur: &mut Typed) -> Option<()> {
        let fields = cur.ty.fields();
        let Some((_, fty, _)) = fields.iter().find(|(n, _, _)| *n == f.name) else {
            let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
            let suggestion = suggest(&f.name, names.iter().copied());
            self.err(
                &scope.file,
                f.span,
                K::UnknownField {
                    base: cur.shown.clone(),
                    field: f.name.clone(),
                    suggestion,
                    available: names.iter().map(|n| n.to_string()).collect(),
                },
            );
            return None;
        };
        let fty = fty.clone();
        extend_path(&mut cur.expr, PathElem::Field(f.name.clone()));
        cur.shown.push_str(&format!(".{}", f.name));
        cur.ty = fty;
        Some(())
    }
}

/// Appends an accessor to a step reference (what the plan knows of it is known no more).
fn extend_path(expr: &mut Expr, elem: PathElem) {
    if let Expr::Ref(r) = expr {
        r.path.push(elem);
        r.known = None;
    }
}
