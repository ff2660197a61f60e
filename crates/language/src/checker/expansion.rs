//! Expansion: one block instance lowered into plan steps with its params bound, in passes
//! (declarations, definition calls, op and manual steps, outputs); a definition call expands
//! the definition under the caller's prefix (`part/check`), each definition also checked
//! once on its own for its params and output types.

use super::control::{LoopLists, add_when, enter_loop, wait_for_asserts};
use super::param_value::symbolic_param;
use super::{Cx, Decl, DefineInfo, DefineParams, MAX_DEFINE_DEPTH, ParamBinding, Scope, location};
use crate::diagnostic::{Diagnostic, DiagnosticKind as K, suggest};
use crate::op_table::OpSig;
use crate::plan::*;
use crate::source_file::SourceFile;
use crate::value_type::Type;
use salvage_grammar::ast::{self, Block, Ident, Span, Stmt, StrPart, ValueKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A block's outputs: name → type and value.
type Outputs = BTreeMap<String, (Type, Expr)>;

/// What the declaration pass found.
struct Declared<'b> {
    /// Steps that call a definition, in source order.
    calls: Vec<&'b ast::Step>,
    /// `for` loops whose variable is declared, outer ones first.
    loops: Vec<&'b ast::ForLoop>,
    /// Statements that redeclare a name (by the start of their name): reported once, then not
    /// lowered (lowering them against the first declaration's op would give confusing
    /// follow-on errors).
    duplicates: BTreeSet<usize>,
}

/// The first declaration of each name in a block: its span and what it is. Outputs are keyed
/// `output NAME`.
type FirstSeen = BTreeMap<String, (Span, &'static str)>;

impl Cx {
    /// Lowers one block instance into plan steps (appended to `steps`), with its params bound.
    /// Returns its outputs.
    pub(super) fn expand(
        &mut self,
        file: &Arc<SourceFile>,
        block: &Block,
        prefix: &str,
        bindings: Option<BTreeMap<String, ParamBinding>>,
        steps: &mut Vec<PlanStep>,
    ) -> Outputs {
        let mut scope = Scope {
            file: file.clone(),
            prefix: prefix.to_string(),
            params: bindings.unwrap_or_default(),
            names: BTreeMap::new(),
            loops_of: BTreeMap::new(),
            current: Default::default(),
        };
        let declared = self.declare(&mut scope, block);
        let (mut call_steps, lists) = self.expand_calls(&mut scope, declared.calls, declared.loops);
        let start = steps.len();
        let mut lowering = Lowering {
            duplicates: &declared.duplicates,
            call_steps: &mut call_steps,
            lists: &lists,
        };
        self.lower_steps(&scope, &block.body, &mut lowering, steps);
        wait_for_asserts(steps, start);
        self.lower_outputs(&scope, block)
    }

    /// Pass 1: declarations, duplicates, param types.
    fn declare<'b>(&mut self, scope: &mut Scope, block: &'b Block) -> Declared<'b> {
        let mut first = FirstSeen::new();
        let mut about_seen: Option<Span> = None;
        let mut declared = Declared {
            calls: Vec::new(),
            loops: Vec::new(),
            duplicates: BTreeSet::new(),
        };
        let mut walk = DeclareWalk {
            first: &mut first,
            about_seen: &mut about_seen,
            loops: Vec::new(),
        };
        self.declare_stmts(scope, &block.body, &mut walk, &mut declared);
        declared
    }

    /// Declares the names of `stmts` (and of the loops among them, recursively).
    fn declare_stmts<'b>(
        &mut self,
        scope: &mut Scope,
        stmts: &'b [Stmt],
        walk: &mut DeclareWalk<'_>,
        declared: &mut Declared<'b>,
    ) {
        let file = scope.file.clone();
        for stmt in stmts {
            if let Stmt::For(f) = stmt {
                if let Some(id) = self.declare_loop(scope, f, &walk.loops, walk.first) {
                    declared.loops.push(f);
                    walk.loops.push(id);
                    self.declare_stmts(scope, &f.body, walk, declared);
                    walk.loops.pop();
                }
                continue;
            }
            let (first, about_seen) = (&mut *walk.first, &mut *walk.about_seen);
            let Some((name, what)) = self.named(&file, stmt, first, about_seen) else {
                continue;
            };
            if let Some((prev, first_what)) = first.get(&name.name) {
                self.diags.push(
                    Diagnostic::error(
                        &file,
                        name.span,
                        K::Duplicate {
                            what,
                            first: first_what,
                            name: name.name.clone(),
                        },
                    )
                    .with_label(*prev, "first declared here"),
                );
                declared.duplicates.insert(name.span.start);
                continue;
            }
            if name.name == "after" {
                let reserved = K::Reserved {
                    name: name.name.clone(),
                };
                self.err(&file, name.span, reserved);
            }
            first.insert(name.name.clone(), (name.span, what));
            if !walk.loops.is_empty() {
                scope.loops_of.insert(name.name.clone(), walk.loops.clone());
            }
            self.declare_step(scope, stmt, &mut declared.calls);
        }
    }

    /// The name a statement declares in the block's namespace, and what it is (`param` or
    /// `step`). `about` and outputs have their own: their duplicates are reported here.
    fn named<'b>(
        &mut self,
        file: &Arc<SourceFile>,
        stmt: &'b Stmt,
        first: &mut FirstSeen,
        about_seen: &mut Option<Span>,
    ) -> Option<(&'b Ident, &'static str)> {
        match stmt {
            Stmt::About(a) => {
                if let Some(prev) = *about_seen {
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
                *about_seen = Some(a.span);
                None
            }
            Stmt::Param(p) => {
                self.check_param_type(file, p);
                Some((&p.name, "param"))
            }
            Stmt::Step(s) => Some((&s.name, "step")),
            Stmt::Manual(m) => Some((&m.name, "step")),
            Stmt::Output(o) => {
                self.declare_output(file, o, first);
                None
            }
            Stmt::Assert(_) | Stmt::For(_) => None,
        }
    }

    /// A param of a type the language does not have is an error.
    fn check_param_type(&mut self, file: &Arc<SourceFile>, p: &ast::Param) {
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
    }

    /// An output declared twice is an error.
    fn declare_output(&mut self, file: &Arc<SourceFile>, o: &ast::Output, first: &mut FirstSeen) {
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
    }

    /// Puts a step's name in scope: an op step, a manual step, or a broken step (unknown op,
    /// reported here); a definition call is put aside for pass 2.
    fn declare_step<'b>(
        &mut self,
        scope: &mut Scope,
        stmt: &'b Stmt,
        calls: &mut Vec<&'b ast::Step>,
    ) {
        match stmt {
            Stmt::Step(s) => {
                let id = format!("{}{}", scope.prefix, s.name.name);
                if let Some(sig) = OpSig::find(&s.op.name) {
                    scope
                        .names
                        .insert(s.name.name.clone(), Decl::Op { id, sig });
                } else if self.defines.contains_key(&s.op.name) {
                    calls.push(s);
                } else {
                    self.unknown_op(&scope.file, s);
                    scope.names.insert(s.name.name.clone(), Decl::Broken);
                }
            }
            Stmt::Manual(m) => {
                let id = format!("{}{}", scope.prefix, m.name.name);
                scope.names.insert(m.name.name.clone(), Decl::Manual { id });
            }
            _ => {}
        }
    }

    /// A step whose op is neither an op nor a definition: an error, with the nearest name.
    fn unknown_op(&mut self, file: &Arc<SourceFile>, s: &ast::Step) {
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
    }

    /// Pass 2: definition calls and loop lists, in the order they need each other (a call's
    /// arguments may name a loop's variable; a loop's list, a call's output). Returns each
    /// call's steps by the calling step's name, and each loop's checked list.
    fn expand_calls(
        &mut self,
        scope: &mut Scope,
        calls: Vec<&ast::Step>,
        loops: Vec<&ast::ForLoop>,
    ) -> (BTreeMap<String, Vec<PlanStep>>, LoopLists) {
        let call_names: BTreeSet<String> = calls.iter().map(|s| s.name.name.clone()).collect();
        // Loops not yet listed, by variable name (sibling loops may share one).
        let mut unlisted: BTreeMap<String, usize> = BTreeMap::new();
        for f in &loops {
            *unlisted.entry(f.var.name.clone()).or_default() += 1;
        }
        let mut pending: Vec<Pending> = calls.into_iter().map(Pending::Call).collect();
        pending.extend(loops.into_iter().map(Pending::Loop));
        let mut call_steps: BTreeMap<String, Vec<PlanStep>> = BTreeMap::new();
        let mut lists = LoopLists::new();
        let mut progressed = true;
        while !pending.is_empty() && progressed {
            progressed = false;
            let mut next = Vec::new();
            for item in pending {
                let waiting = item.roots().iter().any(|r| {
                    (call_names.contains(r) && !scope.names.contains_key(r) && *r != item.name())
                        || (unlisted.get(r).is_some_and(|n| *n > 0) && *r != item.name())
                });
                if waiting {
                    next.push(item);
                    continue;
                }
                progressed = true;
                match item {
                    Pending::Call(s) => {
                        let mut own = Vec::new();
                        let around = scope.loops_of.get(&s.name.name).cloned();
                        *scope.current.borrow_mut() = around.unwrap_or_default();
                        self.expand_call(scope, s, &mut own);
                        scope.current.borrow_mut().clear();
                        call_steps.insert(s.name.name.clone(), own);
                    }
                    Pending::Loop(f) => {
                        self.check_loop_list(scope, f, &mut lists);
                        if let Some(n) = unlisted.get_mut(&f.var.name) {
                            *n -= 1;
                        }
                    }
                }
            }
            pending = next;
        }
        let stuck: Vec<&ast::Step> = pending
            .iter()
            .filter_map(|p| match p {
                Pending::Call(s) => Some(*s),
                Pending::Loop(_) => None,
            })
            .collect();
        self.report_call_cycles(&scope.file, &stuck, &call_names);
        for p in &pending {
            if let Pending::Loop(f) = p {
                let path = vec![f.var.name.clone(), written_roots(&f.list)];
                self.err(&scope.file, f.var.span, K::Cycle { path });
            }
        }
        (call_steps, lists)
    }

    /// Calls that need each other's outputs: a cycle through definitions.
    fn report_call_cycles(
        &mut self,
        file: &Arc<SourceFile>,
        pending: &[&ast::Step],
        call_names: &BTreeSet<String>,
    ) {
        for s in pending {
            let mut path: Vec<String> = vec![s.name.name.clone()];
            path.extend(
                s.args
                    .iter()
                    .flat_map(|a| value_roots(&a.value))
                    .filter(|r| call_names.contains(r)),
            );
            self.err(file, s.name.span, K::Cycle { path });
        }
    }

    /// Pass 3: op steps, manual steps, asserts and loops, in source order (a call's steps
    /// where it stands; a loop's step, then its body).
    fn lower_steps(
        &mut self,
        scope: &Scope,
        stmts: &[Stmt],
        lw: &mut Lowering<'_>,
        steps: &mut Vec<PlanStep>,
    ) {
        for stmt in stmts {
            match stmt {
                Stmt::Step(s) if lw.duplicates.contains(&s.name.span.start) => {}
                Stmt::Manual(m) if lw.duplicates.contains(&m.name.span.start) => {}
                Stmt::Step(s) => {
                    if let Some(own) = lw.call_steps.remove(&s.name.name) {
                        steps.extend(own);
                    } else if let Some(Decl::Op { id, sig }) =
                        scope.names.get(&s.name.name).cloned()
                    {
                        if let Some(step) = self.lower_op_step(scope, s, &id, sig) {
                            steps.push(step);
                        }
                    }
                }
                Stmt::Manual(m) => steps.push(self.lower_manual(scope, m)),
                Stmt::Assert(a) => {
                    if let Some(step) = self.lower_assert(scope, a) {
                        steps.push(step);
                    }
                }
                Stmt::For(f) => {
                    let Some(list) = lw.lists.get(&f.span.start) else {
                        continue;
                    };
                    let step = self.loop_step(scope, f, list);
                    let id = step.id.clone();
                    steps.push(step);
                    let start = steps.len();
                    scope.current.borrow_mut().push(id.clone());
                    self.lower_steps(scope, &f.body, lw, steps);
                    scope.current.borrow_mut().pop();
                    enter_loop(&mut steps[start..], &id);
                }
                _ => {}
            }
        }
    }

    /// A manual step: its text (which may wait for outputs) and its `after`.
    fn lower_manual(&mut self, scope: &Scope, m: &ast::Manual) -> PlanStep {
        let file = &scope.file;
        let id = format!("{}{}", scope.prefix, m.name.name);
        let text = self.lower_string(scope, &m.text);
        let mut after = Vec::new();
        if let Some(a) = &m.after {
            after = self.lower_after(scope, a);
        }
        let when = m.when.as_ref().and_then(|w| self.lower_when(scope, w));
        let mut deps = Vec::new();
        if let Some(t) = &text {
            t.collect_deps(&mut deps);
        }
        if let Some(w) = &when {
            w.cond.collect_deps(&mut deps);
        }
        deps.sort();
        deps.dedup();
        PlanStep {
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
            when,
            loops: Vec::new(),
        }
    }

    /// The block's outputs that lower.
    fn lower_outputs(&mut self, scope: &Scope, block: &Block) -> Outputs {
        let mut outputs = BTreeMap::new();
        for stmt in &block.body {
            if let Stmt::Output(o) = stmt {
                if let Some((e, t)) = self.lower(scope, &o.value) {
                    outputs.insert(o.name.name.clone(), (t, e));
                }
            }
        }
        outputs
    }

    /// Checks a definition once on its own, for its params and output types.
    pub(super) fn generic_info(&mut self, name: &str) -> Option<DefineInfo> {
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
        let (params, bindings) = symbolic_params(&block);
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

    /// A definition call: its arguments bound to the definition's params, the definition
    /// expanded under the caller's prefix, and the call's name put in scope with its step ids
    /// and outputs.
    fn expand_call(&mut self, scope: &mut Scope, s: &ast::Step, steps: &mut Vec<PlanStep>) {
        let file = scope.file.clone();
        let define = s.op.name.clone();
        let Some(info) = self.generic_info(&define) else {
            let call = Decl::Call {
                define,
                ids: vec![],
                outputs: BTreeMap::new(),
            };
            scope.names.insert(s.name.name.clone(), call);
            return;
        };
        let Some((dfile, dblock)) = self.defines.get(&define).cloned() else {
            return;
        };
        let (bindings, after, when) = self.bind_call_args(scope, s, &info, &dfile);
        let prefix = format!("{}{}/", scope.prefix, s.name.name);
        let start = steps.len();
        if self.depth >= MAX_DEFINE_DEPTH {
            let chain = vec![define.clone(), "…".into()];
            self.err(&file, s.op.span, K::DefineRecursion { chain });
            return;
        }
        self.depth += 1;
        let outs = self.expand(&dfile, &dblock, &prefix, Some(bindings), steps);
        self.depth -= 1;
        if let Some(when) = &when {
            add_when(&mut steps[start..], when);
        }
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
        let call = Decl::Call {
            define,
            ids,
            outputs,
        };
        scope.names.insert(s.name.name.clone(), call);
    }
}

/// A definition's params (with their defaults), each bound to itself, symbolically.
fn symbolic_params(block: &Block) -> (DefineParams, BTreeMap<String, ParamBinding>) {
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
    (params, bindings)
}

/// What pass 3 needs from passes 1 and 2.
struct Lowering<'d> {
    /// Statements that redeclare a name (by the start of their name).
    duplicates: &'d BTreeSet<usize>,
    /// Each definition call's steps, taken as the call is reached.
    call_steps: &'d mut BTreeMap<String, Vec<PlanStep>>,
    /// Each loop's checked list.
    lists: &'d LoopLists,
}

/// The declaration pass's walk: names seen first, `about`, the loops around.
struct DeclareWalk<'w> {
    first: &'w mut FirstSeen,
    about_seen: &'w mut Option<Span>,
    loops: Vec<String>,
}

/// A definition call or a loop list, waiting in pass 2 for what it names.
enum Pending<'b> {
    Call(&'b ast::Step),
    Loop(&'b ast::ForLoop),
}

impl Pending<'_> {
    fn name(&self) -> &str {
        match self {
            Pending::Call(s) => &s.name.name,
            Pending::Loop(f) => &f.var.name,
        }
    }

    fn roots(&self) -> Vec<String> {
        match self {
            Pending::Call(s) => s.args.iter().flat_map(|a| value_roots(&a.value)).collect(),
            Pending::Loop(f) => value_roots(&f.list),
        }
    }
}

/// The names a value refers to, joined (for a cycle's message).
fn written_roots(v: &ast::Value) -> String {
    value_roots(v).join(", ")
}

/// The root names a value refers to (for ordering definition calls).
fn value_roots(v: &ast::Value) -> Vec<String> {
    match &v.kind {
        ValueKind::Ref(r) => vec![r.root.name.clone()],
        ValueKind::List(items) => items.iter().flat_map(value_roots).collect(),
        ValueKind::Binary { left, right, .. } => {
            let mut out = value_roots(left);
            out.extend(value_roots(right));
            out
        }
        ValueKind::Not(inner) => value_roots(inner),
        ValueKind::Call { args, .. } => args.iter().flat_map(value_roots).collect(),
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
