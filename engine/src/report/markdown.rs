//! The report as Markdown, for a ticket: the header, the verification, the steps, the maps'
//! totals and what was lost (no pictures).

use super::map_grid::{self, LEGEND};
use super::timeline::status_style;
use super::{ReportInput, duration_text};

/// Escapes the characters that would break a table cell or start markup.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('`', "'")
}

/// The report as Markdown.
pub fn render_markdown(input: &ReportInput) -> String {
    let Some(run) = input.run() else {
        return format!(
            "# salvage report\n\n{}: no run in this log.\n",
            input.review.file
        );
    };
    let mut out = format!("# Rescue report: {}\n\n", cell(&run.runbook));
    let outcome = run
        .finished
        .as_ref()
        .map_or("did not finish", |f| f.status.as_str());
    out.push_str(&format!(
        "- Runbook: `{}`\n- Operator: {}@{}\n- Started: {}\n- Outcome: **{}**{}\n",
        cell(&run.file),
        cell(&run.user),
        cell(&run.host),
        cell(&run.started),
        cell(outcome),
        run.finished
            .as_ref()
            .and_then(|f| f.duration_ms)
            .map_or_else(String::new, |d| format!(" after {}", duration_text(d)))
    ));
    if let Some(lost) = run.lost_headline() {
        out.push_str(&format!("- Lost: {}\n", cell(&lost)));
    }
    let (words, _) = input.verdict();
    out.push_str(&format!("- Log verification: **{words}**\n\n## Steps\n\n| step | op | status | start | duration | note |\n|---|---|---|---|---|---|\n"));
    for s in &run.steps {
        let (_, word) = status_style(s.status);
        let note = s
            .error
            .as_deref()
            .or(s.skip_reason.as_deref())
            .unwrap_or("");
        out.push_str(&format!(
            "| {} | {} | {word} | +{} | {} | {} |\n",
            cell(&s.name),
            cell(&s.op),
            duration_text(s.start_ms),
            s.duration_ms.map_or_else(String::new, duration_text),
            cell(note)
        ));
    }
    for m in &input.maps {
        out.push_str(&format!(
            "\n## Rescue map of {} (`{}`)\n\n",
            cell(&m.step),
            cell(&m.path)
        ));
        match &m.map {
            Err(why) => out.push_str(&format!("{}\n", cell(why))),
            Ok(map) => {
                let t = map_grid::totals(map);
                out.push_str("| status | bytes |\n|---|---|\n");
                for (i, (_, name, c, _)) in LEGEND.iter().enumerate() {
                    out.push_str(&format!("| {name} (`{c}`) | {} |\n", t[i]));
                }
            }
        }
    }
    if !run.damage.is_empty() {
        out.push_str("\n## What was lost\n\n");
        for d in &run.damage {
            out.push_str(&format!("- {}: {}\n", cell(&d.step), cell(&d.summary)));
        }
    }
    out
}
