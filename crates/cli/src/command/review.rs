//! `salvage review LOG [--verify] [--format text|json]`: the post-incident view of a run log.

use clap::Args;
use salvage_engine::event_log::{Verdict, VerifyReport, key_beside, read_lenient, verify_with_key};
use salvage_engine::review::{Review, build, text};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// `salvage review LOG`.
#[derive(Debug, Args)]
pub(crate) struct ReviewArgs {
    /// The run log (JSON lines), e.g. STATE_DIR/run.log.
    pub log: PathBuf,
    /// Check the log's hash chain, sequence and keyed anchor first; exit 1 if any line was
    /// edited, dropped, inserted, reordered or torn, 3 if that cannot be proven (no state key
    /// or no anchor); the review is still printed.
    #[arg(long)]
    pub verify: bool,
    /// The run's state directory, whose `key` checks the anchor (default: the log's
    /// directory, as `salvage run` lays it out). For a log written with --log elsewhere.
    #[arg(long, value_name = "DIR", conflicts_with = "key")]
    pub state: Option<PathBuf>,
    /// The state key itself (a copy of STATE/key kept elsewhere).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// text: the timeline for people; json: the same as one JSON document.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub format: ReviewFormat,
}

/// Output formats of `review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReviewFormat {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

/// The JSON document of `review --format json`.
#[derive(Debug, Serialize)]
struct Document<'a> {
    verify: Option<&'a VerifyReport>,
    verdict: Option<Verdict>,
    #[serde(flatten)]
    review: &'a Review,
}

/// The key a log is verified with: `--key`, else `--state`'s `key`, else the key of the state
/// directory the log sits in (`None` when there is none).
pub(crate) fn log_key(
    key: Option<&std::path::Path>,
    state: Option<&std::path::Path>,
    log: &std::path::Path,
) -> Result<Option<[u8; 32]>, String> {
    match (key, state) {
        (Some(k), _) => read_key(k).map(Some),
        (None, Some(dir)) => read_key(&dir.join("key")).map(Some),
        (None, None) => Ok(key_beside(log)),
    }
}

/// Reads a state key: exactly 32 bytes.
pub(crate) fn read_key(path: &std::path::Path) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("the state key {}: cannot read it: {e}", path.display()))?;
    let n = bytes.len();
    bytes.try_into().map_err(|_| {
        format!(
            "{} is not a salvage state key (32 bytes expected, found {n}); give STATE/key of the run that wrote the log",
            path.display()
        )
    })
}

/// Exit codes: 0 reviewed (and, with --verify, valid); 1 --verify found the log edited,
/// damaged, empty or not a log (the review is still printed); 2 the file (or the key given)
/// cannot be read, or (without --verify) the log holds no events at all; 3 --verify found no
/// problem but could not prove the log untouched (no state key, or no anchor).
pub(crate) fn command(args: &ReviewArgs) -> i32 {
    let name = args.log.display().to_string();
    let key = match log_key(args.key.as_deref(), args.state.as_deref(), &args.log) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let report = args
        .verify
        .then(|| verify_with_key(&args.log, key.as_ref()));
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
                verdict: report.as_ref().map(VerifyReport::verdict),
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
    if let Some(r) = &report
        && r.verdict() != Verdict::Valid
    {
        return r.verdict().exit_code();
    }
    if review.events == 0 {
        eprintln!("error: {name}: no log events in this file (it is empty or not a salvage log)");
        return 2;
    }
    0
}
