//! `Region`: the byte range of a source that the signature probers read, and the order they
//! run in. One prober per file in this directory.

mod btrfs;
mod exfat;
mod ext;
mod fat;
mod luks;
mod lvm;
mod md;
mod ntfs;
mod swap;
mod xfs;

pub(crate) use ext::{describe as ext_describe, superblock as ext_superblock};

use super::filesystem::Filesystem;
use super::source::{ByteSource, read_zero_padded};

/// Which probes run: all of them, or only those anchored at the start (a scan does not know
/// where a filesystem ends, so it skips md 0.90/1.0 superblocks that sit near the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Whole,
    StartOnly,
}

/// `size` bytes of a source from `offset`.
pub(crate) struct Region<'a> {
    src: &'a dyn ByteSource,
    offset: u64,
    size: u64,
}

/// The most bytes one probe reads at once.
const MAX_READ: usize = 1 << 20;

impl<'a> Region<'a> {
    pub(crate) fn new(src: &'a dyn ByteSource, offset: u64, size: u64) -> Region<'a> {
        let end = src.size_bytes();
        let size = size.min(end.saturating_sub(offset));
        Region { src, offset, size }
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// `len` bytes at `at` inside the region; `None` when they do not fit or cannot be read.
    pub(crate) fn read(&self, at: u64, len: usize) -> Option<Vec<u8>> {
        if len > MAX_READ || at.checked_add(len as u64)? > self.size {
            return None;
        }
        read_zero_padded(self.src, self.offset.checked_add(at)?, len).ok()
    }

    /// Runs the probers in blkid's order and returns the first match.
    pub(crate) fn probe(&self, scope: Scope) -> Option<Filesystem> {
        if self.size < 1024 {
            return None;
        }
        md::probe(self, scope)
            .or_else(|| lvm::probe(self))
            .or_else(|| luks::probe(self))
            .or_else(|| exfat::probe(self))
            .or_else(|| ntfs::probe(self))
            .or_else(|| fat::probe(self))
            .or_else(|| ext::probe(self))
            .or_else(|| xfs::probe(self))
            .or_else(|| btrfs::probe(self))
            .or_else(|| swap::probe(self))
    }
}
