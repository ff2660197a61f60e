//! NTFS: "NTFS    " at 3; the serial at 0x48 as UUID; the label is the $VOLUME_NAME attribute
//! (0x60) of MFT record 3 ($Volume), read after applying the record's update-sequence fixups.

use super::super::bytes::{has, label16, le16, le32, le64, slice};
use super::super::filesystem::Filesystem;
use super::Region;

const VOLUME_RECORD: u64 = 3;
const ATTR_VOLUME_NAME: u32 = 0x60;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let bs = r.read(0, 512)?;
    if !has(&bs, 3, b"NTFS    ") {
        return None;
    }
    let sector = u64::from(le16(&bs, 0x0B));
    if !sector.is_power_of_two() || !(256..=4096).contains(&sector) {
        return None;
    }
    let per_cluster = sectors_per_cluster(bs[0x0D])?;
    let cluster = sector * per_cluster;
    let cpr = bs[0x40] as i8;
    let record = if cpr > 0 {
        cluster.checked_mul(cpr as u64)?
    } else {
        1u64.checked_shl(u32::from(cpr.unsigned_abs()))?
    };
    let mut fs = Filesystem::new("ntfs");
    fs.basis = "NTFS boot sector at byte 0 (\"NTFS\" at 3, geometry valid)".to_string();
    fs.uuid = Some(format!("{:016X}", le64(&bs, 0x48)));
    fs.size_bytes = le64(&bs, 0x28).checked_mul(sector);
    if (256..=65536).contains(&record) {
        let at = le64(&bs, 0x30)
            .checked_mul(cluster)
            .and_then(|m| m.checked_add(VOLUME_RECORD * record));
        if let Some(rec) = at.and_then(|at| r.read(at, record as usize)) {
            fs.label = volume_name(rec, sector as usize);
        }
    }
    Some(fs)
}

/// libblkid's rule: 1 to 128 as a power of two, or 240 to 249 meaning 2^(256 - n) (so at most
/// 2^16 sectors a cluster: the product with a sector size cannot overflow).
fn sectors_per_cluster(spc: u8) -> Option<u64> {
    match spc {
        1 | 2 | 4 | 8 | 16 | 32 | 64 | 128 => Some(u64::from(spc)),
        240..=249 => Some(1 << (256 - u32::from(spc))),
        _ => None,
    }
}

/// The $VOLUME_NAME of an MFT record, after the update-sequence fixups.
fn volume_name(mut rec: Vec<u8>, sector: usize) -> Option<String> {
    if !has(&rec, 0, b"FILE") {
        return None;
    }
    let usa = usize::from(le16(&rec, 4));
    let count = usize::from(le16(&rec, 6));
    let stride = sector.min(512);
    for i in 1..count {
        let fix_at = usa + 2 * i;
        let end = i * stride;
        if end > rec.len() || fix_at + 2 > rec.len() || end < 2 {
            break;
        }
        let fix = [rec[fix_at], rec[fix_at + 1]];
        rec[end - 2..end].copy_from_slice(&fix);
    }
    let mut at = usize::from(le16(&rec, 0x14));
    for _ in 0..64 {
        let kind = le32(&rec, at);
        let len = le32(&rec, at + 4) as usize;
        if kind == 0xFFFF_FFFF || len == 0 || at + len > rec.len() {
            return None;
        }
        if kind == ATTR_VOLUME_NAME && rec.get(at + 8) == Some(&0) {
            let value_len = le32(&rec, at + 0x10) as usize;
            let value_at = at + usize::from(le16(&rec, at + 0x14));
            return label16(slice(&rec, value_at, value_len));
        }
        at += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A boot sector the fuzzer found: 0xC1 sectors a cluster (2^63) with 4096-byte sectors
    /// overflowed the cluster size; libblkid rejects that count, and so does this prober.
    #[test]
    fn a_cluster_count_outside_libblkids_set_is_no_ntfs() {
        let mut bs = vec![0u8; 512];
        bs[3..11].copy_from_slice(b"NTFS    ");
        bs[0x0B..0x0D].copy_from_slice(&4096u16.to_le_bytes());
        for (spc, ok) in [
            (0xC1, false),
            (0x81, false),
            (3, false),
            (0xF4, true),
            (8, true),
        ] {
            bs[0x0D] = spc;
            let r = Region::new(&bs, 0, bs.len() as u64);
            assert_eq!(probe(&r).is_some(), ok, "sectors a cluster {spc:#x}");
        }
    }
}
