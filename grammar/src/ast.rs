//! The runbook AST: what the grammar recognised, with byte spans into the source.

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The number of bytes covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole source file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// `use` imports, in source order.
    pub uses: Vec<Use>,
    /// `runbook` and `define` blocks, in source order.
    pub blocks: Vec<Block>,
}

/// `use "stdlib/lvm.salvage"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The imported path, as written (no interpolation allowed; the checker says so).
    pub path: StringLit,
    /// The whole declaration.
    pub span: Span,
}

/// Whether a block is the runbook itself or a reusable definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `runbook "NAME" { ... }`.
    Runbook,
    /// `define NAME { ... }`.
    Define,
}

/// A `runbook` or `define` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Runbook or definition.
    pub kind: BlockKind,
    /// The name: the runbook's string, or the definition's identifier.
    pub name: Ident,
    /// `///` doc lines before the block.
    pub docs: Vec<String>,
    /// The statements inside, in source order.
    pub body: Vec<Stmt>,
    /// The whole block.
    pub span: Span,
}

/// A statement inside a block.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `about "..."`.
    About(StringLit),
    /// `param NAME: TYPE [= DEFAULT]`.
    Param(Param),
    /// `step NAME = OP(ARG: VALUE, ...)`.
    Step(Step),
    /// `manual NAME "text" [after [a, b]]`.
    Manual(Manual),
    /// `output NAME = VALUE`.
    Output(Output),
    /// `assert EXPR "message"`.
    Assert(Assert),
    /// `for NAME in LIST { ... }`.
    For(ForLoop),
}

/// `assert EXPR "message"`: a condition that stops the run, with its message, when false.
#[derive(Debug, Clone, PartialEq)]
pub struct Assert {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The condition.
    pub cond: Value,
    /// The message (the checker refuses an assert without one).
    pub message: Option<StringLit>,
    /// The `assert` keyword.
    pub keyword: Span,
    /// The whole statement.
    pub span: Span,
}

/// `for NAME in LIST { ... }`: the statements inside, once per element of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct ForLoop {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The loop variable.
    pub var: Ident,
    /// The list looped over.
    pub list: Value,
    /// Steps, manual steps, asserts and nested loops, in source order.
    pub body: Vec<Stmt>,
    /// The whole statement.
    pub span: Span,
}

/// An identifier with its span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name as written.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// `param NAME: TYPE [= DEFAULT]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The parameter's name.
    pub name: Ident,
    /// The type's name as written (checked later).
    pub ty: Ident,
    /// The default, when given.
    pub default: Option<Value>,
    /// The whole declaration.
    pub span: Span,
}

/// `step NAME = OP(ARG: VALUE, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The step's name.
    pub name: Ident,
    /// The op or definition it calls.
    pub op: Ident,
    /// Named arguments, in source order.
    pub args: Vec<Arg>,
    /// The whole declaration.
    pub span: Span,
}

/// `NAME: VALUE` inside a step call.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The argument's name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
}

/// `manual NAME "text" [after [a, b]]`: a human step.
#[derive(Debug, Clone, PartialEq)]
pub struct Manual {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The step's name.
    pub name: Ident,
    /// What the human is asked.
    pub text: StringLit,
    /// Extra ordering, when given.
    pub after: Option<Value>,
    /// `when EXPR`: the step is asked only when it holds.
    pub when: Option<Value>,
    /// The whole declaration.
    pub span: Span,
}

/// `output NAME = VALUE`: a value a definition (or runbook) hands back.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `///` doc lines.
    pub docs: Vec<String>,
    /// The output's name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
    /// The whole declaration.
    pub span: Span,
}

/// A value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What it is.
    pub kind: ValueKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of literal and reference the language has.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A string, possibly interpolated.
    Str(StringLit),
    /// An integer.
    Int(i64),
    /// A size with a unit, in bytes.
    Size(u64),
    /// A duration, in milliseconds.
    Duration(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `[a, b]`.
    List(Vec<Value>),
    /// `param`, `step`, `step.field`, `step.field[2]`.
    Ref(Reference),
    /// `a == b`, `a and b`, ...
    Binary {
        /// The operator.
        op: BinOp,
        /// Its left operand.
        left: Box<Value>,
        /// Its right operand.
        right: Box<Value>,
    },
    /// `not a`.
    Not(Box<Value>),
    /// `len(list)`, `contains(list, value)`: a function (the checker knows which exist).
    Call {
        /// The function's name.
        name: Ident,
        /// Its arguments.
        args: Vec<Value>,
    },
}

/// A binary operator of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `and`.
    And,
    /// `or`.
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// The operator written `text`, if any.
    pub fn from_symbol(text: &str) -> Option<BinOp> {
        Some(match text {
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "and" => BinOp::And,
            "or" => BinOp::Or,
            _ => return None,
        })
    }
}

/// A string literal: text and `${...}` interpolations.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    /// The parts in order.
    pub parts: Vec<StrPart>,
    /// The whole literal, quotes included.
    pub span: Span,
}

impl StringLit {
    /// The text when the literal has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(out)
    }
}

/// A piece of a string literal.
#[derive(Debug, Clone, PartialEq)]
pub enum StrPart {
    /// Literal text, escapes resolved.
    Text(String),
    /// `${reference}`.
    Interp(Reference),
}

/// `root.field[index]...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The first name: a param, a step or a manual step.
    pub root: Ident,
    /// Field accesses and indexes after it.
    pub path: Vec<Accessor>,
    /// The whole reference.
    pub span: Span,
}

/// One `.field` or `[index]` of a reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Accessor {
    /// `.name`.
    Field(Ident),
    /// `[n]`.
    Index(u64, Span),
    /// `[param]`: an index given by an int param.
    IndexParam(Ident),
}
