//! Renders [`Diagnostic`]s through miette: `file:line:col`, the source line and a caret.
//!
//! Long lines (a 10 MB one-liner) are clipped to a window around the span, with the real line
//! and column still shown, so a diagnostic is always a few lines long.

use crate::diagnostic::{Diagnostic, Severity};
use crate::source_file::floor_char_boundary;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

/// Lines longer than this are clipped around the span.
const MAX_LINE: usize = 160;
/// Bytes kept on each side of the span in a clipped line.
const WINDOW: usize = 60;

/// The text miette is shown: the whole file, or a clipped window of one long line.
#[derive(Debug)]
struct Shown {
    name: String,
    text: String,
    /// The real (0-based) line and column of `text`'s first byte.
    line: usize,
    col: usize,
}

impl SourceCode for Shown {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let col = if inner.line() == 0 {
            self.col + inner.column()
        } else {
            inner.column()
        };
        let data: &'a [u8] = {
            let start = inner.span().offset();
            &self.text.as_bytes()[start..start + inner.span().len()]
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            *inner.span(),
            self.line + inner.line(),
            col,
            inner.line_count(),
        )))
    }
}

/// One diagnostic as miette sees it.
#[derive(Debug)]
struct View {
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    shown: Option<Shown>,
    labels: Vec<LabeledSpan>,
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for View {}

impl miette::Diagnostic for View {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.shown.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.shown.is_none() || self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

fn view(diag: &Diagnostic) -> View {
    let severity = match diag.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let mut v = View {
        message: diag.kind.to_string(),
        severity,
        help: diag.help(),
        shown: None,
        labels: Vec::new(),
    };
    let (Some(file), Some(span)) = (&diag.file, diag.span) else {
        return v;
    };
    let text: &str = &file.text;
    let start = floor_char_boundary(text, span.start);
    let end = floor_char_boundary(text, span.end.max(start));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let long = line_end - line_start > MAX_LINE || text.len() > 1 << 20;
    if !long {
        v.shown = Some(Shown {
            name: file.name.clone(),
            text: text.to_string(),
            line: 0,
            col: 0,
        });
        v.labels.push(LabeledSpan::new_primary_with_span(
            Some(label_text(diag)),
            (start, end - start),
        ));
        for (s, t) in &diag.labels {
            let ls = floor_char_boundary(text, s.start);
            let le = floor_char_boundary(text, s.end.max(ls));
            v.labels
                .push(LabeledSpan::new_with_span(Some(t.clone()), (ls, le - ls)));
        }
        return v;
    }
    // Clip: a window of the span's line only.
    let w_start = floor_char_boundary(text, start.saturating_sub(WINDOW).max(line_start));
    let w_end = floor_char_boundary(text, (end + WINDOW).min(line_end));
    let (line, col) = file.line_col(w_start);
    let mut window = String::new();
    let mut offset = 0;
    if w_start > line_start {
        window.push('…');
        offset = '…'.len_utf8();
    }
    window.push_str(&text[w_start..w_end]);
    if w_end < line_end {
        window.push('…');
    }
    // miette counts the window's columns in bytes, the ellipsis included.
    let col = (col - 1).saturating_sub(offset);
    let s = start - w_start + offset;
    let len = (end.min(w_end) - start.min(w_end)).max(usize::from(start < w_end));
    v.shown = Some(Shown {
        name: file.name.clone(),
        text: window,
        line: line - 1,
        col,
    });
    v.labels.push(LabeledSpan::new_primary_with_span(
        Some(label_text(diag)),
        (s, len),
    ));
    v
}

fn label_text(diag: &Diagnostic) -> String {
    use crate::diagnostic::DiagnosticKind::*;
    match &diag.kind {
        Syntax(_) => "here".into(),
        Duplicate { .. } | DuplicateDefine { .. } => "declared again here".into(),
        Cycle { .. } => "this step is in the cycle".into(),
        _ => "here".into(),
    }
}

/// Renders diagnostics for a terminal or a file; `color` only for a terminal.
pub fn render(diags: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for diag in diags {
        let v = view(diag);
        let mut text = String::new();
        if handler.render_report(&mut text, &v).is_err() {
            text = format!("{diag}\n");
        }
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Renders diagnostics as JSON lines objects for scripts.
pub fn to_json(diags: &[Diagnostic]) -> serde_json::Value {
    serde_json::Value::Array(
        diags
            .iter()
            .map(|d| {
                let (line, col) = match (&d.file, d.span) {
                    (Some(f), Some(s)) => {
                        let (l, c) = f.line_col(s.start);
                        (Some(l), Some(c))
                    }
                    _ => (None, None),
                };
                serde_json::json!({
                    "severity": d.severity,
                    "file": d.file.as_ref().map(|f| f.name.clone()),
                    "line": line,
                    "column": col,
                    "byte_start": d.span.map(|s| s.start),
                    "byte_end": d.span.map(|s| s.end),
                    "message": d.kind.to_string(),
                    "help": d.help(),
                })
            })
            .collect(),
    )
}
