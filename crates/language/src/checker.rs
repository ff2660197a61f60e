//! The checker: AST → [`Plan`]. Resolves `use`, expands definitions, checks ops, arguments,
//! types and references, and reports every error of a file at once, each with a span.
//!
//! Architecture invariant: the checker never touches a disk, a process or the clock. `use`
//! files come through [`Loader`], which the command line gives file access and tests give
//! none.

use crate::diagnostic::{Diagnostic, DiagnosticKind as K, suggest};
use crate::graph;
use crate::op_table::{ArgSig, OpSig};
use crate::plan::*;
use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ast::{self, Accessor, Block, BlockKind, Span, Stmt, StrPart, ValueKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Where `use` finds the files it imports.
pub trait Loader {
    /// Loads `path` as written in a `use` of `from`; `None` when there is no such file.
    fn load(&self, path: &str, from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>>;
}

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
    let ast = match salvage_grammar::parse(&file.text) {
        Ok(ast) => ast,
        Err(e) => {
            let first = e.span.start;
            cx.diags
                .push(Diagnostic::error(&file, e.span, K::Syntax(e.kind)));
            for more in salvage_grammar::more_syntax_errors(&file.text, first, 20) {
                cx.diags
                    .push(Diagnostic::error(&file, more.span, K::Syntax(more.kind)));
            }
            return cx.finish(Vec::new());
        }
    };
    let mut loaded = BTreeSet::new();
    loaded.insert(file.name.clone());
    cx.load_uses(&file, &ast, loader, &mut loaded, 0);
    let mut runbook: Option<&Block> = None;
    let mut own_defines = Vec::new();
    for block in &ast.blocks {
        match block.kind {
            BlockKind::Runbook => {
                if runbook.is_some() {
                    cx.diags
                        .push(Diagnostic::error(&file, block.name.span, K::TwoRunbooks));
                } else {
                    runbook = Some(block);
                }
            }
            BlockKind::Define => {
                own_defines.push(block.name.name.clone());
                cx.add_define(&file, block);
            }
        }
    }
    let mut plans = Vec::new();
    match runbook {
        Some(block) => {
            if let Some(plan) = cx.plan_block(&file, block, params) {
                plans.push(plan);
            }
        }
        None if own_defines.is_empty() => {
            cx.diags
                .push(Diagnostic::error(&file, Span::new(0, 0), K::NoRunbook));
        }
        None => {
            for name in own_defines {
                if let Some((dfile, dblock)) = cx.defines.get(&name).cloned() {
                    if Arc::ptr_eq(&dfile, &file) {
                        cx.generic_info(&name);
                        if let Some(plan) = cx.plan_block(&dfile, &dblock, params) {
                            plans.push(plan);
                        }
                    }
                }
            }
        }
    }
    cx.finish(plans)
}

type DefineEntry = (Arc<SourceFile>, Arc<Block>);

/// What a definition takes and gives, from checking it once on its own.
#[derive(Debug, Clone)]
struct DefineInfo {
    params: Vec<(String, Type, Option<ast::Value>)>,
    outputs: BTreeMap<String, Type>,
}

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
    Call {
        define: String,
        ids: Vec<String>,
        outputs: BTreeMap<String, (Type, Expr)>,
    },
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
}

impl Scope {
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

    fn load_uses(
        &mut self,
        file: &Arc<SourceFile>,
        ast: &ast::File,
        loader: &dyn Loader,
        loaded: &mut BTreeSet<String>,
        depth: usize,
    ) {
        for u in &ast.uses {
            let Some(path) = u.path.as_plain() else {
                self.err(file, u.path.span, K::UseInterpolated);
                continue;
            };
            match loader.load(&path, file) {
                None => {
                    let available = crate::stdlib::FILES
                        .iter()
                        .map(|(n, _)| n.to_string())
                        .collect();
                    self.err(file, u.path.span, K::UseNotFound { path, available });
                }
                Some(Err(mut d)) => {
                    if d.file.is_none() {
                        d.file = Some(file.clone());
                        d.span = Some(u.path.span);
                    }
                    self.diags.push(d);
                }
                Some(Ok(src)) => {
                    if !loaded.insert(src.name.clone()) || depth >= MAX_USE_DEPTH {
                        continue;
                    }
                    let used = Arc::new(src);
                    match salvage_grammar::parse(&used.text) {
                        Err(e) => {
                            self.diags
                                .push(Diagnostic::error(&used, e.span, K::Syntax(e.kind)))
                        }
                        Ok(used_ast) => {
                            self.load_uses(&used, &used_ast, loader, loaded, depth + 1);
                            for block in &used_ast.blocks {
                                if block.kind == BlockKind::Define {
                                    self.add_define(&used, block);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn add_define(&mut self, file: &Arc<SourceFile>, block: &Block) {
        let name = block.name.name.clone();
        if OpSig::find(&name).is_some() {
            self.err(file, block.name.span, K::Reserved { name });
            return;
        }
        if let Some((prev_file, prev)) = self.defines.get(&name) {
            let mut d = Diagnostic::error(file, block.name.span, K::DuplicateDefine { name });
            if Arc::ptr_eq(prev_file, file) {
                d = d.with_label(prev.name.span, "first defined here");
            }
            self.diags.push(d);
            return;
        }
        self.defines
            .insert(name, (file.clone(), Arc::new(block.clone())));
    }

    /// Checks a definition once on its own, for its params and output types.
    fn generic_info(&mut self, name: &str) -> Option<DefineInfo> {
        if let Some(info) = self.generic.get(name) {
            return info.clone();
        }
        let (file, block) = self.defines.get(name)?.clone();
        if self.in_progress.iter().any(|n| n == name) || self.in_progress.len() >= MAX_DEFINE_DEPTH
        {
            let from = self.in_progress.iter().position(|n| n == name).unwrap_or(0);
            let mut chain = self.in_progress[from..].to_vec();
            chain.push(name.to_string());
            self.poisoned.extend(chain.iter().cloned());
            self.err(&file, block.name.span, K::DefineRecursion { chain });
            return None;
        }
        self.in_progress.push(name.to_string());
        let mut params = Vec::new();
        let mut bindings = BTreeMap::new();
        for stmt in &block.body {
            if let Stmt::Param(p) = stmt {
                let Some(ty) = Type::from_param_name(&p.ty.name) else {
                    continue;
                };
                params.push((p.name.name.clone(), ty.clone(), p.default.clone()));
                let value = symbolic_param(&p.name.name, &ty);
                bindings.insert(p.name.name.clone(), ParamBinding { ty, value });
            }
        }
        let mut steps = Vec::new();
        let outputs = self.expand(&file, &block, "", Some(bindings), &mut steps);
        self.in_progress.pop();
        if self.poisoned.contains(name) {
            self.generic.insert(name.to_string(), None);
            return None;
        }
        let info = DefineInfo {
            params,
            outputs: outputs.into_iter().map(|(k, (t, _))| (k, t)).collect(),
        };
        self.generic.insert(name.to_string(), Some(info.clone()));
        Some(info)
    }

    /// Checks a runbook (or a definition planned alone) and builds its plan.
    fn plan_block(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        params: Option<&[(String, String)]>,
    ) -> Option<Plan> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let mut plan_params = Vec::new();
        let mut bindings = BTreeMap::new();
        let mut given: BTreeMap<&str, &str> = BTreeMap::new();
        if let Some(ps) = params {
            for (k, v) in ps {
                given.insert(k, v);
            }
        }
        let declared: Vec<&ast::Param> = block
            .body
            .iter()
            .filter_map(|s| {
                if let Stmt::Param(p) = s {
                    Some(p)
                } else {
                    None
                }
            })
            .collect();
        for k in given.keys() {
            if !declared.iter().any(|p| p.name.name == *k) {
                let suggestion = suggest(k, declared.iter().map(|p| p.name.name.as_str()));
                self.diags.push(Diagnostic::bare(K::UnknownParam {
                    name: k.to_string(),
                    suggestion,
                }));
            }
        }
        let mut seen_params = BTreeSet::new();
        for p in &declared {
            if !seen_params.insert(p.name.name.clone()) {
                continue; // the duplicate is reported by expand
            }
            let Some(ty) = Type::from_param_name(&p.ty.name) else {
                continue;
            };
            let (value, source) = if let Some(text) = given.get(p.name.name.as_str()) {
                match parse_param_value(&p.name.name, &ty, text) {
                    Ok(v) => (Some(v), ParamSource::Given),
                    Err(d) => {
                        self.diags.push(d);
                        (None, ParamSource::Given)
                    }
                }
            } else if let Some(def) = &p.default {
                let scope = Scope {
                    file: file.clone(),
                    prefix: String::new(),
                    params: BTreeMap::new(),
                    names: BTreeMap::new(),
                };
                (
                    self.lower_typed(&scope, def, &ty, &p.name.name),
                    ParamSource::Default,
                )
            } else {
                if params.is_some() && block.kind == BlockKind::Runbook {
                    self.err(
                        file,
                        p.name.span,
                        K::MissingParam {
                            name: p.name.name.clone(),
                            ty: ty.clone(),
                        },
                    );
                }
                (None, ParamSource::Missing)
            };
            let mut bound = value
                .clone()
                .unwrap_or_else(|| symbolic_param(&p.name.name, &ty));
            if ty == Type::Secret && value.is_some() {
                bound = Expr::Secret {
                    name: p.name.name.clone(),
                    value: Box::new(bound),
                };
            }
            bindings.insert(
                p.name.name.clone(),
                ParamBinding {
                    ty: ty.clone(),
                    value: bound.clone(),
                },
            );
            plan_params.push(PlanParam {
                name: p.name.name.clone(),
                ty,
                value: value.map(|_| bound),
                source,
                docs: p.docs.clone(),
            });
        }
        let mut steps = Vec::new();
        let outputs = self.expand(file, block, "", Some(bindings), &mut steps);
        let declares_steps = block
            .body
            .iter()
            .any(|s| matches!(s, Stmt::Step(_) | Stmt::Manual(_)));
        if !declares_steps && block.kind == BlockKind::Runbook {
            self.diags
                .push(Diagnostic::warning(file, block.name.span, K::NoSteps));
        }
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        // With other errors the plan is not made, but a cycle among the steps that did lower
        // is still reported: every error of a file at once.
        let has_errors = errors_after > errors_before;
        if !has_errors {
            fill_known(&mut steps);
        }
        let steps = match graph::order(&steps) {
            Ok(order) => order.into_iter().map(|i| steps[i].clone()).collect(),
            Err(cycle) => {
                let first = &steps[cycle[0]];
                let mut path: Vec<String> = cycle.iter().map(|i| steps[*i].id.clone()).collect();
                path.push(first.id.clone());
                let mut d = Diagnostic::error(file, first.span, K::Cycle { path });
                for i in &cycle[1..] {
                    if steps[*i].file == file.name {
                        d = d.with_label(
                            steps[*i].span,
                            format!("`{}` is in the cycle", steps[*i].id),
                        );
                    }
                }
                self.diags.push(d);
                return None;
            }
        };
        if has_errors {
            return None;
        }
        let about = block.body.iter().find_map(|s| match s {
            Stmt::About(a) => Some(a.as_plain().unwrap_or_else(|| lit_text(a))),
            _ => None,
        });
        Some(Plan {
            name: block.name.name.clone(),
            file: file.name.clone(),
            is_define: block.kind == BlockKind::Define,
            about,
            docs: block.docs.clone(),
            params: plan_params,
            steps,
            outputs: outputs.into_iter().map(|(k, (_, e))| (k, e)).collect(),
        })
    }

    /// Lowers one block instance into plan steps (appended to `steps`), with its params bound.
    /// Returns its outputs.
    fn expand(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        prefix: &str,
        bindings: Option<BTreeMap<String, ParamBinding>>,
        steps: &mut Vec<PlanStep>,
    ) -> BTreeMap<String, (Type, Expr)> {
        let mut scope = Scope {
            file: file.clone(),
            prefix: prefix.to_string(),
            params: bindings.unwrap_or_default(),
            names: BTreeMap::new(),
        };
        // Pass 1: declarations, duplicates, param types.
        let mut first: BTreeMap<String, (Span, &'static str)> = BTreeMap::new();
        let mut about_seen: Option<Span> = None;
        let mut calls = Vec::new();
        // Statements that redeclare a name: reported once, then not lowered (lowering them
        // against the first declaration's op would give confusing follow-on errors).
        let mut duplicates: BTreeSet<usize> = BTreeSet::new();
        for stmt in &block.body {
            let (name, what) = match stmt {
                Stmt::About(a) => {
                    if let Some(prev) = about_seen {
                        self.diags.push(
                            Diagnostic::error(
                                file,
                                a.span,
                                K::Duplicate {
                                    what: "about",
                                    first: "about",
                                    name: "about".into(),
                                },
                            )
                            .with_label(prev, "first here"),
                        );
                    }
                    about_seen = Some(a.span);
                    continue;
                }
                Stmt::Param(p) => {
                    if Type::from_param_name(&p.ty.name).is_none() {
                        let suggestion = suggest(&p.ty.name, Type::PARAM_NAMES.iter().copied());
                        self.err(
                            file,
                            p.ty.span,
                            K::UnknownType {
                                name: p.ty.name.clone(),
                                suggestion,
                            },
                        );
                    }
                    (&p.name, "param")
                }
                Stmt::Step(s) => (&s.name, "step"),
                Stmt::Manual(m) => (&m.name, "step"),
                Stmt::Output(o) => {
                    if let Some((prev, _)) = first.get(&format!("output {}", o.name.name)) {
                        self.diags.push(
                            Diagnostic::error(
                                file,
                                o.name.span,
                                K::Duplicate {
                                    what: "output",
                                    first: "output",
                                    name: o.name.name.clone(),
                                },
                            )
                            .with_label(*prev, "first declared here"),
                        );
                    }
                    first.insert(format!("output {}", o.name.name), (o.name.span, "output"));
                    continue;
                }
            };
            if let Some((prev, first_what)) = first.get(&name.name) {
                self.diags.push(
                    Diagnostic::error(
                        file,
                        name.span,
                        K::Duplicate {
                            what,
                            first: first_what,
                            name: name.name.clone(),
                        },
                    )
                    .with_label(*prev, "first declared here"),
                );
                duplicates.insert(name.span.start);
                continue;
            }
            if name.name == "after" {
                self.err(
                    file,
                    name.span,
                    K::Reserved {
                        name: name.name.clone(),
                    },
                );
            }
            first.insert(name.name.clone(), (name.span, what));
            let id = format!("{prefix}{}", name.name);
            match stmt {
                Stmt::Step(s) => {
                    if let Some(sig) = OpSig::find(&s.op.name) {
                        scope
                            .names
                            .insert(s.name.name.clone(), Decl::Op { id, sig });
                    } else if self.defines.contains_key(&s.op.name) {
                        calls.push(s);
                    } else {
                        let candidates: Vec<String> = OpSig::all()
                            .iter()
                            .map(|o| o.name.to_string())
                            .chain(self.defines.keys().cloned())
                            .collect();
                        let suggestion = suggest(&s.op.name, candidates.iter().map(String::as_str));
                        self.err(
                            file,
                            s.op.span,
                            K::UnknownOp {
                                name: s.op.name.clone(),
                                suggestion,
                            },
                        );
                        scope.names.insert(s.name.name.clone(), Decl::Broken);
                    }
                }
                Stmt::Manual(_) => {
                    scope.names.insert(name.name.clone(), Decl::Manual { id });
                }
                _ => {}
            }
        }
        // Pass 2: definition calls, in the order their arguments need each other.
        let call_names: BTreeSet<String> = calls.iter().map(|s| s.name.name.clone()).collect();
        let mut pending: Vec<&ast::Step> = calls;
        let mut call_steps: BTreeMap<String, Vec<PlanStep>> = BTreeMap::new();
        let mut progressed = true;
        while !pending.is_empty() && progressed {
            progressed = false;
            let mut next = Vec::new();
            for s in pending {
                let needs: BTreeSet<String> = s
                    .args
                    .iter()
                    .flat_map(|a| value_roots(&a.value))
                    .filter(|r| {
                        call_names.contains(r) && !scope.names.contains_key(r) && *r != s.name.name
                    })
                    .collect();
                if needs.is_empty() {
                    let mut own = Vec::new();
                    self.expand_call(&mut scope, s, &mut own);
                    call_steps.insert(s.name.name.clone(), own);
                    progressed = true;
                } else {
                    next.push(s);
                }
            }
            pending = next;
        }
        for s in pending {
            // Calls that need each other's outputs: a cycle through definitions.
            let mut path: Vec<String> = vec![s.name.name.clone()];
            path.extend(
                s.args
                    .iter()
                    .flat_map(|a| value_roots(&a.value))
                    .filter(|r| call_names.contains(r)),
            );
            self.err(file, s.name.span, K::Cycle { path });
        }
        // Pass 3: op steps and manual steps.
        for stmt in &block.body {
            match stmt {
                Stmt::Step(s) if duplicates.contains(&s.name.span.start) => {}
                Stmt::Manual(m) if duplicates.contains(&m.name.span.start) => {}
                Stmt::Step(s) => {
                    if let Some(own) = call_steps.remove(&s.name.name) {
                        steps.extend(own);
                    } else if let Some(Decl::Op { id, sig }) =
                        scope.names.get(&s.name.name).cloned()
                    {
                        if let Some(step) = self.lower_op_step(&scope, s, &id, sig) {
                            steps.push(step);
                        }
                    }
                }
                Stmt::Manual(m) => {
                    let id = format!("{prefix}{}", m.name.name);
                    let text = self.lower_string(&scope, &m.text);
                    let mut after = Vec::new();
                    if let Some(a) = &m.after {
                        after = self.lower_after(&scope, a);
                    }
                    let mut deps = Vec::new();
                    if let Some(t) = &text {
                        t.collect_deps(&mut deps);
                    }
                    deps.sort();
                    deps.dedup();
                    steps.push(PlanStep {
                        id,
                        kind: StepKind::Manual {
                            text: text.unwrap_or(Expr::Str(String::new())),
                        },
                        args: Vec::new(),
                        deps,
                        after,
                        effect: crate::effect::Effect::Manual,
                        docs: m.docs.clone(),
                        file: file.name.clone(),
                        span: m.span,
                        location: location(file, m.span),
                    });
                }
                _ => {}
            }
        }
        // Outputs.
        let mut outputs = BTreeMap::new();
        for stmt in &block.body {
            if let Stmt::Output(o) = stmt {
                if let Some((e, t)) = self.lower(&scope, &o.value) {
                    outputs.insert(o.name.name.clone(), (t, e));
                }
            }
        }
        outputs
    }

    fn expand_call(&mut self, scope: &mut Scope, s: &ast::Step, steps: &mut Vec<PlanStep>) {
        let file = scope.file.clone();
        let define = s.op.name.clone();
        let Some(info) = self.generic_info(&define) else {
            scope.names.insert(
                s.name.name.clone(),
                Decl::Call {
                    define,
                    ids: vec![],
                    outputs: BTreeMap::new(),
                },
            );
            return;
        };
        let Some((dfile, dblock)) = self.defines.get(&define).cloned() else {
            return;
        };
        let mut bindings = BTreeMap::new();
        let mut given = BTreeSet::new();
        let mut after = Vec::new();
        for a in &s.args {
            if !given.insert(a.name.name.clone()) {
                self.err(
                    &file,
                    a.name.span,
                    K::DuplicateArg {
                        arg: a.name.name.clone(),
                    },
                );
                continue;
            }
            if a.name.name == "after" {
                after = self.lower_after(scope, &a.value);
                continue;
            }
            let Some((_, ty, _)) = info.params.iter().find(|(n, _, _)| *n == a.name.name) else {
                let names: Vec<String> = info.params.iter().map(|(n, _, _)| n.clone()).collect();
                let suggestion = suggest(&a.name.name, names.iter().map(String::as_str));
                self.err(
                    &file,
                    a.name.span,
                    K::UnknownArg {
                        op: define.clone(),
                        arg: a.name.name.clone(),
                        suggestion,
                        expected: names,
                    },
                );
                continue;
            };
            if let Some(mut e) = self.lower_typed(scope, &a.value, ty, &a.name.name) {
                if *ty == Type::Secret && !e.is_secret() {
                    e = Expr::Secret {
                        name: a.name.name.clone(),
                        value: Box::new(e),
                    };
                }
                bindings.insert(
                    a.name.name.clone(),
                    ParamBinding {
                        ty: ty.clone(),
                        value: e,
                    },
                );
            }
        }
        for (name, ty, default) in &info.params {
            if given.contains(name) && !bindings.contains_key(name) {
                // Reported at the call; bind it symbolically so the expansion says nothing more.
                bindings.insert(
                    name.clone(),
                    ParamBinding {
                        ty: ty.clone(),
                        value: Expr::Param(name.clone()),
                    },
                );
            }
            if bindings.contains_key(name) {
                continue;
            }
            match default {
                Some(d) => {
                    let empty = Scope {
                        file: dfile.clone(),
                        prefix: String::new(),
                        params: BTreeMap::new(),
                        names: BTreeMap::new(),
                    };
                    if let Some(e) = self.lower_typed(&empty, d, ty, name) {
                        bindings.insert(
                            name.clone(),
                            ParamBinding {
                                ty: ty.clone(),
                                value: e,
                            },
                        );
                    }
                }
                None => {
                    self.err(
                        &file,
                        s.op.span,
                        K::MissingArg {
                            op: define.clone(),
                            arg: name.clone(),
                            about: format!("a {ty}"),
                        },
                    );
                    bindings.insert(
                        name.clone(),
                        ParamBinding {
                            ty: ty.clone(),
                            value: Expr::Param(name.clone()),
                        },
                    );
                }
            }
        }
        let prefix = format!("{}{}/", scope.prefix, s.name.name);
        let start = steps.len();
        if self.depth >= MAX_DEFINE_DEPTH {
            self.err(
                &file,
                s.op.span,
                K::DefineRecursion {
                    chain: vec![define.clone(), "…".into()],
                },
            );
            return;
        }
        self.depth += 1;
        let outs = self.expand(&dfile, &dblock, &prefix, Some(bindings), steps);
        self.depth -= 1;
        let ids: Vec<String> = steps[start..].iter().map(|st| st.id.clone()).collect();
        if !after.is_empty() {
            for st in &mut steps[start..] {
                st.after.extend(after.iter().cloned());
                st.after.sort();
                st.after.dedup();
            }
        }
        let mut outputs = BTreeMap::new();
        for (k, (_, e)) in outs {
            if let Some(t) = info.outputs.get(&k) {
                outputs.insert(k, (t.clone(), e));
            }
        }
        scope.names.insert(
            s.name.name.clone(),
            Decl::Call {
                define,
                ids,
                outputs,
            },
        );
    }

    fn lower_op_step(
        &mut self,
        scope: &Scope,
        s: &ast::Step,
        id: &str,
        sig: &'static OpSig,
    ) -> Option<PlanStep> {
        let file = scope.file.clone();
        let mut values: BTreeMap<String, Expr> = BTreeMap::new();
        let mut defaulted = BTreeSet::new();
        let mut after = Vec::new();
        let mut given = BTreeSet::new();
        let mut ok = true;
        for a in &s.args {
            if !given.insert(a.name.name.clone()) {
                self.err(
                    &file,
                    a.name.span,
                    K::DuplicateArg {
                        arg: a.name.name.clone(),
                    },
                );
                ok = false;
                continue;
            }
            if a.name.name == "after" {
                after = self.lower_after(scope, &a.value);
                continue;
            }
            let Some(asig) = sig.arg(&a.name.name) else {
                let mut names: Vec<&str> = sig.args.iter().map(|x| x.name).collect();
                names.push("after");
                let suggestion = suggest(&a.name.name, names.iter().copied());
                self.err(
                    &file,
                    a.name.span,
                    K::UnknownArg {
                        op: sig.name.into(),
                        arg: a.name.name.clone(),
                        suggestion,
                        expected: names.iter().map(|n| n.to_string()).collect(),
                    },
                );
                ok = false;
                continue;
            };
            match self.lower_typed(scope, &a.value, &asig.full_type(), &a.name.name) {
                Some(e) => {
                    self.check_choice(&file, asig, &e, a.value.span);
                    if sig.name == "copy" && asig.name == "paths" {
                        self.check_copy_paths(&file, &e, &a.value);
                    }
                    self.check_child_args(&file, sig.name, &a.name.name, &e, &a.value);
                    values.insert(a.name.name.clone(), e);
                }
                None => ok = false,
            }
        }
        for asig in sig.args {
            if values.contains_key(asig.name) || given.contains(asig.name) {
                continue;
            }
            if asig.required {
                self.err(
                    &file,
                    s.op.span,
                    K::MissingArg {
                        op: sig.name.into(),
                        arg: asig.name.into(),
                        about: asig.about.into(),
                    },
                );
                ok = false;
            } else if let Some(d) = asig.default {
                values.insert(asig.name.into(), default_expr(&asig.ty, d));
                defaulted.insert(asig.name);
            }
        }
        for group in sig.one_of {
            let n = group.iter().filter(|g| given.contains(**g)).count();
            if n != 1 {
                self.err(
                    &file,
                    s.op.span,
                    K::OneOf {
                        op: sig.name.into(),
                        args: group.iter().map(|g| g.to_string()).collect(),
                        given: n,
                    },
                );
                ok = false;
            }
        }
        // A destination that is literally its source is known wrong before any disk is seen.
        for (op, src, dest) in [("image", "source", "dest"), ("copy", "from", "to")] {
            if sig.name != op {
                continue;
            }
            let text = |n: &str| {
                values
                    .get(n)
                    .filter(|e| !e.is_secret())
                    .and_then(Expr::known_text)
                    .map(|t| t.trim_end_matches('/').to_string())
            };
            if let (Some(a), Some(b)) = (text(src), text(dest))
                && a == b
                && !a.is_empty()
            {
                let span = s
                    .args
                    .iter()
                    .find(|x| x.name.name == dest)
                    .map_or(s.span, |x| x.value.span);
                self.err(
                    &file,
                    span,
                    K::DestIsSource {
                        dest: dest.to_string(),
                        source: src.to_string(),
                        path: b,
                    },
                );
                ok = false;
            }
        }
        if sig.name == "fsck"
            && values.get("in_place").and_then(Expr::known_text).as_deref() == Some("true")
            && values.get("mode").and_then(Expr::known_text).as_deref() != Some("repair")
        {
            self.diags
                .push(Diagnostic::warning(&file, s.span, K::InPlaceWithoutRepair));
        }
        if !ok {
            return None;
        }
        let effect = sig.effect_of(&MapView(&values));
        let mut deps = Vec::new();
        for v in values.values() {
            v.collect_deps(&mut deps);
        }
        deps.sort();
        deps.dedup();
        let args = sig
            .args
            .iter()
            .filter_map(|a| {
                values.get(a.name).map(|v| PlanArg {
                    name: a.name.into(),
                    value: v.clone(),
                    defaulted: defaulted.contains(a.name),
                })
            })
            .collect();
        Some(PlanStep {
            id: id.to_string(),
            kind: StepKind::Op(sig),
            args,
            deps,
            after,
            effect,
            docs: s.docs.clone(),
            file: file.name.clone(),
            span: s.span,
            location: location(&file, s.span),
        })
    }

    /// `copy(paths: [...])`: each known entry must be a plain path relative to `from` (no
    /// leading `/`, no `..`), or the copy would fail only after the imaging before it.
    fn check_copy_paths(&mut self, file: &Arc<SourceFile>, e: &Expr, value: &ast::Value) {
        let Expr::List(items) = e else { return };
        let spans: Vec<Span> = match &value.kind {
            ValueKind::List(vs) if vs.len() == items.len() => vs.iter().map(|v| v.span).collect(),
            _ => vec![value.span; items.len()],
        };
        for (item, span) in items.iter().zip(spans) {
            let Some(text) = item.known_text() else {
                continue;
            };
            let path = std::path::Path::new(&text);
            let why = if text.is_empty() {
                Some("is empty")
            } else if path.is_absolute() {
                Some("is absolute")
            } else if path
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                Some("climbs out with `..`")
            } else {
                None
            };
            if let Some(why) = why {
                let fix = text.trim_start_matches('/').to_string();
                self.err(
                    file,
                    span,
                    K::CopyPathNotRelative {
                        value: text,
                        why,
                        fix,
                    },
                );
            }
        }
    }

    fn check_choice(&mut self, file: &Arc<SourceFile>, asig: &ArgSig, e: &Expr, span: Span) {
        if asig.choices.is_empty() {
            return;
        }
        if let Some(text) = e.known_text() {
            if !asig.choices.contains(&text.as_str()) {
                self.err(
                    file,
                    span,
                    K::BadChoice {
                        what: asig.name.into(),
                        value: text,
                        allowed: asig.choices.to_vec(),
                    },
                );
            }
        }
    }

    fn lower_after(&mut self, scope: &Scope, value: &ast::Value) -> Vec<String> {
        let ValueKind::List(items) = &value.kind else {
            self.err(&scope.file, value.span, K::AfterNotSteps);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let ValueKind::Ref(r) = &item.kind else {
                self.err(&scope.file, item.span, K::AfterNotSteps);
                continue;
            };
            if !r.path.is_empty() {
                self.err(&scope.file, item.span, K::AfterNotSteps);
                continue;
            }
            match scope.names.get(&r.root.name) {
                Some(Decl::Op { id, .. }) | Some(Decl::Manual { id }) => out.push(id.clone()),
                Some(Decl::Call { ids, .. }) => out.extend(ids.iter().cloned()),
                Some(Decl::Broken) => {}
                None if scope.params.contains_key(&r.root.name) => {
                    self.err(
                        &scope.file,
                        r.root.span,
                        K::AfterParam {
                            name: r.root.name.clone(),
                        },
                    );
                }
                None => {
                    let suggestion = suggest(&r.root.name, scope.names.keys().map(String::as_str));
                    self.err(
                        &scope.file,
                        r.root.span,
                        K::UnknownRef {
                            name: r.root.name.clone(),
                            suggestion,
                        },
                    );
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// `exec`/`pipe`: a secret in the program's arguments is a warning (every process can read
    /// them); an `env:` item that is known now must be `NAME=VALUE`.
    fn check_child_args(
        &mut self,
        file: &Arc<SourceFile>,
        op: &str,
        arg: &str,
        e: &Expr,
        value: &ast::Value,
    ) {
        if !matches!(op, "exec" | "pipe") {
            return;
        }
        let items: Vec<(&Expr, Span)> = match (e, &value.kind) {
            (Expr::List(es), ast::ValueKind::List(vs)) if es.len() == vs.len() => {
                es.iter().zip(vs.iter().map(|v| v.span)).collect()
            }
            _ => vec![(e, value.span)],
        };
        for (item, span) in items {
            if matches!(arg, "argv" | "into") && item.is_secret() {
                self.diags.push(Diagnostic::warning(
                    file,
                    span,
                    K::SecretInArgv {
                        op: op.to_string(),
                        arg: arg.to_string(),
                    },
                ));
            }
            if arg == "env"
                && let Some(text) = item.known_text()
                && let Err(reason) = crate::env_item::parse_item(&text)
            {
                self.err(file, span, K::BadEnvItem { reason });
            }
        }
    }

    fn lower_typed(
        &mut self,
        scope: &Scope,
        value: &ast::Value,
        want: &Type,
        what: &str,
    ) -> Option<Expr> {
        let (e, got) = self.lower(scope, value)?;
        let got = match (&got, want) {
            // An empty list fits any list.
            (Type::List(_), Type::List(_)) if matches!(&e, Expr::List(v) if v.is_empty()) => {
                want.clone()
            }
            _ => got,
        };
        if !want.accepts(&got) {
            self.err(
                &scope.file,
                value.span,
                K::TypeMismatch {
                    what: what.into(),
                    want: want.clone(),
                    got,
                },
            );
            return None;
        }
        Some(e)
    }

    fn lower(&mut self, scope: &Scope, value: &ast::Value) -> Option<(Expr, Type)> {
        Some(match &value.kind {
            ValueKind::Str(s) => (self.lower_string(scope, s)?, Type::String),
            ValueKind::Int(i) => (Expr::Int(*i), Type::Int),
            ValueKind::Size(b) => (Expr::Size(*b), Type::Size),
            ValueKind::Duration(d) => (Expr::Duration(*d), Type::Duration),
            ValueKind::Bool(b) => (Expr::Bool(*b), Type::Bool),
            ValueKind::List(items) => {
                let mut out = Vec::new();
                let mut elem: Option<Type> = None;
                let mut ok = true;
                for item in items {
                    match self.lower(scope, item) {
                        Some((e, t)) => {
                            match &elem {
                                None => elem = Some(t),
                                Some(prev) if prev.accepts(&t) => {}
                                Some(prev) if t.accepts(prev) => elem = Some(t),
                                Some(prev) => {
                                    self.err(
                                        &scope.file,
                                        item.span,
                                        K::TypeMismatch {
                                            what: "list item".into(),
                                            want: prev.clone(),
                                            got: t,
                                        },
                                    );
                                    ok = false;
                                }
                            }
                            out.push(e);
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                (
                    Expr::List(out),
                    Type::List(Box::new(elem.unwrap_or(Type::String))),
                )
            }
            ValueKind::Ref(r) => self.lower_ref(scope, r)?,
        })
    }

    fn lower_string(&mut self, scope: &Scope, s: &ast::StringLit) -> Option<Expr> {
        let mut pieces = Vec::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => pieces.push(Piece::Text(t.clone())),
                StrPart::Interp(r) => match self.lower_ref(scope, r) {
                    Some((e, t)) => {
                        if !t.interpolates() {
                            self.err(&scope.file, r.span, K::NotInterpolable { ty: t });
                            ok = false;
                        } else {
                            pieces.push(Piece::Value(e));
                        }
                    }
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        // Fold what is known now into text.
        let mut folded: Vec<Piece> = Vec::new();
        for p in pieces {
            let p = match p {
                Piece::Value(v) if !v.is_secret() => match v.known_text() {
                    Some(t) => Piece::Text(t),
                    None => Piece::Value(v),
                },
                p => p,
            };
            match (folded.last_mut(), p) {
                (Some(Piece::Text(a)), Piece::Text(b)) => a.push_str(&b),
                (_, p) => folded.push(p),
            }
        }
        Some(match folded.as_slice() {
            [] => Expr::Str(String::new()),
            [Piece::Text(t)] => Expr::Str(t.clone()),
            _ => Expr::Interp(folded),
        })
    }

    fn lower_ref(&mut self, scope: &Scope, r: &ast::Reference) -> Option<(Expr, Type)> {
        let file = scope.file.clone();
        let name = &r.root.name;
        if let Some(p) = scope.params.get(name) {
            if !r.path.is_empty() {
                self.err(&file, r.span, K::ParamHasNoFields { name: name.clone() });
                return None;
            }
            return Some((p.value.clone(), p.ty.clone()));
        }
        let Some(decl) = scope.names.get(name) else {
            let suggestion = suggest(name, scope.all_names());
            self.err(
                &file,
                r.root.span,
                K::UnknownRef {
                    name: name.clone(),
                    suggestion,
                },
            );
            return None;
        };
        let mut rest = r.path.as_slice();
        let (mut expr, mut ty, mut shown) = match decl {
            Decl::Manual { .. } => {
                self.err(&file, r.span, K::ManualHasNoValue { name: name.clone() });
                return None;
            }
            Decl::Broken => return None,
            Decl::Op { id, sig } => {
                let out = match rest.first() {
                    Some(Accessor::Field(f)) => {
                        rest = &rest[1..];
                        match sig.output(&f.name) {
                            Some(o) => o,
                            None => {
                                let names: Vec<&str> = sig.outputs.iter().map(|o| o.name).collect();
                                let suggestion = suggest(&f.name, names.iter().copied());
                                self.err(
                                    &file,
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
                            self.err(
                                &file,
                                r.span,
                                K::NoValue {
                                    step: name.clone(),
                                    outputs: sig
                                        .outputs
                                        .iter()
                                        .map(|o| o.name.to_string())
                                        .collect(),
                                },
                            );
                            return None;
                        }
                    },
                };
                let e = Expr::Ref(StepRef {
                    step: id.clone(),
                    path: vec![PathElem::Field(out.name.into())],
                    known: None,
                });
                (e, out.full_type(), format!("{name}.{}", out.name))
            }
            Decl::Call {
                define, outputs, ..
            } => {
                let Some(Accessor::Field(f)) = rest.first() else {
                    self.err(
                        &file,
                        r.span,
                        K::NoValue {
                            step: name.clone(),
                            outputs: outputs.keys().cloned().collect(),
                        },
                    );
                    return None;
                };
                rest = &rest[1..];
                match outputs.get(&f.name) {
                    Some((t, e)) => (e.clone(), t.clone(), format!("{name}.{}", f.name)),
                    None => {
                        let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                        let suggestion = suggest(&f.name, names.iter().copied());
                        self.err(
                            &file,
                            f.span,
                            K::UnknownField {
                                base: format!("{name} ({define})"),
                                field: f.name.clone(),
                                suggestion,
                                available: names.iter().map(|n| n.to_string()).collect(),
                            },
                        );
                        return None;
                    }
                }
            }
        };
        for acc in rest {
            let resolved;
            let acc = match acc {
                Accessor::IndexParam(id) => {
                    let Some(p) = scope.params.get(&id.name) else {
                        let suggestion = suggest(&id.name, scope.params.keys().map(String::as_str));
                        self.err(
                            &file,
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
                            &file,
                            id.span,
                            K::TypeMismatch {
                                what: "index".into(),
                                want: Type::Int,
                                got: p.ty.clone(),
                            },
                        );
                        return None;
                    }
                    match &p.value {
                        Expr::Int(n) => {
                            resolved = Accessor::Index(u64::try_from(*n).unwrap_or(0), id.span);
                            &resolved
                        }
                        _ => {
                            let Type::List(elem) = &ty else {
                                self.err(
                                    &file,
                                    id.span,
                                    K::NotIndexable {
                                        base: shown.clone(),
                                        ty: ty.clone(),
                                    },
                                );
                                return None;
                            };
                            let elem = (**elem).clone();
                            extend_path(&mut expr, PathElem::Var(id.name.clone()));
                            shown.push_str(&format!("[{}]", id.name));
                            ty = elem;
                            continue;
                        }
                    }
                }
                other => other,
            };
            match acc {
                Accessor::IndexParam(_) => {}
                Accessor::Index(n, span) => {
                    let Type::List(elem) = &ty else {
                        self.err(
                            &file,
                            *span,
                            K::NotIndexable {
                                base: shown.clone(),
                                ty: ty.clone(),
                            },
                        );
                        return None;
                    };
                    if *n == 0 {
                        self.err(&file, *span, K::IndexZero);
                        return None;
                    }
                    let elem = (**elem).clone();
                    extend_path(&mut expr, PathElem::Index(*n));
                    shown.push_str(&format!("[{n}]"));
                    ty = elem;
                }
                Accessor::Field(f) => {
                    let fields = ty.fields();
                    let Some((_, fty, _)) = fields.iter().find(|(n, _, _)| *n == f.name) else {
                        let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
                        let suggestion = suggest(&f.name, names.iter().copied());
                        self.err(
                            &file,
                            f.span,
                            K::UnknownField {
                                base: shown.clone(),
                                field: f.name.clone(),
                                suggestion,
                                available: names.iter().map(|n| n.to_string()).collect(),
                            },
                        );
                        return None;
                    };
                    extend_path(&mut expr, PathElem::Field(f.name.clone()));
                    shown.push_str(&format!(".{}", f.name));
                    ty = fty.clone();
                }
            }
        }
        Some((expr, ty))
    }
}

fn location(file: &SourceFile, span: Span) -> String {
    let (line, col) = file.line_col(span.start);
    format!("{}:{line}:{col}", file.name)
}

fn extend_path(expr: &mut Expr, elem: PathElem) {
    if let Expr::Ref(r) = expr {
        r.path.push(elem);
        r.known = None;
    }
}

/// The root names a value refers to (for ordering definition calls).
fn value_roots(v: &ast::Value) -> Vec<String> {
    match &v.kind {
        ValueKind::Ref(r) => vec![r.root.name.clone()],
        ValueKind::List(items) => items.iter().flat_map(value_roots).collect(),
        ValueKind::Str(s) => s
            .parts
            .iter()
            .filter_map(|p| {
                if let StrPart::Interp(r) = p {
                    Some(r.root.name.clone())
                } else {
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn lit_text(s: &ast::StringLit) -> String {
    s.parts
        .iter()
        .map(|p| match p {
            StrPart::Text(t) => t.clone(),
            StrPart::Interp(r) => format!("${{{}}}", r.root.name),
        })
        .collect()
}

/// The op table's default text as a value of the argument's type.
fn default_expr(ty: &Type, text: &str) -> Expr {
    match ty {
        Type::Int => text
            .parse()
            .map(Expr::Int)
            .unwrap_or_else(|_| Expr::Str(text.into())),
        Type::Size => salvage_grammar::parse_size(text)
            .map(Expr::Size)
            .unwrap_or_else(|| Expr::Str(text.into())),
        Type::Bool => Expr::Bool(text == "true"),
        Type::Duration => salvage_grammar::parse_duration(text)
            .map(Expr::Duration)
            .unwrap_or_else(|| Expr::Str(text.into())),
        _ => Expr::Str(text.into()),
    }
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
        _ => Expr::Str(text.to_string()),
    })
}

/// Fills in outputs the plan already knows (an output handing an argument through), until
/// nothing changes.
fn fill_known(steps: &mut [PlanStep]) {
    for _ in 0..steps.len().max(1) {
        let known: BTreeMap<(String, String), Expr> = steps
            .iter()
            .filter_map(|s| s.op().map(|op| (s, op)))
            .flat_map(|(s, op)| {
                op.outputs.iter().filter_map(move |o| {
                    let arg = s.arg(o.from_arg?)?;
                    arg.known_text()?;
                    Some(((s.id.clone(), o.name.to_string()), arg.clone()))
                })
            })
            .collect();
        let mut changed = false;
        for s in steps.iter_mut() {
            for a in &mut s.args {
                changed |= fill_expr(&mut a.value, &known);
            }
            if let StepKind::Manual { text } = &mut s.kind {
                changed |= fill_expr(text, &known);
            }
        }
        if !changed {
            break;
        }
    }
}

fn fill_expr(e: &mut Expr, known: &BTreeMap<(String, String), Expr>) -> bool {
    match e {
        Expr::Ref(r) if r.known.is_none() && r.path.len() == 1 => {
            let PathElem::Field(f) = &r.path[0] else {
                return false;
            };
            match known.get(&(r.step.clone(), f.clone())) {
                Some(v) => {
                    r.known = Some(Box::new(v.clone()));
                    true
                }
                None => false,
            }
        }
        Expr::List(items) => items.iter_mut().fold(false, |c, i| fill_expr(i, known) | c),
        Expr::Interp(pieces) => pieces.iter_mut().fold(false, |c, p| match p {
            Piece::Value(v) => fill_expr(v, known) | c,
            Piece::Text(_) => c,
        }),
        Expr::Secret { value, .. } => fill_expr(value, known),
        _ => false,
    }
}

/// A param without a value yet, as steps see it: `Expr::Param`, wrapped as a secret when it
/// is one (so a plan shows `(secret NAME)` and the checker knows where it flows).
fn symbolic_param(name: &str, ty: &Type) -> Expr {
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
