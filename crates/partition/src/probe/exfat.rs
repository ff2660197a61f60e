//! exFAT: "EXFAT   " at 3; the serial at 0x64 as UUID, the revision at 0x68, the label from the
//! root directory's volume-label entry (type 0x83, UTF-16).

use super::super::bytes::{has, label16, le32, le64, slice};
use super::super::filesystem::Filesystem;
use super::Region;

/// Root-directory clusters followed before giving up on finding a label.
const MAX_ROOT_CLUSTERS: usize = 64;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let bs = r.read(0, 512)?;
    if !has(&bs, 3, b"EXFAT   ") {
        return None;
    }
    let sector_shift = u32::from(bs[0x6C]);
    let cluster_shift = u32::from(bs[0x6D]);
    if !(9..=12).contains(&sector_shift) || sector_shift + cluster_shift > 25 {
        return None;
    }
    let sector = 1u64 << sector_shift;
    let cluster = sector << cluster_shift;
    let fat_at = u64::from(le32(&bs, 0x50)) * sector;
    let heap_at = u64::from(le32(&bs, 0x58)) * sector;
    let mut fs = Filesystem::new("exfat");
    fs.basis = "exFAT boot sector at byte 0 (\"EXFAT\" at 3, geometry valid)".to_string();
    let serial = le32(&bs, 0x64);
    fs.uuid = Some(format!("{:04X}-{:04X}", serial >> 16, serial & 0xFFFF));
    fs.version = Some(format!("{}.{}", bs[0x69], bs[0x68]));
    fs.size_bytes = le64(&bs, 0x48).checked_mul(sector);
    let mut c = u64::from(le32(&bs, 0x60));
    'chain: for _ in 0..MAX_ROOT_CLUSTERS {
        if !(2..0xFFFF_FFF7).contains(&c) {
            break;
        }
        let Some(dir) = r.read(heap_at + (c - 2) * cluster, cluster as usize) else {
            break;
        };
        for e in dir.chunks_exact(32) {
            match e[0] {
                0x00 => break 'chain,
                0x83 => {
                    let chars = usize::from(e[1]).min(11);
                    fs.label = label16(slice(e, 2, chars * 2));
                    break 'chain;
                }
                _ => {}
            }
        }
        let Some(next) = r.read(fat_at + c * 4, 4) else {
            break;
        };
        c = u64::from(le32(&next, 0));
    }
    Some(fs)
}
