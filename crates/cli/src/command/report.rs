//! `salvage report LOG --html FILE | --format markdown`: the post-incident report of a run log:
//! one self-contained HTML page for the review meeting, or Markdown for a ticket.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use salvage_engine::report::{load, render_html, render_markdown};

use super::review::log_key;

const AFTER_HELP: &str = "\
The HTML page holds everything inline (CSS and SVG; no script, no network), so it can be
mailed, attached to a ticket or printed: the incident header (runbook, params as the log holds
them, with secrets redacted, operator, approvals, start, outcome), the log's verification (hash
chain and keyed anchor), the step graph and the timeline, each image's rescue map drawn as
ddrescueview draws it (finished green, non-tried grey, non-trimmed yellow, non-scraped violet,
bad red) with its totals, what was lost (the damage steps' answers, copy and verify results)
and every step. The same log, maps and runbook give the same bytes.

The maps are read from where the run wrote them, and the graph's arrows from the runbook when
it is still the file the log ran (same sha256); otherwise the page says why they are missing.

Exit status: 0 written, 2 the log cannot be read or the report cannot be written.

Examples:
    salvage report .salvage/demo/log.jsonl --html incident.html
    salvage report .salvage/demo/log.jsonl --format markdown > ticket.md";

/// `salvage report LOG`.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct ReportArgs {
    /// The run log (STATE_DIR/log.jsonl).
    pub log: PathBuf,
    /// Write the HTML report to FILE (written whole, then renamed into place).
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub html: Option<PathBuf>,
    /// `markdown`: print the report as Markdown on stdout (for a ticket).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// The run's state directory, whose `key` checks the log's anchor [default: the log's].
    #[arg(long, value_name = "DIR", conflicts_with = "key")]
    pub state: Option<PathBuf>,
    /// The state key itself (a copy of STATE/key kept elsewhere).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// Markdown on stdout.
    Markdown,
    /// HTML on stdout.
    Html,
}

/// Runs `salvage report`.
pub(crate) fn command(args: &ReportArgs) -> i32 {
    if args.html.is_none() && args.format.is_none() {
        eprintln!("salvage report: say where: --html FILE, or --format markdown (stdout)");
        return 2;
    }
    let key = match log_key(args.key.as_deref(), args.state.as_deref(), &args.log) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("salvage report: {e}");
            return 2;
        }
    };
    let loaded = match load(&args.log, key.as_ref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("salvage report: {}: {e}", args.log.display());
            return 2;
        }
    };
    if loaded.review.events == 0 {
        eprintln!(
            "salvage report: {}: no log events in this file (it is empty or not a salvage log)",
            args.log.display()
        );
        return 2;
    }
    let input = loaded.input();
    if let Some(path) = &args.html {
        let html = render_html(&input);
        let tmp = path.with_extension("html.tmp");
        let written =
            std::fs::write(&tmp, html.as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            eprintln!("salvage report: cannot write {}: {e}", path.display());
            return 2;
        }
        eprintln!("salvage report: wrote {}", path.display());
        return 0;
    }
    let text = match args.format {
        Some(ReportFormat::Html) => render_html(&input),
        _ => render_markdown(&input),
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("salvage report: writing: {e}");
        return 2;
    }
    0
}
