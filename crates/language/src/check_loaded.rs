//! [`check_loaded`]: checks a loaded source, or turns its load failure into a diagnostic, so a
//! file that cannot be read is reported like any other error of the runbook.

use crate::checker::{Checked, Loader, check};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_file::{LoadError, MAX_SOURCE_BYTES, SourceFile};
use salvage_grammar::ast::Span;
use std::sync::Arc;

/// Checks a loaded source, or turns its load failure (unreadable, too large, not UTF-8) into a
/// diagnostic. The fuzz target goes through here with raw bytes.
pub fn check_loaded(
    name: &str,
    loaded: Result<SourceFile, LoadError>,
    params: Option<&[(String, String)]>,
    loader: &dyn Loader,
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
