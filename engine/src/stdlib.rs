//! The stdlib embedded in the binary, so one file carries every definition onto a broken
//! machine; and the [`Loader`] that finds `use` files there or beside the runbook.

use crate::checker::Loader;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::source_file::{LoadError, SourceFile};
use std::path::Path;

/// Every stdlib file: its `use` path and its text.
pub static FILES: &[(&str, &str)] = &[
    (
        "stdlib/lvm.salvage",
        include_str!("../../stdlib/lvm.salvage"),
    ),
    (
        "stdlib/mount.salvage",
        include_str!("../../stdlib/mount.salvage"),
    ),
    (
        "stdlib/rescue.salvage",
        include_str!("../../stdlib/rescue.salvage"),
    ),
    (
        "stdlib/restore.salvage",
        include_str!("../../stdlib/restore.salvage"),
    ),
];

/// Finds a stdlib file by its `use` path.
pub fn find(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// Loads `use` files from the embedded stdlib first, then from disk beside the runbook.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileLoader;

impl Loader for FileLoader {
    fn load(&self, path: &str, from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>> {
        if let Some(text) = find(path) {
            return Some(Ok(SourceFile::new(path, text)));
        }
        let base = Path::new(&from.name).parent().unwrap_or(Path::new("."));
        let candidate = base.join(path);
        if !candidate.is_file() {
            return None;
        }
        Some(SourceFile::load(&candidate).map_err(|e| {
            let name = candidate.display().to_string();
            Diagnostic::bare(match e {
                LoadError::Io(error) => DiagnosticKind::Io { path: name, error },
                LoadError::TooLarge(size) => DiagnosticKind::TooLarge {
                    size,
                    limit: crate::source_file::MAX_SOURCE_BYTES,
                },
                LoadError::NotUtf8 { offset, .. } => DiagnosticKind::NotUtf8 { offset },
            })
        }))
    }
}

/// A loader that only knows the embedded stdlib (for fuzzing and tests: no file access).
#[derive(Debug, Default, Clone, Copy)]
pub struct EmbeddedLoader;

impl Loader for EmbeddedLoader {
    fn load(&self, path: &str, _from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>> {
        find(path).map(|text| Ok(SourceFile::new(path, text)))
    }
}
