//! `ExtTree`: an ext2/3/4 filesystem inside an image read in userspace with `ext4-view`,
//! without root, loop devices or mounts, as a [`SourceTree`]. The image is opened read-only; the
//! journal is applied in memory only.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ext4_view::{Ext4, Ext4Error, Ext4Read, FileType, Metadata};

use super::dir_identity::DirIdentity;
use super::error::{FsError, FsErrorKind};
use super::partition_ref::PartitionRef;
use super::source_tree::{EntryKind, EntryMeta, SourceTree, Timestamp, clean_relative};

/// Reads a byte range of an image file: the partition seen by ext4-view.
struct RangeReader {
    file: File,
    offset: u64,
    size: u64,
}

/// A read past the partition's end.
#[derive(Debug)]
struct OutsidePartition {
    start: u64,
    len: usize,
    size: u64,
}

impl std::fmt::Display for OutsidePartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read of {} bytes at byte {} is outside the partition ({} bytes)",
            self.len, self.start, self.size
        )
    }
}

impl std::error::Error for OutsidePartition {}

impl Ext4Read for RangeReader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        let len = dst.len();
        let end = start_byte.checked_add(len as u64);
        match end {
            Some(end) if end <= self.size => {}
            _ => {
                return Err(Box::new(OutsidePartition {
                    start: start_byte,
                    len,
                    size: self.size,
                }));
            }
        }
        self.file.read_exact_at(dst, self.offset + start_byte)?;
        Ok(())
    }
}

/// An ext2/3/4 filesystem read in userspace.
pub struct ExtTree {
    fs: Ext4,
    image: PathBuf,
    offset: u64,
    /// Bytes in use per the superblock (blocks minus free blocks), when it reads sanely.
    used: Option<u64>,
}

impl std::fmt::Debug for ExtTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtTree")
            .field("image", &self.image)
            .field("offset", &self.offset)
            .finish()
    }
}

impl ExtTree {
    /// Opens the ext filesystem of `partition` read-only.
    pub fn open(partition: &PartitionRef) -> Result<Self, FsError> {
        let size = partition.resolved_size()?;
        let file = salvage_sys::open_source::open_source(&partition.image).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: partition.image.clone(),
                },
                e,
            )
        })?;
        let mut superblock = [0u8; 1024];
        let used = file
            .read_exact_at(&mut superblock, partition.offset + 1024)
            .ok()
            .and_then(|()| used_bytes(&superblock));
        let reader = RangeReader {
            file,
            offset: partition.offset,
            size,
        };
        let fs = Ext4::load(Box::new(reader)).map_err(|e| {
            FsError::new(FsErrorKind::Ext {
                path: partition.image.clone(),
                message: e.to_string(),
            })
        })?;
        Ok(Self {
            fs,
            image: partition.image.clone(),
            offset: partition.offset,
            used,
        })
    }

    fn ext_path(rel: &Path) -> Result<Vec<u8>, FsError> {
        let rel = clean_relative(rel)?;
        let mut bytes = b"/".to_vec();
        bytes.extend_from_slice(rel.as_os_str().as_bytes());
        Ok(bytes)
    }

    fn error(&self, rel: &Path, e: &Ext4Error) -> FsError {
        FsError::new(FsErrorKind::Ext {
            path: self.image.clone(),
            message: format!("/{}: {e}", rel.display()),
        })
    }
}

impl SourceTree for ExtTree {
    fn describe(&self) -> String {
        format!(
            "ext filesystem at byte {} of {} (userspace reader)",
            self.offset,
            self.image.display()
        )
    }

    fn metadata(&self, rel: &Path) -> Result<EntryMeta, FsError> {
        let path = Self::ext_path(rel)?;
        let meta = self
            .fs
            .symlink_metadata(path.as_slice())
            .map_err(|e| self.error(rel, &e))?;
        Ok(meta_from_ext(&meta))
    }

    fn list_dir(&self, rel: &Path) -> Result<Vec<OsString>, FsError> {
        let path = Self::ext_path(rel)?;
        // The path was checked to be a directory by the walker; ext4-view follows a symlink in
        // it, which stays inside this filesystem.
        let entries = self
            .fs
            .read_dir(path.as_slice())
            .map_err(|e| self.error(rel, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.error(rel, &e))?;
            let file_name = entry.file_name();
            let name: &[u8] = file_name.as_ref();
            if name != b"." && name != b".." {
                names.push(OsString::from_vec(name.to_vec()));
            }
        }
        names.sort();
        Ok(names)
    }

    fn open_file(&self, rel: &Path) -> Result<Box<dyn Read + '_>, FsError> {
        let path = Self::ext_path(rel)?;
        let meta = self
            .fs
            .symlink_metadata(path.as_slice())
            .map_err(|e| self.error(rel, &e))?;
        if meta.file_type() != FileType::Regular {
            return Err(FsError::new(FsErrorKind::Unsupported {
                what: format!("reading /{} (not a regular file)", rel.display()),
            }));
        }
        let file = self
            .fs
            .open(path.as_slice())
            .map_err(|e| self.error(rel, &e))?;
        Ok(Box::new(file))
    }

    fn read_link(&self, rel: &Path) -> Result<OsString, FsError> {
        let path = Self::ext_path(rel)?;
        let target = self
            .fs
            .read_link(path.as_slice())
            .map_err(|e| self.error(rel, &e))?;
        Ok(OsString::from_vec(target.as_ref().to_vec()))
    }

    fn used_bytes(&self) -> Option<u64> {
        self.used
    }

    fn dir_identity(&self, rel: &Path, names: &[OsString]) -> Option<DirIdentity> {
        // ext4-view keeps inode numbers to itself: fingerprint the whole inode's metadata.
        let path = Self::ext_path(rel).ok()?;
        let meta = self.fs.symlink_metadata(path.as_slice()).ok()?;
        Some(DirIdentity::fingerprint(&meta, names))
    }
}

/// Bytes in use from an ext superblock: (blocks - free blocks) x block size, with the high
/// halves of the counts on a 64bit filesystem.
fn used_bytes(sb: &[u8; 1024]) -> Option<u64> {
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes([
            sb[at],
            sb[at + 1],
            sb[at + 2],
            sb[at + 3],
        ]))
    };
    if u16::from_le_bytes([sb[0x38], sb[0x39]]) != 0xEF53 {
        return None;
    }
    let log = u32_at(0x18);
    if log > 16 {
        return None;
    }
    let is_64bit = u32_at(0x60) & 0x80 != 0;
    let (blocks_hi, free_hi) = if is_64bit {
        (u32_at(0x150), u32_at(0x158))
    } else {
        (0, 0)
    };
    let blocks = blocks_hi << 32 | u32_at(0x04);
    let free = free_hi << 32 | u32_at(0x0C);
    blocks.saturating_sub(free).checked_mul(1024 << log)
}

fn meta_from_ext(meta: &Metadata) -> EntryMeta {
    let kind = match meta.file_type() {
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
        FileType::CharacterDevice => EntryKind::CharDevice,
        FileType::BlockDevice => EntryKind::BlockDevice,
        FileType::Fifo => EntryKind::Fifo,
        FileType::Socket => EntryKind::Socket,
        _ => EntryKind::File,
    };
    let stamp = |t: ext4_view::Timestamp| Timestamp {
        sec: t.seconds(),
        nsec: t.nanoseconds(),
    };
    EntryMeta {
        kind,
        size: meta.len(),
        mode: u32::from(meta.mode()),
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: stamp(meta.modified()),
        atime: stamp(meta.accessed()),
        ino: 0,
    }
}
