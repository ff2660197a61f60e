//! Executor errors: a carrier (path, step) plus a kind enum with every message in one match.

use std::fmt;
use std::path::{Path, PathBuf};

/// An executor error.
#[derive(Debug)]
pub struct ExecError {
    /// What went wrong.
    pub kind: ExecErrorKind,
    /// The file or directory involved.
    pub path: Option<PathBuf>,
}

/// Every way the executor itself can fail (a failing step is not an error of the executor).
#[derive(Debug)]
pub enum ExecErrorKind {
    /// The state directory could not be used.
    StateIo(String),
    /// Another run holds the state directory.
    Locked,
    /// The journal could not be written.
    JournalWrite(String),
    /// The journal has a bad line (not the torn last one).
    JournalCorrupt { line: usize, error: String },
    /// The log could not be opened.
    LogOpen(String),
    /// The state directory was run with other values of these params.
    ParamsDiffer { names: Vec<String> },
}

impl ExecError {
    /// An error of this kind.
    pub fn new(kind: ExecErrorKind) -> Self {
        ExecError { kind, path: None }
    }

    /// Names the file involved.
    pub fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match &self.kind {
            ExecErrorKind::StateIo(e) => write!(f, "state directory {p}: {e}"),
            ExecErrorKind::Locked => write!(
                f,
                "state directory {p} is locked by another salvage run; wait for it, or use another --state"
            ),
            ExecErrorKind::JournalWrite(e) => write!(f, "cannot write the journal {p}: {e}"),
            ExecErrorKind::JournalCorrupt { line, error } => write!(
                f,
                "journal {p} line {line} is damaged ({error}); move the state directory aside to start over"
            ),
            ExecErrorKind::LogOpen(e) => write!(f, "cannot open the log {p}: {e}"),
            ExecErrorKind::ParamsDiffer { names } => write!(
                f,
                "state directory {p} was run with other values of {}: it holds another incident, or this one before a param changed. To start fresh, give another --state DIR (or move {p} aside, after `salvage cleanup --state {p}` if something may still be attached); to go on with the new values here (the steps they reach run again), rerun with --new-params",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl std::error::Error for ExecError {}
