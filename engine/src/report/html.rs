//! The report as one self-contained HTML page: inline CSS and SVG, no script, no network, no
//! generation time (the same log gives the same bytes); it prints on A4 without cut boxes.

use serde_json::Value;

use super::map_grid::{self, LEGEND};
use super::timeline::status_style;
use super::{ReportInput, duration_text, esc, graph_svg, timeline};
use crate::review::Run;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#111;max-width:1100px;margin:2em auto;padding:0 1em}\
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.ok{color:#107020}.bad{color:#b00000;font-weight:bold}.warn{color:#a06000;font-weight:bold}\
.verdict{padding:.6em;border:2px solid currentColor;display:inline-block}svg{max-width:100%;height:auto}\
svg text{font:11px system-ui,sans-serif}svg .name{font-weight:bold}svg .label{font-size:11px}svg .dur,svg .axis{fill:#555}\
.legend span{display:inline-block;margin-right:1em}.swatch{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin-right:.3em}\
code{font-family:ui-monospace,monospace;font-size:.95em}\
@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg,table,section{break-inside:avoid}}";

/// The report as HTML.
pub fn render_html(input: &ReportInput) -> String {
    let Some(run) = input.run() else {
        return page(
            "salvage report",
            &format!(
                "<h1>salvage report</h1><p class=\"bad\">{}: no run in this log.</p>",
                esc(&input.review.file)
            ),
        );
    };
    let mut body = String::new();
    header(&mut body, input, run);
    verification(&mut body, input);
    body.push_str("<section id=\"graph\"><h2>Steps</h2>");
    match &input.deps {
        Ok(deps) => body.push_str(&graph_svg::svg(run, deps)),
        Err(why) => {
            body.push_str(&format!("<p>The arrows are missing: {}.</p>", esc(why)));
            body.push_str(&graph_svg::svg(run, &[]));
        }
    }
    body.push_str("</section><section id=\"timeline\"><h2>Timeline</h2>");
    body.push_str(&timeline::svg(run));
    body.push_str("</section>");
    maps(&mut body, input);
    lost(&mut body, run);
    steps_table(&mut body, run);
    page(&format!("salvage report: {}", run.runbook), &body)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        esc(title)
    )
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn header(out: &mut String, input: &ReportInput, run: &Run) {
    let outcome = run.finished.as_ref().map_or_else(
        || "did not finish (crashed, killed or still running)".to_string(),
        |f| f.status.clone(),
    );
    let class = match outcome.as_str() {
        "ok" => "ok",
        "partial" | "interrupted" => "warn",
        _ => "bad",
    };
    out.push_str(&format!(
        "<header><h1>Rescue report: {}</h1><table>",
        esc(&run.runbook)
    ));
    let mut row = |k: &str, v: String| {
        out.push_str(&format!("<tr><th>{}</th><td>{v}</td></tr>", esc(k)));
    };
    row("Runbook", format!("<code>{}</code>", esc(&run.file)));
    row("Operator", esc(&format!("{}@{}", run.user, run.host)));
    row("Started", esc(&run.started));
    let ended = run.finished.as_ref().and_then(|f| {
        let start = crate::event_log::parse_millis(&run.started)?;
        Some(crate::event_log::format_millis(start + f.duration_ms?))
    });
    row(
        "Ended",
        ended.map_or_else(|| "not recorded".to_string(), |e| esc(&e)),
    );
    let duration = run
        .finished
        .as_ref()
        .and_then(|f| f.duration_ms)
        .map_or_else(String::new, |d| format!(" after {}", duration_text(d)));
    row(
        "Outcome",
        format!(
            "<span class=\"{class}\">{}</span>{}",
            esc(&outcome),
            esc(&duration)
        ),
    );
    if let Some(lost) = run.lost_headline() {
        row("Lost", esc(&lost));
    }
    let params: Vec<String> = run
        .params
        .iter()
        .map(|(k, v)| {
            format!(
                "<code>{}</code> = <code>{}</code>",
                esc(k),
                esc(&value_text(v))
            )
        })
        .collect();
    row(
        "Params",
        if params.is_empty() {
            "none".to_string()
        } else {
            params.join("<br>") + "<br><small>(secrets as the log holds them: redacted)</small>"
        },
    );
    let approvals: Vec<String> = run
        .steps
        .iter()
        .flat_map(|s| {
            s.approvals.iter().map(move |a| {
                format!(
                    "{}: {} at {} ({})",
                    esc(&s.name),
                    esc(&a.by),
                    esc(&a.time),
                    esc(&a.via)
                )
            })
        })
        .collect();
    let mut approvals = approvals;
    if let Some(p) = &run.plan {
        for a in p["approvals"].as_array().into_iter().flatten() {
            approvals.push(format!(
                "saved plan {}: {} at {}{}",
                esc(p["id"].as_str().unwrap_or("?")),
                esc(a["by"].as_str().unwrap_or("?")),
                esc(a["at"].as_str().unwrap_or("?")),
                a["comment"]
                    .as_str()
                    .map_or_else(String::new, |c| format!(" (“{}”)", esc(c)))
            ));
        }
    }
    row(
        "Approvals",
        if approvals.is_empty() {
            "none".to_string()
        } else {
            approvals.join("<br>")
        },
    );
    row("salvage", esc(&run.salvage_version));
    row("Log", format!("<code>{}</code>", esc(&input.review.file)));
    out.push_str("</table></header>");
}

fn verification(out: &mut String, input: &ReportInput) {
    let (words, class) = input.verdict();
    out.push_str(&format!(
        "<section id=\"verification\"><h2>Log verification</h2><p class=\"verdict {class}\">{}</p>",
        esc(words)
    ));
    let v = input.verify;
    let findings: Vec<&crate::event_log::Finding> = v
        .problems
        .iter()
        .chain(&v.warnings)
        .chain(&v.unproven)
        .collect();
    if !findings.is_empty() {
        out.push_str("<ul>");
        for f in findings {
            out.push_str(&format!("<li>{}</li>", esc(&f.message)));
        }
        out.push_str("</ul>");
    }
    if let Some(h) = &v.head_sha256 {
        out.push_str(&format!(
            "<p>{} lines; the last line's sha256 <code>{}</code> (record it elsewhere).</p>",
            v.lines,
            esc(h)
        ));
    }
    out.push_str("</section>");
}

fn maps(out: &mut String, input: &ReportInput) {
    if input.maps.is_empty() {
        return;
    }
    out.push_str("<section id=\"maps\"><h2>Rescue maps</h2><p class=\"legend\">");
    for (_, name, c, colour) in LEGEND {
        out.push_str(&format!(
            "<span><i class=\"swatch\" style=\"background:{colour}\"></i>{} (<code>{c}</code>)</span>",
            esc(name)
        ));
    }
    out.push_str("</p>");
    for m in &input.maps {
        out.push_str(&format!(
            "<h3>{} <small><code>{}</code></small></h3>",
            esc(&m.step),
            esc(&m.path)
        ));
        match &m.map {
            Err(why) => out.push_str(&format!("<p class=\"warn\">{}</p>", esc(why))),
            Ok(map) => {
                out.push_str(&map_grid::svg(map));
                let t = map_grid::totals(map);
                let all: u64 = t.iter().sum::<u64>().max(1);
                out.push_str("<table><tr><th>status</th><th>bytes</th><th>share</th></tr>");
                for (i, (_, name, _, _)) in LEGEND.iter().enumerate() {
                    out.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{:.4} %</td></tr>",
                        esc(name),
                        t[i],
                        t[i] as f64 * 100.0 / all as f64
                    ));
                }
                out.push_str("</table>");
            }
        }
    }
    out.push_str("</section>");
}

fn lost(out: &mut String, run: &Run) {
    out.push_str("<section id=\"lost\"><h2>What was lost</h2>");
    if run.damage.is_empty() {
        out.push_str(
            "<p>No damage step ran: which files the unreadable areas hit is not known.</p>",
        );
    }
    for d in &run.damage {
        out.push_str(&format!(
            "<p><b>{}</b>: {} <small>(report <code>{}</code>)</small></p>",
            esc(&d.step),
            esc(&d.summary),
            esc(&d.report)
        ));
    }
    let results: Vec<String> = run
        .steps
        .iter()
        .filter(|s| matches!(s.op.as_str(), "copy" | "verify" | "verify_image" | "image"))
        .map(|s| {
            let keys = [
                "rescued_bytes",
                "bad_bytes",
                "bad_areas",
                "not_read_bytes",
                "files",
                "bytes",
                "lost",
                "damaged",
                "mismatches",
                "missing",
                "ok",
                "manifest",
                "report",
            ];
            let shown: Vec<String> = keys
                .iter()
                .filter_map(|k| s.outputs.get(*k).map(|v| format!("{k} {}", value_text(v))))
                .collect();
            let (_, word) = status_style(s.status);
            format!(
                "<tr><td>{}</td><td>{}</td><td>{word}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.op),
                esc(&shown.join(", "))
            )
        })
        .collect();
    if !results.is_empty() {
        out.push_str("<table><tr><th>step</th><th>op</th><th>status</th><th>results</th></tr>");
        out.push_str(&results.join(""));
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

fn steps_table(out: &mut String, run: &Run) {
    out.push_str("<section id=\"steps\"><h2>Every step</h2><table><tr><th>step</th><th>op</th><th>status</th><th>start</th><th>duration</th><th>note</th></tr>");
    for s in &run.steps {
        let (colour, word) = status_style(s.status);
        let note = s
            .error
            .as_deref()
            .or(s.skip_reason.as_deref())
            .or(s.waiting.as_deref())
            .unwrap_or("");
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><i class=\"swatch\" style=\"background:{colour}\"></i>{word}</td><td>+{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.op),
            esc(&duration_text(s.start_ms)),
            s.duration_ms.map_or_else(String::new, duration_text),
            esc(note)
        ));
    }
    out.push_str("</table></section>");
}
