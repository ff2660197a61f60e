//! `DamageReport`: what an image's unreadable areas hit, in the documented JSON form: the files
//! whose data was lost (with the byte ranges inside each file), the directories whose blocks
//! were hit, the inodes lost with their inode-table block, the filesystem metadata hit, and the
//! areas that hit no file (free space, outside every partition) or could not be mapped.

use serde::{Deserialize, Serialize};

/// A byte range `[start, end)` inside a file, or of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// A file or directory whose blocks were hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamagedFile {
    /// The partition number (absent when the filesystem is the whole image).
    pub partition: Option<u32>,
    /// The inode number (FAT, which has none: the first cluster, 0 for the FAT12/16 root).
    pub inode: u32,
    /// "file", "directory", "symlink".
    pub kind: String,
    /// Every path that names the inode (hard links), from the filesystem's root; empty when no
    /// readable directory names it.
    pub paths: Vec<String>,
    /// The file's size in bytes.
    pub size: u64,
    /// The byte ranges inside the file that are lost, sorted and merged.
    pub ranges: Vec<ByteRange>,
    /// The bytes lost (the sum of `ranges`).
    pub lost_bytes: u64,
    /// What of it was hit: "data", "extent tree block", "indirect block", ...
    pub hit: Vec<String>,
}

/// An in-use inode whose bytes in the inode table are unreadable: the file is lost whole
/// (its blocks cannot be found), though its data blocks may be intact on the disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostInode {
    /// The partition number (absent when the filesystem is the whole image).
    pub partition: Option<u32>,
    /// The inode number.
    pub inode: u32,
    /// The kind a directory entry records for it ("file", "directory", ...), when one does.
    pub kind: Option<String>,
    /// Every path a readable directory still names it by.
    pub paths: Vec<String>,
    /// Why it is taken as in use: "inode bitmap", "directory entry", or both.
    pub evidence: Vec<String>,
}

/// Filesystem metadata hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataHit {
    /// The partition number (absent when the filesystem is the whole image).
    pub partition: Option<u32>,
    /// "superblock", "backup superblock", "group descriptors", "block bitmap", "inode bitmap",
    /// "inode table", "journal", "extent tree block", "extended attribute block", ...
    pub what: String,
    /// The block group, for per-group metadata.
    pub group: Option<u32>,
    /// The inodes it belongs to (a tree block, the journal, a shared xattr block).
    pub inodes: Vec<u32>,
    /// The paths of those inodes.
    pub paths: Vec<String>,
    /// The unreadable image bytes.
    pub bytes: ByteRange,
}

/// An unreadable area that hit no file, or one salvage could not map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// The unreadable image bytes.
    pub bytes: ByteRange,
    /// Where it lies: "free space of partition 1 (ext4)", "outside every partition", ...
    pub place: String,
}

/// A filesystem whose metadata was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedFilesystem {
    /// The partition number (absent when the filesystem is the whole image).
    pub partition: Option<u32>,
    /// Its first byte in the image.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// ext2, ext3, ext4 or vfat.
    #[serde(rename = "type")]
    pub fs_type: String,
    /// The block size.
    pub block_size: u64,
    /// Unreadable bytes inside it.
    pub unreadable_bytes: u64,
    /// Its UUID (ext `s_uuid`, FAT's volume serial, as `blkid` prints them): how a copy finds
    /// which filesystem of the report it was made from.
    #[serde(default)]
    pub uuid: String,
}

/// The totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageCounts {
    /// Files (not directories) with data lost.
    pub files: usize,
    /// Bytes lost inside those files.
    pub file_bytes_lost: u64,
    /// Directories hit.
    pub directories: usize,
    /// In-use inodes lost with their inode-table bytes.
    pub inodes: usize,
    /// Metadata areas hit.
    pub metadata: usize,
    /// Unreadable bytes that hit no file.
    pub no_file_bytes: u64,
    /// Unreadable bytes salvage could not map to files.
    pub unknown_bytes: u64,
}

/// What the unreadable areas of an image hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageReport {
    /// The image, as given.
    pub image: String,
    /// Unreadable bytes in all.
    pub unreadable_bytes: u64,
    /// Unreadable areas (maximal runs).
    pub unreadable_areas: usize,
    /// The filesystems mapped.
    pub filesystems: Vec<MappedFilesystem>,
    /// Files with data lost.
    pub files: Vec<DamagedFile>,
    /// Directories whose blocks were hit: entries may be missing from a copy.
    pub directories: Vec<DamagedFile>,
    /// In-use inodes lost with their inode-table bytes.
    pub inodes: Vec<LostInode>,
    /// Metadata hit.
    pub metadata: Vec<MetadataHit>,
    /// Files whose blocks were hit only where no data is: past the end of the file, or in
    /// preallocated (unwritten) extents, which read as zeros whatever the disk holds.
    pub no_data_lost: Vec<DamagedFile>,
    /// Areas that hit no file: free space, unused parts, outside every partition.
    pub no_file: Vec<Area>,
    /// Areas salvage could not map to files (a filesystem it does not read, an allocated block
    /// whose owner was not found, an unreadable bitmap): files there may be damaged.
    pub unknown: Vec<Area>,
    /// What limits the answer.
    pub warnings: Vec<String>,
    /// The totals.
    pub counts: DamageCounts,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl DamageReport {
    /// Files a hit file or directory under what it lost: nothing (the bytes hit lie past its
    /// data), a directory's entries, or a file's data.
    pub(crate) fn add_file(&mut self, file: DamagedFile) {
        if file.lost_bytes == 0 {
            self.no_data_lost.push(file);
        } else if file.kind == "directory" {
            self.directories.push(file);
        } else {
            self.files.push(file);
        }
    }

    /// Fills `counts` from the lists.
    pub fn count(&mut self) {
        self.counts = DamageCounts {
            files: self.files.len(),
            file_bytes_lost: self.files.iter().map(|f| f.lost_bytes).sum(),
            directories: self.directories.len(),
            inodes: self.inodes.len(),
            metadata: self.metadata.len(),
            no_file_bytes: self
                .no_file
                .iter()
                .map(|a| a.bytes.end - a.bytes.start)
                .sum(),
            unknown_bytes: self
                .unknown
                .iter()
                .map(|a| a.bytes.end - a.bytes.start)
                .sum(),
        };
    }

    /// The one-line answer: "3 files damaged (12 KiB lost), 1 directory, no metadata".
    pub fn headline(&self) -> String {
        let c = &self.counts;
        let mut parts = Vec::new();
        parts.push(match c.files {
            0 => "no file damaged".to_string(),
            n => format!(
                "{} damaged ({} lost)",
                plural(n, "file", "files"),
                salvage_text::size_text::binary_size(c.file_bytes_lost, 1)
            ),
        });
        parts.push(match c.directories {
            0 => "no directory".to_string(),
            n => plural(n, "directory", "directories"),
        });
        if c.inodes > 0 {
            parts.push(format!(
                "{} lost with the inode table",
                plural(c.inodes, "inode", "inodes")
            ));
        }
        let mut kinds: Vec<&str> = self.metadata.iter().map(|m| m.what.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        parts.push(if kinds.is_empty() {
            "no metadata".to_string()
        } else {
            format!("metadata: {}", kinds.join(", "))
        });
        if c.unknown_bytes > 0 {
            parts.push(format!(
                "{} not mapped to files",
                salvage_text::size_text::binary_size(c.unknown_bytes, 1)
            ));
        }
        parts.join(", ")
    }
}
