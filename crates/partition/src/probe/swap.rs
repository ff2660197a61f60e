//! Linux swap and hibernation images, as libblkid tells them apart: "SWAPSPACE2" (v1) or
//! "SWAP-SPACE" (v0) in the last 10 bytes of the first page (4 to 64 KiB); a v1 header at 1024
//! with its version 1 in either byte order (mkswap on a big-endian machine writes it
//! big-endian), a last page that is set, and the UUID at 1036 and label at 1052 only when the
//! padding after them is clean. A TuxOnIce magic at byte 0, or "S1SUSPEND", "S2SUSPEND",
//! "ULSUSPEND" or "LINHIB0001" where the swap magic goes, is a hibernation image: blkid's
//! `swsuspend`, not swap (resuming from it matters more than swapping on it).

use super::super::bytes::{array, be32, has, label8, le32, slice, uuid_be};
use super::super::filesystem::Filesystem;
use super::Region;

/// The page sizes whose last 10 bytes may hold the magic.
const PAGES: [u64; 5] = [4096, 8192, 16384, 32768, 65536];
/// libblkid's minimum size for swap and swsuspend: ten 4 KiB pages.
const MIN_SIZE: u64 = 10 * 4096;
const TUXONICE: &[u8] = b"\xed\xc3\x02\xe9\x98\x56\xe5\x0c";
const SUSPEND: [(&[u8], &str); 4] = [
    (b"S1SUSPEND", "s1suspend"),
    (b"S2SUSPEND", "s2suspend"),
    (b"ULSUSPEND", "ulsuspend"),
    (b"LINHIB0001", "linhib0001"),
];

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    if r.size() < MIN_SIZE {
        return None;
    }
    let head = r.read(0, 1024 + 4 * 128)?;
    if has(&head, 0, TUXONICE) {
        let mut fs = Filesystem::new("swsuspend");
        fs.basis = "TuxOnIce hibernation image: its magic at byte 0".to_string();
        set_info(&mut fs, &head, "tuxonice", false)?;
        return Some(fs);
    }
    for page in PAGES {
        let Some(tail) = r.read(page - 10, 10) else {
            continue;
        };
        if let Some((_, version)) = SUSPEND.iter().find(|(m, _)| tail.starts_with(m)) {
            let mut fs = Filesystem::new("swsuspend");
            fs.basis = format!(
                "hibernation image: {version} signature at byte {}",
                page - 10
            );
            set_info(&mut fs, &head, version, false)?;
            return Some(fs);
        }
        if tail == b"SWAP-SPACE" {
            let mut fs = Filesystem::new("swap");
            fs.version = Some("0".to_string());
            fs.basis = format!("swap v0: \"SWAP-SPACE\" at byte {}", page - 10);
            return Some(fs);
        }
        if tail == b"SWAPSPACE2" {
            let mut fs = Filesystem::new("swap");
            fs.basis = format!("swap v1: \"SWAPSPACE2\" at byte {}", page - 10);
            let big_endian = set_info(&mut fs, &head, "1", true)?;
            if big_endian {
                fs.basis.push_str(", header big-endian");
            }
            let last = if big_endian {
                be32(&head, 1028)
            } else {
                le32(&head, 1028)
            };
            fs.size_bytes = (u64::from(last) + 1).checked_mul(page);
            return Some(fs);
        }
    }
    None
}

/// libblkid's `swap_set_info`: for v1 the version must be 1 in either byte order and the last
/// page set; the label and UUID are read only when the padding after them is zero. Returns
/// whether the header is big-endian, `None` when it is not a valid header.
fn set_info(fs: &mut Filesystem, head: &[u8], version: &str, v1: bool) -> Option<bool> {
    let raw = le32(head, 1024);
    let big_endian = raw != 1 && raw.swap_bytes() == 1;
    if v1 && !(raw == 1 || big_endian) {
        return None;
    }
    if v1 && le32(head, 1028) == 0 {
        return None;
    }
    let padding = 1024 + 44;
    if le32(head, padding + 32 * 4) == 0 && le32(head, padding + 33 * 4) == 0 {
        fs.label = label8(slice(head, 1052, 16));
        fs.uuid = array::<16>(head, 1036).and_then(|u| uuid_be(&u));
    }
    fs.version = Some(version.to_string());
    Some(big_endian)
}
