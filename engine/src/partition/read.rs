//! `ReadOptions` and `read_table`: deciding between GPT and MBR and the sector size, then
//! reading the partitions and probing their filesystems. Read-only throughout.

use std::path::Path;

use super::error::{PartitionError, PartitionErrorKind};
use super::filesystem::probe_filesystem;
use super::gpt::{Gpt, disk_guid};
use super::mbr::Mbr;
use super::scan::scan;
use super::source::{ByteSource, Disk, read_zero_padded};
use super::table::{Label, Partition, PartitionTable, ProtectiveMbr, Role};

/// The most overlap warnings listed one by one.
const MAX_OVERLAP_WARNINGS: usize = 16;

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
    let mbr = Mbr::parse(&sector0);
    let fixed = opts.sector_size.or_else(|| src.logical_sector_size());
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
        warnings: Vec::new(),
        partitions: Vec::new(),
        filesystem: None,
        scan: None,
    };
    let protective = mbr.as_ref().is_some_and(Mbr::has_protective);
    match (&mbr, gpt_found) {
        (Some(m), Some((ss, g))) if !protective => {
            t.warnings.push(format!(
                "a GPT header was found at byte {ss}, but the MBR has no protective 0xEE entry: the MBR is read, as sfdisk does (a GPT disk repartitioned with an MBR tool?)"
            ));
            drop(g);
            read_dos(src, m, fixed, &mut t);
        }
        (m, Some((ss, g))) => {
            t.label = Label::Gpt;
            t.sector_size = ss;
            t.id = Some(disk_guid(&g.header));
            t.first_lba = Some(g.header.first_usable);
            t.last_lba = Some(g.header.last_usable);
            t.gpt_header = Some(g.used);
            t.mbr = Some(match m {
                None => {
                    t.warnings.push(
                        "no MBR signature at byte 510: the GPT was read without a protective MBR"
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
        (Some(m), None) => {
            if protective {
                t.warnings.push(format!(
                    "the MBR is protective (type ee) but no GPT could be read: {}; showing the MBR (try --scan)",
                    gpt_errors.join("; ")
                ));
            }
            read_dos(src, m, fixed, &mut t);
        }
        (None, None) => {
            t.warnings.push(
                "no partition table: no 0x55AA signature at byte 510 and no GPT header at byte 512 or 4096 (try --scan)"
                    .to_string(),
            );
        }
    }
    if t.label != Label::Gpt && t.partitions.is_empty() && !opts.no_probe {
        t.filesystem = probe_filesystem(src, 0, size);
        if let Some(fs) = &t.filesystem {
            t.label = Label::None;
            t.id = None;
            t.warnings.clear();
            t.warnings.push(format!(
                "no partition table: the whole image holds a filesystem ({}), a partition imaged on its own: use offset 0",
                fs.fs_type
            ));
        }
    }
    check_layout(&t.partitions, t.sector_size, size, &mut t.warnings);
    if !opts.no_probe {
        for p in &mut t.partitions {
            if p.filesystem.is_none() && p.role != Some(Role::Extended) {
                p.filesystem = probe_filesystem(src, p.offset, p.size_bytes);
            }
        }
    }
    if opts.scan {
        t.scan = Some(scan(src, t.sector_size, &t.partitions));
    }
    Ok(t)
}

/// Reads an MBR table; without a fixed sector size, 4096 is taken only when it puts more
/// filesystems where the partitions start than 512 does.
fn read_dos(src: &dyn ByteSource, m: &Mbr, fixed: Option<u32>, t: &mut PartitionTable) {
    t.label = Label::Dos;
    t.id = Some(format!("0x{:08x}", m.disk_id));
    if !m.plausible() {
        t.warnings.push(
            "the MBR has boot flags other than 0x00/0x80: its entries are probably not a partition table"
                .to_string(),
        );
    }
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
                t.warnings.extend(w4k);
                t.partitions = parts4k;
                return;
            }
        }
    }
    t.sector_size = ss;
    t.warnings.extend(w512);
    t.partitions = parts;
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

/// Warns about partitions past the end of the image and about overlapping partitions (an
/// extended partition and its logical ones excepted).
fn check_layout(parts: &[Partition], ss: u32, size: u64, warnings: &mut Vec<String>) {
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
    }
    let mut sorted: Vec<&Partition> = parts
        .iter()
        .filter(|p| p.role != Some(Role::Extended) && p.size > 0)
        .collect();
    sorted.sort_by_key(|p| (p.start, p.number));
    let mut reach: Option<&Partition> = None;
    let mut overlaps = 0;
    for p in sorted {
        if let Some(q) = reach {
            if p.start < q.start.saturating_add(q.size) {
                overlaps += 1;
                if overlaps <= MAX_OVERLAP_WARNINGS {
                    warnings.push(format!(
                        "partitions {} and {} overlap (sector {} is in both)",
                        q.number, p.number, p.start
                    ));
                }
            }
        }
        let end = p.start.saturating_add(p.size);
        if reach.is_none_or(|q| end > q.start.saturating_add(q.size)) {
            reach = Some(p);
        }
    }
    if overlaps > MAX_OVERLAP_WARNINGS {
        warnings.push(format!(
            "{} more overlapping pairs not listed",
            overlaps - MAX_OVERLAP_WARNINGS
        ));
    }
}
