//! The checked plan: every step with its op, resolved arguments, dependencies and effect, in a
//! deterministic topological order. Everything the checker could know is known here.

use crate::effect::Effect;
use crate::op_table::{ArgView, OpSig};
use crate::operation::Operator;
use crate::value_type::Type;
use salvage_grammar::ast::Span;
use std::collections::BTreeMap;

/// A whole checked runbook (or a definition planned on its own).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The runbook's (or definition's) name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Whether this is a `define` planned on its own.
    pub is_define: bool,
    /// `about`, when given.
    pub about: Option<String>,
    /// `///` docs of the block.
    pub docs: Vec<String>,
    /// Params with their resolved values.
    pub params: Vec<PlanParam>,
    /// Steps in execution order (a topological order, ties broken by source order).
    pub steps: Vec<PlanStep>,
    /// Declared outputs.
    pub outputs: Vec<(String, Expr)>,
}

/// Where a param's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamSource {
    /// `--param NAME=VALUE`.
    Given,
    /// The declaration's default.
    Default,
    /// Not given (only while checking; planning refuses it).
    Missing,
}

/// A param and its value.
#[derive(Debug, Clone)]
pub struct PlanParam {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its value, when known.
    pub value: Option<Expr>,
    /// Where the value came from.
    pub source: ParamSource,
    /// `///` docs.
    pub docs: Vec<String>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Calls an op.
    Op(&'static OpSig),
    /// Waits for a human.
    Manual {
        /// What the human is asked.
        text: Expr,
    },
    /// `for VAR in LIST { ... }`: once the list is known, the run makes one instance of each
    /// step of the body per element (`STEP[1]`, `STEP[2]`, ... in list order). The step's id is
    /// the loop variable's; the body's steps name it in [`PlanStep::loops`].
    ForEach {
        /// The loop variable.
        var: String,
        /// The list.
        list: Expr,
        /// The list as written (`table.partitions`).
        text: String,
    },
    /// `assert COND "message"`: evaluated as soon as what it references is known; when false
    /// the run launches nothing more, cleans up and exits with the message.
    Assert {
        /// The condition.
        cond: Expr,
        /// The message, with its interpolations.
        message: Expr,
        /// The condition as written.
        text: String,
    },
}

/// `when: COND` of a step: the step runs only when it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// The condition.
    pub cond: Expr,
    /// The condition as written (whitespace collapsed), for plans, summaries and the log.
    pub text: String,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub struct PlanStep {
    /// Its id: the name, prefixed by the calling steps inside definitions (`mnt/check`).
    pub id: String,
    /// Op or manual.
    pub kind: StepKind,
    /// Arguments, in the op table's order, defaults filled in.
    pub args: Vec<PlanArg>,
    /// Steps whose outputs it uses (sorted).
    pub deps: Vec<String>,
    /// Steps it waits for without using their outputs (sorted).
    pub after: Vec<String>,
    /// Its effect class for these arguments.
    pub effect: Effect,
    /// `///` docs.
    pub docs: Vec<String>,
    /// The file and span of its declaration.
    pub file: String,
    /// Where it is declared.
    pub span: Span,
    /// `file:line:col` of the declaration.
    pub location: String,
    /// `when:`, when given: the step is skipped when it is false.
    pub when: Option<When>,
    /// The `for` loops the step is in, outermost first (their steps' ids); empty outside any.
    /// A step in a loop is a template: the run makes its instances.
    pub loops: Vec<String>,
}

/// One argument of a step.
#[derive(Debug, Clone)]
pub struct PlanArg {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Expr,
    /// Whether the value is the op table's default.
    pub defaulted: bool,
}

/// A resolved value: known now, or known after some step.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// Bytes.
    Size(u64),
    /// Milliseconds.
    Duration(u64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Expr>),
    /// An output of a step, known once it has run; `known` when the plan already knows it
    /// (an output that hands an argument through).
    Ref(StepRef),
    /// Text with pieces known later.
    Interp(Vec<Piece>),
    /// A param whose value is not given (checking without params).
    Param(String),
    /// A value from a secret param: printed as `(secret NAME)`, never shown.
    Secret {
        /// The param's name.
        name: String,
        /// The value.
        value: Box<Expr>,
    },
    /// `a == b`, `not a`, `len(a)`, ...: computed when its operands are known.
    Op(Operation),
}

/// An operator with its operands.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The operator.
    pub op: Operator,
    /// Its operands, in order.
    pub args: Vec<Expr>,
}

/// A reference to a step's output.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRef {
    /// The step's id.
    pub step: String,
    /// The output, then fields and 1-based indexes.
    pub path: Vec<PathElem>,
    /// The value, when the plan knows it already.
    pub known: Option<Box<Expr>>,
}

/// One element of a reference path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum PathElem {
    /// `.name`.
    Field(String),
    /// `[n]`, 1-based.
    Index(u64),
    /// `[param]` while the param's value is not known (checking a definition on its own).
    Var(String),
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A value to insert.
    Value(Expr),
}

impl StepRef {
    /// `step.output[2].field` as written.
    pub fn display_path(&self) -> String {
        let mut s = self.step.clone();
        for p in &self.path {
            match p {
                PathElem::Field(f) => {
                    s.push('.');
                    s.push_str(f);
                }
                PathElem::Index(i) => s.push_str(&format!("[{i}]")),
                PathElem::Var(v) => s.push_str(&format!("[{v}]")),
            }
        }
        s
    }
}

impl Expr {
    /// The text of the value when it is fully known now; secrets included (for the executor).
    pub fn known_text(&self) -> Option<String> {
        Some(match self {
            Expr::Str(s) => s.clone(),
            Expr::Int(i) => i.to_string(),
            Expr::Size(s) => s.to_string(),
            Expr::Duration(d) => salvage_text::duration_text::literal(*d),
            Expr::Bool(b) => b.to_string(),
            Expr::Ref(r) => r.known.as_ref()?.known_text()?,
            Expr::Interp(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Value(v) => out.push_str(&v.known_text()?),
                    }
                }
                out
            }
            Expr::Secret { value, .. } => value.known_text()?,
            Expr::List(_) | Expr::Param(_) | Expr::Op(_) => return None,
        })
    }

    /// How the plan prints the value: secrets masked, unknowns as `(known after STEP)`.
    pub fn shown(&self) -> String {
        match self {
            Expr::Str(s) => s.clone(),
            Expr::Int(i) => i.to_string(),
            Expr::Size(s) => format_size(*s),
            Expr::Duration(d) => salvage_text::duration_text::literal(*d),
            Expr::Bool(b) => b.to_string(),
            Expr::List(items) => {
                format!(
                    "[{}]",
                    items
                        .iter()
                        .map(Expr::shown_quoted)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Expr::Ref(r) => match &r.known {
                Some(k) => k.shown(),
                // `<part.fstype>`: the second loop over `part` (id `part#2`) reads the same.
                None => {
                    let path = r.display_path();
                    match path.split_once('#') {
                        Some((var, rest)) => format!(
                            "<{var}{}>",
                            rest.trim_start_matches(|c: char| c.is_ascii_digit())
                        ),
                        None => format!("<{path}>"),
                    }
                }
            },
            Expr::Interp(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(t),
                        Piece::Value(v) => out.push_str(&v.shown()),
                    }
                }
                out
            }
            Expr::Param(name) => format!("(param {name})"),
            Expr::Secret { name, .. } => format!("(secret {name})"),
            Expr::Op(o) => {
                let args: Vec<String> = o.args.iter().map(Expr::shown_operand).collect();
                match (o.op, args.as_slice()) {
                    (op, [a, b]) if op.is_infix() => format!("{a} {} {b}", op.symbol()),
                    (Operator::Not, [a]) => format!("not {a}"),
                    (op, args) => format!("{}({})", op.symbol(), args.join(", ")),
                }
            }
        }
    }

    /// An operand as an expression shows it: strings quoted, inner operations parenthesised.
    fn shown_operand(&self) -> String {
        match self {
            Expr::Op(o) if o.op.is_infix() => format!("({})", self.shown()),
            _ => self.shown_quoted(),
        }
    }

    /// The value as JSON when it is fully known now (for folding expressions while checking);
    /// secrets and values known later are not.
    pub fn known_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value;
        Some(match self {
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Int(i) => Value::from(*i),
            Expr::Size(s) => Value::from(*s),
            Expr::Duration(d) => Value::from(*d),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::List(items) => {
                Value::Array(items.iter().map(Expr::known_json).collect::<Option<_>>()?)
            }
            Expr::Ref(r) => r.known.as_ref()?.known_json()?,
            Expr::Interp(_) => Value::String(self.known_text()?),
            Expr::Param(_) | Expr::Secret { .. } | Expr::Op(_) => return None,
        })
    }

    fn shown_quoted(&self) -> String {
        match self {
            Expr::Str(_) | Expr::Interp(_) => format!("{:?}", self.shown()),
            _ => self.shown(),
        }
    }

    /// Steps this value waits for, appended to `out`.
    pub fn collect_deps(&self, out: &mut Vec<String>) {
        match self {
            Expr::Ref(r) => out.push(r.step.clone()),
            Expr::List(items) => items.iter().for_each(|i| i.collect_deps(out)),
            Expr::Interp(pieces) => {
                for p in pieces {
                    if let Piece::Value(v) = p {
                        v.collect_deps(out);
                    }
                }
            }
            Expr::Secret { value, .. } => value.collect_deps(out),
            Expr::Op(o) => o.args.iter().for_each(|a| a.collect_deps(out)),
            _ => {}
        }
    }

    /// Whether any part of it comes from a secret.
    pub fn is_secret(&self) -> bool {
        match self {
            Expr::Secret { .. } => true,
            Expr::List(items) => items.iter().any(Expr::is_secret),
            Expr::Interp(pieces) => pieces
                .iter()
                .any(|p| matches!(p, Piece::Value(v) if v.is_secret())),
            Expr::Ref(r) => r.known.as_ref().is_some_and(|k| k.is_secret()),
            Expr::Op(o) => o.args.iter().any(Expr::is_secret),
            _ => false,
        }
    }

    /// The JSON form for machine-readable plans: known values as JSON, unknowns described.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        if self.is_secret() && !matches!(self, Expr::List(_)) {
            return json!({ "secret": true, "shown": self.shown() });
        }
        match self {
            Expr::Str(s) => json!(s),
            Expr::Int(i) => json!(i),
            Expr::Size(s) => json!(s),
            Expr::Duration(d) => json!({ "duration_ms": d }),
            Expr::Bool(b) => json!(b),
            Expr::List(items) => json!(items.iter().map(Expr::to_json).collect::<Vec<_>>()),
            Expr::Ref(r) => match &r.known {
                Some(k) => k.to_json(),
                None => json!({ "known_after": r.step, "ref": r.display_path() }),
            },
            Expr::Interp(_) => match self.known_text() {
                Some(t) => json!(t),
                None => json!({ "known_after": self.deps_sorted(), "template": self.shown() }),
            },
            Expr::Param(name) => json!({ "param": name }),
            Expr::Secret { name, .. } => json!({ "secret": name }),
            Expr::Op(_) => json!({ "known_after": self.deps_sorted(), "expr": self.shown() }),
        }
    }

    fn deps_sorted(&self) -> Vec<String> {
        let mut d = Vec::new();
        self.collect_deps(&mut d);
        d.sort();
        d.dedup();
        d
    }
}

/// `4096` → `4 KiB`; exact byte counts keep their binary unit when they divide evenly.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 || bytes % 1024 != 0 {
        for (unit, div) in [
            ("TB", 1_000_000_000_000u64),
            ("GB", 1_000_000_000),
            ("MB", 1_000_000),
        ] {
            if bytes >= div && bytes % div == 0 {
                return format!("{}{unit}", bytes / div);
            }
        }
        return bytes.to_string();
    }
    let mut v = bytes;
    let mut unit = "B";
    for u in UNITS {
        if v % 1024 != 0 || v < 1024 {
            break;
        }
        v /= 1024;
        unit = u;
    }
    format!("{v}{unit}")
}

impl PlanStep {
    /// The op, for op steps.
    pub fn op(&self) -> Option<&'static OpSig> {
        match self.kind {
            StepKind::Op(op) => Some(op),
            _ => None,
        }
    }

    /// The op's name, or `manual`, `for`, `assert`.
    pub fn op_name(&self) -> &'static str {
        match self.kind {
            StepKind::Op(op) => op.name,
            StepKind::Manual { .. } => "manual",
            StepKind::ForEach { .. } => "for",
            StepKind::Assert { .. } => "assert",
        }
    }

    /// Whether the step is inside a `for`: a template whose instances the run makes.
    pub fn in_loop(&self) -> bool {
        !self.loops.is_empty()
    }

    /// Looks an argument up.
    pub fn arg(&self, name: &str) -> Option<&Expr> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// Every step it waits for, data or ordering, sorted and unique.
    pub fn waits_for(&self) -> Vec<String> {
        let mut all: Vec<String> = self.deps.iter().chain(self.after.iter()).cloned().collect();
        all.sort();
        all.dedup();
        all
    }

    /// The commands it will run, as the plan prints them.
    pub fn commands(&self) -> Vec<String> {
        match self.kind {
            StepKind::Op(op) => op.commands(&ArgsView(self)),
            StepKind::Manual { .. } => {
                vec!["wait for a person's approval (a terminal prompt or --approve)".into()]
            }
            StepKind::ForEach { .. } | StepKind::Assert { .. } => Vec::new(),
        }
    }

    /// The cleanup it registers, as the plan prints it.
    pub fn cleanup(&self) -> Vec<String> {
        match self.kind {
            StepKind::Op(op) => op.cleanup(&ArgsView(self)),
            _ => Vec::new(),
        }
    }
}

/// A step's arguments seen through [`ArgView`].
pub struct ArgsView<'a>(pub &'a PlanStep);

impl ArgView for ArgsView<'_> {
    fn known(&self, name: &str) -> Option<String> {
        self.0.arg(name)?.known_text()
    }

    fn shown(&self, name: &str) -> Option<String> {
        Some(self.0.arg(name)?.shown())
    }

    fn shown_list(&self, name: &str) -> Option<Vec<String>> {
        match self.0.arg(name)? {
            Expr::List(items) => Some(items.iter().map(Expr::shown).collect()),
            other => Some(vec![other.shown()]),
        }
    }
}

/// Args given by name, for computing effects while checking.
pub(crate) struct MapView<'a>(pub(crate) &'a BTreeMap<String, Expr>);

impl ArgView for MapView<'_> {
    fn known(&self, name: &str) -> Option<String> {
        self.0.get(name)?.known_text()
    }

    fn shown(&self, name: &str) -> Option<String> {
        Some(self.0.get(name)?.shown())
    }

    fn shown_list(&self, name: &str) -> Option<Vec<String>> {
        match self.0.get(name)? {
            Expr::List(items) => Some(items.iter().map(Expr::shown).collect()),
            other => Some(vec![other.shown()]),
        }
    }
}
