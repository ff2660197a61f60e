//! Errors of the event log: a carrier naming the file, and a kind with every message in one match.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error reading or writing a log file.
#[derive(Debug)]
pub struct LogError {
    /// The log file.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: LogErrorKind,
}

/// What went wrong with a log file.
#[derive(Debug)]
pub enum LogErrorKind {
    /// Opening, reading, writing or syncing failed.
    Io(std::io::Error),
    /// Another process holds the log's lock (another run writes to it).
    Locked,
    /// The end of the existing log does not verify, so new lines cannot be chained to it.
    DamagedTail {
        /// 1-based line number of the damaged line.
        line: usize,
        /// Byte offset of the damaged line.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },
    /// A line is not a log event (strict reading).
    BadLine {
        /// 1-based line number.
        line: usize,
        /// Byte offset where the line starts.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },
    /// `append` was given an event name that is not lowercase letters and underscores.
    BadEventName(String),
    /// `append` was given a field that the log itself writes (`seq`, `time`, `event`, `prev`).
    ReservedField(String),
    /// An earlier append failed part-way; the file's tail may be torn.
    Poisoned,
}

impl LogError {
    /// An error about `path`.
    pub fn new(path: &Path, kind: LogErrorKind) -> LogError {
        LogError {
            path: path.to_path_buf(),
            kind,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            LogErrorKind::Io(e) => write!(f, "{p}: {e}"),
            LogErrorKind::Locked => write!(
                f,
                "{p}: another salvage process is writing this log (it holds the lock); \
                 wait for it to finish or stop it first"
            ),
            LogErrorKind::DamagedTail { line, offset, what } => write!(
                f,
                "{p}:{line}: the log is damaged at its end (byte {offset}): {what}; new events \
                 cannot be chained to it. Continuing starts a new chain segment after the damage \
                 (marked by a `log_resumed_after_damage` event that `salvage review --verify` reports)"
            ),
            LogErrorKind::BadLine { line, offset, what } => {
                write!(f, "{p}:{line}: not a log event (byte {offset}): {what}")
            }
            LogErrorKind::BadEventName(name) => write!(
                f,
                "{p}: event name `{name}` is not lowercase letters and underscores"
            ),
            LogErrorKind::ReservedField(name) => write!(
                f,
                "{p}: field `{name}` is written by the log itself (seq, time, event, prev)"
            ),
            LogErrorKind::Poisoned => write!(
                f,
                "{p}: an earlier write to the log failed part-way, so its end may be torn; \
                 reopen it to continue after the damage"
            ),
        }
    }
}

impl std::error::Error for LogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            LogErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
