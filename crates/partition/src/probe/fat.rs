//! vfat (FAT12/16/32) as libblkid decides it: a magic string ("FAT32   " at 0x52, "FAT1x" or
//! "MSDOS" at 0x36, ...) or, failing one, a jump byte or the 0x55AA signature, then the boot
//! sector's geometry checked (`valid`). The serial is the UUID; LABEL is the root directory's
//! volume-label entry and LABEL_FATBOOT the boot sector's copy, as blkid 2.38 reports them
//! (checked against it on hand-edited images: no fallback from one to the other, "NO NAME" in
//! the root directory kept, a leading 0x05 read as 0xE5, code-page bytes kept as bytes).

use super::super::bytes::{has, label8, le16, le32, slice};
use super::super::filesystem::Filesystem;
use super::Region;

/// Root-directory clusters followed on FAT32 before giving up on finding a label (libblkid: 100).
const MAX_ROOT_CLUSTERS: usize = 100;
const FAT12_MAX: u32 = 0xFF4;
const FAT16_MAX: u32 = 0xFFF4;
const FAT32_MAX: u32 = 0x0FFF_FFF6;
const NO_NAME: &[u8; 11] = b"NO NAME    ";

/// The boot-sector fields libblkid checks, and what follows from them.
struct BootSector {
    sector: u32,
    cluster: u32,
    reserved: u32,
    fat16_len: u32,
    fat32_len: u32,
    fat_size: u32,
    clusters: u32,
}

/// How the boot sector was recognised: by a magic string, or only by a jump byte or the
/// 0x55AA signature (which needs more checks).
fn magic(bs: &[u8]) -> Option<(bool, &'static str)> {
    const STRINGS: [(usize, &[u8], &str); 6] = [
        (0x52, b"MSWIN", "\"MSWIN\" at 0x52"),
        (0x52, b"FAT32   ", "\"FAT32\" at 0x52"),
        (0x36, b"MSDOS", "\"MSDOS\" at 0x36"),
        (0x36, b"FAT16   ", "\"FAT16\" at 0x36"),
        (0x36, b"FAT12   ", "\"FAT12\" at 0x36"),
        (0x36, b"FAT     ", "\"FAT\" at 0x36"),
    ];
    if let Some((_, _, what)) = STRINGS.iter().find(|(at, m, _)| has(bs, *at, m)) {
        return Some((true, what));
    }
    match bs.first() {
        Some(0xEB) => Some((false, "jump byte 0xEB at 0")),
        Some(0xE9) => Some((false, "jump byte 0xE9 at 0")),
        _ if has(bs, 510, &[0x55, 0xAA]) => Some((false, "0x55AA at 510")),
        _ => None,
    }
}

/// libblkid's `fat_valid_superblock`, in its own 32-bit arithmetic.
fn valid(bs: &[u8], strong_magic: bool) -> Option<BootSector> {
    if !strong_magic {
        if !has(bs, 510, &[0x55, 0xAA]) {
            return None;
        }
        if has(bs, 0x36, b"JFS     ") || has(bs, 0x36, b"HPFS    ") {
            return None;
        }
    }
    let fats = u32::from(bs[0x10]);
    let reserved = u32::from(le16(bs, 0x0E));
    let media = bs[0x15];
    let cluster = u32::from(bs[0x0D]);
    if fats == 0 || reserved == 0 || !(media >= 0xF8 || media == 0xF0) {
        return None;
    }
    if !cluster.is_power_of_two() {
        return None;
    }
    let sector = u32::from(le16(bs, 0x0B));
    if !sector.is_power_of_two() || !(512..=4096).contains(&sector) {
        return None;
    }
    let dir_entries = u32::from(le16(bs, 0x11));
    let mut sectors = u32::from(le16(bs, 0x13));
    if sectors == 0 {
        sectors = le32(bs, 0x20);
    }
    let fat16_len = u32::from(le16(bs, 0x16));
    let fat32_len = le32(bs, 0x24);
    let fat_len = if fat16_len != 0 { fat16_len } else { fat32_len };
    let fat_size = fat_len.wrapping_mul(fats);
    let dir_size = dir_entries.wrapping_mul(32).wrapping_add(sector - 1) / sector;
    let clusters =
        sectors.wrapping_sub(reserved.wrapping_add(fat_size).wrapping_add(dir_size)) / cluster;
    let max = if fat16_len == 0 && fat32_len != 0 {
        FAT32_MAX
    } else if clusters > FAT12_MAX {
        FAT16_MAX
    } else {
        FAT12_MAX
    };
    if clusters > max {
        return None;
    }
    Some(BootSector {
        sector,
        cluster,
        reserved,
        fat16_len,
        fat32_len,
        fat_size,
        clusters,
    })
}

/// True when `bs` (the first 512 bytes) is a FAT boot sector libblkid accepts: then the
/// 0x55AA it ends with is not a partition table's.
pub(crate) fn is_vfat(bs: &[u8]) -> bool {
    magic(bs).is_some_and(|(strong, _)| valid(bs, strong).is_some())
}

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let bs = r.read(0, 512)?;
    let (strong, how) = magic(&bs)?;
    let b = valid(&bs, strong)?;
    let mut fs = Filesystem::new("vfat");
    fs.basis = format!("FAT boot sector at byte 0 ({how}, geometry valid)");
    let sector = u64::from(b.sector);
    let sectors = match le16(&bs, 0x13) {
        0 => u64::from(le32(&bs, 0x20)),
        n => u64::from(n),
    };
    fs.size_bytes = Some(sectors * sector);
    let (serial_at, label_at, root_label) = if b.fat16_len != 0 {
        fs.version = if b.clusters < FAT12_MAX {
            Some("FAT12".to_string())
        } else if b.clusters < FAT16_MAX {
            Some("FAT16".to_string())
        } else {
            None
        };
        let at = u64::from(b.reserved.wrapping_add(b.fat_size)) * sector;
        let entries = u64::from(le16(&bs, 0x11));
        let label = r
            .read(at, (entries * 32).min(1 << 20) as usize)
            .and_then(|dir| search_label(&dir).map(|l| l.to_vec()));
        (0x27, 0x2B, label)
    } else if b.fat32_len != 0 {
        fs.version = Some("FAT32".to_string());
        (0x43, 0x47, fat32_root_label(r, &bs, &b))
    } else {
        return Some(fs);
    };
    let serial = le32(&bs, serial_at);
    fs.uuid = Some(format!("{:04X}-{:04X}", serial >> 16, serial & 0xFFFF));
    fs.label = root_label.as_deref().and_then(label8);
    let boot_label = slice(&bs, label_at, 11);
    if boot_label != NO_NAME {
        fs.label_fatboot = label8(boot_label);
    }
    Some(fs)
}

/// The FAT32 root directory's volume label: its cluster chain followed, bounded.
fn fat32_root_label(r: &Region<'_>, bs: &[u8], b: &BootSector) -> Option<Vec<u8>> {
    let sector = u64::from(b.sector);
    let cluster_bytes = u64::from(b.cluster) * sector;
    let data_start = u64::from(b.reserved) + u64::from(b.fat_size);
    let fat_entries = u64::from(b.fat32_len) * sector / 4;
    let mut next = u64::from(le32(bs, 0x2C));
    for _ in 1..MAX_ROOT_CLUSTERS {
        if next < 2 || next >= fat_entries {
            return None;
        }
        let at = (data_start + (next - 2) * u64::from(b.cluster)) * sector;
        let dir = r.read(at, cluster_bytes as usize)?;
        if let Some(label) = search_label(&dir) {
            return Some(label.to_vec());
        }
        let entry = r.read(u64::from(b.reserved) * sector + next * 4, 4)?;
        next = u64::from(le32(&entry, 0) & 0x0FFF_FFFF);
    }
    None
}

/// The volume-label entry of a directory, as libblkid's `search_fat_label` finds it: the
/// first entry with the volume-ID attribute (not a directory, not a long name, no cluster),
/// its first byte 0x05 read as 0xE5.
fn search_label(dir: &[u8]) -> Option<[u8; 11]> {
    for e in dir.chunks_exact(32) {
        if e[0] == 0x00 {
            break;
        }
        let attr = e[11];
        let cluster = le16(e, 20) != 0 || le16(e, 26) != 0;
        if e[0] == 0xE5 || cluster || attr & 0x3F == 0x0F {
            continue;
        }
        if attr & 0x18 == 0x08 {
            let mut name = [0u8; 11];
            name.copy_from_slice(&e[..11]);
            if name[0] == 0x05 {
                name[0] = 0xE5;
            }
            return Some(name);
        }
    }
    None
}
