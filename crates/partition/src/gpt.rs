//! `Gpt`: the GUID partition table: primary and backup headers with their CRC32s, the entry
//! array, and the fall-back to the backup header when the primary is damaged.

use super::bytes::{array, guid, has, label16, le32, le64};
use super::source::{ByteSource, read_zero_padded};
use super::table::{GptHeaderUsed, Partition};
use super::types::gpt_type_name;

/// The largest entry array read (bytes); the usual one is 16 KiB.
const MAX_ARRAY_BYTES: u64 = 8 << 20;

/// A GPT header that passed its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GptHeader {
    pub(crate) my_lba: u64,
    pub(crate) alternate_lba: u64,
    pub(crate) first_usable: u64,
    pub(crate) last_usable: u64,
    pub(crate) disk_guid: [u8; 16],
    pub(crate) entries_lba: u64,
    pub(crate) num_entries: u32,
    pub(crate) entry_size: u32,
    pub(crate) entries_crc: u32,
}

/// A GPT read from a source: the header used, its partitions and what was wrong on the way.
#[derive(Debug, Clone)]
pub(crate) struct Gpt {
    pub(crate) header: GptHeader,
    pub(crate) used: GptHeaderUsed,
    pub(crate) partitions: Vec<Partition>,
    pub(crate) warnings: Vec<String>,
}

/// A header that was found but failed a check, or was not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// No "EFI PART" signature.
    Missing,
    /// Signature present, something else wrong.
    Damaged(String),
}

impl Problem {
    fn describe(&self) -> String {
        match self {
            Problem::Missing => "no \"EFI PART\" signature".to_string(),
            Problem::Damaged(why) => why.clone(),
        }
    }
}

impl GptHeader {
    /// Parses and checks the header in `sector`, read at `lba`.
    fn parse(sector: &[u8], lba: u64, sector_size: u32) -> Result<GptHeader, Problem> {
        if !has(sector, 0, b"EFI PART") {
            return Err(Problem::Missing);
        }
        let header_size = le32(sector, 12);
        if header_size < 92 || header_size > sector_size {
            return Err(Problem::Damaged(format!(
                "header size {header_size} is outside 92..={sector_size}"
            )));
        }
        let mut copy = sector[..header_size as usize].to_vec();
        copy[16..20].fill(0);
        let stored = le32(sector, 16);
        let computed = crc32fast::hash(&copy);
        if stored != computed {
            return Err(Problem::Damaged(format!(
                "header CRC32 mismatch (stored {stored:#010x}, computed {computed:#010x})"
            )));
        }
        let h = GptHeader {
            my_lba: le64(sector, 24),
            alternate_lba: le64(sector, 32),
            first_usable: le64(sector, 40),
            last_usable: le64(sector, 48),
            disk_guid: array(sector, 56).unwrap_or([0; 16]),
            entries_lba: le64(sector, 72),
            num_entries: le32(sector, 80),
            entry_size: le32(sector, 84),
            entries_crc: le32(sector, 88),
        };
        if h.my_lba != lba {
            return Err(Problem::Damaged(format!(
                "header says it is at LBA {} but was read at LBA {lba}",
                h.my_lba
            )));
        }
        if h.first_usable > h.last_usable {
            return Err(Problem::Damaged(format!(
                "first usable LBA {} is after the last usable LBA {}",
                h.first_usable, h.last_usable
            )));
        }
        if h.entry_size < 128 || h.entry_size % 8 != 0 || h.entry_size > 4096 {
            return Err(Problem::Damaged(format!(
                "entry size {} is not a multiple of 8 from 128 to 4096",
                h.entry_size
            )));
        }
        if u64::from(h.num_entries) * u64::from(h.entry_size) > MAX_ARRAY_BYTES {
            return Err(Problem::Damaged(format!(
                "{} entries of {} bytes is more than the {MAX_ARRAY_BYTES}-byte limit",
                h.num_entries, h.entry_size
            )));
        }
        Ok(h)
    }

    fn array_bytes(&self) -> u64 {
        u64::from(self.num_entries) * u64::from(self.entry_size)
    }
}

/// Reads the header at `lba` and its entry array, checking both CRCs.
fn read_at_lba<S: ByteSource + ?Sized>(
    src: &S,
    lba: u64,
    sector_size: u32,
) -> Result<(GptHeader, Vec<u8>), Problem> {
    let ss = u64::from(sector_size);
    let byte = lba
        .checked_mul(ss)
        .ok_or_else(|| Problem::Damaged(format!("LBA {lba} is out of range")))?;
    if byte.saturating_add(ss) > src.size_bytes() {
        return Err(Problem::Damaged(format!(
            "LBA {lba} (byte {byte}) is beyond the end of the image ({} bytes)",
            src.size_bytes()
        )));
    }
    let sector = read_zero_padded(src, byte, sector_size as usize)
        .map_err(|e| Problem::Damaged(format!("read error at byte {byte}: {e}")))?;
    let h = GptHeader::parse(&sector, lba, sector_size)?;
    let array_at = h.entries_lba.saturating_mul(ss);
    let len = h.array_bytes();
    if array_at.saturating_add(len) > src.size_bytes() {
        return Err(Problem::Damaged(format!(
            "entry array at byte {array_at} ({len} bytes) runs past the end of the image ({} bytes)",
            src.size_bytes()
        )));
    }
    let entries = read_zero_padded(src, array_at, len as usize)
        .map_err(|e| Problem::Damaged(format!("read error at byte {array_at}: {e}")))?;
    let crc = crc32fast::hash(&entries);
    if crc != h.entries_crc {
        return Err(Problem::Damaged(format!(
            "entry array CRC32 mismatch at byte {array_at} (stored {:#010x}, computed {crc:#010x})",
            h.entries_crc
        )));
    }
    Ok((h, entries))
}

impl Gpt {
    /// Reads the GPT with `sector_size`-byte LBAs: the primary header at LBA 1, else the backup
    /// at the last LBA (or where the primary says it is). `Err` says why neither is usable.
    pub(crate) fn read<S: ByteSource + ?Sized>(src: &S, sector_size: u32) -> Result<Gpt, String> {
        let ss = u64::from(sector_size);
        let lbas = src.size_bytes() / ss;
        if lbas < 3 {
            return Err(format!(
                "the image is too small for a GPT with {ss}-byte sectors"
            ));
        }
        let last = lbas - 1;
        let mut warnings = Vec::new();
        let primary = read_at_lba(src, 1, sector_size);
        let mut backup_lbas = vec![last];
        if let Ok((h, _)) = &primary {
            if h.alternate_lba != last && h.alternate_lba > 1 {
                backup_lbas.insert(0, h.alternate_lba);
            }
        }
        let mut backup = Err(Problem::Missing);
        let mut backup_lba = backup_lbas[0];
        for &lba in &backup_lbas {
            backup_lba = lba;
            backup = read_at_lba(src, lba, sector_size);
            if backup.is_ok() {
                break;
            }
        }
        let (header, entries, used) = match (primary, backup) {
            (Ok((h, e)), backup) => {
                match backup {
                    Ok((b, be)) => {
                        if be != e || b.disk_guid != h.disk_guid {
                            warnings.push(format!(
                                "the backup GPT at byte {} differs from the primary; using the primary",
                                backup_lba.saturating_mul(ss)
                            ));
                        }
                    }
                    Err(problem) => {
                        let wanted = h.alternate_lba.saturating_mul(ss);
                        if h.alternate_lba >= lbas {
                            warnings.push(format!(
                                "the image is truncated: the primary GPT header puts the backup header at byte {wanted} (LBA {}) but the image ends at byte {}; the primary alone was read (its CRCs hold)",
                                h.alternate_lba,
                                src.size_bytes()
                            ));
                        } else {
                            warnings.push(format!(
                                "the backup GPT header at byte {} is unusable ({}); the primary was read (its CRCs hold)",
                                backup_lba.saturating_mul(ss),
                                problem.describe()
                            ));
                        }
                    }
                }
                (h, e, GptHeaderUsed::Primary)
            }
            (Err(p), Ok((b, be))) => {
                warnings.push(format!(
                    "the primary GPT header at byte {ss} is unusable ({}); read the backup at byte {} instead",
                    p.describe(),
                    backup_lba.saturating_mul(ss)
                ));
                (b, be, GptHeaderUsed::Backup)
            }
            (Err(p), Err(b)) => {
                if p == Problem::Missing && b == Problem::Missing {
                    return Err(format!("no GPT header with {ss}-byte sectors"));
                }
                return Err(format!(
                    "no usable GPT header with {ss}-byte sectors: primary at byte {ss}: {}; backup at byte {}: {}",
                    p.describe(),
                    backup_lba.saturating_mul(ss),
                    b.describe()
                ));
            }
        };
        let partitions = entries_to_partitions(&header, &entries, ss, lbas, &mut warnings);
        Ok(Gpt {
            header,
            used,
            partitions,
            warnings,
        })
    }
}

fn entries_to_partitions(
    h: &GptHeader,
    entries: &[u8],
    ss: u64,
    lbas: u64,
    warnings: &mut Vec<String>,
) -> Vec<Partition> {
    let mut out = Vec::new();
    for (i, e) in entries.chunks_exact(h.entry_size as usize).enumerate() {
        let type_guid: [u8; 16] = array(e, 0).unwrap_or([0; 16]);
        if type_guid == [0; 16] {
            continue;
        }
        let number = i as u32 + 1;
        let first = le64(e, 32);
        let last = le64(e, 40);
        if last < first {
            warnings.push(format!(
                "GPT entry {number} ends (LBA {last}) before it starts (LBA {first}); skipped"
            ));
            continue;
        }
        if first >= 1 << 63 || last >= 1 << 63 {
            warnings.push(format!(
                "GPT entry {number} starts or ends beyond LBA 2^63 (LBA {first}..{last}), which no disk has: invalid, ignored"
            ));
            continue;
        }
        let size = last - first + 1;
        if first < h.first_usable || last > h.last_usable {
            let fits = if last < lbas {
                "the kernel would still show it"
            } else {
                "it also runs past the end of the image"
            };
            warnings.push(format!(
                "GPT entry {number} (LBA {first}..{last}) lies outside the usable LBAs {}..{}: ignored, as libblkid and partx do ({fits}); its bytes start at byte {}",
                h.first_usable,
                h.last_usable,
                first.saturating_mul(ss)
            ));
            continue;
        }
        let type_code = guid(&type_guid);
        let unique: [u8; 16] = array(e, 16).unwrap_or([0; 16]);
        let attributes = le64(e, 48);
        let name_bytes = &e[56..e.len().min(128)];
        out.push(Partition {
            number,
            start: first,
            size,
            offset: first.saturating_mul(ss),
            size_bytes: size.saturating_mul(ss),
            type_name: gpt_type_name(&type_code).to_string(),
            type_code,
            role: None,
            bootable: attributes & (1 << 2) != 0,
            name: label16(name_bytes),
            uuid: Some(guid(&unique)),
            attrs: attrs_text(attributes),
            filesystem: None,
            ambivalent: Vec::new(),
        });
    }
    out
}

/// GPT attribute bits as sfdisk prints them; `None` when none is set.
fn attrs_text(bits: u64) -> Option<String> {
    let mut parts: Vec<String> = [
        (0, "RequiredPartition"),
        (1, "NoBlockIOProtocol"),
        (2, "LegacyBIOSBootable"),
    ]
    .iter()
    .filter(|(b, _)| bits & (1 << b) != 0)
    .map(|(_, n)| (*n).to_string())
    .collect();
    let guid: Vec<String> = (48..64)
        .filter(|b| bits & (1u64 << b) != 0)
        .map(|b| b.to_string())
        .collect();
    if !guid.is_empty() {
        parts.push(format!("GUID:{}", guid.join(",")));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Disk GUID as sfdisk prints it.
pub(crate) fn disk_guid(h: &GptHeader) -> String {
    guid(&h.disk_guid)
}
