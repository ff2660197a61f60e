//! The review as text: per run a header, the steps in order with offsets and durations, the
//! commands, approvals, attachments and cleanups, and a summary line.

use super::{LeftAttached, Review, Run, Step, StepStatus, quote_word};
use salvage_text::duration_text::reading;
use serde_json::Value;
use std::fmt::Write;

/// An offset from the run's start: `+00:03.2`, or `+1:02:03.4` past an hour.
pub fn offset(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "+" };
    let tenths = ms.unsigned_abs() / 100;
    let (h, m, s, t) = (
        tenths / 36_000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10,
    );
    if h > 0 {
        format!("{sign}{h}:{m:02}:{s:02}.{t}")
    } else {
        format!("{sign}{m:02}:{s:02}.{t}")
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => quote_word(s),
        other => other.to_string(),
    }
}

fn status(s: &Step) -> String {
    match s.status {
        StepStatus::Ok => "ok".to_string(),
        StepStatus::Partial => format!(
            "PARTIAL: completed with losses, {} entries lost or damaged (see its manifest)",
            s.losses.unwrap_or(0)
        ),
        StepStatus::Failed => "FAILED".to_string(),
        StepStatus::Skipped => "skipped on resume".to_string(),
        StepStatus::Waiting => "WAITING for approval (the run stopped here)".to_string(),
        StepStatus::Approved => "approved".to_string(),
        StepStatus::Unfinished => "UNFINISHED (started, never finished)".to_string(),
        StepStatus::Interrupted => {
            "INTERRUPTED (stopped halfway by a signal; a rerun resumes it)".to_string()
        }
        StepStatus::NotRun => "not run".to_string(),
        StepStatus::SkippedWhen => {
            format!("skipped ({})", s.skip_reason.as_deref().unwrap_or("when"))
        }
        StepStatus::AssertFailed => "ASSERT FAILED, the run stopped here".to_string(),
    }
}

/// Renders the whole review.
pub fn render(r: &Review) -> String {
    let mut o = String::new();
    let runs = match r.runs.len() {
        1 => "1 run".to_string(),
        n => format!("{n} runs"),
    };
    let _ = writeln!(o, "review: {} — {runs}, {} events", r.file, r.events);
    for n in &r.notes {
        let _ = writeln!(o, "  note: line {}: {}", n.line, n.text);
    }
    for run in &r.runs {
        o.push('\n');
        render_run(&mut o, run);
    }
    o
}

fn render_run(o: &mut String, run: &Run) {
    let how = run
        .finished
        .as_ref()
        .map_or("DID NOT FINISH", |f| &f.status);
    let _ = writeln!(
        o,
        "run {} (line {}): {} — {how}{}",
        run.number,
        run.line,
        run.runbook,
        run.lost_headline()
            .map_or_else(String::new, |l| format!(" — {l}"))
    );
    let resumed = if run.resumed { "resumed" } else { "fresh run" };
    let _ = writeln!(o, "  started   {} ({resumed})", run.started);
    let _ = writeln!(o, "  runbook   {} sha256 {}", run.file, run.runbook_sha256);
    let jobs = run.jobs.map_or_else(|| "?".to_string(), |j| j.to_string());
    let _ = writeln!(
        o,
        "  by        {}@{}, salvage {}, jobs {jobs}, state {}",
        run.user, run.host, run.salvage_version, run.state_dir
    );
    let params: Vec<String> = run
        .params
        .iter()
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect();
    let params = if params.is_empty() {
        "(none)".to_string()
    } else {
        params.join(" ")
    };
    let _ = writeln!(o, "  params    {params}");
    if let Some(p) = &run.plan {
        let approvals: Vec<String> = p["approvals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        let comment = x["comment"]
                            .as_str()
                            .map_or_else(String::new, |c| format!(": \"{c}\""));
                        format!(
                            "{} at {}{comment}",
                            x["by"].as_str().unwrap_or("?"),
                            x["at"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  plan      saved plan {} by {} at {}; approved by {}",
            p["id"].as_str().unwrap_or("?"),
            p["created_by"].as_str().unwrap_or("?"),
            p["created_at"].as_str().unwrap_or("?"),
            if approvals.is_empty() {
                "nobody".to_string()
            } else {
                approvals.join(", ")
            }
        );
    }
    for d in &run.damage {
        let _ = writeln!(
            o,
            "  damage    {}: {} (report {})",
            d.step, d.summary, d.report
        );
    }
    for n in &run.notes {
        let _ = writeln!(o, "  note: line {}: {}", n.line, n.text);
    }
    for rec in &run.recovered {
        let _ = writeln!(
            o,
            "  {:<9} recovered leftover of an earlier run: {} — {} (line {})",
            super::text::offset(rec.at_ms),
            rec.action,
            rec.status,
            rec.line
        );
    }
    for s in &run.steps {
        render_step(o, s, &run.left_attached);
    }
    render_summary(o, run);
}

fn render_step(o: &mut String, s: &Step, left: &[LeftAttached]) {
    let kind = match (s.op.as_str(), s.effect.as_str()) {
        ("", _) => String::new(),
        (op, "") => format!(" ({op})"),
        (op, effect) => format!(" ({op}, {effect})"),
    };
    let took = s
        .duration_ms
        .map_or_else(String::new, |d| format!(" in {}", reading(d)));
    let _ = writeln!(
        o,
        "  {:<9} {}{kind}: {}{took}",
        offset(s.start_ms),
        s.name,
        status(s)
    );
    let pad = "            ";
    if let Some(reason) = s
        .skip_reason
        .as_ref()
        .filter(|_| s.status != StepStatus::SkippedWhen)
    {
        let _ = writeln!(o, "{pad}{reason}");
    }
    for c in &s.commands {
        let ended = match (c.exit_code, &c.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(sig)) => format!("killed by {sig}"),
            (None, None) => "killed".to_string(),
        };
        let took = c
            .duration_ms
            .map_or_else(String::new, |d| format!(" in {}", reading(d)));
        let _ = writeln!(o, "{pad}$ {}  → {ended}{took}", c.shell);
        if c.exit_code != Some(0) {
            for line in c.stderr.lines().take(10) {
                let _ = writeln!(o, "{pad}  stderr: {line}");
            }
        }
    }
    for a in &s.approvals {
        let _ = writeln!(
            o,
            "{pad}approved by {} via {} at {} ({}): {}",
            a.by,
            a.via,
            offset(a.at_ms),
            a.time,
            a.text
        );
    }
    if let Some(text) = &s.waiting {
        let _ = writeln!(o, "{pad}waiting for: {text}");
    }
    for a in &s.attachments {
        let _ = writeln!(o, "{pad}attached {}: {}", offset(a.at_ms), a.what);
        let _ = writeln!(o, "{pad}  undo: {}", a.undo);
        for c in &a.cleanups {
            let err = c
                .error
                .as_deref()
                .map_or_else(String::new, |e| format!(": {e}"));
            let _ = writeln!(
                o,
                "{pad}  cleaned up {}: {} — {}{err}",
                offset(c.at_ms),
                c.action,
                c.status
            );
        }
        if a.left_attached {
            let recovered = left
                .iter()
                .find(|l| l.line == a.line)
                .and_then(|l| l.recovered_at_line);
            let _ = match recovered {
                Some(n) => writeln!(
                    o,
                    "{pad}  left attached when this run stopped; undone by a later recovery (line {n})"
                ),
                None => writeln!(o, "{pad}  LEFT ATTACHED (no successful cleanup)"),
            };
        }
    }
    for c in &s.other_cleanups {
        let err = c
            .error
            .as_deref()
            .map_or_else(String::new, |e| format!(": {e}"));
        let _ = writeln!(
            o,
            "{pad}cleanup {}: {} — {}{err}",
            offset(c.at_ms),
            c.action,
            c.status
        );
    }
    if let Some(e) = &s.error {
        let _ = writeln!(o, "{pad}error: {e}");
    }
}

fn render_summary(o: &mut String, run: &Run) {
    let c = run.counts;
    let partial = if c.partial > 0 {
        format!(" ({} PARTIAL: completed with losses)", c.partial)
    } else {
        String::new()
    };
    let mut counts = format!(
        "{} ok{partial}, {} failed, {} skipped, {} not run",
        c.ok, c.failed, c.skipped, c.not_run
    );
    if c.interrupted > 0 {
        counts.push_str(&format!(", {} interrupted", c.interrupted));
    }
    let head = match &run.finished {
        Some(f) => {
            let took = reading(f.duration_ms.unwrap_or(f.at_ms));
            format!("finished {}: {} in {took}", offset(f.at_ms), f.status)
        }
        None => {
            let last = run.steps.iter().map(|s| s.start_ms).max().unwrap_or(0);
            format!(
                "DID NOT FINISH: no run_finished (crashed, killed, or the log was cut); last step \
                 started at {}",
                offset(last)
            )
        }
    };
    let cleaned = if run.cleaned_up.is_empty() {
        "nothing cleaned up".to_string()
    } else {
        format!("cleaned up: {}", run.cleaned_up.join(", "))
    };
    let (still, later): (Vec<&LeftAttached>, Vec<&LeftAttached>) = run
        .left_attached
        .iter()
        .partition(|l| l.recovered_at_line.is_none());
    let mut parts = Vec::new();
    if !still.is_empty() {
        let items: Vec<String> = still
            .iter()
            .map(|l| format!("{} (step {}, line {})", l.what, l.step, l.line))
            .collect();
        parts.push(format!("LEFT ATTACHED: {}", items.join("; ")));
    }
    if !later.is_empty() {
        let items: Vec<String> = later
            .iter()
            .map(|l| {
                format!(
                    "{} (step {}, line {}; undone at line {})",
                    l.what,
                    l.step,
                    l.line,
                    l.recovered_at_line.unwrap_or(0)
                )
            })
            .collect();
        parts.push(format!(
            "left attached when it stopped, undone by a later recovery: {}",
            items.join("; ")
        ));
    }
    let left = if parts.is_empty() {
        "nothing left attached".to_string()
    } else {
        parts.join("; ")
    };
    let _ = writeln!(o, "  {head} — {counts}; {cleaned}; {left}");
}
