//! Linux swap: "SWAPSPACE2" (v1) or "SWAP-SPACE" (v0) in the last 10 bytes of the first page
//! (4, 8, 16 or 64 KiB); v1 has last_page at 1028, UUID at 1036, label at 1052.

use super::super::bytes::{array, has, label8, le32, slice, uuid_be};
use super::super::filesystem::Filesystem;
use super::Region;

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    for page in [4096usize, 8192, 16384, 65536] {
        let Some(tail) = r.read(page as u64 - 10, 10) else {
            continue;
        };
        if tail == b"SWAP-SPACE" {
            let mut fs = Filesystem::new("swap");
            fs.version = Some("0".to_string());
            return Some(fs);
        }
        if tail != b"SWAPSPACE2" {
            continue;
        }
        let head = r.read(0, 1024 + 44)?;
        let version = le32(&head, 1024);
        let last_page = le32(&head, 1028);
        if version != 1 || last_page == 0 || has(&head, 1024, &[0; 4]) {
            return None;
        }
        let mut fs = Filesystem::new("swap");
        fs.version = Some("1".to_string());
        fs.uuid = array::<16>(&head, 1036).and_then(|u| uuid_be(&u));
        fs.label = label8(slice(&head, 1052, 16));
        fs.size_bytes = (u64::from(last_page) + 1).checked_mul(page as u64);
        return Some(fs);
    }
    None
}
