//! Param values: a `--param` text parsed as its param's type ([`parse_param_value`]; a list
//! param from a JSON array or one element per `--param`: [`parse_param_values`]), and a param
//! without a value as steps see it (`symbolic_param`).

use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::plan::Expr;
use crate::value_type::Type;

/// Parses the `--param` values given for one param. A list param takes each text as a JSON
/// array (`["a", "b"]`, `[4096, "1MiB"]`) when it starts with `[`, else as one element, and
/// joins them in order (`--param parts=a --param parts=b`); any other param takes the last.
pub fn parse_param_values(name: &str, ty: &Type, texts: &[&str]) -> Result<Expr, Diagnostic> {
    match ty {
        Type::List(elem) => {
            let mut items = Vec::new();
            for text in texts {
                items.extend(parse_list_text(name, ty, elem, text)?);
            }
            Ok(Expr::List(items))
        }
        _ => parse_param_value(name, ty, texts.last().copied().unwrap_or_default()),
    }
}

/// One `--param` text of a list param: a JSON array, or one element.
fn parse_list_text(
    name: &str,
    ty: &Type,
    elem: &Type,
    text: &str,
) -> Result<Vec<Expr>, Diagnostic> {
    // A secret's text is never repeated in a message.
    let shown = |t: &str| {
        if *elem == Type::Secret {
            "(secret)".to_string()
        } else {
            t.to_string()
        }
    };
    if !text.trim_start().starts_with('[') {
        return Ok(vec![
            parse_param_value(name, elem, text)
                .map_err(|_| bad_element(name, ty, &shown(text), 1, elem))?,
        ]);
    }
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        Diagnostic::bare(K::BadParamValue {
            name: name.into(),
            ty: ty.clone(),
            value: shown(text),
            reason: format!(
                "not a JSON array at column {}: {e}; write [\"a\", \"b\"], or give --param {name}=VALUE once per element",
                e.column()
            ),
        })
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let t = match item {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => return Err(bad_element(name, ty, &shown(text), i + 1, elem)),
            };
            parse_param_value(name, elem, &t)
                .map_err(|_| bad_element(name, ty, &shown(text), i + 1, elem))
        })
        .collect()
}

/// Element `n` (1-based) of a list param is not of the element type.
fn bad_element(name: &str, ty: &Type, text: &str, n: usize, elem: &Type) -> Diagnostic {
    let hint = match elem {
        Type::Int => "a whole number like 2",
        Type::Size => "512, 4KiB, 5G or 5GB",
        Type::Bool => "true or false",
        Type::Duration => "100ms, 30s, 5min or 2h",
        Type::Path | Type::Device => "a path that is not empty",
        _ => "text",
    };
    Diagnostic::bare(K::BadParamValue {
        name: name.into(),
        ty: ty.clone(),
        value: text.into(),
        reason: format!("element {n} is not {elem}: write {hint}"),
    })
}

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
        Type::List(_) => return parse_param_values(name, ty, &[text]),
        _ => Expr::Str(text.to_string()),
    })
}

/// A param without a value yet, as steps see it: `Expr::Param`, wrapped as a secret when it
/// is one, or a list of them (so a plan shows `(secret NAME)` and the checker knows where it
/// flows).
pub(super) fn symbolic_param(name: &str, ty: &Type) -> Expr {
    let p = Expr::Param(name.to_string());
    if *ty == Type::Secret || *ty == Type::List(Box::new(Type::Secret)) {
        Expr::Secret {
            name: name.to_string(),
            value: Box::new(p),
        }
    } else {
        p
    }
}

/// A param's value as steps see it: a secret wrapped (so it is redacted wherever it goes); a
/// list of secrets with each element wrapped on its own, as `NAME[1]`, `NAME[2]`, ... (so each
/// is redacted, and put back, by its own name).
pub(super) fn bind_value(name: &str, ty: &Type, value: Expr) -> Expr {
    match (ty, value) {
        (Type::Secret, v) => Expr::Secret {
            name: name.to_string(),
            value: Box::new(v),
        },
        (Type::List(elem), Expr::List(items)) if **elem == Type::Secret => Expr::List(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    s @ Expr::Secret { .. } => s,
                    v => Expr::Secret {
                        name: format!("{name}[{}]", i + 1),
                        value: Box::new(v),
                    },
                })
                .collect(),
        ),
        (_, v) => v,
    }
}
