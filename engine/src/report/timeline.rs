//! The timeline: one bar per step from its start to its end, coloured by its status.

use super::{duration_text, esc};
use crate::review::{Run, StepStatus};

/// A status's colour and word.
pub(crate) fn status_style(s: StepStatus) -> (&'static str, &'static str) {
    match s {
        StepStatus::Ok | StepStatus::Approved => ("#20b040", "ok"),
        StepStatus::Partial => ("#e8a020", "partial"),
        StepStatus::Failed | StepStatus::AssertFailed => ("#e02020", "failed"),
        StepStatus::Skipped => ("#80a0c0", "skipped (done before)"),
        StepStatus::SkippedWhen => ("#a0a0a0", "skipped (when)"),
        StepStatus::Waiting => ("#d0d020", "waiting"),
        StepStatus::Unfinished => ("#c04080", "unfinished"),
        StepStatus::Interrupted => ("#c06020", "interrupted"),
        StepStatus::NotRun => ("#d0d0d0", "not run"),
    }
}

/// The timeline as SVG.
pub(crate) fn svg(run: &Run) -> String {
    let end = run
        .steps
        .iter()
        .map(|s| s.start_ms + s.duration_ms.unwrap_or(0))
        .chain(run.finished.as_ref().and_then(|f| f.duration_ms))
        .max()
        .unwrap_or(1)
        .max(1);
    let (label, width, row) = (180.0, 600.0, 18.0);
    let height = row * run.steps.len().max(1) as f64 + 20.0;
    let mut out = format!(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" viewBox=\"0 0 {0} {height}\" role=\"img\" aria-label=\"timeline\">",
        label + width + 90.0
    );
    for (i, s) in run.steps.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let x = label + width * s.start_ms.max(0) as f64 / end as f64;
        let w = (width * s.duration_ms.unwrap_or(0) as f64 / end as f64).max(2.0);
        let (colour, word) = status_style(s.status);
        let dur = s.duration_ms.map_or_else(String::new, duration_text);
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"><title>{}: {word}, {dur}</title></rect><text x=\"{:.1}\" y=\"{}\" class=\"dur\">{dur}</text>",
            label - 6.0,
            y + row - 6.0,
            esc(&s.name),
            row - 4.0,
            esc(&s.name),
            x + w + 4.0,
            y + row - 6.0,
        ));
    }
    out.push_str(&format!(
        "<text x=\"{label}\" y=\"{:.1}\" class=\"axis\">0</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"axis\">{}</text></svg>",
        height - 2.0,
        label + width,
        height - 2.0,
        esc(&duration_text(end))
    ));
    out
}
