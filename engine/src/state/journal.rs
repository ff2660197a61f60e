//! The journal: an append-only record of finished steps (with the fingerprint of their inputs
//! and their outputs), approvals, and attachments made and undone. It is what makes a rerun
//! resume and what finds leftovers after a crash.
//!
//! Every record is written with one `write(2)` at once, so a killed process never loses one.
//! [`Journal::append`] also makes it durable (`fdatasync`) before returning;
//! [`Journal::append_deferred`] leaves that to a later [`Journal::sync`], which makes every
//! record written before it durable with one `fdatasync` however many threads ask at once
//! (group commit).
//!
//! Architecture invariant: an attachment is journaled before it is used, and its undo is
//! journaled after it succeeded; a line torn by a crash is ignored on reading.

use crate::state::exec_error::{ExecError, ExecErrorKind};
use crate::state::undo::Undo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A step finished; its inputs' fingerprint and its outputs.
    Finished {
        /// The step's id.
        step: String,
        /// Keyed hash of the op and its resolved inputs.
        fingerprint: String,
        /// What it produced.
        outputs: Value,
        /// When (RFC 3339).
        time: String,
    },
    /// A step is about to run: any earlier `Finished` of it no longer holds.
    Started {
        /// The step's id.
        step: String,
    },
    /// Something was attached; `id` names it for its `Undone`.
    Attached {
        /// Unique within the journal.
        id: u64,
        /// The step that attached it.
        step: String,
        /// How to undo it.
        undo: Undo,
        /// Undone when the step ends (`step`) or when the run ends (`run`).
        scope: Scope,
    },
    /// An attachment was undone.
    Undone {
        /// The `Attached` id.
        id: u64,
    },
}

/// When an attachment is undone.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// At the end of the step that made it.
    Step,
    /// At the end of the run (or on failure, Ctrl-C, or after a crash).
    Run,
}

/// A live attachment, as the journal knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    /// Its id.
    pub id: u64,
    /// The step that attached it.
    pub step: String,
    /// How to undo it.
    pub undo: Undo,
    /// When it is undone.
    pub scope: Scope,
}

/// The journal file, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Appends hold this lock (one record, one write, never interleaved).
    file: Mutex<File>,
    /// The same file, for `fdatasync` without holding up appends.
    sync_file: File,
    /// Bytes appended by this process so far.
    written: AtomicU64,
    /// Of those, the bytes known durable; held while syncing (one `fdatasync` at a time).
    synced: Mutex<u64>,
    next_id: Mutex<u64>,
    live: Mutex<Vec<Live>>,
}

/// What a journal says after replaying it.
#[derive(Debug, Default, Clone)]
pub struct Replay {
    /// The last `Finished` of each step not since `Started` again: fingerprint and outputs.
    pub finished: BTreeMap<String, (String, Value, String)>,
    /// Attachments never undone, in the order they were made.
    pub live: Vec<Live>,
    /// The highest attachment id seen.
    pub max_id: u64,
    /// Steps a run started but never finished (killed, failed or interrupted): their
    /// partial results may be on disk.
    pub unfinished: BTreeSet<String>,
    /// How the file ends when its last line has no newline (a crash while appending).
    pub tail: Option<TornTail>,
}

/// The end of a journal whose last write was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TornTail {
    /// The last record is whole, only its newline is missing: it counts, and gets one.
    MissingNewline,
    /// The last line is a partial record, ignored; the file is cut back to this length.
    Partial { keep: u64 },
}

impl Replay {
    /// The replay with `(secret NAME)` in finished steps' outputs replaced by this run's value
    /// of NAME: the journal never holds a secret, but a step skipped on resume must hand the
    /// steps after it what it really produced.
    pub fn with_secrets(&self, secrets: &[(String, String)]) -> Replay {
        let mut r = self.clone();
        if secrets.is_empty() {
            return r;
        }
        for (_, outputs, _) in r.finished.values_mut() {
            *outputs = crate::resolve::unredact(outputs, secrets);
        }
        r
    }
}

impl Journal {
    /// Opens (creating) a journal and replays it.
    pub fn open(path: &Path) -> Result<(Journal, Replay), ExecError> {
        let replay = read(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                ExecError::new(ExecErrorKind::JournalWrite(e.to_string())).with_path(path)
            })?;
        // A torn last line (a crash mid-append): a partial record, ignored by the replay, is
        // cut off; a whole one gets its newline. Either way the next record starts a line of
        // its own instead of being appended onto the torn one and lost with it.
        if let Some(tail) = replay.tail {
            let mended = match tail {
                TornTail::MissingNewline => (&file).write_all(b"\n"),
                TornTail::Partial { keep } => file.set_len(keep),
            };
            mended.and_then(|()| file.sync_data()).map_err(|e| {
                ExecError::new(ExecErrorKind::JournalWrite(e.to_string())).with_path(path)
            })?;
        }
        let sync_file = file.try_clone().map_err(|e| {
            ExecError::new(ExecErrorKind::JournalWrite(e.to_string())).with_path(path)
        })?;
        let journal = Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            sync_file,
            written: AtomicU64::new(0),
            synced: Mutex::new(0),
            next_id: Mutex::new(replay.max_id + 1),
            live: Mutex::new(replay.live.clone()),
        };
        Ok((journal, replay))
    }

    /// Appends one record and makes it (and every record before it) durable before returning.
    pub fn append(&self, record: &Record) -> Result<(), ExecError> {
        self.append_deferred(record)?;
        self.sync()
    }

    /// Appends one record with one `write(2)`: a killed process keeps it (it is in the page
    /// cache), but a power cut may lose it until the next [`Journal::sync`].
    pub fn append_deferred(&self, record: &Record) -> Result<(), ExecError> {
        let err = |e: String| self.error(e);
        let mut line = serde_json::to_string(record).map_err(|e| err(e.to_string()))?;
        line.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| err("journal lock poisoned".into()))?;
        file.write_all(line.as_bytes())
            .map_err(|e| err(e.to_string()))?;
        self.written.fetch_add(line.len() as u64, Ordering::SeqCst);
        drop(file);
        if let Ok(mut live) = self.live.lock() {
            match record {
                Record::Attached {
                    id,
                    step,
                    undo,
                    scope,
                } => live.push(Live {
                    id: *id,
                    step: step.clone(),
                    undo: undo.clone(),
                    scope: *scope,
                }),
                Record::Undone { id } => live.retain(|l| l.id != *id),
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes every record appended before this call durable. Group commit: callers that
    /// arrive while another one syncs wait for it, and return at once when its `fdatasync`
    /// already covered their records.
    pub fn sync(&self) -> Result<(), ExecError> {
        let target = self.written.load(Ordering::SeqCst);
        let mut synced = self
            .synced
            .lock()
            .map_err(|_| self.error("journal sync lock poisoned".into()))?;
        if *synced >= target {
            return Ok(());
        }
        let upto = self.written.load(Ordering::SeqCst);
        self.sync_file
            .sync_data()
            .map_err(|e| self.error(e.to_string()))?;
        *synced = upto;
        Ok(())
    }

    fn error(&self, e: String) -> ExecError {
        ExecError::new(ExecErrorKind::JournalWrite(e)).with_path(&self.path)
    }

    /// Attachments not undone yet, in the order they were made.
    pub fn live(&self) -> Vec<Live> {
        self.live.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Journals an attachment before it is used; returns its id.
    pub fn attached(&self, step: &str, undo: Undo, scope: Scope) -> Result<u64, ExecError> {
        let id = {
            let mut next = self.next_id.lock().map_err(|_| {
                ExecError::new(ExecErrorKind::JournalWrite("id lock poisoned".into()))
            })?;
            let id = *next;
            *next += 1;
            id
        };
        self.append(&Record::Attached {
            id,
            step: step.to_string(),
            undo,
            scope,
        })?;
        Ok(id)
    }
}

/// Reads and replays a journal; a missing file is an empty journal, a torn last line is
/// ignored (a crash while appending), any other bad line is an error naming it.
pub fn read(path: &Path) -> Result<Replay, ExecError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Replay::default()),
        Err(e) => return Err(ExecError::new(ExecErrorKind::StateIo(e.to_string())).with_path(path)),
    };
    let mut replay = Replay::default();
    let complete = text.is_empty() || text.ends_with(b"\n");
    if !complete {
        replay.tail = Some(TornTail::MissingNewline);
    }
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let record: Record = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(_) if i + 1 == n && !complete => {
                let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                replay.tail = Some(TornTail::Partial { keep: keep as u64 });
                break;
            }
            Err(e) => {
                return Err(ExecError::new(ExecErrorKind::JournalCorrupt {
                    line: i + 1,
                    error: e.to_string(),
                })
                .with_path(path));
            }
        };
        match record {
            Record::Finished {
                step,
                fingerprint,
                outputs,
                time,
            } => {
                replay.unfinished.remove(&step);
                replay.finished.insert(step, (fingerprint, outputs, time));
            }
            Record::Started { step } => {
                replay.finished.remove(&step);
                replay.unfinished.insert(step);
            }
            Record::Attached {
                id,
                step,
                undo,
                scope,
            } => {
                replay.max_id = replay.max_id.max(id);
                replay.live.push(Live {
                    id,
                    step,
                    undo,
                    scope,
                });
            }
            Record::Undone { id } => replay.live.retain(|l| l.id != id),
        }
    }
    Ok(replay)
}
