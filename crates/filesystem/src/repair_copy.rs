//! `RepairCopy`: the partition copied out of the evidence image into the work directory, so a
//! repair can change the copy and never the evidence. A reflink (FICLONERANGE) when the work
//! directory shares a copy-on-write filesystem with the image, a sparse plain copy otherwise.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::partition_ref::PartitionRef;

const CHUNK: usize = 1 << 20;

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
        let source = salvage_sys::open_source::open_source(&partition.image).map_err(|e| {
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
    salvage_sys::reflink::clone_range(source, dest, offset, size).is_ok()
}
