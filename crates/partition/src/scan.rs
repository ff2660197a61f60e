//! `scan`: finding filesystems by their signatures when the table is missing or
//! damaged, as TestDisk does: at every 1 MiB, at sector 63 and at the old CHS cylinder
//! boundaries (255 heads x 63 sectors), with ext backup superblocks placing a filesystem whose
//! primary superblock is gone (by its group number, or for a revision-0 filesystem, which
//! records none, by the group descriptors beside the copy). At byte 0 and at the table's
//! partition starts, where the extent is known, every probe runs (md 0.90 and 1.0 superblocks
//! sit near the end), as the default mode does.

use std::collections::BTreeMap;

use super::bytes::{be32, has, le16, le32};
use super::filesystem::{Filesystem, Probe, type_list};
use super::probe::ExtSuperblock;
use super::probe::{Region, Scope};
use super::scan_hit::ScanHit;
use super::source::{ByteSource, read_zero_padded};
use super::table::Partition;
use super::unreadable::{Unreadable, data_ranges};

const MIB: u64 = 1 << 20;
/// Sectors in one cylinder of the classic 255-head, 63-sector geometry.
const CYLINDER: u64 = 255 * 63;
const HEAD: u64 = 63;

/// Scans `src` for filesystem signatures; hits are sorted by offset, one per offset. Holes of
/// a sparse image are not read (`SEEK_DATA`: a candidate whose bytes are all hole cannot hold
/// a signature), and after a read error the candidates just after it are skipped; what was
/// not probed is named in `warnings`.
pub fn scan(
    src: &dyn ByteSource,
    sector_size: u32,
    table: &[Partition],
    warnings: &mut Vec<String>,
) -> Vec<ScanHit> {
    let ss = u64::from(sector_size.max(512));
    let size = src.size_bytes();
    let mut hits: BTreeMap<u64, ScanHit> = BTreeMap::new();
    for (offset, len) in
        std::iter::once((0, size)).chain(table.iter().map(|p| (p.offset, p.size_bytes)))
    {
        if offset < size && len > 0 {
            probe_extent(src, offset, len, ss, &mut hits);
        }
    }
    let ranges = data_ranges(src, size);
    let mut bad = Unreadable::default();
    let mut visit = |offset: u64| {
        if offset < size && !bad.skips(offset) {
            if let Err(e) = probe_at(src, offset, ss, &mut hits) {
                bad.failed(offset, &e);
            } else {
                bad.readable();
            }
        }
    };
    for &(lo, hi) in &ranges {
        let mut at = lo.next_multiple_of(MIB);
        while at < hi {
            visit(at);
            at += MIB;
        }
    }
    let cylinder_bytes = CYLINDER * ss;
    for &(lo, hi) in &ranges {
        let mut cyl = lo.saturating_sub(HEAD * ss) / cylinder_bytes * CYLINDER;
        while cyl * ss < hi {
            for sector in [cyl, cyl + HEAD] {
                let offset = sector * ss;
                if offset % MIB != 0 && (lo..hi).contains(&offset) {
                    visit(offset);
                }
            }
            cyl += CYLINDER;
        }
    }
    for p in table {
        if p.offset % MIB != 0 {
            visit(p.offset);
        }
    }
    warnings.extend(bad.warning());
    let mut out: Vec<ScanHit> = Vec::new();
    for hit in hits.into_values() {
        // A copy of a superblock inside the filesystem it describes (xfs secondary
        // superblocks, ext backups already placed) is not another filesystem.
        let copy = out.iter().any(|h| match (&h.filesystem, &hit.filesystem) {
            (Some(a), Some(b)) => {
                a.uuid.is_some()
                    && a.uuid == b.uuid
                    && a.fs_type == b.fs_type
                    && hit.offset < h.offset.saturating_add(h.size_bytes.unwrap_or(0))
            }
            _ => false,
        });
        if !copy {
            out.push(hit);
        }
    }
    for hit in &mut out {
        hit.partition = table
            .iter()
            .find(|p| {
                p.offset == hit.offset && (p.filesystem.is_some() || !p.ambivalent.is_empty())
            })
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
        || [4086, 8182].iter().any(|&at| {
            has(head, at, b"SWAPSPACE2")
                || has(head, at, b"SWAP-SPACE")
                || has(head, at, b"S1SUSPEND")
                || has(head, at, b"S2SUSPEND")
                || has(head, at, b"ULSUSPEND")
                || has(head, at, b"LINHIB0001")
        })
        || has(head, 0, b"\xed\xc3\x02\xe9\x98\x56\xe5\x0c")
        || has(head, 3, b"-FVE-FS-")
        || le32(head, 0x2000) == 0xF995_E849
        || le32(head, 512 + 32) == 0x4246_5331
        || be32(head, 512 + 32) == 0x4246_5331
        || le32(head, 32) == 0x4246_5331
        || [le32(head, 0x55C), be32(head, 0x55C)]
            .iter()
            .any(|m| [0x0001_1954, 0x1954_0119, 0x0009_5014, 0x0019_5612].contains(m))
}

/// Probes `len` bytes at `offset` with every prober (the extent is known).
fn probe_extent(
    src: &dyn ByteSource,
    offset: u64,
    len: u64,
    ss: u64,
    hits: &mut BTreeMap<u64, ScanHit>,
) {
    match Region::new(src, offset, len).probe(Scope::Whole) {
        Probe::Found(fs) => add(hits, offset, ss, fs, "superblock".to_string()),
        Probe::Ambivalent(all) => add_ambivalent(hits, offset, ss, all),
        Probe::Nothing => {}
    }
}

/// Probes one candidate offset; an error when its first 8 KiB cannot be read.
fn probe_at(
    src: &dyn ByteSource,
    offset: u64,
    ss: u64,
    hits: &mut BTreeMap<u64, ScanHit>,
) -> std::io::Result<()> {
    let size = src.size_bytes();
    let head = read_zero_padded(src, offset, 8192)?;
    let btrfs = read_zero_padded(src, offset + 65536 + 0x40, 8).is_ok_and(|m| m == b"_BHRfS_M");
    if worth_probing(&head) || btrfs {
        let region = Region::new(src, offset, size - offset);
        match region.probe(Scope::StartOnly) {
            Probe::Found(fs) => {
                let primary_ext = fs.fs_type.starts_with("ext") && le16(&head, 0x400 + 0x5A) != 0;
                if !primary_ext && !is_ext_copy(src, offset, &head, &fs) {
                    add(hits, offset, ss, fs, "superblock".to_string());
                    return Ok(());
                }
            }
            Probe::Ambivalent(all) => {
                add_ambivalent(hits, offset, ss, all);
                return Ok(());
            }
            Probe::Nothing => {}
        }
    }
    // ext backup superblocks: at byte 1024 of the probe (1 KiB blocks) or at 0 (larger blocks).
    for sb_at in [1024usize, 0] {
        let sb = &head[sb_at..sb_at + 1024];
        let Some(info) = super::probe::ext_superblock(sb) else {
            continue;
        };
        let sb_byte = offset + sb_at as u64;
        let group = if info.group != 0 {
            Some(info.group)
        } else if le32(sb, 0x4C) == 0 {
            group_from_descriptors(src, sb_byte, sb, &info)
        } else {
            None
        };
        let Some(group) = group.filter(|&g| g != 0) else {
            continue;
        };
        let into = info
            .blocks_per_group
            .checked_mul(group)
            .and_then(|b| b.checked_add(info.first_data_block))
            .and_then(|b| b.checked_mul(info.block_size));
        let Some(start) = into.and_then(|into| sb_byte.checked_sub(into)) else {
            continue;
        };
        if let Some(fs) = super::probe::ext_describe(sb) {
            let how = format!("backup superblock (group {group}) at byte {sb_byte}");
            add(hits, start, ss, fs, how);
        }
        return Ok(());
    }
    Ok(())
}

/// True when the ext superblock a probe found at `offset` + 1024 is a revision-0 copy (a
/// revision-0 superblock records no group number, so a backup looks like a primary): its
/// group descriptors place it in a group other than 0.
fn is_ext_copy(src: &dyn ByteSource, offset: u64, head: &[u8], fs: &Filesystem) -> bool {
    if !fs.fs_type.starts_with("ext") {
        return false;
    }
    let sb = &head[1024..2048];
    if le32(sb, 0x4C) != 0 {
        return false;
    }
    let Some(info) = super::probe::ext_superblock(sb) else {
        return false;
    };
    group_from_descriptors(src, offset + 1024, sb, &info).is_some_and(|g| g != 0)
}

/// The group of a revision-0 superblock copy at byte `sb_byte`: in the descriptor table that
/// follows it, the group whose block bitmap sits right after this copy's descriptor blocks
/// (the layout without flex_bg that revision 0 always has).
fn group_from_descriptors(
    src: &dyn ByteSource,
    sb_byte: u64,
    sb: &[u8],
    info: &ExtSuperblock,
) -> Option<u64> {
    let bs = info.block_size;
    let blocks = u64::from(le32(sb, 0x04));
    let bpg = info.blocks_per_group;
    if bpg == 0 || blocks <= info.first_data_block {
        return None;
    }
    let groups = (blocks - info.first_data_block).div_ceil(bpg);
    let gdt_blocks = (groups * 32).div_ceil(bs);
    // The descriptor table starts in the block after the superblock's.
    let sb_block_start = if bs == 1024 {
        sb_byte
    } else {
        sb_byte - sb_byte % bs
    };
    let gdt_at = sb_block_start + if bs == 1024 { 1024 } else { bs };
    let len = (groups * 32).min(1 << 20) as usize;
    let gdt = read_zero_padded(src, gdt_at, len).ok()?;
    (0..groups.min(len as u64 / 32)).find(|&g| {
        let bitmap = u64::from(le32(&gdt, g as usize * 32));
        let own = g * bpg + info.first_data_block;
        bitmap == own + 1 + gdt_blocks
    })
}

fn add_ambivalent(hits: &mut BTreeMap<u64, ScanHit>, offset: u64, ss: u64, all: Vec<Filesystem>) {
    hits.entry(offset).or_insert(ScanHit {
        offset,
        sector: offset / ss,
        size_bytes: None,
        filesystem: None,
        found_by: format!("ambivalent: {} signatures (none chosen)", type_list(&all)),
        ambivalent: all,
        partition: None,
    });
}

fn add(hits: &mut BTreeMap<u64, ScanHit>, offset: u64, ss: u64, fs: Filesystem, how: String) {
    hits.entry(offset).or_insert(ScanHit {
        offset,
        sector: offset / ss,
        size_bytes: fs.size_bytes,
        filesystem: Some(fs),
        ambivalent: Vec::new(),
        found_by: how,
        partition: None,
    });
}
