//! Operations of expressions (`==` `!=` `<` `<=` `>` `>=`, `and` `or` `not`, `len`,
//! `contains`): what the checker builds, and the one evaluator the plan (when every operand is
//! known now) and the run (when the steps they wait for have run) both use.

use serde_json::Value;
use std::cmp::Ordering;

/// An operator of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// `a < b`.
    Lt,
    /// `a <= b`.
    Le,
    /// `a > b`.
    Gt,
    /// `a >= b`.
    Ge,
    /// `a and b`.
    And,
    /// `a or b`.
    Or,
    /// `not a`.
    Not,
    /// `len(list)`.
    Len,
    /// `contains(list, value)`.
    Contains,
}

impl Operator {
    /// The operator as written (`==`, `and`, `len`).
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Eq => "==",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::And => "and",
            Operator::Or => "or",
            Operator::Not => "not",
            Operator::Len => "len",
            Operator::Contains => "contains",
        }
    }

    /// Whether it is written between its two operands.
    pub fn is_infix(self) -> bool {
        !matches!(self, Operator::Not | Operator::Len | Operator::Contains)
    }

    /// The functions an expression may call, for "did you mean".
    pub const FUNCTIONS: &'static [&'static str] = &["len", "contains"];
}

/// Applies an operator to operand values (JSON, as the run resolves them: sizes in bytes,
/// durations in milliseconds, a missing field as null). An error says why the operands do not
/// fit (the checker's types make that rare: a null compared by order, say).
pub fn apply(op: Operator, args: &[Value]) -> Result<Value, String> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match op {
        Operator::Eq => Value::Bool(equal(arg(0), arg(1))),
        Operator::Ne => Value::Bool(!equal(arg(0), arg(1))),
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
            let ord = order(arg(0), arg(1)).ok_or_else(|| {
                format!(
                    "cannot compare {} {} {} by order",
                    arg(0),
                    op.symbol(),
                    arg(1)
                )
            })?;
            Value::Bool(match op {
                Operator::Lt => ord == Ordering::Less,
                Operator::Le => ord != Ordering::Greater,
                Operator::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        Operator::And => Value::Bool(truth(arg(0))? && truth(arg(1))?),
        Operator::Or => Value::Bool(truth(arg(0))? || truth(arg(1))?),
        Operator::Not => Value::Bool(!truth(arg(0))?),
        Operator::Len => match arg(0) {
            Value::Array(items) => Value::from(items.len()),
            Value::Null => Value::from(0),
            other => return Err(format!("len() of {other}, which is not a list")),
        },
        Operator::Contains => match arg(0) {
            Value::Array(items) => Value::Bool(items.iter().any(|i| equal(i, arg(1)))),
            Value::Null => Value::Bool(false),
            other => return Err(format!("contains() in {other}, which is not a list")),
        },
    })
}

/// A condition's value: true or false (anything else is an error).
pub fn truth(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{v} is not true or false"))
}

/// Equality as the language sees it: numbers by value (an int equals the same size), the rest
/// as JSON.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => order(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// The order of two numbers (ints, sizes in bytes, durations in ms); `None` for anything else.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return Some(x.cmp(&y));
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return Some(x.cmp(&y));
            }
            x.as_f64()?.partial_cmp(&y.as_f64()?)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compares_numbers_strings_and_lists() {
        assert_eq!(
            apply(Operator::Eq, &[json!("ext4"), json!("ext4")]),
            Ok(json!(true))
        );
        assert_eq!(
            apply(Operator::Ne, &[json!("swap"), json!("ext4")]),
            Ok(json!(true))
        );
        assert_eq!(
            apply(Operator::Eq, &[json!(null), json!("ext4")]),
            Ok(json!(false))
        );
        assert_eq!(
            apply(Operator::Gt, &[json!(2_000_000u64), json!(1_048_576)]),
            Ok(json!(true))
        );
        assert_eq!(
            apply(Operator::Le, &[json!(-1), json!(u64::MAX)]),
            Ok(json!(true))
        );
        assert_eq!(apply(Operator::Ge, &[json!(3), json!(4)]), Ok(json!(false)));
        assert!(apply(Operator::Lt, &[json!("a"), json!(1)]).is_err());
        assert_eq!(apply(Operator::Len, &[json!([1, 2, 3])]), Ok(json!(3)));
        assert_eq!(
            apply(
                Operator::Contains,
                &[json!(["ext4", "swap"]), json!("swap")]
            ),
            Ok(json!(true))
        );
        assert_eq!(
            apply(Operator::Contains, &[json!([1, 2]), json!(3)]),
            Ok(json!(false))
        );
    }

    #[test]
    fn logic_wants_booleans() {
        assert_eq!(
            apply(Operator::And, &[json!(true), json!(false)]),
            Ok(json!(false))
        );
        assert_eq!(
            apply(Operator::Or, &[json!(false), json!(true)]),
            Ok(json!(true))
        );
        assert_eq!(apply(Operator::Not, &[json!(false)]), Ok(json!(true)));
        assert!(apply(Operator::Not, &[json!("yes")]).is_err());
    }
}
