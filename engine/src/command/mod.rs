//! The language commands: `check`, `plan`, `ops`. The disk commands live with their ops.

pub mod check;
pub mod ops;
pub mod param_sources;
pub mod plan;
pub mod plan_warnings;
pub mod review;
pub mod run;
pub mod secret_prompt;
pub mod test;

use crate::checker::{Checked, check};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_file::{LoadError, MAX_SOURCE_BYTES, SourceFile};
use crate::stdlib::FileLoader;
use salvage_grammar::ast::Span;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

/// Output formats of `check` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
    /// Graphviz (plan only).
    Dot,
}

/// Loads and checks one file; load failures become diagnostics too.
pub fn load_and_check(path: &Path, params: Option<&[(String, String)]>) -> Checked {
    check_loaded(
        &path.display().to_string(),
        SourceFile::load(path),
        params,
        &FileLoader,
    )
}

/// Checks a loaded source, or turns its load failure (unreadable, too large, not UTF-8) into a
/// diagnostic. The fuzz target goes through here with raw bytes.
pub fn check_loaded(
    name: &str,
    loaded: Result<SourceFile, LoadError>,
    params: Option<&[(String, String)]>,
    loader: &dyn crate::checker::Loader,
) -> Checked {
    match loaded {
        Ok(src) => check(src, params, loader),
        Err(e) => {
            let name = name.to_string();
            let diag = match e {
                LoadError::Io(error) => Diagnostic::bare(DiagnosticKind::Io { path: name, error }),
                LoadError::TooLarge(size) => Diagnostic::bare(DiagnosticKind::TooLarge {
                    size,
                    limit: MAX_SOURCE_BYTES,
                }),
                LoadError::NotUtf8 { offset, prefix } => {
                    let file = Arc::new(SourceFile::new(name, prefix));
                    let at = file.text.len();
                    Diagnostic::error(&file, Span::new(at, at), DiagnosticKind::NotUtf8 { offset })
                }
            };
            Checked {
                plans: Vec::new(),
                diagnostics: vec![diag],
            }
        }
    }
}

/// Prints diagnostics to stderr, in color on a terminal.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    if diags.is_empty() {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", crate::diagnostic_report::render(diags, color));
}

/// Parses `NAME=VALUE` for `--param`.
pub fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}`: write it as NAME=VALUE, e.g. --param disk=/dev/sdb"
        )),
    }
}
