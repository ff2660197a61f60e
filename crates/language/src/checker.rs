//! The checker: AST → [`Plan`]. Resolves `use`, expands definitions, checks ops, arguments,
//! types and references, and reports every error of a file at once, each with a span.
//!
//! Architecture invariant: the checker never touches a disk, a process or the clock. `use`
//! files come through [`Loader`], which the command line gives file access and tests give
//! none.
//!
//! This module holds the checker's state (`Cx`, `Scope`, `Decl`) and [`check`]; its
//! children do the work, each depending only on those below it: `plan_block` →
//! `expansion` → `call_args`, `op_step` → `arg_checks`, `lowering` → `reference`; `uses`,
//! `param_value` and `fill_known` stand alone.

mod arg_checks;
mod call_args;
mod control;
mod expansion;
mod expression;
mod fill_known;
mod lowering;
mod op_step;
mod param_value;
mod plan_block;
mod reference;
mod uses;

pub use crate::loader::Loader;
pub use param_value::{parse_param_value, parse_param_values};

use crate::diagnostic::{Diagnostic, DiagnosticKind as K};
use crate::op_table::OpSig;
use crate::plan::*;
use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ast::{self, Block, BlockKind, Span};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The result of checking: the plans (empty when there is an error) and every diagnostic.
#[derive(Debug, Default)]
pub struct Checked {
    /// One plan for a runbook file; one per definition for a file of definitions.
    pub plans: Vec<Plan>,
    /// Errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks a source. `params` are `--param` values: `None` checks without them (required params
/// stay symbolic), `Some` plans with them (a missing required param is an error).
pub fn check(
    source: SourceFile,
    params: Option<&[(String, String)]>,
    loader: &dyn Loader,
) -> Checked {
    let file = Arc::new(source);
    let mut cx = Cx {
        diags: Vec::new(),
        defines: BTreeMap::new(),
        generic: BTreeMap::new(),
        in_progress: Vec::new(),
        poisoned: BTreeSet::new(),
        depth: 0,
    };
    let Some(ast) = cx.parse(&file) else {
        return cx.finish(Vec::new());
    };
    let mut loaded = BTreeSet::new();
    loaded.insert(file.name.clone());
    cx.load_uses(&file, &ast, loader, &mut loaded, 0);
    let (runbook, own_defines) = cx.sort_blocks(&file, &ast);
    let plans = cx.plan_file(&file, runbook, own_defines, params);
    cx.finish(plans)
}

type DefineEntry = (Arc<SourceFile>, Arc<Block>);

/// A definition's params: name, type, default.
type DefineParams = Vec<(String, Type, Option<ast::Value>)>;

/// What a definition takes and gives, from checking it once on its own.
#[derive(Debug, Clone)]
struct DefineInfo {
    params: DefineParams,
    outputs: BTreeMap<String, Type>,
}

/// The checker's state for one source and everything it uses.
struct Cx {
    diags: Vec<Diagnostic>,
    defines: BTreeMap<String, DefineEntry>,
    generic: BTreeMap<String, Option<DefineInfo>>,
    in_progress: Vec<String>,
    /// Definitions found to call themselves: never expanded.
    poisoned: BTreeSet<String>,
    /// How deep definition instances are nested right now.
    depth: usize,
}

/// One name declared in a block.
#[derive(Debug, Clone)]
enum Decl {
    Op {
        id: String,
        sig: &'static OpSig,
    },
    Manual {
        id: String,
    },
    /// A step whose op is unknown: already reported, so references to it stay quiet.
    Broken,
    /// A `for` loop's variable: one entry per loop that declares it (sibling loops may reuse
    /// a name; nested ones may not).
    LoopVar(Vec<LoopVar>),
    Call {
        define: String,
        ids: Vec<String>,
        outputs: BTreeMap<String, (Type, Expr)>,
    },
}

/// One loop's variable.
#[derive(Debug, Clone)]
struct LoopVar {
    /// The loop's id: the variable's name, then `#2`, `#3`, ... for a later sibling loop that
    /// reuses it (`part`, `part#2`), under the block's prefix.
    id: String,
    /// The type of the list's elements once the list is checked (`None` while unknown, or
    /// when the list is wrong: already reported).
    ty: Option<Type>,
    /// Where the `for` statement starts.
    at: usize,
    /// The loops around it (their ids, outermost first).
    enclosing: Vec<String>,
}

impl Decl {
    /// The loop variable of the `for` statement starting at `at`.
    fn loop_var_at(&mut self, at: usize) -> Option<&mut LoopVar> {
        match self {
            Decl::LoopVar(vars) => vars.iter_mut().find(|v| v.at == at),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct ParamBinding {
    ty: Type,
    value: Expr,
}

/// The names visible while lowering one block instance.
struct Scope {
    file: Arc<SourceFile>,
    prefix: String,
    params: BTreeMap<String, ParamBinding>,
    names: BTreeMap<String, Decl>,
    /// The `for` loops (their ids, outermost first) each name is declared in; a name outside
    /// every loop is absent.
    loops_of: BTreeMap<String, Vec<String>>,
    /// The loops around what is being lowered now.
    current: RefCell<Vec<String>>,
}

impl Scope {
    /// A scope with nothing in it (for default values, which see no names).
    fn empty(file: &Arc<SourceFile>) -> Scope {
        Scope {
            file: file.clone(),
            prefix: String::new(),
            params: BTreeMap::new(),
            names: BTreeMap::new(),
            loops_of: BTreeMap::new(),
            current: RefCell::new(Vec::new()),
        }
    }

    /// How many loops around `name`'s declaration are not around what is lowered now: a
    /// reference to it is a list (of lists) of that depth, one item per element. Returns the
    /// innermost such loop's id, too.
    fn loops_outside(&self, name: &str) -> (usize, Option<String>) {
        let Some(of) = self.loops_of.get(name) else {
            return (0, None);
        };
        let current = self.current.borrow();
        let shared = of
            .iter()
            .zip(current.iter())
            .take_while(|(a, b)| a == b)
            .count();
        (
            of.len() - shared,
            of.last().filter(|_| of.len() > shared).cloned(),
        )
    }

    fn all_names(&self) -> impl Iterator<Item = &str> {
        self.params
            .keys()
            .chain(self.names.keys())
            .map(String::as_str)
    }
}

const MAX_USE_DEPTH: usize = 16;
const MAX_DEFINE_DEPTH: usize = 16;

impl Cx {
    /// Parses the source, or reports its syntax errors (the first and up to 20 more).
    fn parse(&mut self, file: &Arc<SourceFile>) -> Option<ast::File> {
        match salvage_grammar::parse(&file.text) {
            Ok(ast) => Some(ast),
            Err(e) => {
                let first = e.span.start;
                self.diags
                    .push(Diagnostic::error(file, e.span, K::Syntax(e.kind)));
                for more in salvage_grammar::more_syntax_errors(&file.text, first, 20) {
                    self.diags
                        .push(Diagnostic::error(file, more.span, K::Syntax(more.kind)));
                }
                None
            }
        }
    }

    /// The file's runbook (a second one is an error) and the names of its own definitions
    /// (registered on the way).
    fn sort_blocks<'f>(
        &mut self,
        file: &Arc<SourceFile>,
        ast: &'f ast::File,
    ) -> (Option<&'f Block>, Vec<String>) {
        let mut runbook: Option<&Block> = None;
        let mut own_defines = Vec::new();
        for block in &ast.blocks {
            match block.kind {
                BlockKind::Runbook => {
                    if runbook.is_some() {
                        self.diags
                            .push(Diagnostic::error(file, block.name.span, K::TwoRunbooks));
                    } else {
                        runbook = Some(block);
                    }
                }
                BlockKind::Define => {
                    own_defines.push(block.name.name.clone());
                    self.add_define(file, block);
                }
            }
        }
        (runbook, own_defines)
    }

    /// The plans of the file: its runbook's, or else one per definition of its own.
    fn plan_file(
        &mut self,
        file: &Arc<SourceFile>,
        runbook: Option<&Block>,
        own_defines: Vec<String>,
        params: Option<&[(String, String)]>,
    ) -> Vec<Plan> {
        let mut plans = Vec::new();
        match runbook {
            Some(block) => {
                if let Some(plan) = self.plan_block(file, block, params) {
                    plans.push(plan);
                }
            }
            None if own_defines.is_empty() => {
                self.diags
                    .push(Diagnostic::error(file, Span::new(0, 0), K::NoRunbook));
            }
            None => {
                for name in own_defines {
                    if let Some((dfile, dblock)) = self.defines.get(&name).cloned() {
                        if Arc::ptr_eq(&dfile, file) {
                            self.generic_info(&name);
                            if let Some(plan) = self.plan_block(&dfile, &dblock, params) {
                                plans.push(plan);
                            }
                        }
                    }
                }
            }
        }
        plans
    }

    /// Every diagnostic once, in source order; the plans only when there is no error.
    fn finish(mut self, plans: Vec<Plan>) -> Checked {
        // Definitions expanded twice can say the same thing twice: keep one of each.
        let mut seen = BTreeSet::new();
        self.diags.retain(|d| {
            seen.insert((
                d.file.as_ref().map(|f| f.name.clone()),
                d.span,
                d.kind.to_string(),
            ))
        });
        self.diags.sort_by(|a, b| {
            let ka = (
                a.file.as_ref().map(|f| f.name.clone()),
                a.span.map(|s| s.start),
            );
            let kb = (
                b.file.as_ref().map(|f| f.name.clone()),
                b.span.map(|s| s.start),
            );
            ka.cmp(&kb)
        });
        let has_errors = self.diags.iter().any(Diagnostic::is_error);
        Checked {
            plans: if has_errors { Vec::new() } else { plans },
            diagnostics: self.diags,
        }
    }

    fn err(&mut self, file: &Arc<SourceFile>, span: Span, kind: K) {
        self.diags.push(Diagnostic::error(file, span, kind));
    }
}

/// `file:line:col` of a span, as a plan step shows where it comes from.
fn location(file: &SourceFile, span: Span) -> String {
    let (line, col) = file.line_col(span.start);
    format!("{}:{line}:{col}", file.name)
}
