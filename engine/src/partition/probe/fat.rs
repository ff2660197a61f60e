//! vfat (FAT12/16/32): the boot sector's magic strings ("FAT32   " at 0x52, "FAT1x"/"MSDOS" at
//! 0x36) and geometry checks as libblkid makes them; the serial as UUID, the label from the root
//! directory's volume-label entry (the boot sector's copy when the directory has none).

use super::super::bytes::{has, label8, le16, le32, slice};
use super::super::filesystem::Filesystem;
use super::Region;

/// Root-directory clusters followed on FAT32 before giving up on finding a label.
const MAX_ROOT_CLUSTERS: usize = 64;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let bs = r.read(0, 512)?;
    let magic = has(&bs, 0x52, b"MSWIN")
        || has(&bs, 0x52, b"FAT32   ")
        || has(&bs, 0x36, b"MSDOS")
        || has(&bs, 0x36, b"FAT16   ")
        || has(&bs, 0x36, b"FAT12   ")
        || has(&bs, 0x36, b"FAT     ");
    let jump = matches!(bs[0], 0xEB | 0xE9) && has(&bs, 510, &[0x55, 0xAA]);
    let pseudo = has(&bs, 0x36, b"JFS     ") || has(&bs, 0x36, b"HPFS    ");
    if !(magic || (jump && !pseudo)) {
        return None;
    }
    let sector = u64::from(le16(&bs, 0x0B));
    let cluster = u64::from(bs[0x0D]);
    let reserved = u64::from(le16(&bs, 0x0E));
    let fats = u64::from(bs[0x10]);
    let dir_entries = u64::from(le16(&bs, 0x11));
    let media = bs[0x15];
    if fats == 0 || reserved == 0 || !(media >= 0xF8 || media == 0xF0) {
        return None;
    }
    if !cluster.is_power_of_two() || !sector.is_power_of_two() || !(512..=4096).contains(&sector) {
        return None;
    }
    let mut sectors = u64::from(le16(&bs, 0x13));
    if sectors == 0 {
        sectors = u64::from(le32(&bs, 0x20));
    }
    let fat16_len = u64::from(le16(&bs, 0x16));
    let fat_len = if fat16_len != 0 {
        fat16_len
    } else {
        u64::from(le32(&bs, 0x24))
    };
    let dir_sectors = (dir_entries * 32).div_ceil(sector);
    let meta = reserved + fats * fat_len + dir_sectors;
    let clusters = sectors.checked_sub(meta)? / cluster;
    if clusters > 0x0FFF_FFF6 {
        return None;
    }
    let mut fs = Filesystem::new("vfat");
    fs.size_bytes = Some(sectors * sector);
    let (serial_at, label_at, root) = if fat16_len != 0 {
        fs.version = Some(if clusters < 4085 { "FAT12" } else { "FAT16" }.to_string());
        let at = (reserved + fats * fat_len) * sector;
        let len = (dir_entries * 32).min(1 << 20) as usize;
        (0x27, 0x2B, r.read(at, len).unwrap_or_default())
    } else if fat_len != 0 {
        fs.version = Some("FAT32".to_string());
        let first = reserved + fats * fat_len;
        (
            0x43,
            0x47,
            fat32_root(r, &bs, sector, cluster, reserved, first),
        )
    } else {
        return None;
    };
    let serial = le32(&bs, serial_at);
    fs.uuid = Some(format!("{:04X}-{:04X}", serial >> 16, serial & 0xFFFF));
    let boot_label = slice(&bs, label_at, 11);
    fs.label = root_label(&root).or_else(|| named(boot_label));
    Some(fs)
}

/// The FAT32 root directory: its cluster chain, bounded.
fn fat32_root(
    r: &Region<'_>,
    bs: &[u8],
    sector: u64,
    cluster: u64,
    reserved: u64,
    data_start: u64,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut c = u64::from(le32(bs, 0x2C));
    for _ in 0..MAX_ROOT_CLUSTERS {
        if !(2..0x0FFF_FFF8).contains(&c) {
            break;
        }
        let at = (data_start + (c - 2) * cluster) * sector;
        let Some(data) = r.read(at, (cluster * sector) as usize) else {
            break;
        };
        let end = data.chunks_exact(32).any(|e| e[0] == 0);
        out.extend_from_slice(&data);
        if end {
            break;
        }
        let Some(next) = r.read(reserved * sector + c * 4, 4) else {
            break;
        };
        c = u64::from(le32(&next, 0) & 0x0FFF_FFFF);
    }
    out
}

/// The volume-label entry of a root directory (attribute 0x08 without 0x10, not a long name).
fn root_label(dir: &[u8]) -> Option<String> {
    for e in dir.chunks_exact(32) {
        match e[0] {
            0x00 => break,
            0xE5 => continue,
            _ => {}
        }
        let attr = e[11];
        if attr & 0x3F == 0x0F {
            continue;
        }
        if attr & 0x18 == 0x08 {
            let mut name = e[..11].to_vec();
            if name[0] == 0x05 {
                name[0] = 0xE5;
            }
            return named(&name);
        }
    }
    None
}

fn named(label: &[u8]) -> Option<String> {
    if label == b"NO NAME    " {
        return None;
    }
    label8(label)
}
