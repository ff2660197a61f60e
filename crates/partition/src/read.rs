//! `ReadOptions` and `read_table`: deciding between GPT and MBR and the sector size, then
//! reading the partitions and probing their filesystems. Read-only throughout.

use std::path::Path;

use super::bsd;
use super::bytes::has;
use super::error::{PartitionError, PartitionErrorKind};
use super::filesystem::{Filesystem, Probe, type_list};
use super::foreign_label::{self, ForeignLabel};
use super::gpt::{Gpt, disk_guid};
use super::mbr::Mbr;
use super::probe::{Region, boot_sector_filesystem, ext_checksum_note, is_vfat};
use super::probe::{probe_filesystem, probe_signatures};
use super::scan::scan;
use super::source::{ByteSource, Disk, read_zero_padded};
use super::table::{GptHeaderUsed, Label, Partition, PartitionTable, ProtectiveMbr, Role};

/// The most overlap warnings listed one by one.
const MAX_OVERLAP_WARNINGS: usize = 16;
/// Overlapping pairs counted before giving up counting (a hostile table can have billions).
const MAX_COUNTED_OVERLAPS: usize = 100_000;

/// How to read a table.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Force the logical sector size (512 or 4096); otherwise a block device's own, or for an
    /// image both are tried: GPT where a header is found, MBR by where filesystems appear.
    pub sector_size: Option<u32>,
    /// Do not probe partitions for filesystems.
    pub no_probe: bool,
    /// Also scan the whole image for filesystem signatures (`--scan`).
    pub scan: bool,
}

/// Reads the partition table of the image or block device at `path`, opened read-only.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<PartitionTable, PartitionError> {
    let disk =
        Disk::open(path).map_err(|e| PartitionError::new(path, PartitionErrorKind::Open(e)))?;
    read_table_from(&disk, path, opts)
}

/// Reads the partition table from any byte source; `path` names it in the result and errors.
///
/// The order follows libblkid's: a disk-image container is named first; AIX, SGI and Sun
/// labels; then the MBR, which is not a partition table when a FAT, NTFS or exFAT boot sector
/// owns its 0x55AA or a boot flag is neither 0x00 nor 0x80; then GPT; then a whole-disk BSD
/// disklabel, and the labels salvage only names. Every decision is written into `basis`.
pub fn read_table_from(
    src: &dyn ByteSource,
    path: &Path,
    opts: &ReadOptions,
) -> Result<PartitionTable, PartitionError> {
    let err = |kind| PartitionError::new(path, kind);
    if let Some(n) = opts.sector_size {
        if !n.is_power_of_two() || !(512..=65536).contains(&n) {
            return Err(err(PartitionErrorKind::BadSectorSize(n)));
        }
    }
    let size = src.size_bytes();
    if size < 512 {
        return Err(err(PartitionErrorKind::TooSmall { size }));
    }
    let sector0 = read_zero_padded(src, 0, 512).map_err(|source| {
        err(PartitionErrorKind::Read {
            offset: 0,
            len: 512,
            source,
        })
    })?;
    let fixed = opts.sector_size.or_else(|| src.logical_sector_size());
    let mut t = PartitionTable {
        device: path.display().to_string(),
        label: Label::None,
        id: None,
        sector_size: fixed.unwrap_or(512),
        device_size: size,
        first_lba: None,
        last_lba: None,
        gpt_header: None,
        mbr: None,
        basis: Vec::new(),
        container: None,
        warnings: Vec::new(),
        partitions: Vec::new(),
        filesystem: None,
        ambivalent: Vec::new(),
        scan: None,
    };
    if let Some(c) = foreign_label::container(src, &sector0) {
        t.container = Some(c.name.to_string());
        t.warnings.push(c.advice.clone());
        t.basis.push(format!("container: {}", c.advice));
        if c.opaque {
            return Ok(t);
        }
    }
    read_label(src, &sector0, fixed, &mut t);
    if t.partitions.is_empty() && !opts.no_probe {
        probe_whole(src, &mut t);
    }
    check_layout(&t.partitions, t.sector_size, size, t.label, &mut t.warnings);
    if !opts.no_probe {
        for p in &mut t.partitions {
            if p.filesystem.is_none() && p.ambivalent.is_empty() && p.role != Some(Role::Extended) {
                if let Some(note) = probe_partition(src, p) {
                    t.warnings.push(format!("partition {}: {note}", p.number));
                }
            }
        }
        for p in &t.partitions {
            if p.filesystem
                .as_ref()
                .is_some_and(|f| f.fs_type == MD_MEMBER)
            {
                t.warnings.push(format!(
                    "partition {}: {}",
                    p.number,
                    md_member_note(src, p.offset, p.size_bytes)
                ));
            }
            if !p.ambivalent.is_empty() {
                t.basis.push(ambivalent_line(
                    &format!("partition {}", p.number),
                    &p.ambivalent,
                ));
            }
        }
    }
    if opts.scan {
        t.scan = Some(scan(src, t.sector_size, &t.partitions, &mut t.warnings));
    }
    Ok(t)
}

/// Decides which table the disk holds and reads it into `t`.
fn read_label(src: &dyn ByteSource, sector0: &[u8], fixed: Option<u32>, t: &mut PartitionTable) {
    if let Some(f) = foreign_label::before_dos(sector0) {
        name_foreign(f, t);
        return;
    }
    let mbr = Mbr::parse(sector0);
    let sizes: Vec<u32> = fixed.map_or_else(|| vec![512, 4096], |s| vec![s]);
    let mut gpt_found = None;
    let mut gpt_errors = Vec::new();
    for &ss in &sizes {
        match Gpt::read(src, ss) {
            Ok(g) => {
                gpt_found = Some((ss, g));
                break;
            }
            Err(e) => gpt_errors.push(e),
        }
    }
    let protective = mbr.as_ref().is_some_and(Mbr::has_protective);
    match (&mbr, gpt_found) {
        (Some(m), gpt) if !protective => {
            if let Some(why) = not_a_table(src, sector0, m) {
                t.basis.push(format!(
                    "no partition table: the 0x55AA at byte 510 {why} (libblkid's rule)"
                ));
                if let Some((ss, _)) = gpt {
                    t.warnings.push(format!(
                        "a GPT header was found at byte {ss} but the MBR has no protective 0xEE entry and is not a table: the GPT is ignored, as libblkid does"
                    ));
                }
                return;
            }
            if let Some((ss, _)) = gpt {
                t.warnings.push(format!(
                    "a GPT header was found at byte {ss}, but the MBR has no protective 0xEE entry: the MBR is read, as sfdisk and libblkid do (a GPT disk repartitioned with an MBR tool?)"
                ));
            }
            read_dos(src, m, fixed, t);
        }
        (m, Some((ss, g))) => read_gpt(m.as_ref(), ss, g, t),
        (Some(m), None) => {
            t.warnings.push(format!(
                "the MBR is protective (type ee) but no GPT could be read: {}; showing the MBR (try --scan)",
                gpt_errors.join("; ")
            ));
            read_dos(src, m, fixed, t);
        }
        (None, None) => {
            if let Some(label) = bsd::find(src, 0) {
                t.label = Label::Bsd;
                t.sector_size = 512;
                t.basis.push(format!(
                    "bsd: a BSD disklabel at byte {} (magic 0x82564557) on the whole disk",
                    label.at
                ));
                t.partitions = label.partitions(None, 1, 512, &mut t.warnings);
            } else if let Some(f) = foreign_label::after_dos(src, sector0) {
                name_foreign(f, t);
            } else {
                t.basis.push(
                    "no partition table: no 0x55AA signature at byte 510, no GPT header at byte 512 or 4096, no other label"
                        .to_string(),
                );
            }
        }
    }
}

/// Why a sector ending in 0x55AA is not a dos partition table, as libblkid decides: a FAT,
/// NTFS or exFAT boot sector owns the signature, or a boot flag is neither 0x00 nor 0x80.
fn not_a_table(src: &dyn ByteSource, sector0: &[u8], m: &Mbr) -> Option<String> {
    if is_vfat(sector0) {
        return Some("belongs to a FAT boot sector at byte 0".to_string());
    }
    if let Some(kind) = boot_sector_filesystem(src) {
        return Some(format!("belongs to an {kind} boot sector at byte 0"));
    }
    if has(sector0, 3, b"-FVE-FS-") {
        return Some("belongs to a BitLocker volume header at byte 0".to_string());
    }
    if !m.plausible() {
        let flags: Vec<String> = m
            .entries
            .iter()
            .map(|e| format!("{:#04x}", e.status))
            .collect();
        return Some(format!(
            "is not a partition table's: its boot flags are {}, not 0x00 or 0x80",
            flags.join(" ")
        ));
    }
    None
}

/// A label salvage names but does not read.
fn name_foreign(f: ForeignLabel, t: &mut PartitionTable) {
    t.label = f.label;
    t.basis.push(format!("{}: {}", f.label.as_str(), f.what));
    t.warnings.push(format!(
        "{}: not read by salvage, so its partitions are not listed; --scan finds their filesystems by signature",
        f.what
    ));
}

/// Fills `t` from a GPT read with `ss`-byte sectors.
fn read_gpt(m: Option<&Mbr>, ss: u32, g: Gpt, t: &mut PartitionTable) {
    t.label = Label::Gpt;
    t.sector_size = ss;
    t.id = Some(disk_guid(&g.header));
    t.first_lba = Some(g.header.first_usable);
    t.last_lba = Some(g.header.last_usable);
    t.gpt_header = Some(g.used);
    t.basis.push(match g.used {
        GptHeaderUsed::Primary => format!(
            "gpt: primary header at LBA 1 (byte {ss}, {ss}-byte sectors), header and entry-array CRC32s valid"
        ),
        GptHeaderUsed::Backup => format!(
            "gpt: backup header at LBA {} (byte {}), CRC32s valid; the primary at byte {ss} is damaged",
            g.header.my_lba,
            g.header.my_lba.saturating_mul(u64::from(ss))
        ),
    });
    t.mbr = Some(match m {
        None => {
            t.warnings.push(
                "no MBR signature at byte 510: the GPT was read without a protective MBR \
                 (blkid, partx, sfdisk and the kernel ignore such a GPT; sector 0 wiped or \
                 unreadable? check the partitions' filesystems before trusting them)"
                    .to_string(),
            );
            ProtectiveMbr::Missing
        }
        Some(m) if !m.has_protective() => ProtectiveMbr::Missing,
        Some(m) => {
            let hybrid = m.hybrid_entries();
            if hybrid.is_empty() {
                ProtectiveMbr::Protective
            } else {
                let list: Vec<String> = hybrid
                    .iter()
                    .map(|&i| {
                        let e = m.entries[i];
                        format!(
                            "{} (type {:x}, sectors {}+{})",
                            i + 1,
                            e.kind,
                            e.start,
                            e.sectors
                        )
                    })
                    .collect();
                t.warnings.push(format!(
                    "hybrid MBR: MBR entries {} also describe partitions; the GPT is read, as Linux does",
                    list.join(", ")
                ));
                ProtectiveMbr::Hybrid
            }
        }
    });
    t.warnings.extend(g.warnings);
    t.partitions = g.partitions;
}

/// What blkid calls an md RAID member.
const MD_MEMBER: &str = "linux_raid_member";

/// Where an md member's data lies, said so that nobody reads the member's start as its
/// filesystem: `an md RAID member (raid1, v1.2): its data starts at byte 1048576 ...`.
fn md_member_note(src: &dyn ByteSource, offset: u64, size: u64) -> String {
    match super::md::read_superblock(src, offset, size).0 {
        Some(sb) => format!(
            "an md RAID member ({}, metadata v{}, array {}): its data starts at byte {}{}; `salvage raid` reads the array and names the area to copy from",
            sb.level_name(),
            sb.version,
            sb.array_uuid,
            offset + sb.data_offset,
            if sb.holds_whole_array() {
                ""
            } else {
                " and is spread over the other members"
            }
        ),
        None => "an md RAID member: `salvage raid` reads the array".to_string(),
    }
}

/// The whole image as one filesystem (a partition imaged on its own), or competing ones.
fn probe_whole(src: &dyn ByteSource, t: &mut PartitionTable) {
    match probe_signatures(src, 0, src.size_bytes()) {
        Probe::Found(fs) => {
            if t.label == Label::None && fs.fs_type == MD_MEMBER {
                t.id = None;
                t.warnings.push(format!(
                    "no partition table: the whole image is {}",
                    md_member_note(src, 0, src.size_bytes())
                ));
            } else if t.label == Label::None {
                t.id = None;
                t.warnings.push(format!(
                    "no partition table: the whole image holds a filesystem ({}), a partition imaged on its own: use offset 0",
                    fs.fs_type
                ));
            }
            t.basis.push(format!("filesystem at byte 0: {}", fs.basis));
            t.warnings
                .extend(ext_checksum_note(&Region::new(src, 0, src.size_bytes())));
            t.filesystem = Some(fs);
        }
        Probe::Ambivalent(all) => {
            t.warnings.push(format!(
                "ambivalent: {} signatures at byte 0; salvage does not choose (as blkid refuses to): look at the image and name the type with --type",
                type_list(&all)
            ));
            t.basis.push(ambivalent_line("the whole image", &all));
            t.ambivalent = all;
        }
        Probe::Nothing => {
            if t.label == Label::None {
                t.warnings.push(
                    "no partition table and no filesystem signature at byte 0 (try --scan)"
                        .to_string(),
                );
            }
        }
    }
}

/// Probes a partition; a note when the superblock found there is damaged.
fn probe_partition(src: &dyn ByteSource, p: &mut Partition) -> Option<String> {
    match probe_signatures(src, p.offset, p.size_bytes) {
        Probe::Found(fs) => {
            p.filesystem = Some(fs);
            return ext_checksum_note(&Region::new(src, p.offset, p.size_bytes));
        }
        Probe::Ambivalent(all) => p.ambivalent = all,
        Probe::Nothing => {}
    }
    None
}

fn ambivalent_line(what: &str, all: &[Filesystem]) -> String {
    let each: Vec<String> = all.iter().map(|f| f.basis.clone()).collect();
    format!(
        "ambivalent: {what} has {} signatures ({}); none is chosen",
        type_list(all),
        each.join("; ")
    )
}

/// Reads an MBR table; without a fixed sector size, 4096 is taken only when it puts more
/// filesystems where the partitions start than 512 does. BSD disklabels nested in a5/a6/a9
/// partitions are read after the logical partitions.
fn read_dos(src: &dyn ByteSource, m: &Mbr, fixed: Option<u32>, t: &mut PartitionTable) {
    t.label = Label::Dos;
    t.id = Some(format!("0x{:08x}", m.disk_id));
    t.basis.push(
        "dos: 0x55AA at byte 510, boot flags 0x00/0x80, no FAT/NTFS/exFAT boot sector at byte 0"
            .to_string(),
    );
    let mut w512 = Vec::new();
    let ss = fixed.unwrap_or(512);
    let mut parts = m.partitions(src, ss, &mut w512);
    if fixed.is_none() && !parts.is_empty() {
        let found512 = probe_all(src, &mut parts);
        if found512 == 0 {
            let mut w4k = Vec::new();
            let mut parts4k = m.partitions(src, 4096, &mut w4k);
            if probe_all(src, &mut parts4k) > 0 {
                t.sector_size = 4096;
                t.warnings.push(
                    "read with 4096-byte sectors: filesystems are found only that way (use --sector-size 512 to override)"
                        .to_string(),
                );
                t.basis.push(
                    "4096-byte sectors: only they put filesystems where partitions start"
                        .to_string(),
                );
                t.warnings.extend(w4k);
                t.partitions = parts4k;
                add_nested(src, t);
                return;
            }
        }
    }
    t.sector_size = ss;
    t.warnings.extend(w512);
    t.partitions = parts;
    add_nested(src, t);
}

/// BSD disklabels inside a5/a6/a9 primary partitions, numbered after the logical partitions.
fn add_nested(src: &dyn ByteSource, t: &mut PartitionTable) {
    let ss = u64::from(t.sector_size);
    let mut next = t
        .partitions
        .iter()
        .map(|p| p.number + 1)
        .max()
        .unwrap_or(5)
        .max(5);
    let parents: Vec<(u32, u64, u64, u8)> = t
        .partitions
        .iter()
        .filter(|p| p.role == Some(Role::Primary))
        .filter_map(|p| {
            let kind = u8::from_str_radix(&p.type_code, 16).ok()?;
            bsd::NESTED_TYPES
                .contains(&kind)
                .then_some((p.number, p.offset, p.size_bytes, kind))
        })
        .collect();
    for (number, offset, size_bytes, kind) in parents {
        let Some(label) = bsd::find(src, offset) else {
            continue;
        };
        t.basis.push(format!(
            "bsd: a BSD disklabel at byte {} inside partition {number} (type {kind:x})",
            label.at
        ));
        let nested = label.partitions(
            Some((offset / 512, size_bytes / 512)),
            next,
            ss,
            &mut t.warnings,
        );
        next += nested.len() as u32;
        t.partitions.extend(nested);
    }
}

/// Probes every non-extended partition; returns how many hold a filesystem.
fn probe_all(src: &dyn ByteSource, parts: &mut [Partition]) -> usize {
    for p in parts.iter_mut() {
        if p.role != Some(Role::Extended) {
            p.filesystem = probe_filesystem(src, p.offset, p.size_bytes);
        }
    }
    parts.iter().filter(|p| p.filesystem.is_some()).count()
}

/// Warns about partitions past the end of the image, a dos partition over the MBR itself, and
/// every pair of overlapping partitions (an extended partition and its logical ones, and a
/// nested BSD partition and its parent, excepted).
fn check_layout(parts: &[Partition], ss: u32, size: u64, label: Label, warnings: &mut Vec<String>) {
    let sectors = size / u64::from(ss);
    for p in parts {
        let end = p.start.saturating_add(p.size);
        if end > sectors {
            warnings.push(format!(
                "partition {} (sectors {}..{}) runs past the end of the image ({size} bytes, {sectors} sectors): a truncated image, or the wrong sector size",
                p.number,
                p.start,
                end.saturating_sub(1)
            ));
        }
        if label == Label::Dos && p.start == 0 && p.size > 0 {
            warnings.push(format!(
                "partition {} starts at sector 0, over the MBR itself: a damaged or hand-made entry; its offset 0 is the whole disk's start",
                p.number
            ));
        }
    }
    let mut sorted: Vec<&Partition> = parts
        .iter()
        .filter(|p| p.role != Some(Role::Extended) && p.size > 0)
        .collect();
    sorted.sort_by_key(|p| (p.start, p.number));
    let nested_pair = |a: &Partition, b: &Partition| {
        let (n, parent) = match (a.role, b.role) {
            (Some(Role::Nested), Some(Role::Primary)) => (a, b),
            (Some(Role::Primary), Some(Role::Nested)) => (b, a),
            _ => return false,
        };
        n.start >= parent.start && n.start + n.size <= parent.start + parent.size
    };
    let mut active: Vec<&Partition> = Vec::new();
    let mut overlaps = 0usize;
    for p in sorted {
        active.retain(|q| q.start.saturating_add(q.size) > p.start);
        for q in &active {
            if nested_pair(q, p) {
                continue;
            }
            overlaps += 1;
            if overlaps <= MAX_OVERLAP_WARNINGS {
                warnings.push(format!(
                    "partitions {} and {} overlap (sectors {}..{} are in both)",
                    q.number,
                    p.number,
                    p.start,
                    q.start
                        .saturating_add(q.size)
                        .min(p.start.saturating_add(p.size))
                        - 1
                ));
            }
        }
        if overlaps > MAX_COUNTED_OVERLAPS {
            break;
        }
        active.push(p);
    }
    if overlaps > MAX_OVERLAP_WARNINGS {
        let more = overlaps - MAX_OVERLAP_WARNINGS;
        let at_least = if overlaps > MAX_COUNTED_OVERLAPS {
            "at least "
        } else {
            ""
        };
        warnings.push(format!(
            "{at_least}{more} more overlapping pairs not listed"
        ));
    }
}
