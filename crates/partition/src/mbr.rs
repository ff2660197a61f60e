//! `Mbr`: the MBR's four entries and the EBR chain of logical partitions behind an extended one.

use super::bytes::{has, le32};
use super::source::{ByteSource, read_zero_padded};
use super::table::{Partition, Role};
use super::types::{dos_type_name, is_extended};

/// The most EBRs followed in one chain (Linux stops far earlier in practice).
const MAX_EBRS: usize = 1024;

/// One 16-byte MBR or EBR entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MbrEntry {
    /// 0x80 bootable, 0x00 not; anything else is invalid.
    pub(crate) status: u8,
    /// The partition type byte.
    pub(crate) kind: u8,
    /// First sector (relative to the table's base).
    pub(crate) start: u32,
    /// Size in sectors.
    pub(crate) sectors: u32,
}

impl MbrEntry {
    fn parse(sector: &[u8], index: usize) -> MbrEntry {
        let at = 446 + 16 * index;
        MbrEntry {
            status: sector.get(at).copied().unwrap_or(0),
            kind: sector.get(at + 4).copied().unwrap_or(0),
            start: le32(sector, at + 8),
            sectors: le32(sector, at + 12),
        }
    }

    /// An entry is in use when it has a size (as libfdisk decides).
    pub(crate) fn used(&self) -> bool {
        self.sectors != 0
    }
}

/// A master boot record with a valid 0x55AA signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mbr {
    /// The disk identifier at byte 440.
    pub(crate) disk_id: u32,
    /// The four primary entries.
    pub(crate) entries: [MbrEntry; 4],
}

impl Mbr {
    /// Parses sector 0; `None` without the 0x55AA signature at byte 510.
    pub(crate) fn parse(sector0: &[u8]) -> Option<Mbr> {
        if !has(sector0, 510, &[0x55, 0xAA]) {
            return None;
        }
        Some(Mbr {
            disk_id: le32(sector0, 440),
            entries: [0, 1, 2, 3].map(|i| MbrEntry::parse(sector0, i)),
        })
    }

    /// True when an entry is the 0xEE protective entry of a GPT disk.
    pub(crate) fn has_protective(&self) -> bool {
        self.entries.iter().any(|e| e.kind == 0xee && e.used())
    }

    /// Entries other than 0xEE that are in use (a hybrid MBR has some).
    pub(crate) fn hybrid_entries(&self) -> Vec<usize> {
        (0..4)
            .filter(|&i| self.entries[i].used() && self.entries[i].kind != 0xee)
            .collect()
    }

    /// True when every entry's boot flag is 0x00 or 0x80 (a FAT boot sector also ends in
    /// 0x55AA but holds code there; blkid refuses such a table the same way).
    pub(crate) fn plausible(&self) -> bool {
        self.entries
            .iter()
            .all(|e| e.status == 0 || e.status == 0x80)
    }

    /// The partitions: used primaries (numbered 1-4) and the logical partitions of the first
    /// extended one (5 and up). Problems go to `warnings`.
    pub(crate) fn partitions<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        sector_size: u32,
        warnings: &mut Vec<String>,
    ) -> Vec<Partition> {
        let ss = u64::from(sector_size);
        let mut out = Vec::new();
        let mut extended = None;
        for (i, e) in self.entries.iter().enumerate() {
            if !e.used() {
                continue;
            }
            let ext = is_extended(e.kind);
            if ext && extended.is_none() {
                extended = Some((u64::from(e.start), u64::from(e.sectors)));
            } else if ext {
                warnings.push(format!(
                    "MBR entry {} is a second extended partition; only the first one's logical partitions are read",
                    i + 1
                ));
            }
            out.push(make(
                i as u32 + 1,
                u64::from(e.start),
                u64::from(e.sectors),
                e,
                ss,
                if ext { Role::Extended } else { Role::Primary },
            ));
        }
        if let Some((ext_start, ext_size)) = extended {
            read_chain(src, ext_start, ext_size, ss, &mut out, warnings);
        }
        out
    }
}

fn make(number: u32, start: u64, size: u64, e: &MbrEntry, ss: u64, role: Role) -> Partition {
    Partition {
        number,
        start,
        size,
        offset: start.saturating_mul(ss),
        size_bytes: size.saturating_mul(ss),
        type_code: format!("{:x}", e.kind),
        type_name: dos_type_name(e.kind).to_string(),
        role: Some(role),
        bootable: e.status == 0x80,
        name: None,
        uuid: None,
        attrs: None,
        filesystem: None,
        ambivalent: Vec::new(),
    }
}

/// Follows the EBR chain from the extended partition at `ext_start`: in each EBR the data entry
/// is relative to that EBR, the link entry relative to the extended partition's start. Each link
/// must move forward and stay inside the extended partition; at most `MAX_EBRS` are read.
fn read_chain<S: ByteSource + ?Sized>(
    src: &S,
    ext_start: u64,
    ext_size: u64,
    ss: u64,
    out: &mut Vec<Partition>,
    warnings: &mut Vec<String>,
) {
    let ext_end = ext_start.saturating_add(ext_size);
    let device_sectors = src.size_bytes() / ss;
    let mut ebr = ext_start;
    let mut this_size = ext_size;
    let mut number = 5;
    for hop in 0.. {
        if hop == MAX_EBRS {
            warnings.push(format!(
                "EBR chain longer than {MAX_EBRS} links; stopped at sector {ebr}"
            ));
            return;
        }
        let byte = ebr.saturating_mul(ss);
        if ebr >= device_sectors {
            warnings.push(format!(
                "EBR at sector {ebr} (byte {byte}) is beyond the end of the image ({} bytes); logical partitions from there on are missing (truncated image?)",
                src.size_bytes()
            ));
            return;
        }
        let sector = match read_zero_padded(src, byte, ss as usize) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!("EBR at byte {byte} could not be read: {e}"));
                return;
            }
        };
        let Some(table) = Mbr::parse(&sector) else {
            if hop > 0 {
                warnings.push(format!(
                    "EBR at sector {ebr} (byte {byte}) has no 0x55AA signature; the chain ends there"
                ));
            }
            return;
        };
        // Every data entry of the EBR, in order, as the kernel and libblkid read them (some
        // partitioners wrote two); the 3rd and 4th only when they fit where a logical
        // partition can be (libblkid's extra checks for real data there).
        let mut data_entries = 0;
        for (i, d) in table.entries.iter().enumerate() {
            if !d.used() || is_extended(d.kind) {
                continue;
            }
            let start = ebr.saturating_add(u64::from(d.start));
            let size = u64::from(d.sectors);
            let inside = start >= ext_start && start.saturating_add(size) <= ext_end;
            if i >= 2 && (!inside || u64::from(d.start).saturating_add(size) > this_size) {
                continue;
            }
            data_entries += 1;
            if data_entries > 1 {
                warnings.push(format!(
                    "EBR at sector {ebr} holds more than one data entry: entry {} is logical partition {number}, as the kernel and partx number it",
                    i + 1
                ));
            }
            if !inside {
                warnings.push(format!(
                    "logical partition {number} (sectors {start}+{size}) lies outside its extended partition (sectors {ext_start}+{ext_size})"
                ));
            }
            out.push(make(number, start, size, d, ss, Role::Logical));
            number += 1;
        }
        let link = table
            .entries
            .iter()
            .find(|e| e.used() && is_extended(e.kind));
        let Some(l) = link else { return };
        let next = ext_start.saturating_add(u64::from(l.start));
        if next <= ebr {
            warnings.push(format!(
                "EBR at sector {ebr} links back to sector {next}: loop in the EBR chain, stopped there"
            ));
            return;
        }
        if next >= ext_end {
            warnings.push(format!(
                "EBR at sector {ebr} links to sector {next}, outside the extended partition (ends at sector {ext_end}); stopped there"
            ));
            return;
        }
        ebr = next;
        this_size = u64::from(l.sectors);
    }
}
