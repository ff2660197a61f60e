//! `ScanHit`: one filesystem found by scanning an image for signatures, as the partition table
//! reports it.

use serde::Serialize;

use super::filesystem::Filesystem;

/// A filesystem found by scanning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanHit {
    /// Byte offset where the filesystem starts.
    pub offset: u64,
    /// The same in sectors of the table's sector size.
    pub sector: u64,
    /// The filesystem's size from its superblock, where it records one.
    pub size_bytes: Option<u64>,
    /// What was found; `None` when signatures compete (see `ambivalent`).
    pub filesystem: Option<Filesystem>,
    /// Competing signatures at this offset: salvage does not choose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ambivalent: Vec<Filesystem>,
    /// "superblock", "backup superblock (group N) at byte B", or "ambivalent: ...".
    pub found_by: String,
    /// The number of the partition of the table that starts here, if any.
    pub partition: Option<u32>,
}
