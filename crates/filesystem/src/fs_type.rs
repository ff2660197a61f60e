//! `FsType`: the filesystem kinds salvage knows, probed from their signatures as libblkid does.

use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};

/// A filesystem type, as probed from its on-disk signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsType {
    Ext2,
    Ext3,
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Exfat,
    Ntfs,
}

const EXT_COMPAT_HAS_JOURNAL: u32 = 0x4;
const EXT_INCOMPAT_EXT4: u32 = 0x40 | 0x80 | 0x200 | 0x8000 | 0x2000;
const EXT_RO_COMPAT_EXT4: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;

impl FsType {
    /// The name mount(2) and fsck know it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ext2 => "ext2",
            Self::Ext3 => "ext3",
            Self::Ext4 => "ext4",
            Self::Xfs => "xfs",
            Self::Btrfs => "btrfs",
            Self::Vfat => "vfat",
            Self::Exfat => "exfat",
            Self::Ntfs => "ntfs",
        }
    }

    /// Parses a type name as `mount -t` takes it.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "ext2" => Self::Ext2,
            "ext3" => Self::Ext3,
            "ext4" => Self::Ext4,
            "xfs" => Self::Xfs,
            "btrfs" => Self::Btrfs,
            "vfat" | "fat" | "fat32" | "fat16" => Self::Vfat,
            "exfat" => Self::Exfat,
            "ntfs" => Self::Ntfs,
            _ => return None,
        })
    }

    /// ext2, ext3 or ext4: readable without root through the userspace reader.
    pub fn is_ext(self) -> bool {
        matches!(self, Self::Ext2 | Self::Ext3 | Self::Ext4)
    }

    /// Probes the signature of the filesystem starting at byte `offset` of `image`.
    /// Returns `Ok(None)` when no known signature is there.
    pub fn probe(image: &Path, offset: u64) -> Result<Option<Self>, FsError> {
        let file = salvage_sys::open_source::open_source(image).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: image.to_path_buf(),
                },
                e,
            )
        })?;
        let read = |at: u64, len: usize| -> Option<Vec<u8>> {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, offset.checked_add(at)?)
                .ok()
                .map(|()| buf)
        };
        // The superblock is at byte 1024; its magic 0xEF53 (LE) at byte 0x438 of the partition.
        if let Some(sb) = read(0x400, 0x70)
            && sb[0x38..0x3a] == [0x53, 0xEF]
        {
            let word = |at: usize| u32::from_le_bytes([sb[at], sb[at + 1], sb[at + 2], sb[at + 3]]);
            let (compat, incompat, ro_compat) = (word(0x5C), word(0x60), word(0x64));
            let kind = if incompat & EXT_INCOMPAT_EXT4 != 0 || ro_compat & EXT_RO_COMPAT_EXT4 != 0 {
                Self::Ext4
            } else if compat & EXT_COMPAT_HAS_JOURNAL != 0 {
                Self::Ext3
            } else {
                Self::Ext2
            };
            return Ok(Some(kind));
        }
        if read(0, 4).as_deref() == Some(b"XFSB") {
            return Ok(Some(Self::Xfs));
        }
        if read(0x10040, 8).as_deref() == Some(b"_BHRfS_M") {
            return Ok(Some(Self::Btrfs));
        }
        if let Some(boot) = read(0, 512) {
            if &boot[3..11] == b"NTFS    " {
                return Ok(Some(Self::Ntfs));
            }
            if &boot[3..11] == b"EXFAT   " {
                return Ok(Some(Self::Exfat));
            }
            if boot[510..512] == [0x55, 0xAA]
                && (&boot[0x52..0x57] == b"FAT32" || &boot[0x36..0x3A] == b"FAT1")
            {
                return Ok(Some(Self::Vfat));
            }
        }
        Ok(None)
    }
}

impl std::fmt::Display for FsType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
