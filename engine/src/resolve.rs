//! Resolving a step's arguments at run time: plan expressions plus the outputs of the steps
//! already run become JSON values; secrets are collected for redaction; the fingerprint that
//! decides resume is computed from them.

use salvage_language::plan::{Expr, PathElem, Piece, PlanStep};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A step's arguments, resolved.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Argument name → value.
    pub args: BTreeMap<String, Value>,
    /// Secret values that must never reach the log.
    pub secrets: Vec<(String, String)>,
}

/// Resolves every argument of `step` from the outputs of earlier steps.
pub fn resolve_step(
    step: &PlanStep,
    outputs: &BTreeMap<String, Value>,
) -> Result<Resolved, String> {
    let mut r = Resolved::default();
    for a in &step.args {
        let v = resolve(&a.value, outputs, &mut r.secrets)?;
        r.args.insert(a.name.clone(), v);
    }
    use salvage_language::plan::StepKind;
    match &step.kind {
        StepKind::Manual { text } => {
            let v = resolve(text, outputs, &mut r.secrets)?;
            r.args.insert("text".into(), v);
        }
        StepKind::ForEach { list, .. } => {
            let v = resolve(list, outputs, &mut r.secrets)?;
            r.args.insert("list".into(), v);
        }
        StepKind::Assert { cond, message, .. } => {
            let v = resolve(cond, outputs, &mut r.secrets)?;
            r.args.insert("cond".into(), v);
            let m = resolve(message, outputs, &mut r.secrets)?;
            r.args.insert("message".into(), m);
        }
        StepKind::Op(_) => {}
    }
    Ok(r)
}

/// Whether a step's `when:` holds now (true without one); an error when it cannot be known.
pub fn when_holds(step: &PlanStep, outputs: &BTreeMap<String, Value>) -> Result<bool, String> {
    let Some(w) = &step.when else {
        return Ok(true);
    };
    let v = resolve(&w.cond, outputs, &mut Vec::new())?;
    salvage_language::operation::truth(&v).map_err(|e| format!("when {}: {e}", w.text))
}

/// Resolves one expression.
pub fn resolve(
    e: &Expr,
    outputs: &BTreeMap<String, Value>,
    secrets: &mut Vec<(String, String)>,
) -> Result<Value, String> {
    Ok(match e {
        Expr::Str(s) => Value::String(s.clone()),
        Expr::Int(i) => Value::from(*i),
        Expr::Size(s) => Value::from(*s),
        Expr::Duration(d) => Value::from(*d),
        Expr::Bool(b) => Value::Bool(*b),
        Expr::List(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve(i, outputs, secrets))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Ref(r) => {
            if let Some(k) = &r.known {
                return resolve(k, outputs, secrets);
            }
            let base = outputs
                .get(&r.step)
                .ok_or_else(|| format!("`{}` has not produced outputs", r.step))?;
            walk(base, &r.path).ok_or_else(|| {
                format!(
                    "`{}` is not in the outputs of `{}`",
                    r.display_path(),
                    r.step
                )
            })?
        }
        Expr::Interp(pieces) => {
            let mut s = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => s.push_str(t),
                    Piece::Value(v) => s.push_str(&text_of(&resolve(v, outputs, secrets)?)),
                }
            }
            Value::String(s)
        }
        Expr::Param(name) => return Err(format!("param `{name}` has no value")),
        Expr::Op(o) => {
            let args = o
                .args
                .iter()
                .map(|a| resolve(a, outputs, secrets))
                .collect::<Result<Vec<_>, _>>()?;
            salvage_language::operation::apply(o.op, &args)?
        }
        Expr::Secret { name, value } => {
            let v = resolve(value, outputs, secrets)?;
            let t = text_of(&v);
            if !t.is_empty() {
                secrets.push((name.clone(), t));
            }
            v
        }
    })
}

/// Follows an output path: fields by name; `[n]` on a list of partitions is partition number
/// n, on any other list the n-th item (from 1).
fn walk(base: &Value, path: &[PathElem]) -> Option<Value> {
    let mut cur = base;
    for p in path {
        cur = match p {
            PathElem::Field(f) => cur.get(f)?,
            PathElem::Index(n) => {
                let items = cur.as_array()?;
                items
                    .iter()
                    .find(|i| i.get("number").and_then(Value::as_u64) == Some(*n))
                    .or_else(|| {
                        if items.iter().any(|i| i.get("number").is_some()) {
                            None
                        } else {
                            items.get(usize::try_from(*n).ok()?.checked_sub(1)?)
                        }
                    })?
            }
            PathElem::Var(_) => return None,
        };
    }
    Some(cur.clone())
}

pub use salvage_language::ops::arg_value::text_of;

/// The keyed fingerprint of an op and its resolved inputs (secrets included, but keyed with
/// the state's secret key so the fingerprint reveals nothing).
pub fn fingerprint(key: &[u8; 32], op: &str, args: &BTreeMap<String, Value>) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(op.as_bytes());
    h.update([0]);
    let canonical = serde_json::to_string(&canonical(&Value::Object(
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )))
    .unwrap_or_default();
    h.update(canonical.as_bytes());
    h.update([0]);
    h.update(input_stamps(op, args).as_bytes());
    hex::encode(h.finalize())
}

/// A step's fingerprint chained to those of the steps it waits for, so a step is current only
/// while everything upstream is the run it was computed against: an upstream step that ran
/// again with other inputs (in this run or in an interrupted one) changes every fingerprint
/// after it, and a manual step after it must be approved again.
pub fn chain<'a>(own: &str, upstream: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut up: Vec<(&str, &str)> = upstream.into_iter().collect();
    if up.is_empty() {
        return own.to_string();
    }
    up.sort_unstable();
    let mut h = Sha256::new();
    h.update(own.as_bytes());
    for (id, fp) in up {
        h.update([0]);
        h.update(id.as_bytes());
        h.update([1]);
        h.update(fp.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The identity of the regular files a step reads (device, inode, size, mtime), so a file
/// replaced or changed under the same name makes the step run again on resume. Directories
/// and devices are left out: a remount changes their identity without changing the data.
fn input_stamps(op: &str, args: &BTreeMap<String, Value>) -> String {
    use std::os::unix::fs::MetadataExt;
    let names: &[&str] = match op {
        "image" | "partitions" | "snapshot" => &["source"],
        "fsck" | "mount" => &["image", "partition"],
        "pipe" => &["from"],
        "verify" => &["manifest", "map", "image"],
        "inspect" => &["table"],
        _ => &[],
    };
    let mut out = String::new();
    for name in names {
        let path = match args.get(*name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => match o.get("source") {
                Some(Value::String(s)) => s.clone(),
                _ => continue,
            },
            _ => continue,
        };
        if let Ok(m) = std::fs::metadata(&path) {
            if m.is_file() {
                out.push_str(&format!(
                    "{name}={}:{}:{}:{}.{};",
                    m.dev(),
                    m.ino(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec()
                ));
            }
        }
    }
    out
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let sorted: BTreeMap<&String, Value> =
                o.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Replaces every secret value inside strings of `v` with `(secret NAME)`.
pub fn redact(v: &Value, secrets: &[(String, String)]) -> Value {
    if secrets.is_empty() {
        return v.clone();
    }
    match v {
        Value::String(s) => Value::String(redact_str(s, secrets)),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact(x, secrets)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), redact(x, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every secret param's value in the plan, as `(name, value)`. The executor redacts all of
/// them from every step's log lines and outputs, so a secret that flows through a step's
/// output (an `exec` that echoes it) into a later step, or into a runbook output, never shows.
pub fn run_secrets(plan: &salvage_language::plan::Plan) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plan
        .params
        .iter()
        .flat_map(|p| match &p.value {
            // A list of secrets: each element is a secret of its own (`NAME[2]`).
            Some(Expr::List(items)) => items.iter().collect::<Vec<_>>(),
            Some(v) => vec![v],
            None => Vec::new(),
        })
        .filter_map(|v| match v {
            Expr::Secret { name, value } => Some((name.clone(), value.known_text()?)),
            _ => None,
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // Longest first, so a secret that contains another is replaced whole.
    out.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Puts secret values back where [`redact`] put `(secret NAME)`: for outputs read back from
/// the journal, which stores them redacted.
pub fn unredact(v: &Value, secrets: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            for (name, value) in secrets {
                out = out.replace(&format!("(secret {name})"), value);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| unredact(x, secrets)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), unredact(x, secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces every secret value inside `s` with `(secret NAME)`.
pub fn redact_str(s: &str, secrets: &[(String, String)]) -> String {
    let mut out = s.to_string();
    for (name, value) in secrets {
        if !value.is_empty() {
            out = out.replace(value.as_str(), &format!("(secret {name})"));
        }
    }
    out
}
