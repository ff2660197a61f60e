//! `Ledger`: what a copy may write into its manifest, and when. Outcomes come back from the
//! copying threads out of order; the manifest lists them in walk order (so it is the same
//! whatever the timing), and only after a `syncfs` of the copy's filesystem that began after
//! they were done, so the manifest never claims a file a crash could still lose. This replaces
//! one `fdatasync` per file by one `syncfs` per checkpoint, as the imager's map claims only
//! what was synced.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::copy_job::Outcome;
use super::error::{FsError, FsErrorKind};

/// How often a long copy makes what it has done durable and claims it in the manifest (what a
/// kill or a crash can cost: at most this much work to do again on resume). Not much more
/// often: `syncfs` also flushes whatever else is waiting on that filesystem.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);

/// Outcomes by walk order, waiting to be claimed.
pub(crate) struct Ledger {
    /// `slots[0]` is walk position `base`; `None`: still being copied.
    slots: VecDeque<Option<Outcome>>,
    base: u64,
    /// The copy's root directory, opened for `syncfs`.
    root: File,
    root_path: PathBuf,
    last: Instant,
}

impl Ledger {
    pub(crate) fn new(root_path: PathBuf) -> Result<Self, FsError> {
        let root = File::open(&root_path).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: root_path.clone(),
                },
                e,
            )
        })?;
        Ok(Self {
            slots: VecDeque::new(),
            base: 0,
            root,
            root_path,
            last: Instant::now(),
        })
    }

    /// A place in walk order for an entry whose outcome comes later.
    pub(crate) fn reserve(&mut self) -> u64 {
        self.slots.push_back(None);
        self.base + self.slots.len() as u64 - 1
    }

    /// The outcome of the entry at walk position `seq`.
    pub(crate) fn fill(&mut self, seq: u64, outcome: Outcome) {
        if let Some(slot) = seq
            .checked_sub(self.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get_mut(i))
        {
            *slot = Some(outcome);
        }
    }

    /// An entry whose outcome is known now (a directory, a symlink, a skipped entry).
    pub(crate) fn push(&mut self, outcome: Outcome) {
        let seq = self.reserve();
        self.fill(seq, outcome);
    }

    /// Whether it is time for a checkpoint.
    pub(crate) fn due(&self) -> bool {
        self.last.elapsed() >= CHECKPOINT_EVERY
    }

    /// Makes the copy's filesystem durable and returns, in walk order, the outcomes that were
    /// complete before it (up to the first still being copied): what the manifest may claim.
    pub(crate) fn checkpoint(&mut self) -> Result<Vec<Outcome>, FsError> {
        self.last = Instant::now();
        let ready = self.slots.iter().take_while(|s| s.is_some()).count();
        if ready == 0 {
            return Ok(Vec::new());
        }
        nix::unistd::syncfs(&self.root).map_err(|e| {
            FsError::io(
                FsErrorKind::Write {
                    path: self.root_path.clone(),
                },
                e,
            )
        })?;
        self.base += ready as u64;
        Ok(self.slots.drain(..ready).flatten().collect())
    }

    /// Whether every reserved entry has its outcome.
    pub(crate) fn complete(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }
}
