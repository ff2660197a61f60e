//! `report`: the post-incident report of a run log, for the review meeting: one self-contained
//! HTML page (inline CSS and SVG, no script, no network; it prints well) or Markdown for a
//! ticket. It draws what the review knows: the incident header, the verification of the log,
//! the step graph and the timeline, each image's rescue map as ddrescueview draws it, what was
//! lost, and every step. Deterministic: the same log, maps and runbook give the same bytes.

mod graph_svg;
mod html;
mod load;
mod map_grid;
mod markdown;
mod timeline;

pub use html::render_html;
pub use load::{Loaded, load};
pub use map_grid::MapView;
pub use markdown::render_markdown;

use crate::event_log::{Verdict, VerifyReport};
use crate::review::{Review, Run};

/// Everything a report shows, gathered by the caller (which reads the files).
pub struct ReportInput<'a> {
    /// The review of the log.
    pub review: &'a Review,
    /// The log's verification.
    pub verify: &'a VerifyReport,
    /// The rescue map of each image step, read from where the log says it was written.
    pub maps: Vec<MapView>,
    /// Each step's dependencies, from the runbook when it is the one the log ran (same
    /// sha256); `Err` says why the graph has no edges.
    pub deps: Result<Vec<(String, Vec<String>)>, String>,
}

impl ReportInput<'_> {
    /// The run the report is about: the log's last.
    pub(crate) fn run(&self) -> Option<&Run> {
        self.review.runs.last()
    }

    /// The verification in words, with its class for colour.
    pub(crate) fn verdict(&self) -> (&'static str, &'static str) {
        match self.verify.verdict() {
            Verdict::Valid => ("VALID: the hash chain and the keyed anchor hold", "ok"),
            Verdict::NotValid => (
                "NOT VALID: lines were edited, dropped, inserted, reordered or torn",
                "bad",
            ),
            Verdict::Unproven => (
                "UNPROVEN: no problem found, but without the state key or the anchor a rewrite cannot be ruled out",
                "warn",
            ),
        }
    }
}

/// `ms` as `1.234 s` / `2 min 03 s`.
pub(crate) fn duration_text(ms: i64) -> String {
    if ms < 60_000 {
        format!("{:.3} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    }
}

/// Escapes text for HTML and SVG.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
