//! Linux md RAID members: magic 0xa92b4efc; v0.90 at the last 64 KiB boundary minus 64 KiB,
//! v1.0 near the end (8 KiB back, 4 KiB aligned), v1.1 at 0, v1.2 at 4 KiB. v1 superblocks are
//! checked (major version, super_offset, checksum) as libblkid does.

use super::super::bytes::{array, label8, le32, le64, uuid_be};
use super::super::filesystem::Filesystem;
use super::super::md::v1_checksum;
use super::{Region, Scope};

const MAGIC: u32 = 0xa92b_4efc;

pub(crate) fn probe(r: &Region<'_>, scope: Scope) -> Option<Filesystem> {
    if scope == Scope::Whole {
        if let Some(fs) = v090(r) {
            return Some(fs);
        }
        let sectors = r.size() >> 9;
        if sectors >= 16 {
            if let Some(fs) = v1(r, ((sectors - 16) & !7) << 9, "1.0") {
                return Some(fs);
            }
        }
    }
    v1(r, 0, "1.1").or_else(|| v1(r, 4096, "1.2"))
}

fn v090(r: &Region<'_>) -> Option<Filesystem> {
    if r.size() < 0x20000 {
        return None;
    }
    let at = (r.size() & !0xFFFF) - 0x10000;
    let sb = r.read(at, 4096)?;
    if le32(&sb, 0) != MAGIC {
        return None;
    }
    let mut fs = Filesystem::new("linux_raid_member");
    fs.basis = format!("md superblock v0.90 at byte {at} (magic 0xa92b4efc): a RAID member");
    fs.version = Some(format!(
        "{}.{}.{}",
        le32(&sb, 4),
        le32(&sb, 8),
        le32(&sb, 12)
    ));
    let mut uuid = [0u8; 16];
    uuid[..4].copy_from_slice(&sb[20..24]);
    uuid[4..].copy_from_slice(&sb[52..64]);
    // The four uuid words are native (little-endian) u32s; blkid prints each big-endian.
    for word in uuid.chunks_mut(4) {
        word.reverse();
    }
    fs.uuid = uuid_be(&uuid);
    Some(fs)
}

fn v1(r: &Region<'_>, at: u64, version: &str) -> Option<Filesystem> {
    let sb = r.read(at, 4096)?;
    if le32(&sb, 0) != MAGIC || le32(&sb, 4) != 1 {
        return None;
    }
    if le64(&sb, 144) != at >> 9 {
        return None;
    }
    if v1_checksum(&sb)? != le32(&sb, 216) {
        return None;
    }
    let mut fs = Filesystem::new("linux_raid_member");
    fs.basis = format!(
        "md superblock v{version} at byte {at} (magic 0xa92b4efc, checksum valid): a RAID member"
    );
    fs.version = Some(version.to_string());
    fs.uuid = array::<16>(&sb, 16).and_then(|u| uuid_be(&u));
    fs.label = label8(&sb[32..64]);
    Some(fs)
}
