//! Diagnostics: a carrier (file, span, severity, labels) plus a kind enum whose one `Display`
//! match holds every message the checker can give.

use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ParseErrorKind;
use salvage_grammar::ast::Span;
use std::fmt;
use std::sync::Arc;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The runbook can still be planned and run.
    Warning,
    /// The runbook is refused.
    Error,
}

/// One diagnostic: where, what, and what else to point at.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The file it is about, when it is about a file.
    pub file: Option<Arc<SourceFile>>,
    /// The primary span in that file.
    pub span: Option<Span>,
    /// Error or warning.
    pub severity: Severity,
    /// What went wrong.
    pub kind: DiagnosticKind,
    /// Secondary spans with their notes (e.g. "first defined here").
    pub labels: Vec<(Span, String)>,
}

/// Every message the checker, the loader and the parameter parser can give.
#[derive(Debug, Clone, PartialEq)]
pub enum DiagnosticKind {
    /// The grammar refused the text.
    Syntax(ParseErrorKind),
    /// The file could not be read.
    Io { path: String, error: String },
    /// The file is larger than the loader accepts.
    TooLarge { size: u64, limit: u64 },
    /// The file is not UTF-8.
    NotUtf8 { offset: usize },
    /// A runbook file without a `runbook` block (and without definitions).
    NoRunbook,
    /// More than one `runbook` block in a file.
    TwoRunbooks,
    /// `use` of a file that is neither embedded nor on disk.
    UseNotFound {
        path: String,
        available: Vec<String>,
    },
    /// `use` with an interpolated path.
    UseInterpolated,
    /// Two definitions with one name.
    DuplicateDefine { name: String },
    /// A definition that, through its steps, calls itself.
    DefineRecursion { chain: Vec<String> },
    /// A step calls an op (or definition) that does not exist.
    UnknownOp {
        name: String,
        suggestion: Option<String>,
    },
    /// An argument the op does not take.
    UnknownArg {
        op: String,
        arg: String,
        suggestion: Option<String>,
        expected: Vec<String>,
    },
    /// A required argument not given.
    MissingArg {
        op: String,
        arg: String,
        about: String,
    },
    /// An argument given twice.
    DuplicateArg { arg: String },
    /// None, or more than one, of a group of which exactly one is needed.
    OneOf {
        op: String,
        args: Vec<String>,
        given: usize,
    },
    /// A value of the wrong type.
    TypeMismatch { what: String, want: Type, got: Type },
    /// A value outside an argument's allowed words.
    BadChoice {
        what: String,
        value: String,
        allowed: Vec<&'static str>,
    },
    /// A step's destination is literally its source (`image` dest = source, `copy` to = from).
    DestIsSource {
        dest: String,
        source: String,
        path: String,
    },
    /// A `copy` path that is not relative to `from` (absolute, `..`, empty).
    CopyPathNotRelative {
        value: String,
        why: &'static str,
        fix: String,
    },
    /// A param type that does not exist.
    UnknownType {
        name: String,
        suggestion: Option<String>,
    },
    /// A reference to nothing in scope.
    UnknownRef {
        name: String,
        suggestion: Option<String>,
    },
    /// `x.field` where x has no such field or output.
    UnknownField {
        base: String,
        field: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    /// A bare reference to a step that has no value of its own.
    NoValue { step: String, outputs: Vec<String> },
    /// `x[n]` on something that is not a list.
    NotIndexable { base: String, ty: Type },
    /// `x[0]`: indexes count from 1.
    IndexZero,
    /// A field access on a param (params are plain values).
    ParamHasNoFields { name: String },
    /// A manual step used as a value.
    ManualHasNoValue { name: String },
    /// A list or table inside `"${...}"`.
    NotInterpolable { ty: Type },
    /// Two declarations with one name in one block.
    Duplicate {
        what: &'static str,
        first: &'static str,
        name: String,
    },
    /// A reserved word used as a name.
    Reserved { name: String },
    /// A required param not given on the command line.
    MissingParam { name: String, ty: Type },
    /// `--param` naming no param.
    UnknownParam {
        name: String,
        suggestion: Option<String>,
    },
    /// `--param` without `=`.
    ParamSyntax { given: String },
    /// `--param` whose value does not parse as the param's type.
    BadParamValue {
        name: String,
        ty: Type,
        value: String,
        reason: String,
    },
    /// Steps that depend on each other in a circle.
    Cycle { path: Vec<String> },
    /// `after:` that is not a list of step names.
    AfterNotSteps,
    /// `after:` naming a param rather than a step.
    AfterParam { name: String },
    /// A device param whose path does not exist on this machine (warning).
    DeviceMissing { name: String, path: String },
    /// A device param naming a directory (warning).
    DeviceIsDirectory { name: String, path: String },
    /// A file or device a step reads does not exist on this machine (plan warning).
    PlanInputMissing {
        at: String,
        step: String,
        arg: String,
        path: String,
    },
    /// A step would write onto what it reads (plan warning).
    PlanDestIsSource {
        at: String,
        step: String,
        path: String,
    },
    /// Too little free space where an image goes (plan warning).
    PlanLowSpace {
        at: String,
        step: String,
        dest: String,
        need: u64,
        free: u64,
    },
    /// A program a step will run is not installed here (plan warning).
    PlanProgramMissing {
        at: String,
        step: String,
        program: String,
    },
    /// `in_place: true` outside repair mode (warning).
    InPlaceWithoutRepair,
    /// A runbook with no steps (warning).
    NoSteps,
    /// A secret interpolated into a program's arguments (warning).
    SecretInArgv { op: String, arg: String },
    /// An `env:` item that is not `NAME=VALUE`.
    BadEnvItem { reason: String },
    /// `for x in V` where V is not a list.
    LoopNotList { ty: Type },
    /// `when:` (or `assert`) whose condition is not true/false.
    NotBool { what: &'static str, ty: Type },
    /// `assert COND` without its message.
    AssertWithoutMessage,
    /// Two operands an operator cannot compare.
    CannotCompare {
        op: &'static str,
        left: Type,
        right: Type,
    },
    /// `and`, `or`, `not` over something that is not true/false.
    LogicNotBool { op: &'static str, ty: Type },
    /// A function the expressions do not have.
    UnknownFunction {
        name: String,
        suggestion: Option<String>,
    },
    /// A function called with the wrong number of arguments.
    FunctionArity {
        name: &'static str,
        want: usize,
        got: usize,
        usage: &'static str,
    },
    /// `len(x)` / `contains(x, v)` where x is not a list.
    FunctionNotList { name: &'static str, ty: Type },
    /// `contains(list, v)` where v cannot be in the list.
    ContainsType { elem: Type, got: Type },
    /// A loop variable (or another declaration) with the name of a step or param.
    Shadows {
        name: String,
        what: &'static str,
        first: &'static str,
    },
    /// A loop variable used outside its loop.
    LoopVarOutside { name: String },
    /// A reference into a loop body from outside it, used where one value is wanted.
    LoopOutputNotList {
        shown: String,
        var: String,
        want: Type,
    },
}

fn did_you_mean(f: &mut fmt::Formatter<'_>, suggestion: &Option<String>) -> fmt::Result {
    match suggestion {
        Some(s) => write!(f, "; did you mean `{s}`?"),
        None => Ok(()),
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DiagnosticKind::*;
        match self {
            Syntax(kind) => write!(f, "syntax error: {kind}"),
            Io { path, error } => write!(f, "cannot read `{path}`: {error}"),
            TooLarge { size, limit } => write!(
                f,
                "the file is {size} bytes; a runbook may be at most {limit} bytes"
            ),
            NotUtf8 { offset } => write!(
                f,
                "the file is not UTF-8 text (invalid byte at offset {offset}); save it as UTF-8"
            ),
            NoRunbook => write!(
                f,
                "no `runbook \"NAME\" {{ ... }}` block in this file; a runbook file needs one"
            ),
            TwoRunbooks => write!(f, "a second `runbook` block; a file holds one runbook"),
            UseNotFound { path, available } => write!(
                f,
                "cannot find `{path}` to use: it is not in the embedded stdlib ({}) nor a file beside this one",
                available.join(", ")
            ),
            UseInterpolated => write!(f, "a `use` path must be plain text, without `${{...}}`"),
            DuplicateDefine { name } => write!(f, "definition `{name}` is defined twice"),
            DefineRecursion { chain } => {
                write!(f, "definition uses itself: {}", chain.join(" → "))
            }
            UnknownOp { name, suggestion } => {
                write!(f, "unknown op `{name}`")?;
                did_you_mean(f, suggestion)?;
                if suggestion.is_none() {
                    write!(f, "; the ops are ")?;
                    let names: Vec<_> = crate::op_table::OpSig::all()
                        .iter()
                        .map(|o| o.name)
                        .collect();
                    write!(f, "{}", names.join(", "))?;
                }
                Ok(())
            }
            UnknownArg {
                op,
                arg,
                suggestion,
                expected,
            } => {
                write!(f, "`{op}` has no argument `{arg}`")?;
                did_you_mean(f, suggestion)?;
                if suggestion.is_none() {
                    write!(f, "; it takes {}", expected.join(", "))?;
                }
                Ok(())
            }
            MissingArg { op, arg, about } => {
                write!(f, "`{op}` needs the argument `{arg}` ({about})")
            }
            DuplicateArg { arg } => write!(f, "argument `{arg}` is given twice"),
            OneOf { op, args, given } => {
                let names: Vec<String> = args.iter().map(|a| format!("`{a}`")).collect();
                if *given == 0 {
                    write!(f, "`{op}` needs one of {}", names.join(" or "))
                } else {
                    write!(
                        f,
                        "`{op}` takes only one of {}, not both",
                        names.join(" or ")
                    )
                }
            }
            TypeMismatch { what, want, got } => {
                write!(
                    f,
                    "`{what}` wants {}, but this is {}",
                    article(want),
                    article(got)
                )
            }
            BadChoice {
                what,
                value,
                allowed,
            } => write!(
                f,
                "`{what}` cannot be \"{value}\"; it is one of {}",
                allowed
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DestIsSource { dest, source, path } => write!(
                f,
                "`{dest}` is `{source}` itself (\"{path}\"): the step would write onto what it \
                 reads; give `{dest}` a path elsewhere (on another disk)"
            ),
            CopyPathNotRelative { value, why, fix } => {
                write!(
                    f,
                    "copy path \"{value}\" {why}: `paths` are relative to `from` (the \
                     filesystem's root)"
                )?;
                if !fix.is_empty() && !fix.split('/').any(|c| c == "..") {
                    write!(f, "; write \"{fix}\"")?;
                }
                Ok(())
            }
            UnknownType { name, suggestion } => {
                write!(f, "unknown type `{name}`")?;
                did_you_mean(f, suggestion)?;
                if suggestion.is_none() {
                    write!(
                        f,
                        "; the types are {}, and list<T> of any of them (list<path>)",
                        Type::PARAM_NAMES[..Type::PARAM_NAMES.len() - 1].join(", ")
                    )?;
                }
                Ok(())
            }
            UnknownRef { name, suggestion } => {
                write!(f, "`{name}` is not a param or step")?;
                did_you_mean(f, suggestion)
            }
            UnknownField {
                base,
                field,
                suggestion,
                available,
            } => {
                write!(f, "`{base}` has no `{field}`")?;
                did_you_mean(f, suggestion)?;
                if suggestion.is_none() {
                    if available.is_empty() {
                        write!(f, "; it has no fields")?;
                    } else {
                        write!(f, "; it has {}", available.join(", "))?;
                    }
                }
                Ok(())
            }
            NoValue { step, outputs } => write!(
                f,
                "step `{step}` has no value of its own; use one of its outputs: {}",
                outputs
                    .iter()
                    .map(|o| format!("{step}.{o}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NotIndexable { base, ty } => {
                write!(
                    f,
                    "`{base}` is {}, not a list: it cannot be indexed",
                    article(ty)
                )
            }
            IndexZero => write!(
                f,
                "indexes count from 1 (partition[1] is the first partition, as sdb1 is)"
            ),
            ParamHasNoFields { name } => {
                write!(f, "param `{name}` is a plain value; it has no fields")
            }
            ManualHasNoValue { name } => write!(
                f,
                "manual step `{name}` has no value; to wait for it, write `after: [{name}]`"
            ),
            NotInterpolable { ty } => {
                write!(
                    f,
                    "{} cannot be put inside a string; pass it as a value instead",
                    article(ty)
                )
            }
            Duplicate { what, first, name } if what == first => {
                write!(f, "{what} `{name}` is declared twice")
            }
            Duplicate { what, first, name } => write!(
                f,
                "`{name}` is declared twice: first as a {first}, then as a {what}; give one another name"
            ),
            Reserved { name } => write!(f, "`{name}` is a reserved word; choose another name"),
            MissingParam {
                name,
                ty: Type::Secret,
            } => write!(
                f,
                "param `{name}` (secret) is required: pass --param-file {name}=FILE or set SALVAGE_PARAM_{name} (salvage run also asks at a terminal); --param would show it to every process"
            ),
            MissingParam { name, ty } => write!(
                f,
                "param `{name}` ({ty}) is required: pass --param {name}=VALUE"
            ),
            UnknownParam { name, suggestion } => {
                write!(f, "--param {name}: the runbook has no param `{name}`")?;
                did_you_mean(f, suggestion)
            }
            ParamSyntax { given } => {
                write!(f, "--param {given}: write it as NAME=VALUE")
            }
            BadParamValue {
                name,
                ty,
                value,
                reason,
            } => {
                write!(f, "--param {name}={value}: not {} ({reason})", article(ty))
            }
            Cycle { path } => write!(f, "dependency cycle: {}", path.join(" → ")),
            LoopNotList { ty } => write!(
                f,
                "`for` loops over a list, but this is {}; loop over a list output (table.partitions, \
                 roots.candidates), a literal list [a, b] or a list param",
                article(ty)
            ),
            NotBool { what, ty } => write!(
                f,
                "`{what}` wants true or false, but this is {}; compare it (x == \"...\", n > 0) \
                 or combine conditions with and/or/not",
                article(ty)
            ),
            AssertWithoutMessage => write!(
                f,
                "an assert needs a message saying what went wrong: assert CONDITION \"message\" \
                 (${{...}} may name what was found)"
            ),
            CannotCompare { op, left, right } => write!(
                f,
                "cannot compare {} with {} by `{op}`; compare sizes with sizes (1MiB), durations \
                 with durations (30s), numbers with numbers, text with text",
                article(left),
                article(right)
            ),
            LogicNotBool { op, ty } => write!(
                f,
                "`{op}` works on true or false, but this is {}; compare it first (x == ...)",
                article(ty)
            ),
            UnknownFunction { name, suggestion } => {
                write!(f, "unknown function `{name}`")?;
                did_you_mean(f, suggestion)?;
                if suggestion.is_none() {
                    write!(
                        f,
                        "; the functions are {}",
                        crate::operation::Operator::FUNCTIONS.join(", ")
                    )?;
                }
                Ok(())
            }
            FunctionArity {
                name,
                want,
                got,
                usage,
            } => write!(
                f,
                "`{name}` takes {want} argument{}, not {got}: write {usage}",
                if *want == 1 { "" } else { "s" }
            ),
            FunctionNotList { name, ty } => {
                write!(f, "`{name}` works on a list, but this is {}", article(ty))
            }
            ContainsType { elem, got } => write!(
                f,
                "a list of {elem} cannot contain {}; look for {} instead",
                article(got),
                article(elem)
            ),
            Shadows { name, what, first } => write!(
                f,
                "{what} `{name}` has the name of a {first} declared before; give the {what} \
                 another name"
            ),
            LoopVarOutside { name } => write!(
                f,
                "`{name}` is a loop variable: it is known only inside its `for {{ ... }}`"
            ),
            LoopOutputNotList { shown, var, want } => write!(
                f,
                "`{shown}` is inside `for {var} ...`: outside the loop it is a list (one per \
                 element), but this wants {}; take one (`{shown}[1]`), or move this into the loop",
                article(want)
            ),
            AfterNotSteps => write!(f, "`after` takes a list of step names: after: [a, b]"),
            AfterParam { name } => {
                write!(f, "`{name}` is a param, not a step; `after` orders steps")
            }
            DeviceMissing { name, path } => write!(
                f,
                "param `{name}`: `{path}` does not exist on this machine; the plan is shown as it would run where it does"
            ),
            PlanInputMissing {
                at,
                step,
                arg,
                path,
            } => write!(
                f,
                "{at}: step `{step}` reads {arg} `{path}`, which does not exist on this machine \
                 (check the path, or pass it with --param)"
            ),
            PlanDestIsSource { at, step, path } => write!(
                f,
                "{at}: step `{step}` would write onto its own source `{path}`: choose a \
                 destination on another disk"
            ),
            PlanLowSpace {
                at,
                step,
                dest,
                need,
                free,
            } => write!(
                f,
                "{at}: step `{step}` needs {} for `{dest}` but its filesystem has {} free: \
                 free space or choose another destination",
                crate::plan::format_size(*need),
                crate::plan::format_size(*free)
            ),
            PlanProgramMissing { at, step, program } => write!(
                f,
                "{at}: step `{step}` runs `{program}`, which is not installed here (not on PATH)"
            ),
            DeviceIsDirectory { name, path } => write!(
                f,
                "param `{name}`: `{path}` is a directory; a device is a block device or an image file"
            ),
            InPlaceWithoutRepair => {
                write!(
                    f,
                    "`in_place` only matters with mode: \"repair\"; it is ignored here"
                )
            }
            NoSteps => write!(f, "the runbook has no steps"),
            SecretInArgv { op, arg } => write!(
                f,
                "a secret in `{arg}` of `{op}` shows in /proc/PID/cmdline to every process on the machine while it runs; pass it in the environment instead: `env: [\"NAME=${{secret}}\"]`, and let the program read $NAME"
            ),
            BadEnvItem { reason } => write!(f, "{reason}"),
        }
    }
}

impl Diagnostic {
    /// An error at a span of a file.
    pub fn error(file: &Arc<SourceFile>, span: Span, kind: DiagnosticKind) -> Self {
        Diagnostic {
            file: Some(file.clone()),
            span: Some(span),
            severity: Severity::Error,
            kind,
            labels: Vec::new(),
        }
    }

    /// A warning at a span of a file.
    pub fn warning(file: &Arc<SourceFile>, span: Span, kind: DiagnosticKind) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, span, kind)
        }
    }

    /// An error about no place in a file (a command-line param, an unreadable file).
    pub fn bare(kind: DiagnosticKind) -> Self {
        Diagnostic {
            file: None,
            span: None,
            severity: Severity::Error,
            kind,
            labels: Vec::new(),
        }
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push((span, text.into()));
        self
    }

    /// Whether it refuses the runbook.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the primary span, when there is one.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        let span = self.span?;
        let (line, col) = file.line_col(span.start);
        Some(format!("{}:{line}:{col}", file.name))
    }

    /// The help line shown under the snippet, when there is one to give.
    pub fn help(&self) -> Option<String> {
        use DiagnosticKind::*;
        Some(match &self.kind {
            UnknownOp { .. } => "`salvage ops` lists every op with its arguments".into(),
            MissingArg { op, arg, .. } => format!("add `{arg}: VALUE` to the `{op}(...)` call"),
            Cycle { .. } => "remove one of the references or `after` entries in the circle".into(),
            TypeMismatch {
                want: Type::Size, ..
            } => "write sizes as 512, 4KiB, 5G (binary) or 5GB (decimal)".into(),
            TypeMismatch {
                want: Type::Duration,
                ..
            } => "write durations as 100ms, 30s, 5min or 2h".into(),
            _ => return None,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location() {
            write!(f, "{loc}: ")?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.kind)
    }
}

impl std::error::Error for Diagnostic {}

/// Finds the closest name to `name` among `candidates`, for "did you mean".
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        let limit = (name.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    // Optimal string alignment: insertions, deletions, substitutions and swaps of neighbours.
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// `a path`, `an int`.
fn article(ty: &Type) -> String {
    let name = ty.to_string();
    let an = name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if an { "an" } else { "a" })
}
