//! `FileJob`: copying one regular file, the unit of work a copy's threads share: open the
//! source (one open), create the copy in its directory's fd (one open), read, hash (BLAKE3) and
//! write as the bytes pass (zero blocks left as holes), then owner, mode and times through the
//! copy's fd. No sync here: durability is the copy's checkpoint (`syncfs`), before the manifest
//! claims the file.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::dest_dir::{DestDir, STRIPPED_BITS};
use super::error::{FsError, FsErrorKind};
use super::manifest::{ContentHash, EntryStatus};
use super::source_tree::{EntryMeta, SourceTree};
use super::sparse_writer::SparseWriter;

/// Read size while copying.
pub(crate) const CHUNK: usize = 1 << 20;

/// One regular file to copy.
pub(crate) struct FileJob {
    /// Its place in the manifest.
    pub seq: u64,
    pub rel: PathBuf,
    pub meta: EntryMeta,
    /// The copy's directory that receives it, and its name there.
    pub dest_parent: Arc<OwnedFd>,
    pub name: OsString,
}

/// What became of an entry, as the manifest records it.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub rel: PathBuf,
    pub meta: EntryMeta,
    pub hash: Option<ContentHash>,
    pub target: Option<OsString>,
    pub status: EntryStatus,
    pub note: Option<String>,
}

impl Outcome {
    pub(crate) fn new(rel: PathBuf, meta: EntryMeta, status: EntryStatus) -> Self {
        Self {
            rel,
            meta,
            hash: None,
            target: None,
            status,
            note: None,
        }
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// What a copying thread needs besides the job: the trees, a buffer, the stop flag and the
/// byte counter the progress display reads.
pub(crate) struct JobContext<'a> {
    pub source: &'a dyn SourceTree,
    pub dest: &'a DestDir,
    /// The operator's cancel flag, and the copy's own (set when it ends early).
    pub cancel: Option<&'a AtomicBool>,
    pub stop: &'a AtomicBool,
    pub bytes: &'a AtomicU64,
}

impl JobContext<'_> {
    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Copies one file. A source that cannot be read is an outcome (`Unreadable`, the partial
    /// copy removed); a write that fails, or a cancel, is an error that ends the copy.
    pub(crate) fn run(&self, job: &FileJob, buffer: &mut [u8]) -> Result<Outcome, FsError> {
        let rel = &job.rel;
        let unreadable = |note: String| {
            Ok(Outcome::new(rel.clone(), job.meta, EntryStatus::Unreadable).with_note(note))
        };
        let mut reader = match self.source.open_file(rel) {
            Ok(reader) => reader,
            Err(e) => return unreadable(e.to_string()),
        };
        let write_error = |e: std::io::Error| {
            FsError::io(
                FsErrorKind::Write {
                    path: self.dest.root().join(rel),
                },
                e,
            )
        };
        let file = self.dest.create_file_in(&job.dest_parent, &job.name, rel)?;
        let mut out = SparseWriter::new(file);
        let mut hasher = blake3::Hasher::new();
        let mut copied = 0u64;
        loop {
            if self.cancelled() {
                return Err(FsError::new(FsErrorKind::Interrupted));
            }
            let n = match reader.read(buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    drop(out);
                    self.dest.remove_file_in(&job.dest_parent, &job.name);
                    return unreadable(format!("read failed after {copied} bytes: {e}"));
                }
            };
            hasher.update(&buffer[..n]);
            out.write(&buffer[..n]).map_err(write_error)?;
            copied += n as u64;
            self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        drop(reader);
        let file = out.finish().map_err(write_error)?;
        self.dest.set_file_attributes(&file, rel, &job.meta)?;
        let mut meta = job.meta;
        meta.size = copied;
        let mut outcome = Outcome::new(rel.clone(), meta, EntryStatus::Copied);
        outcome.hash = Some(ContentHash::Blake3(hasher.finalize().to_hex().to_string()));
        if job.meta.mode & STRIPPED_BITS != 0 {
            outcome.note = Some(format!(
                "setuid/setgid bits dropped (source mode {:04o})",
                job.meta.mode
            ));
        }
        Ok(outcome)
    }
}
