//! The state directory of a run: its lock, its journal, its key, and where mounts go.
//!
//! Architecture invariant: one run at a time per state directory (an exclusive `flock` held
//! for the whole run, released by the kernel even after `kill -9`).

use crate::state::exec_error::{ExecError, ExecErrorKind};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An open, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    key: [u8; 32],
    _lock: Flock<File>,
}

impl StateDir {
    /// Opens (creating it 0700 if needed) and locks a state directory; fails at once if
    /// another run holds it.
    pub fn open(path: &Path) -> Result<StateDir, ExecError> {
        let err = |kind| ExecError::new(kind).with_path(path);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| err(ExecErrorKind::StateIo(e.to_string())))?;
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path.join("lock"))
            .map_err(|e| err(ExecErrorKind::StateIo(e.to_string())))?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| err(ExecErrorKind::Locked))?;
        let key = load_or_create_key(&path.join("key"))
            .map_err(|e| err(ExecErrorKind::StateIo(e.to_string())))?;
        Ok(StateDir {
            path: path.to_path_buf(),
            key,
            _lock: lock,
        })
    }

    /// [`StateDir::open`], waiting up to `patience` for a lock another process still holds:
    /// a run killed a moment ago may still be exiting, or have a child between fork and exec
    /// holding a copy of the lock (for `salvage cleanup` right after a kill).
    pub fn open_waiting(path: &Path, patience: std::time::Duration) -> Result<StateDir, ExecError> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::open(path) {
                Err(e)
                    if matches!(e.kind, ExecErrorKind::Locked)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal of finished steps and live attachments.
    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal.jsonl")
    }

    /// The default log, when `--log` is not given.
    pub fn default_log_path(&self) -> PathBuf {
        self.path.join("log.jsonl")
    }

    /// Where a step mounts things.
    pub fn mount_dir(&self, step: &str) -> PathBuf {
        self.path.join("mnt").join(step.replace('/', "__"))
    }

    /// Scratch space for a step.
    pub fn work_dir(&self, step: &str) -> PathBuf {
        self.path.join("work").join(step.replace('/', "__"))
    }

    /// The secret key fingerprints are keyed with (so a fingerprint never reveals a secret).
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    if let Ok(mut f) = File::open(path) {
        if f.read_exact(&mut key).is_ok() {
            return Ok(key);
        }
    }
    File::open("/dev/urandom")?.read_exact(&mut key)?;
    let tmp = path.with_extension("tmp");
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&key)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(key)
}
