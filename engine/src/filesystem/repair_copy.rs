//! `RepairCopy`: the partition copied out of the evidence image into the work directory, so a
//! repair can change the copy and never the evidence. A reflink (FICLONERANGE) when the work
//! directory shares a copy-on-write filesystem with the image, a sparse plain copy otherwise.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::partition_ref::PartitionRef;

const CHUNK: usize = 1 << 20;

/// `struct file_clone_range` of `<linux/fs.h>`.
#[repr(C)]
struct FileCloneRange {
    src_fd: i64,
    src_offset: u64,
    src_length: u64,
    dest_offset: u64,
}

mod ioctls {
    //! FICLONERANGE: `_IOW(0x94, 13, struct file_clone_range)`.
    #![allow(unreachable_pub)]
    use super::FileCloneRange;
    nix::ioctl_write_ptr!(ficlonerange, 0x94, 13, FileCloneRange);
}

/// How the copy was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyMethod {
    /// Shares the image's blocks until written (FICLONERANGE).
    Reflink,
    /// Read and written, zero runs left as holes.
    Plain,
}

/// A copy of one partition, made to be repaired.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RepairCopy {
    pub path: PathBuf,
    pub method: CopyMethod,
    pub size: u64,
}

impl RepairCopy {
    /// Copies `partition` to a new file in `work_dir` (which is created). The evidence image
    /// is opened read-only.
    pub fn create(partition: &PartitionRef, work_dir: &Path) -> Result<Self, FsError> {
        let size = partition.resolved_size()?;
        std::fs::create_dir_all(work_dir).map_err(|e| {
            FsError::io(
                FsErrorKind::Write {
                    path: work_dir.to_path_buf(),
                },
                e,
            )
        })?;
        let stem = partition
            .image
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".to_string());
        let path = work_dir.join(format!("{stem}.at-{}.repair.img", partition.offset));
        let source = crate::open_source::open_source(&partition.image).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: partition.image.clone(),
                },
                e,
            )
        })?;
        let dest = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| FsError::io(FsErrorKind::Write { path: path.clone() }, e))?;
        let write_err =
            |e: std::io::Error| FsError::io(FsErrorKind::Write { path: path.clone() }, e);
        let method = if reflink(&source, &dest, partition.offset, size) {
            CopyMethod::Reflink
        } else {
            let mut buf = vec![0u8; CHUNK];
            let mut done = 0u64;
            while done < size {
                let n = usize::try_from((size - done).min(CHUNK as u64)).unwrap_or(CHUNK);
                source
                    .read_exact_at(&mut buf[..n], partition.offset + done)
                    .map_err(|e| {
                        FsError::io(
                            FsErrorKind::Read {
                                path: partition.image.clone(),
                            },
                            e,
                        )
                    })?;
                if buf[..n].iter().any(|&b| b != 0) {
                    dest.write_all_at(&buf[..n], done).map_err(write_err)?;
                }
                done += n as u64;
            }
            CopyMethod::Plain
        };
        dest.set_len(size).map_err(write_err)?;
        dest.sync_all().map_err(write_err)?;
        Ok(Self { path, method, size })
    }
}

/// Tries to share the partition's blocks; false when the filesystem cannot (different
/// filesystems, no reflink support, unaligned offset or length).
fn reflink(source: &File, dest: &File, offset: u64, size: u64) -> bool {
    let range = FileCloneRange {
        src_fd: i64::from(source.as_raw_fd()),
        src_offset: offset,
        src_length: size,
        dest_offset: 0,
    };
    // SAFETY: `range` is a fully initialised `struct file_clone_range` outliving the call; both
    // fds are open, the source for reading and the destination for writing.
    unsafe { ioctls::ficlonerange(dest.as_raw_fd(), &range) }.is_ok()
}
