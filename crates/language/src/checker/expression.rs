//! Expressions: `a == b`, `a < b`, `and`, `or`, `not`, `len(list)`, `contains(list, v)`
//! lowered to a typed [`Expr::Op`] (sizes compare with sizes, durations with durations, text
//! with text), folded into a value when every operand is known now.

use super::{Cx, Scope};
use crate::diagnostic::{DiagnosticKind as K, suggest};
use crate::operation::{self, Operator};
use crate::plan::*;
use crate::value_type::Type;
use salvage_grammar::ast::{self, BinOp, Ident};

impl Cx {
    /// `left OP right`.
    pub(super) fn lower_binary(
        &mut self,
        scope: &Scope,
        value: &ast::Value,
        op: BinOp,
        left: &ast::Value,
        right: &ast::Value,
    ) -> Option<(Expr, Type)> {
        let l = self.lower(scope, left);
        let r = self.lower(scope, right);
        let ((le, lt), (re, rt)) = (l?, r?);
        let operator = match op {
            BinOp::Eq => Operator::Eq,
            BinOp::Ne => Operator::Ne,
            BinOp::Lt => Operator::Lt,
            BinOp::Le => Operator::Le,
            BinOp::Gt => Operator::Gt,
            BinOp::Ge => Operator::Ge,
            BinOp::And => Operator::And,
            BinOp::Or => Operator::Or,
        };
        let fits = match operator {
            Operator::Eq | Operator::Ne => comparable(&lt, &rt),
            Operator::And | Operator::Or => {
                for (t, v) in [(&lt, left), (&rt, right)] {
                    if *t != Type::Bool {
                        let kind = K::LogicNotBool {
                            op: operator.symbol(),
                            ty: t.clone(),
                        };
                        self.err(&scope.file, v.span, kind);
                        return None;
                    }
                }
                true
            }
            _ => ordered(&lt, &rt),
        };
        if !fits {
            let kind = K::CannotCompare {
                op: operator.symbol(),
                left: lt,
                right: rt,
            };
            self.err(&scope.file, value.span, kind);
            return None;
        }
        Some((fold(operator, vec![le, re]), Type::Bool))
    }

    /// `not a`.
    pub(super) fn lower_not(&mut self, scope: &Scope, inner: &ast::Value) -> Option<(Expr, Type)> {
        let (e, t) = self.lower(scope, inner)?;
        if t != Type::Bool {
            let kind = K::LogicNotBool { op: "not", ty: t };
            self.err(&scope.file, inner.span, kind);
            return None;
        }
        Some((fold(Operator::Not, vec![e]), Type::Bool))
    }

    /// `len(list)`, `contains(list, value)`.
    pub(super) fn lower_call(
        &mut self,
        scope: &Scope,
        value: &ast::Value,
        name: &Ident,
        args: &[ast::Value],
    ) -> Option<(Expr, Type)> {
        let (op, want, usage) = match name.name.as_str() {
            "len" => (Operator::Len, 1, "len(LIST)"),
            "contains" => (Operator::Contains, 2, "contains(LIST, VALUE)"),
            other => {
                let suggestion = suggest(other, Operator::FUNCTIONS.iter().copied());
                let kind = K::UnknownFunction {
                    name: other.to_string(),
                    suggestion,
                };
                self.err(&scope.file, name.span, kind);
                return None;
            }
        };
        if args.len() != want {
            let kind = K::FunctionArity {
                name: op.symbol(),
                want,
                got: args.len(),
                usage,
            };
            self.err(&scope.file, value.span, kind);
            return None;
        }
        let mut lowered = Vec::new();
        for a in args {
            lowered.push(self.lower(scope, a));
        }
        let lowered: Vec<(Expr, Type)> = lowered.into_iter().collect::<Option<_>>()?;
        let Type::List(elem) = &lowered[0].1 else {
            let kind = K::FunctionNotList {
                name: op.symbol(),
                ty: lowered[0].1.clone(),
            };
            self.err(&scope.file, args[0].span, kind);
            return None;
        };
        let ty = match op {
            Operator::Len => Type::Int,
            _ => {
                let got = &lowered[1].1;
                if !comparable(elem, got) {
                    let kind = K::ContainsType {
                        elem: (**elem).clone(),
                        got: got.clone(),
                    };
                    self.err(&scope.file, args[1].span, kind);
                    return None;
                }
                Type::Bool
            }
        };
        let exprs = lowered.into_iter().map(|(e, _)| e).collect();
        Some((fold(op, exprs), ty))
    }

    /// A condition (`when:`, `assert`): a bool, or an error naming `what`.
    pub(super) fn lower_condition(
        &mut self,
        scope: &Scope,
        value: &ast::Value,
        what: &'static str,
    ) -> Option<Expr> {
        let (e, t) = self.lower(scope, value)?;
        if t != Type::Bool {
            self.err(&scope.file, value.span, K::NotBool { what, ty: t });
            return None;
        }
        Some(e)
    }
}

/// Whether `==` may compare values of these types: one accepts the other (a path with text,
/// an int with a size), lists item by item.
fn comparable(a: &Type, b: &Type) -> bool {
    a.accepts(b) || b.accepts(a)
}

/// Whether `<` may order values of these types: numbers and sizes, or durations.
fn ordered(a: &Type, b: &Type) -> bool {
    let number = |t: &Type| matches!(t, Type::Int | Type::Size);
    (number(a) && number(b)) || (*a == Type::Duration && *b == Type::Duration)
}

/// The operation, or its value when every operand is known now (secrets never folded).
fn fold(op: Operator, args: Vec<Expr>) -> Expr {
    let known: Option<Vec<serde_json::Value>> = args.iter().map(Expr::known_json).collect();
    if let Some(values) = known {
        match operation::apply(op, &values) {
            Ok(serde_json::Value::Bool(b)) => return Expr::Bool(b),
            Ok(v) => {
                if let Some(n) = v.as_i64() {
                    return Expr::Int(n);
                }
            }
            Err(_) => {}
        }
    }
    Expr::Op(Operation { op, args })
}

/// The source text of a value, whitespace collapsed (for plans and messages).
pub(super) fn written(scope: &Scope, value: &ast::Value) -> String {
    let text = scope
        .file
        .text
        .get(value.span.start..value.span.end)
        .unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
