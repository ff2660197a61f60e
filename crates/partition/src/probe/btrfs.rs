//! btrfs: the superblock at 64 KiB, magic "_BHRfS_M" at 0x40 in it; fsid at 0x20, label at
//! 0x12B (256 bytes), total bytes at 0x70.

use super::super::bytes::{array, has, label8, le64, slice, uuid_be};
use super::super::filesystem::Filesystem;
use super::Region;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let sb = r.read(65536, 4096)?;
    if !has(&sb, 0x40, b"_BHRfS_M") {
        return None;
    }
    let mut fs = Filesystem::new("btrfs");
    fs.basis = "btrfs superblock at byte 65536 (\"_BHRfS_M\" at 0x40 in it)".to_string();
    fs.uuid = array::<16>(&sb, 0x20).and_then(|u| uuid_be(&u));
    fs.label = label8(slice(&sb, 0x12B, 256));
    fs.size_bytes = Some(le64(&sb, 0x70));
    Some(fs)
}
