//! The post-incident view of a run log: runs, their steps in order with timing, commands,
//! approvals, attachments and the cleanups that undid them, built from the log's events.
//!
//! [`build`] turns events into a [`Review`]; [`text::render`] prints it for people, and the
//! same structure serializes as the JSON document of `salvage review --format json`.

pub mod text;

pub use salvage_text::shell_quote::{quote_argv, quote_word};

use crate::event_log::{BadLine, LogContents, LogLine, RESUMED_AFTER_DAMAGE, parse_millis};
use serde::Serialize;
use serde_json::{Map, Value};

/// Everything a reviewer sees of one log file.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The file, as given.
    pub file: String,
    /// How many lines were events.
    pub events: usize,
    /// The runs, in file order.
    pub runs: Vec<Run>,
    /// Lines that are not events, events outside any run, damage boundaries.
    pub notes: Vec<Note>,
}

/// A remark tied to a line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// 1-based line number.
    pub line: usize,
    /// The remark.
    pub text: String,
}

/// One run: from its `run_started` to its `run_finished` (or to the next run / end of log).
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// 1-based position among the log's runs.
    pub number: usize,
    /// Line of `run_started`.
    pub line: usize,
    /// When it started (RFC 3339, as logged).
    pub started: String,
    /// Runbook name.
    pub runbook: String,
    /// Runbook file.
    pub file: String,
    /// sha256 of the runbook file.
    pub runbook_sha256: String,
    /// salvage version that ran it.
    pub salvage_version: String,
    /// Host it ran on.
    pub host: String,
    /// User who ran it.
    pub user: String,
    /// Parameters (secrets already redacted by the writer).
    pub params: Map<String, Value>,
    /// State directory.
    pub state_dir: String,
    /// Whether this run resumed an earlier one.
    pub resumed: bool,
    /// Parallel jobs.
    pub jobs: Option<i64>,
    /// The saved plan the run carried out (`run --plan`), with its approvals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Value>,
    /// Leftovers of a crashed run undone at the start of this one.
    pub recovered: Vec<Recovered>,
    /// Steps in the order they first appear.
    pub steps: Vec<Step>,
    /// `run_finished`, if the run got there.
    pub finished: Option<Finished>,
    /// Step counts: from `run_finished` when present, else counted from the steps seen.
    pub counts: Counts,
    /// Cleanup actions that succeeded, in the order they ran.
    pub cleaned_up: Vec<String>,
    /// Attachments without a successful cleanup.
    pub left_attached: Vec<LeftAttached>,
    /// Remarks about lines of this run.
    pub notes: Vec<Note>,
    /// What the unreadable areas hit, from each `damage` step, and the files each copy given
    /// a damage report marked damaged (`copy_damage`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub damage: Vec<DamageSeen>,
    #[serde(skip)]
    start_ms: i64,
}

/// A `damage` step's answer: what an image's unreadable areas hit.
#[derive(Debug, Clone, Serialize)]
pub struct DamageSeen {
    /// Line of the event.
    pub line: usize,
    /// The step.
    pub step: String,
    /// "3 files damaged (12.0 KiB lost), 1 directory, no metadata".
    pub summary: String,
    /// The JSON report.
    pub report: String,
}

/// A leftover of a crashed run, undone at the start of this one.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// Line of the event.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// What was undone.
    pub action: String,
    /// "ok" or "failed".
    pub status: String,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct Finished {
    /// Line of `run_finished`.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// ok, failed, waiting, interrupted, refused.
    pub status: String,
    /// As logged.
    pub duration_ms: Option<i64>,
}

/// Step counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Steps that finished ok.
    pub ok: i64,
    /// Steps that failed.
    pub failed: i64,
    /// Steps skipped (resumed, inputs unchanged).
    pub skipped: i64,
    /// Steps that never ran.
    pub not_run: i64,
    /// Of the finished steps, those that lost entries (completed with losses).
    #[serde(skip_serializing_if = "is_zero")]
    pub partial: i64,
    /// Steps stopped halfway by a signal (Ctrl-C, SIGTERM, SIGHUP).
    #[serde(skip_serializing_if = "is_zero")]
    pub interrupted: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An attachment nothing undid, with the run that later recovered it if one did.
#[derive(Debug, Clone, Serialize)]
pub struct LeftAttached {
    /// The step that attached it.
    pub step: String,
    /// What was attached.
    pub what: String,
    /// How to undo it.
    pub undo: String,
    /// Line of the `attached` event.
    pub line: usize,
    /// Line of a later `recovered` event whose action is this undo, if any.
    pub recovered_at_line: Option<usize>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// Op name.
    pub op: String,
    /// Effect class.
    pub effect: String,
    /// Resolved arguments.
    pub args: Map<String, Value>,
    /// Milliseconds after the run's start at which it started (or was first seen).
    pub start_ms: i64,
    /// As logged by `step_finished`.
    pub duration_ms: Option<i64>,
    /// Where it got to.
    pub status: StepStatus,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The manual step's text, if the run stopped waiting for it.
    pub waiting: Option<String>,
    /// Outputs of a finished step.
    pub outputs: Map<String, Value>,
    /// Commands it ran.
    pub commands: Vec<CommandRun>,
    /// Approvals given for it.
    pub approvals: Vec<Approval>,
    /// What it attached, each with the cleanups that undid it.
    pub attachments: Vec<Attachment>,
    /// Cleanups of this step that matched no attachment.
    pub other_cleanups: Vec<Cleanup>,
    /// Entries it lost (a copy's unreadable entries), when it finished partial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub losses: Option<i64>,
}

/// Where a step got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Finished ok.
    Ok,
    /// Finished, having lost entries it was asked for (`losses`): completed with losses.
    Partial,
    /// Finished failed.
    Failed,
    /// Skipped (resumed; inputs unchanged).
    Skipped,
    /// A manual step nobody approved: the run stopped there.
    Waiting,
    /// A manual step that was approved.
    Approved,
    /// Started but never finished (the run crashed or was killed).
    Unfinished,
    /// Stopped halfway by Ctrl-C, SIGTERM or SIGHUP; the run cleaned up.
    Interrupted,
    /// Seen in the log, but never started.
    NotRun,
    /// Skipped by its `when:` (or because a step it needs was): its reason says which.
    SkippedWhen,
    /// An `assert` that was false and stopped the run (its message in `error`).
    AssertFailed,
}

/// A command a step ran.
#[derive(Debug, Clone, Serialize)]
pub struct CommandRun {
    /// Line of the event.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// The argv.
    pub argv: Vec<String>,
    /// The argv shell-quoted, for display.
    pub shell: String,
    /// Exit code, or none if killed.
    pub exit_code: Option<i64>,
    /// The signal that killed it.
    pub signal: Option<String>,
    /// How long it ran.
    pub duration_ms: Option<i64>,
    /// Its stdout (bounded by the writer).
    pub stdout: String,
    /// Its stderr (bounded by the writer).
    pub stderr: String,
}

/// An approval of a manual step.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    /// Line of the event.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// When (RFC 3339, as logged).
    pub time: String,
    /// Who approved.
    pub by: String,
    /// "terminal" or "--approve".
    pub via: String,
    /// What was asked.
    pub text: String,
}

/// Reversible system state a step set up.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    /// Line of the event.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// What was attached.
    pub what: String,
    /// How to undo it.
    pub undo: String,
    /// Cleanups that tried to undo it, in order.
    pub cleanups: Vec<Cleanup>,
    /// No successful cleanup undid it.
    pub left_attached: bool,
}

/// A cleanup action.
#[derive(Debug, Clone, Serialize)]
pub struct Cleanup {
    /// Line of the event.
    pub line: usize,
    /// Milliseconds after the run's start.
    pub at_ms: i64,
    /// What was done.
    pub action: String,
    /// "ok" or "failed".
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
}

fn opt_str(l: &LogLine, name: &str) -> Option<String> {
    l.fields
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn obj(l: &LogLine, name: &str) -> Map<String, Value> {
    match l.fields.get(name) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

fn millis(l: &LogLine) -> i64 {
    parse_millis(&l.time).unwrap_or(0)
}

impl Run {
    fn start(number: usize, l: &LogLine) -> Run {
        Run {
            number,
            line: l.number,
            started: l.time.clone(),
            runbook: l.str("runbook").to_string(),
            file: l.str("file").to_string(),
            runbook_sha256: l.str("runbook_sha256").to_string(),
            salvage_version: l.str("salvage_version").to_string(),
            host: l.str("host").to_string(),
            user: l.str("user").to_string(),
            params: obj(l, "params"),
            state_dir: l.str("state_dir").to_string(),
            resumed: l.fields.get("resumed").and_then(Value::as_bool) == Some(true),
            jobs: l.int("jobs"),
            plan: l.fields.get("plan").filter(|v| v.is_object()).cloned(),
            recovered: Vec::new(),
            steps: Vec::new(),
            finished: None,
            counts: Counts::default(),
            cleaned_up: Vec::new(),
            left_attached: Vec::new(),
            notes: Vec::new(),
            damage: Vec::new(),
            start_ms: millis(l),
        }
    }

    /// What the run found lost, for its headline: each `damage` step's answer ("3 files
    /// damaged (12.0 KiB lost), 1 directory, no metadata"), then each copy's damaged files.
    pub fn lost_headline(&self) -> Option<String> {
        let parts: Vec<&str> = self.damage.iter().map(|d| d.summary.as_str()).collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn at(&self, l: &LogLine) -> i64 {
        millis(l) - self.start_ms
    }

    fn step(&mut self, l: &LogLine) -> &mut Step {
        let name = l.str("step");
        let i = match self.steps.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                let start_ms = self.at(l);
                self.steps.push(Step {
                    name: name.to_string(),
                    op: String::new(),
                    effect: String::new(),
                    args: Map::new(),
                    start_ms,
                    duration_ms: None,
                    status: StepStatus::NotRun,
                    skip_reason: None,
                    error: None,
                    waiting: None,
                    outputs: Map::new(),
                    commands: Vec::new(),
                    approvals: Vec::new(),
                    attachments: Vec::new(),
                    losses: None,
                    other_cleanups: Vec::new(),
                });
                self.steps.len() - 1
            }
        };
        &mut self.steps[i]
    }

    /// Adds one event of this run; false when the kind is not a run event.
    fn add(&mut self, l: &LogLine) -> bool {
        let at_ms = self.at(l);
        match l.event.as_str() {
            "step_started" => {
                let s = self.step(l);
                s.start_ms = at_ms;
                s.op = l.str("op").to_string();
                s.effect = l.str("effect").to_string();
                s.args = obj(l, "args");
                s.status = StepStatus::Unfinished;
            }
            "command" => {
                let argv: Vec<String> = match l.fields.get("argv") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect(),
                    _ => Vec::new(),
                };
                let c = CommandRun {
                    line: l.number,
                    at_ms,
                    shell: quote_argv(&argv),
                    argv,
                    exit_code: l.int("exit_code"),
                    signal: opt_str(l, "signal"),
                    duration_ms: l.int("duration_ms"),
                    stdout: l.str("stdout").to_string(),
                    stderr: l.str("stderr").to_string(),
                };
                self.step(l).commands.push(c);
            }
            "step_finished" => {
                let s = self.step(l);
                s.status = match l.str("status") {
                    "ok" => StepStatus::Ok,
                    "partial" => StepStatus::Partial,
                    // Older logs wrote an interrupted step as failed with this error.
                    "interrupted" => StepStatus::Interrupted,
                    _ if l.str("error") == "interrupted" => StepStatus::Interrupted,
                    _ => StepStatus::Failed,
                };
                s.losses = l.int("losses");
                s.duration_ms = l.int("duration_ms");
                s.outputs = obj(l, "outputs");
                s.error = opt_str(l, "error");
            }
            "step_skipped" => {
                let s = self.step(l);
                s.status = if l.str("cause") == "when" {
                    StepStatus::SkippedWhen
                } else {
                    StepStatus::Skipped
                };
                s.skip_reason = opt_str(l, "reason");
            }
            "assert_failed" => {
                let s = self.step(l);
                s.status = StepStatus::AssertFailed;
                s.op = "assert".to_string();
                s.error = Some(format!(
                    "assert {} is false: {}",
                    l.str("condition"),
                    l.str("message")
                ));
            }
            "loop_expanded" => {
                let n = l.int("count").unwrap_or(0);
                self.notes.push(Note {
                    line: l.number,
                    text: format!(
                        "`for {}` made {n} instance(s) of its steps ({}[1] ... [{n}])",
                        l.str("step"),
                        l.str("step")
                    ),
                });
            }
            "attached" => {
                let a = Attachment {
                    line: l.number,
                    at_ms,
                    what: l.str("what").to_string(),
                    undo: l.str("undo").to_string(),
                    cleanups: Vec::new(),
                    left_attached: true,
                };
                self.step(l).attachments.push(a);
            }
            "cleanup" => {
                let c = Cleanup {
                    line: l.number,
                    at_ms,
                    action: l.str("action").to_string(),
                    status: l.str("status").to_string(),
                    error: opt_str(l, "error"),
                };
                let s = self.step(l);
                // The attachment this cleanup undoes: one with this undo text, else the most
                // recent one still attached (cleanups run in reverse order).
                let target = s
                    .attachments
                    .iter()
                    .position(|a| a.left_attached && a.undo == c.action)
                    .or_else(|| s.attachments.iter().rposition(|a| a.left_attached));
                match target {
                    Some(i) => {
                        let a = &mut s.attachments[i];
                        // Undone, already gone (autoclear) or no longer ours: not attached by
                        // salvage any more. Only a failed undo leaves it attached.
                        a.left_attached &= c.status == "failed";
                        a.cleanups.push(c);
                    }
                    None => s.other_cleanups.push(c),
                }
            }
            "confirmed" => {
                let steps: Vec<&str> = match l.fields.get("steps") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                self.notes.push(Note {
                    line: l.number,
                    text: format!(
                        "steps that modify existing data ({}) allowed by {} ({})",
                        steps.join(", "),
                        l.str("by"),
                        l.str("via")
                    ),
                });
            }
            "approval" => {
                let a = Approval {
                    line: l.number,
                    at_ms,
                    time: l.time.clone(),
                    by: l.str("by").to_string(),
                    via: l.str("via").to_string(),
                    text: l.str("text").to_string(),
                };
                let s = self.step(l);
                s.approvals.push(a);
                if matches!(s.status, StepStatus::NotRun | StepStatus::Waiting) {
                    s.status = StepStatus::Approved;
                }
            }
            "waiting" => {
                let s = self.step(l);
                s.status = StepStatus::Waiting;
                s.waiting = opt_str(l, "text");
            }
            "damage" => self.damage.push(DamageSeen {
                line: l.number,
                step: l.str("step").to_string(),
                summary: l.str("summary").to_string(),
                report: l.str("report").to_string(),
            }),
            "copy_damage" => self.damage.push(DamageSeen {
                line: l.number,
                step: l.str("step").to_string(),
                summary: format!("in the copy: {}", l.str("summary")),
                report: l.str("manifest").to_string(),
            }),
            "recovered" => self.recovered.push(Recovered {
                line: l.number,
                at_ms,
                action: l.str("action").to_string(),
                status: l.str("status").to_string(),
            }),
            "run_finished" => {
                self.finished = Some(Finished {
                    line: l.number,
                    at_ms,
                    status: l.str("status").to_string(),
                    duration_ms: l.int("duration_ms"),
                });
                if let Some(Value::Object(c)) = l.fields.get("counts") {
                    let n = |k: &str| c.get(k).and_then(Value::as_i64).unwrap_or(0);
                    self.counts = Counts {
                        ok: n("ok"),
                        failed: n("failed"),
                        skipped: n("skipped"),
                        not_run: n("not_run"),
                        partial: n("partial"),
                        interrupted: n("interrupted"),
                    };
                }
            }
            _ => return false,
        }
        true
    }

    fn finish(&mut self) {
        let mut cleaned: Vec<(usize, String)> = Vec::new();
        if self
            .finished
            .as_ref()
            .is_none_or(|_| self.counts == Counts::default())
        {
            let n = |st| self.steps.iter().filter(|s| s.status == st).count() as i64;
            self.counts = Counts {
                ok: n(StepStatus::Ok) + n(StepStatus::Partial),
                failed: n(StepStatus::Failed),
                skipped: n(StepStatus::Skipped) + n(StepStatus::SkippedWhen),
                not_run: n(StepStatus::NotRun) + n(StepStatus::Waiting),
                partial: n(StepStatus::Partial),
                interrupted: n(StepStatus::Interrupted),
            };
        }
        for s in &self.steps {
            for a in &s.attachments {
                let ok = a.cleanups.iter().filter(|c| c.status == "ok");
                cleaned.extend(ok.map(|c| (c.line, c.action.clone())));
                if a.left_attached {
                    self.left_attached.push(LeftAttached {
                        step: s.name.clone(),
                        what: a.what.clone(),
                        undo: a.undo.clone(),
                        line: a.line,
                        recovered_at_line: None,
                    });
                }
            }
            let others = s.other_cleanups.iter().filter(|c| c.status == "ok");
            cleaned.extend(others.map(|c| (c.line, c.action.clone())));
        }
        cleaned.sort();
        self.cleaned_up = cleaned.into_iter().map(|(_, action)| action).collect();
    }
}

/// Builds the review of a log read leniently; `file` names it.
pub fn build(file: &str, contents: &LogContents) -> Review {
    let mut runs: Vec<Run> = Vec::new();
    let mut notes: Vec<Note> = contents.bad.iter().map(bad_line_note).collect();
    let mut loose: Vec<Recovered> = Vec::new();
    for l in &contents.lines {
        if l.event == "run_started" {
            if let Some(r) = runs.last_mut() {
                r.finish();
            }
            runs.push(Run::start(runs.len() + 1, l));
            continue;
        }
        if l.event == RESUMED_AFTER_DAMAGE {
            notes.push(Note {
                line: l.number,
                text: format!(
                    "the log was resumed after damage at line {} ({}); a new hash-chain \
                     segment starts here",
                    l.int("damaged_line").unwrap_or(0),
                    l.str("damage")
                ),
            });
            continue;
        }
        let Some(run) = runs.last_mut().filter(|r| r.finished.is_none()) else {
            if l.event == "recovered" {
                // `salvage cleanup` undoing what a killed run left, outside any run.
                loose.push(Recovered {
                    line: l.number,
                    at_ms: 0,
                    action: l.str("action").to_string(),
                    status: l.str("status").to_string(),
                });
                notes.push(Note {
                    line: l.number,
                    text: format!("salvage cleanup: {} ({})", l.str("action"), l.str("status")),
                });
                continue;
            }
            notes.push(Note {
                line: l.number,
                text: format!("`{}` outside any run (no run_started before it)", l.event),
            });
            continue;
        };
        if !run.add(l) {
            run.notes.push(Note {
                line: l.number,
                text: format!("unknown event `{}`", l.event),
            });
        }
    }
    if let Some(r) = runs.last_mut() {
        r.finish();
    }
    link_recoveries(&mut runs, &loose);
    notes.sort_by_key(|n| n.line);
    Review {
        file: file.to_string(),
        events: contents.lines.len(),
        runs,
        notes,
    }
}

fn bad_line_note(b: &BadLine) -> Note {
    Note {
        line: b.line,
        text: format!("not a log event (byte {}): {}", b.offset, b.what),
    }
}

/// Marks attachments that a later run's `recovered`, or a `salvage cleanup` after the run
/// (`loose`), undid or found gone (its action is their undo text).
fn link_recoveries(runs: &mut [Run], loose: &[Recovered]) {
    for i in 0..runs.len() {
        let (before, after) = runs.split_at_mut(i + 1);
        let run_line = before[i].line;
        for left in &mut before[i].left_attached {
            left.recovered_at_line = after
                .iter()
                .flat_map(|r| &r.recovered)
                .chain(loose.iter().filter(|r| r.line > run_line))
                .filter(|rec| rec.status != "failed" && rec.action == left.undo)
                .map(|rec| rec.line)
                .min();
        }
    }
}
