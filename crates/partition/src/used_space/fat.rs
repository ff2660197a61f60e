//! FAT12/16/32: the reserved sectors, the FATs and (FAT12/16) the root directory are metadata;
//! a data cluster is in use when its FAT entry is not zero. The first FAT is read; if it cannot
//! be read whole, the second is; if neither can, the whole filesystem counts as used.

use super::UsedSpace;
use super::recorder::Recorder;

fn u16_at(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// Adds the used clusters of the FAT filesystem at `offset`; the note, or why it cannot be read.
pub(super) fn used(
    rec: &Recorder,
    offset: u64,
    size: u64,
    out: &mut UsedSpace,
) -> Result<String, String> {
    let boot = rec
        .read_whole(offset, 512)
        .ok_or("its boot sector could not be read")?;
    let sector = u16_at(&boot, 11);
    let per_cluster = u64::from(boot[13]);
    let reserved = u16_at(&boot, 14);
    let fats = u64::from(boot[16]);
    let root_entries = u16_at(&boot, 17);
    let total = match u16_at(&boot, 19) {
        0 => u32_at(&boot, 32),
        n => n,
    };
    let fat_sectors = match u16_at(&boot, 22) {
        0 => u32_at(&boot, 36),
        n => n,
    };
    if !matches!(sector, 512 | 1024 | 2048 | 4096)
        || !per_cluster.is_power_of_two()
        || fats == 0
        || fat_sectors == 0
        || total == 0
    {
        return Err("implausible FAT boot sector".into());
    }
    let root_sectors = (root_entries * 32).div_ceil(sector);
    let data_start = reserved + fats * fat_sectors + root_sectors;
    if data_start >= total || total * sector > size {
        return Err("implausible FAT geometry".into());
    }
    let clusters = (total - data_start) / per_cluster;
    let bits = if clusters < 4085 {
        12
    } else if clusters < 65525 {
        16
    } else {
        32
    };
    out.metadata.add(offset, data_start * sector);
    let fat_bytes = usize::try_from(fat_sectors * sector).unwrap_or(0);
    let fat = (0..fats)
        .find_map(|i| rec.read_whole(offset + (reserved + i * fat_sectors) * sector, fat_bytes))
        .ok_or("no copy of its FAT could be read")?;
    let entry = |c: u64| -> u64 {
        match bits {
            12 => {
                let at = (c * 3 / 2) as usize;
                let v = u16_at(&fat, at);
                if c % 2 == 0 { v & 0xFFF } else { v >> 4 }
            }
            16 => u16_at(&fat, (c * 2) as usize),
            _ => u32_at(&fat, (c * 4) as usize) & 0x0FFF_FFFF,
        }
    };
    let max = clusters.min((fat_bytes as u64 * 8 / bits) - 2);
    let cluster_bytes = per_cluster * sector;
    let data = offset + data_start * sector;
    let mut used = 0u64;
    let mut run: Option<u64> = None;
    for c in 0..=max {
        let set = c < max && entry(c + 2) != 0;
        match (set, run) {
            (true, None) => run = Some(c),
            (false, Some(s)) => {
                out.used
                    .add(data + s * cluster_bytes, (c - s) * cluster_bytes);
                used += c - s;
                run = None;
            }
            _ => {}
        }
    }
    Ok(format!(
        "FAT{bits}, {clusters} clusters of {cluster_bytes} bytes, {} bytes in use",
        used * cluster_bytes
    ))
}
