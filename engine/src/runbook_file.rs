//! Runbook files on disk: reading one safely ([`load_source`]), finding `use` files in the
//! embedded stdlib or beside the runbook ([`FileLoader`]), and [`load_and_check`]. The language
//! crate does no IO; this is where its sources come from.

use salvage_language::check_loaded::check_loaded;
use salvage_language::checker::{Checked, Loader};
use salvage_language::diagnostic::{Diagnostic, DiagnosticKind};
use salvage_language::source_file::{LoadError, MAX_SOURCE_BYTES, SourceFile};
use salvage_language::stdlib;
use std::path::Path;

/// The sha256 (hex) of a runbook file's bytes: what the log records of the runbook a run
/// ran, and what saved plans and reports compare with it.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(std::fs::read(path)?)))
}

/// Loads and checks one file; load failures become diagnostics too.
pub fn load_and_check(path: &Path, params: Option<&[(String, String)]>) -> Checked {
    check_loaded(
        &path.display().to_string(),
        load_source(path),
        params,
        &FileLoader,
    )
}

/// Reads a runbook file, refusing one too large or not UTF-8.
pub fn load_source(path: &Path) -> Result<SourceFile, LoadError> {
    use std::io::Read;
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| LoadError::Io(e.to_string()))?;
    let meta = file.metadata().map_err(|e| LoadError::Io(e.to_string()))?;
    if meta.is_dir() {
        return Err(LoadError::Io("is a directory; name a .salvage file".into()));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(LoadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Io(e.to_string()))?;
    SourceFile::from_bytes(name, bytes)
}

/// Loads `use` files from the embedded stdlib first, then from disk beside the runbook.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileLoader;

impl Loader for FileLoader {
    fn load(&self, path: &str, from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>> {
        if let Some(text) = stdlib::find(path) {
            return Some(Ok(SourceFile::new(path, text)));
        }
        let base = Path::new(&from.name).parent().unwrap_or(Path::new("."));
        let candidate = base.join(path);
        if !candidate.is_file() {
            return None;
        }
        Some(load_source(&candidate).map_err(|e| {
            let name = candidate.display().to_string();
            Diagnostic::bare(match e {
                LoadError::Io(error) => DiagnosticKind::Io { path: name, error },
                LoadError::TooLarge(size) => DiagnosticKind::TooLarge {
                    size,
                    limit: MAX_SOURCE_BYTES,
                },
                LoadError::NotUtf8 { offset, .. } => DiagnosticKind::NotUtf8 { offset },
            })
        }))
    }
}
