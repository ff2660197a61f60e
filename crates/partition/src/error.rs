//! `PartitionError`: why a partition table could not be read at all (a damaged table is not an
//! error: it is read as far as it goes, with warnings).

use std::fmt;
use std::path::PathBuf;

/// An error reading an image or device, naming the file and the fix.
#[derive(Debug)]
pub struct PartitionError {
    /// The image or device.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: PartitionErrorKind,
}

/// The kinds of [`PartitionError`].
#[derive(Debug)]
pub enum PartitionErrorKind {
    /// The file could not be opened read-only.
    Open(std::io::Error),
    /// A read failed at a byte offset.
    Read {
        /// Byte offset of the failed read.
        offset: u64,
        /// Bytes asked for.
        len: usize,
        /// The OS error.
        source: std::io::Error,
    },
    /// The image is smaller than one sector.
    TooSmall {
        /// Its size in bytes.
        size: u64,
    },
    /// A sector size that is not a power of two between 512 and 65536.
    BadSectorSize(u32),
}

impl PartitionError {
    pub(crate) fn new(path: impl Into<PathBuf>, kind: PartitionErrorKind) -> Self {
        PartitionError {
            path: path.into(),
            kind,
        }
    }
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            PartitionErrorKind::Open(e) if salvage_sys::open_source::is_not_a_disk(e) => {
                write!(f, "{path}: cannot read a partition table: {e}")
            }
            PartitionErrorKind::Open(e) => write!(
                f,
                "{path}: cannot open read-only: {e} (check the path, and run as root for a block device)"
            ),
            PartitionErrorKind::Read {
                offset,
                len,
                source,
            } => write!(
                f,
                "{path}: read of {len} bytes at byte {offset} failed: {source} (a failing disk: image it first with `salvage image`, then read the image)"
            ),
            PartitionErrorKind::TooSmall { size } => write!(
                f,
                "{path}: only {size} bytes, smaller than one 512-byte sector: not a disk image (was the imaging interrupted?)"
            ),
            PartitionErrorKind::BadSectorSize(n) => write!(
                f,
                "{path}: sector size {n} is not a power of two from 512 to 65536 (use --sector-size 512 or 4096)"
            ),
        }
    }
}

impl std::error::Error for PartitionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            PartitionErrorKind::Open(e) | PartitionErrorKind::Read { source: e, .. } => Some(e),
            _ => None,
        }
    }
}
