//! Finding md members in an image or device: the whole of it (a member made of a whole
//! disk), or the partitions of its table (the usual case: `sda1` of every disk), read-only.

use super::superblock::{MdSuperblock, read_superblock};
use crate::error::{PartitionError, PartitionErrorKind};
use crate::read::{ReadOptions, read_table_from};
use crate::source::{ByteSource, Disk};
use crate::table::Role;
use serde::Serialize;
use std::path::Path;

/// One md member: where it is and its superblock.
#[derive(Clone, Debug, Serialize)]
pub struct MdMember {
    /// The image or device it is in.
    pub source: String,
    /// Where the member starts in `source` (its partition's offset, or 0).
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// The partition number, when the member is a partition of `source`.
    pub partition: Option<u32>,
    /// The superblock read (the freshest, when several were found).
    pub superblock: MdSuperblock,
    /// Other, older superblocks found in the same member (left by an earlier array).
    pub older: Vec<MdSuperblock>,
}

impl MdMember {
    /// How the member is named in messages: `disk.img`, or `disk.img partition 1`.
    pub fn label(&self) -> String {
        match self.partition {
            Some(n) => format!("{} partition {n}", self.source),
            None => self.source.clone(),
        }
    }
}

/// What was found in one image or device.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MemberSearch {
    pub members: Vec<MdMember>,
    /// What the person should know about how they were found.
    pub notes: Vec<String>,
}

/// Finds the md members in the image or device at `path`: its partitions that hold a
/// superblock when its table has any, else the whole of it. A whole-disk superblock that no
/// partition accounts for is named in the notes (the disk was a member once, or is one and its
/// "table" is the array's own), never silently dropped.
pub fn find_members(path: &Path) -> Result<MemberSearch, PartitionError> {
    let disk =
        Disk::open(path).map_err(|e| PartitionError::new(path, PartitionErrorKind::Open(e)))?;
    find_members_in(&disk, path)
}

/// [`find_members`] over any byte source; `path` names it.
pub fn find_members_in(src: &dyn ByteSource, path: &Path) -> Result<MemberSearch, PartitionError> {
    let source = path.display().to_string();
    let size = src.size_bytes();
    let (whole, whole_older) = read_superblock(src, 0, size);
    let opts = ReadOptions {
        no_probe: true,
        ..ReadOptions::default()
    };
    let mut search = MemberSearch::default();
    if let Ok(table) = read_table_from(src, path, &opts) {
        for p in &table.partitions {
            if p.role == Some(Role::Extended) {
                continue;
            }
            let (found, older) = read_superblock(src, p.offset, p.size_bytes);
            if let Some(sb) = found {
                search.members.push(MdMember {
                    source: source.clone(),
                    offset: p.offset,
                    size: p.size_bytes,
                    partition: Some(p.number),
                    superblock: sb,
                    older,
                });
            }
        }
    }
    match whole {
        Some(sb) if search.members.is_empty() => search.members.push(MdMember {
            source: source.clone(),
            offset: 0,
            size,
            partition: None,
            superblock: sb,
            older: whole_older,
        }),
        Some(sb) => {
            let at = sb.superblock_at;
            let same = search
                .members
                .iter()
                .any(|m| m.offset.saturating_add(m.superblock.superblock_at) == at);
            if !same {
                search.notes.push(format!(
                    "{source}: a whole-disk md superblock (v{}, array {}) is at byte {at} besides the partitions' own; the partitions were read as the members (give a partition-less copy of the disk to read the whole-disk one)",
                    sb.version, sb.array_uuid
                ));
            }
        }
        None => {}
    }
    for m in &search.members {
        for old in &m.older {
            search.notes.push(format!(
                "{}: an older md superblock (v{} at byte {}, array {}, {} events) is also there; the one with more events was read",
                m.label(),
                old.version,
                m.offset.saturating_add(old.superblock_at),
                old.array_uuid,
                old.events
            ));
        }
    }
    Ok(search)
}
