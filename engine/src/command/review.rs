//! `salvage review LOG [--verify] [--format text|json]`: the post-incident view of a run log.

use crate::event_log::{VerifyReport, read_lenient, verify};
use crate::review::{Review, build, text};
use clap::Args;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// `salvage review LOG`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The run log (JSON lines), e.g. STATE_DIR/run.log.
    pub log: PathBuf,
    /// Check the log's hash chain and sequence first; exit 1 if any line was edited, dropped,
    /// inserted, reordered or torn (the review is still printed).
    #[arg(long)]
    pub verify: bool,
    /// text: the timeline for people; json: the same as one JSON document.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub format: ReviewFormat,
}

/// Output formats of `review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// The JSON document of `review --format json`.
#[derive(Debug, Serialize)]
struct Document<'a> {
    verify: Option<&'a VerifyReport>,
    #[serde(flatten)]
    review: &'a Review,
}

/// Exit codes: 0 reviewed (and, with --verify, valid); 1 --verify found the log edited,
/// damaged, empty or not a log (the review is still printed); 2 the file cannot be read, or
/// (without --verify) holds no events at all.
pub fn command(args: &ReviewArgs) -> i32 {
    let name = args.log.display().to_string();
    let report = args.verify.then(|| verify(&args.log));
    let contents = match read_lenient(&args.log) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let review = build(&name, &contents);
    let out = match args.format {
        ReviewFormat::Json => {
            let doc = Document {
                verify: report.as_ref(),
                review: &review,
            };
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => s + "\n",
                Err(e) => {
                    eprintln!("error: {name}: cannot serialize the review: {e}");
                    return 2;
                }
            }
        }
        ReviewFormat::Text => {
            let verdict = report
                .as_ref()
                .map_or_else(String::new, |r| format!("{r}\n"));
            verdict + &text::render(&review)
        }
    };
    // `salvage review LOG | head` closes the pipe early: that is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: writing the review: {e}");
        return 2;
    }
    if report.is_some_and(|r| !r.is_valid()) {
        return 1;
    }
    if review.events == 0 {
        eprintln!("error: {name}: no log events in this file (it is empty or not a salvage log)");
        return 2;
    }
    0
}
