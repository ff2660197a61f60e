//! LVM2 physical volume: a "LABELONE" label in one of the first four sectors with "LVM2 001"
//! at 0x18, its sector number and LVM's CRC checked; the PV UUID (32 characters) in the PV
//! header, printed 6-4-4-4-4-4-6 as blkid does.

use super::super::bytes::{has, le32, le64, slice};
use super::super::filesystem::Filesystem;
use super::Region;

/// LVM's label CRC: reflected CRC-32 (poly 0xEDB88320) from 0xf597a6cf, no final inversion.
pub(crate) fn lvm_crc(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xf597_a6cf;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    crc
}

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let head = r.read(0, 4 * 512)?;
    for (n, s) in head.chunks_exact(512).enumerate() {
        if !has(s, 0, b"LABELONE") || !has(s, 0x18, b"LVM2 001") {
            continue;
        }
        if le64(s, 8) != n as u64 || lvm_crc(&s[20..]) != le32(s, 16) {
            continue;
        }
        let pv = le32(s, 20) as usize;
        let id = slice(s, pv, 32);
        if id.len() != 32 {
            continue;
        }
        let mut fs = Filesystem::new("LVM2_member");
        fs.basis = format!(
            "LVM2 label in sector {n} (\"LABELONE\", CRC valid): a physical volume; activate it with vgchange -ay"
        );
        fs.version = Some("LVM2 001".to_string());
        let text = String::from_utf8_lossy(id);
        let cuts = [0, 6, 10, 14, 18, 22, 26, 32];
        let parts: Vec<&str> = cuts
            .windows(2)
            .filter_map(|w| text.get(w[0]..w[1]))
            .collect();
        fs.uuid = Some(parts.join("-"));
        let size = le64(s, pv + 32);
        fs.size_bytes = (size != 0).then_some(size);
        return Some(fs);
    }
    None
}
