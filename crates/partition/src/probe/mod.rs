//! `Region`: the byte range of a source that the signature probers read, and the order they
//! run in (libblkid's). One prober per format in this directory; `foreign.rs` holds those
//! recognised but not read.

mod btrfs;
mod exfat;
mod ext;
mod fat;
mod foreign;
mod luks;
mod lvm;
mod md;
mod ntfs;
mod swap;
mod xfs;

pub(crate) use ext::{
    ExtSuperblock, checksum_note as ext_checksum_note, describe as ext_describe,
    superblock as ext_superblock,
};
pub(crate) use fat::is_vfat;

use super::filesystem::{Filesystem, Probe};
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
/// libblkid's "tiny" device (a 1.44 MB floppy): there the first signature found wins.
const TINY: u64 = 1_474_560;

type Prober = fn(&Region<'_>) -> Option<Filesystem>;

/// Filesystems in libblkid's order (its `idinfos` table); any two found are ambivalent.
const FILESYSTEMS: [Prober; 10] = [
    fat::probe,
    swap::probe,
    xfs::probe,
    ext::probe,
    foreign::ufs,
    foreign::hpfs,
    ntfs::probe,
    btrfs::probe,
    exfat::probe,
    foreign::befs,
];

/// "ntfs" or "exfat" when a valid boot sector of one is at byte 0 of `src` (its 0x55AA is then
/// not a partition table's), whatever else is there.
pub(crate) fn boot_sector_filesystem(src: &dyn ByteSource) -> Option<&'static str> {
    let whole = Region::new(src, 0, src.size_bytes());
    if ntfs::probe(&whole).is_some() {
        Some("ntfs")
    } else if exfat::probe(&whole).is_some() {
        Some("exfat")
    } else {
        None
    }
}

impl<'a> Region<'a> {
    pub(crate) fn new(src: &'a dyn ByteSource, offset: u64, size: u64) -> Region<'a> {
        let end = src.size_bytes();
        let size = size.min(end.saturating_sub(offset));
        Region { src, offset, size }
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Where the region starts in its source.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// `len` bytes at `at` inside the region; `None` when they do not fit or cannot be read.
    pub(crate) fn read(&self, at: u64, len: usize) -> Option<Vec<u8>> {
        if len > MAX_READ || at.checked_add(len as u64)? > self.size {
            return None;
        }
        read_zero_padded(self.src, self.offset.checked_add(at)?, len).ok()
    }

    /// Runs the probers in blkid's order: a RAID member, LVM PV, LUKS or BitLocker volume is
    /// the answer as soon as it is found; otherwise every filesystem prober runs, and two or
    /// more matches are ambivalent (on a floppy-sized region the first wins).
    pub(crate) fn probe(&self, scope: Scope) -> Probe {
        if self.size < 1024 {
            return Probe::Nothing;
        }
        let container = md::probe(self, scope)
            .or_else(|| lvm::probe(self))
            .or_else(|| luks::probe(self))
            .or_else(|| foreign::bitlocker(self));
        if let Some(fs) = container {
            return Probe::Found(fs);
        }
        let mut found: Vec<Filesystem> = FILESYSTEMS.iter().filter_map(|p| p(self)).collect();
        match found.len() {
            0 => Probe::Nothing,
            1 => Probe::Found(found.remove(0)),
            _ if self.size <= TINY => Probe::Found(found.remove(0)),
            _ => Probe::Ambivalent(found),
        }
    }
}

/// Probes the `size` bytes at `offset` of `src` for a filesystem or container signature, in
/// blkid's order; `None` when there is none or when two compete (see `probe_signatures`).
/// Reads only; never fails: I/O errors and garbage read as "nothing found".
pub fn probe_filesystem(src: &dyn ByteSource, offset: u64, size: u64) -> Option<Filesystem> {
    probe_signatures(src, offset, size).found()
}

/// Probes the `size` bytes at `offset` of `src`, as `blkid -p --offset --size` does: RAID and
/// crypto containers first (the first found wins), then every filesystem; two or more
/// filesystems are ambivalent unless the area is floppy-sized (then the first wins, as in
/// blkid).
pub fn probe_signatures(src: &dyn ByteSource, offset: u64, size: u64) -> Probe {
    Region::new(src, offset, size).probe(Scope::Whole)
}
