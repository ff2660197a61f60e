//! The subcommands: one module each, owning its clap arguments and its exit code; the shared
//! pieces (output format, diagnostics on stderr, `--param`) are here.

pub(crate) mod approve;
pub(crate) mod check;
pub(crate) mod damage;
pub(crate) mod domain;
pub(crate) mod filesystem;
pub(crate) mod health;
pub(crate) mod image;
mod image_progress;
pub(crate) mod ops;
pub(crate) mod param_sources;
pub(crate) mod partitions;
pub(crate) mod plan;
pub(crate) mod plan_warnings;
pub(crate) mod raid;
pub(crate) mod report;
pub(crate) mod review;
pub(crate) mod run;
pub(crate) mod secret_prompt;
pub(crate) mod test;

pub(crate) use salvage_engine::runbook_file::load_and_check;
use salvage_language::diagnostic::Diagnostic;
use std::io::IsTerminal;

/// Output formats of `check` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
    /// Graphviz (plan only).
    Dot,
}

/// Prints diagnostics to stderr, in color on a terminal.
pub(crate) fn print_diagnostics(diags: &[Diagnostic]) {
    if diags.is_empty() {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!(
        "{}",
        salvage_language::diagnostic_report::render(diags, color)
    );
}

/// Parses `NAME=VALUE` for `--param`.
pub(crate) fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}`: write it as NAME=VALUE, e.g. --param disk=/dev/sdb"
        )),
    }
}
