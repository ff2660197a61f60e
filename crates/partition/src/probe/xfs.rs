//! xfs: "XFSB" at byte 0 of the first superblock; UUID at 32, label at 108 (12 bytes).

use super::super::bytes::{array, be32, be64, label8, uuid_be};
use super::super::filesystem::Filesystem;
use super::Region;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let sb = r.read(0, 512)?;
    if sb.get(0..4)? != b"XFSB" {
        return None;
    }
    let block = be32(&sb, 4);
    if !block.is_power_of_two() || !(512..=65536).contains(&block) {
        return None;
    }
    let mut fs = Filesystem::new("xfs");
    fs.basis = "xfs superblock at byte 0 (\"XFSB\")".to_string();
    fs.uuid = array::<16>(&sb, 32).and_then(|u| uuid_be(&u));
    fs.label = label8(&sb[108..120]);
    fs.size_bytes = be64(&sb, 8).checked_mul(u64::from(block));
    Some(fs)
}
