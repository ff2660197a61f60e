//! Param values: a `--param` text parsed as its param's type ([`parse_param_value`]), and a
//! param without a value as steps see it (`symbolic_param`).

use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::plan::Expr;
use crate::value_type::Type;

/// Parses a `--param` value as the param's type.
pub fn parse_param_value(name: &str, ty: &Type, text: &str) -> Result<Expr, Diagnostic> {
    let bad = |reason: &str| {
        Diagnostic::bare(K::BadParamValue {
            name: name.into(),
            ty: ty.clone(),
            value: text.into(),
            reason: reason.into(),
        })
    };
    Ok(match ty {
        Type::Int => Expr::Int(
            text.trim()
                .parse()
                .map_err(|_| bad("write a whole number like 2"))?,
        ),
        Type::Size => {
            let t = text.trim();
            let v = if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
                t.parse().ok()
            } else {
                salvage_grammar::parse_size(t).filter(|_| {
                    t.chars().next().is_some_and(|c| c.is_ascii_digit())
                        && t.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_')
                            .chars()
                            .all(|c| c.is_ascii_alphabetic())
                })
            };
            Expr::Size(v.ok_or_else(|| bad("write 512, 4KiB, 5G or 5GB"))?)
        }
        Type::Bool => match text {
            "true" | "yes" | "1" => Expr::Bool(true),
            "false" | "no" | "0" => Expr::Bool(false),
            _ => return Err(bad("write true or false")),
        },
        Type::Duration => Expr::Duration(
            salvage_grammar::parse_duration(text.trim())
                .ok_or_else(|| bad("write 100ms, 30s, 5min or 2h"))?,
        ),
        Type::Path | Type::Device if text.is_empty() => return Err(bad("a path cannot be empty")),
        _ => Expr::Str(text.to_string()),
    })
}

/// A param without a value yet, as steps see it: `Expr::Param`, wrapped as a secret when it
/// is one (so a plan shows `(secret NAME)` and the checker knows where it flows).
pub(super) fn symbolic_param(name: &str, ty: &Type) -> Expr {
    let p = Expr::Param(name.to_string());
    if *ty == Type::Secret {
        Expr::Secret {
            name: name.to_string(),
            value: Box::new(p),
        }
    } else {
        p
    }
}
