//! What the run settles without starting a task: a step skipped by its `when:` (and the steps
//! that need it), an `assert` checked, a `for` loop expanded into one instance of its body
//! per element (`STEP[1]`, `STEP[2]`, ...; each journaled, so resumed, on its own), and a
//! loop's template step done once all its instances are (its outputs then lists, one item per
//! instance that ran).

use super::super::resume::{SKIPPED_FP, resume_among};
use super::{Scheduler, State};
use crate::fields;
use crate::resolve;
use salvage_language::plan::{Expr, Piece, PlanStep, StepKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

impl Scheduler<'_> {
    /// Settles every pending step that needs no task, until nothing changes (an expansion
    /// or a skip can settle more). Stops as soon as the run stops.
    pub(super) fn settle_instant(&mut self) {
        loop {
            let mut changed = false;
            let mut i = 0;
            while i < self.steps.len() {
                if self.stop {
                    return;
                }
                if self.state[i] == State::Pending {
                    changed |= self.settle(i);
                }
                i += 1;
            }
            if !changed {
                return;
            }
        }
    }

    /// Whether step `i`'s `when:` holds (steps without one: yes).
    pub(super) fn when_settled(&self, i: usize) -> bool {
        resolve::when_holds(&self.steps[i], &self.outcome.outputs) == Ok(true)
    }

    /// Step `i`, pending: whether it was settled now.
    fn settle(&mut self, i: usize) -> bool {
        if self.steps[i].in_loop() {
            return self.settle_template(i);
        }
        let skipped_dep = self.steps[i].deps.iter().find(|d| {
            self.index
                .get(d.as_str())
                .is_some_and(|j| self.state[*j] == State::Skipped)
        });
        if let Some(dep) = skipped_dep {
            let why = format!("needs {dep}, which was skipped");
            self.skip(i, &why);
            return true;
        }
        if !self.waits_done(i) {
            return false;
        }
        match resolve::when_holds(&self.steps[i], &self.outcome.outputs) {
            Ok(true) => {}
            Ok(false) => {
                let why = self.steps[i]
                    .when
                    .as_ref()
                    .map_or_else(String::new, |w| format!("when {}", w.text));
                self.skip(i, &why);
                return true;
            }
            Err(e) => {
                self.fail(i, &resolve::redact_str(&e, self.run_secrets));
                return true;
            }
        }
        match self.steps[i].kind {
            StepKind::ForEach { .. } => {
                self.expand(i);
                true
            }
            StepKind::Assert { .. } => {
                self.check_assert(i);
                true
            }
            _ => false,
        }
    }

    /// Skips step `i` (logged, and named in the summary with `why`).
    fn skip(&mut self, i: usize, why: &str) {
        let id = self.steps[i].id.clone();
        self.state[i] = State::Skipped;
        self.fps.insert(id.clone(), SKIPPED_FP.into());
        self.shared.log.event(
            "step_skipped",
            fields! {"step" => id, "reason" => why, "cause" => "when"},
        );
        self.outcome.skipped_when.push((id, why.to_string()));
    }

    /// An assert whose values are known: true goes on; false stops the run with its message.
    fn check_assert(&mut self, i: usize) {
        let Some(resolved) = self.resolve(i) else {
            return;
        };
        self.chain_fingerprint(i, &resolved);
        let id = self.steps[i].id.clone();
        let text = match &self.steps[i].kind {
            StepKind::Assert { text, .. } => text.clone(),
            _ => String::new(),
        };
        if resolved.args.get("cond") == Some(&Value::Bool(true)) {
            self.state[i] = State::Done;
            self.outcome.ok.push(id.clone());
            self.outcome.outputs.insert(id, Value::Object(Map::new()));
            return;
        }
        let message = resolved
            .args
            .get("message")
            .map(resolve::text_of)
            .unwrap_or_default();
        let message = resolve::redact_str(&message, &resolved.secrets);
        self.shared.log.event(
            "assert_failed",
            fields! {"step" => id, "condition" => text, "message" => message},
        );
        self.shared
            .progress
            .println(&format!("[{id}] assert {text} is false: {message}"));
        self.state[i] = State::Failed;
        self.outcome.assertion = Some((id, message.clone()));
        self.outcome.status = super::super::RunStatus::AssertFailed(message);
        self.stop = true;
    }

    /// A loop whose list is known: one element step and one instance of each body step per
    /// element, appended to the run's steps (what a previous run finished among them is
    /// resumed).
    fn expand(&mut self, i: usize) {
        let Some(resolved) = self.resolve(i) else {
            return;
        };
        let loop_fp = self.chain_fingerprint(i, &resolved);
        let loop_id = self.steps[i].id.clone();
        let items = match resolved.args.get("list") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => {
                let why = format!("`for {loop_id}` wants a list, but got {other}");
                self.fail(i, &why);
                return;
            }
        };
        let body: Vec<usize> = (0..self.steps.len())
            .filter(|j| self.steps[*j].loops.first() == Some(&loop_id))
            .collect();
        let mut names: BTreeSet<String> = body.iter().map(|j| self.steps[*j].id.clone()).collect();
        names.insert(loop_id.clone());
        self.state[i] = State::Done;
        self.outcome.ok.push(loop_id.clone());
        self.outcome
            .outputs
            .insert(loop_id.clone(), Value::Array(items.clone()));
        for j in &body {
            self.instances.entry(*j).or_default();
        }
        let key = *self.shared.state.key();
        let mut made: Vec<(Option<usize>, PlanStep)> = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let suffix = format!("[{}]", k + 1);
            let mut element = self.steps[i].clone();
            element.id = format!("{loop_id}{suffix}");
            element.deps.clear();
            element.after.clear();
            element.when = None;
            let elem_args = BTreeMap::from([("element".to_string(), item.clone())]);
            let fp = resolve::chain(
                &resolve::fingerprint(&key, "for", &elem_args),
                [(loop_id.as_str(), loop_fp.as_str())],
            );
            self.fps.insert(element.id.clone(), fp);
            self.outcome
                .outputs
                .insert(element.id.clone(), item.clone());
            made.push((None, element));
            for j in &body {
                made.push((Some(*j), instantiate(&self.steps[*j], &names, &suffix)));
            }
        }
        let new_steps: Vec<PlanStep> = made.iter().map(|(_, s)| s.clone()).collect();
        let resumable = resume_among(
            &new_steps,
            &key,
            self.replay,
            &self.outcome.outputs,
            &self.fps,
        );
        self.done_before.extend(resumable);
        self.shared.log.event(
            "loop_expanded",
            fields! {"step" => loop_id, "count" => items.len()},
        );
        for (template, step) in made {
            let at = self.steps.len();
            self.index.insert(step.id.clone(), at);
            let elem = template.is_none();
            if elem {
                self.elements.insert(at);
            }
            self.steps.push(step);
            self.state
                .push(if elem { State::Done } else { State::Pending });
            if let Some(t) = template {
                self.instances.entry(t).or_default().push(at);
            }
        }
    }

    /// A template (a step inside a loop): skipped with its loop, done once its instances are,
    /// with each output a list of the instances' values (those that ran, in list order).
    fn settle_template(&mut self, i: usize) -> bool {
        let outer = &self.steps[i].loops[0];
        if let Some(l) = self.index.get(outer) {
            if self.state[*l] == State::Skipped {
                let why = format!("its loop `{outer}` was skipped");
                self.skip(i, &why);
                return true;
            }
        }
        let Some(instances) = self.instances.get(&i) else {
            return false;
        };
        let settled = instances
            .iter()
            .all(|j| matches!(self.state[*j], State::Done | State::Skipped));
        if !settled {
            return false;
        }
        let ran: Vec<usize> = instances
            .iter()
            .copied()
            .filter(|j| self.state[*j] == State::Done)
            .collect();
        let mut fields: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        if let Some(op) = self.steps[i].op() {
            for o in op.outputs {
                fields.entry(o.name.to_string()).or_default();
            }
        }
        for j in &ran {
            if let Some(Value::Object(o)) = self.outcome.outputs.get(&self.steps[*j].id) {
                for (k, v) in o {
                    fields.entry(k.clone()).or_default().push(v.clone());
                }
            }
        }
        let outputs: Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k, Value::Array(v)))
            .collect();
        let fp = resolve::chain(
            "loop instances",
            instances.iter().filter_map(|j| {
                let id = self.steps[*j].id.as_str();
                Some((id, self.fps.get(id)?.as_str()))
            }),
        );
        let id = self.steps[i].id.clone();
        self.fps.insert(id.clone(), fp);
        if instances
            .iter()
            .any(|j| self.changed.contains(&self.steps[*j].id))
        {
            self.changed.insert(id.clone());
        }
        self.outcome.outputs.insert(id, Value::Object(outputs));
        self.state[i] = State::Done;
        self.resume_after_loop();
        true
    }

    /// Once a loop's step is done, the steps after it that a previous run finished with the
    /// inputs they have now are known: they are skipped like any other (the run's start could
    /// not tell, not knowing the loop's outputs).
    fn resume_after_loop(&mut self) {
        let pending: Vec<PlanStep> = (0..self.steps.len())
            .filter(|j| {
                self.state[*j] == State::Pending
                    && !self.done_before.contains_key(&self.steps[*j].id)
            })
            .map(|j| self.steps[j].clone())
            .collect();
        let key = *self.shared.state.key();
        let more = resume_among(
            &pending,
            &key,
            self.replay,
            &self.outcome.outputs,
            &self.fps,
        );
        for (id, v) in more {
            self.done_before.entry(id).or_insert(v);
        }
    }
}

/// Step `template`'s instance for one element: its id and every id of the loop's body (and
/// the loop's own, which names the element) given `suffix`; the loop taken off its loops.
fn instantiate(template: &PlanStep, names: &BTreeSet<String>, suffix: &str) -> PlanStep {
    let rename = |id: &String| {
        if names.contains(id) {
            format!("{id}{suffix}")
        } else {
            id.clone()
        }
    };
    let mut s = template.clone();
    s.id = rename(&s.id);
    s.deps = s.deps.iter().map(rename).collect();
    s.after = s.after.iter().map(rename).collect();
    s.loops = s.loops.iter().skip(1).map(rename).collect();
    for a in &mut s.args {
        rename_expr(&mut a.value, names, suffix);
    }
    match &mut s.kind {
        StepKind::Manual { text } => rename_expr(text, names, suffix),
        StepKind::ForEach { list, .. } => rename_expr(list, names, suffix),
        StepKind::Assert { cond, message, .. } => {
            rename_expr(cond, names, suffix);
            rename_expr(message, names, suffix);
        }
        StepKind::Op(_) => {}
    }
    if let Some(w) = &mut s.when {
        rename_expr(&mut w.cond, names, suffix);
    }
    s
}

/// Renames the steps an expression refers to (see [`instantiate`]).
fn rename_expr(e: &mut Expr, names: &BTreeSet<String>, suffix: &str) {
    match e {
        Expr::Ref(r) => {
            if names.contains(&r.step) {
                r.step = format!("{}{suffix}", r.step);
            }
            if let Some(k) = &mut r.known {
                rename_expr(k, names, suffix);
            }
        }
        Expr::List(items) => items.iter_mut().for_each(|i| rename_expr(i, names, suffix)),
        Expr::Interp(pieces) => {
            for p in pieces {
                if let Piece::Value(v) = p {
                    rename_expr(v, names, suffix);
                }
            }
        }
        Expr::Secret { value, .. } => rename_expr(value, names, suffix),
        Expr::Op(o) => o
            .args
            .iter_mut()
            .for_each(|a| rename_expr(a, names, suffix)),
        Expr::Str(_)
        | Expr::Int(_)
        | Expr::Size(_)
        | Expr::Duration(_)
        | Expr::Bool(_)
        | Expr::Param(_) => {}
    }
}
