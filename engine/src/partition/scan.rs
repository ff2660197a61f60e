//! `ScanHit` and `scan`: finding filesystems by their signatures when the table is missing or
//! damaged, as TestDisk does: at every 1 MiB, at sector 63 and at the old CHS cylinder
//! boundaries (255 heads x 63 sectors), with ext backup superblocks placing a filesystem whose
//! primary superblock is gone.

use std::collections::BTreeMap;

use serde::Serialize;

use super::bytes::{has, le16, le32};
use super::filesystem::Filesystem;
use super::probe::{Region, Scope};
use super::source::{ByteSource, read_zero_padded};
use super::table::Partition;

const MIB: u64 = 1 << 20;
/// Sectors in one cylinder of the classic 255-head, 63-sector geometry.
const CYLINDER: u64 = 255 * 63;
const HEAD: u64 = 63;

/// A filesystem found by scanning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanHit {
    /// Byte offset where the filesystem starts.
    pub offset: u64,
    /// The same in sectors of the table's sector size.
    pub sector: u64,
    /// The filesystem's size from its superblock, where it records one.
    pub size_bytes: Option<u64>,
    /// What was found.
    pub filesystem: Filesystem,
    /// "superblock", or "backup superblock (group N)" when only an ext backup was found.
    pub found_by: String,
    /// The number of the partition of the table that starts here, if any.
    pub partition: Option<u32>,
}

/// Scans `src` for filesystem signatures; hits are sorted by offset, one per offset.
pub fn scan(src: &dyn ByteSource, sector_size: u32, table: &[Partition]) -> Vec<ScanHit> {
    let ss = u64::from(sector_size.max(512));
    let size = src.size_bytes();
    let mut hits: BTreeMap<u64, ScanHit> = BTreeMap::new();
    let mut visit = |offset: u64| {
        if offset < size {
            probe_at(src, offset, ss, &mut hits);
        }
    };
    let mut at = 0;
    while at < size {
        visit(at);
        at += MIB;
    }
    let mut cyl = 0;
    while cyl * ss < size {
        for sector in [cyl, cyl + HEAD] {
            let offset = sector * ss;
            if offset % MIB != 0 {
                visit(offset);
            }
        }
        cyl += CYLINDER;
    }
    for p in table {
        if p.offset % MIB != 0 {
            visit(p.offset);
        }
    }
    let mut out: Vec<ScanHit> = Vec::new();
    for hit in hits.into_values() {
        // A copy of a superblock inside the filesystem it describes (xfs secondary
        // superblocks, ext backups already placed) is not another filesystem.
        let copy = out.iter().any(|h| {
            h.filesystem.uuid.is_some()
                && h.filesystem.uuid == hit.filesystem.uuid
                && h.filesystem.fs_type == hit.filesystem.fs_type
                && hit.offset < h.offset.saturating_add(h.size_bytes.unwrap_or(0))
        });
        if !copy {
            out.push(hit);
        }
    }
    for hit in &mut out {
        hit.partition = table
            .iter()
            .find(|p| p.offset == hit.offset && p.filesystem.is_some())
            .or_else(|| table.iter().find(|p| p.offset == hit.offset))
            .map(|p| p.number);
    }
    out
}

/// True when the first 8 KiB at a candidate offset hold any signature worth a full probe.
fn worth_probing(head: &[u8]) -> bool {
    le16(head, 0x438) == 0xEF53
        || has(head, 0, b"XFSB")
        || has(head, 3, b"NTFS    ")
        || has(head, 3, b"EXFAT   ")
        || has(head, 0x52, b"FAT32   ")
        || has(head, 0x36, b"FAT1")
        || has(head, 0x36, b"MSDOS")
        || has(head, 0, b"LUKS\xba\xbe")
        || (0..4).any(|s| has(head, s * 512, b"LABELONE"))
        || le32(head, 0) == 0xa92b_4efc
        || le32(head, 4096) == 0xa92b_4efc
        || has(head, 4086, b"SWAPSPACE2")
        || has(head, 8182, b"SWAPSPACE2")
}

fn probe_at(src: &dyn ByteSource, offset: u64, ss: u64, hits: &mut BTreeMap<u64, ScanHit>) {
    let size = src.size_bytes();
    let Ok(head) = read_zero_padded(src, offset, 8192) else {
        return;
    };
    let btrfs = read_zero_padded(src, offset + 65536 + 0x40, 8).is_ok_and(|m| m == b"_BHRfS_M");
    if worth_probing(&head) || btrfs {
        let region = Region::new(src, offset, size - offset);
        if let Some(fs) = region.probe(Scope::StartOnly) {
            let primary_ext = fs.fs_type.starts_with("ext") && le16(&head, 0x400 + 0x5A) != 0;
            if !primary_ext {
                add(hits, offset, ss, fs, "superblock".to_string());
                return;
            }
        }
    }
    // ext backup superblocks: at byte 1024 of the probe (1 KiB blocks) or at 0 (larger blocks).
    for sb_at in [1024usize, 0] {
        let sb = &head[sb_at..sb_at + 1024];
        let Some(info) = super::probe::ext_superblock(sb) else {
            continue;
        };
        if info.group == 0 {
            continue;
        }
        let into = info
            .blocks_per_group
            .checked_mul(info.group)
            .and_then(|b| b.checked_add(info.first_data_block))
            .and_then(|b| b.checked_mul(info.block_size));
        let Some(start) = into.and_then(|into| (offset + sb_at as u64).checked_sub(into)) else {
            continue;
        };
        if let Some(fs) = super::probe::ext_describe(sb) {
            let how = format!(
                "backup superblock (group {}) at byte {}",
                info.group, offset
            );
            add(hits, start, ss, fs, how);
        }
        return;
    }
}

fn add(hits: &mut BTreeMap<u64, ScanHit>, offset: u64, ss: u64, fs: Filesystem, how: String) {
    hits.entry(offset).or_insert(ScanHit {
        offset,
        sector: offset / ss,
        size_bytes: fs.size_bytes,
        filesystem: fs,
        found_by: how,
        partition: None,
    });
}
