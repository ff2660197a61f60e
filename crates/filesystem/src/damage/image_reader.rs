//! `ImageReader`: positioned reads of the image (`pread`), zero-padded past its end. It never
//! decides what to trust: callers check [`super::unreadable::Unreadable`] before parsing bytes.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{FsError, FsErrorKind};

/// An image opened read-only.
#[derive(Debug)]
pub(crate) struct ImageReader {
    file: File,
    path: PathBuf,
    size: u64,
}

impl ImageReader {
    /// Opens the image read-only, through `open_source` (a FIFO or socket is refused at
    /// once; a block device is read as an image).
    pub(crate) fn open(path: &Path) -> Result<Self, FsError> {
        use std::io::{Seek, SeekFrom};
        let err = |kind: FsErrorKind, e: std::io::Error| FsError::io(kind, e);
        let mut file = salvage_sys::open_source::open_source(path).map_err(|e| {
            err(
                FsErrorKind::Open {
                    path: path.to_path_buf(),
                },
                e,
            )
        })?;
        let size = file.seek(SeekFrom::End(0)).map_err(|e| {
            err(
                FsErrorKind::Read {
                    path: path.to_path_buf(),
                },
                e,
            )
        })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            size,
        })
    }

    /// The image's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Fills `buf` from byte `offset`; bytes past the end of the image read as zeros.
    pub(crate) fn read_into(&self, offset: u64, buf: &mut [u8]) -> Result<(), FsError> {
        let avail = self.size.saturating_sub(offset).min(buf.len() as u64) as usize;
        let (head, tail) = buf.split_at_mut(avail);
        self.file.read_exact_at(head, offset).map_err(|e| {
            FsError::io(
                FsErrorKind::Read {
                    path: self.path.clone(),
                },
                e,
            )
        })?;
        tail.fill(0);
        Ok(())
    }

    /// `len` bytes from byte `offset` (zero-padded past the end).
    pub(crate) fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, FsError> {
        let mut buf = vec![0u8; len];
        self.read_into(offset, &mut buf)?;
        Ok(buf)
    }
}
