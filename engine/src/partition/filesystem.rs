//! `Filesystem`: what a signature probe found at an offset (type, label and UUID as blkid
//! reports them), and `probe_filesystem`, which tries every known signature there.

use serde::Serialize;

use super::probe::{Region, Scope};
use super::source::ByteSource;

/// A filesystem (or container: LUKS, LVM2 PV, md RAID member, swap) found by its superblock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filesystem {
    /// blkid's TYPE: ext2, ext3, ext4, xfs, btrfs, vfat, exfat, ntfs, swap, LVM2_member,
    /// crypto_LUKS, linux_raid_member.
    #[serde(rename = "type")]
    pub fs_type: String,
    /// blkid's LABEL.
    pub label: Option<String>,
    /// blkid's UUID.
    pub uuid: Option<String>,
    /// blkid's VERSION where it has one (FAT32, 1.0, LVM2 001, ...).
    pub version: Option<String>,
    /// The size the superblock records, in bytes, where it records one.
    pub size_bytes: Option<u64>,
}

impl Filesystem {
    pub(crate) fn new(fs_type: &str) -> Filesystem {
        Filesystem {
            fs_type: fs_type.to_string(),
            label: None,
            uuid: None,
            version: None,
            size_bytes: None,
        }
    }
}

/// Probes the `size` bytes at `offset` of `src` for a filesystem or container signature, in
/// blkid's order (RAID and volume managers before filesystems). Reads only; never fails: I/O
/// errors and garbage read as "nothing found".
pub fn probe_filesystem(src: &dyn ByteSource, offset: u64, size: u64) -> Option<Filesystem> {
    Region::new(src, offset, size).probe(Scope::Whole)
}
