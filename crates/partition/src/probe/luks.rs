//! LUKS 1 and 2: "LUKS\xba\xbe" at 0 (or a LUKS2 secondary header "SKUL\xba\xbe" at 16 KiB to
//! 4 MiB when the primary is gone); version (u16 BE) at 6, label at 24 (LUKS2), UUID string at
//! 168.

use super::super::bytes::{be32, has, label8, slice};
use super::super::filesystem::Filesystem;
use super::Region;

const PRIMARY: &[u8] = b"LUKS\xba\xbe";
const SECONDARY: &[u8] = b"SKUL\xba\xbe";
const SECONDARY_AT: [u64; 9] = [
    0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000,
];

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let hdr = r.read(0, 512)?;
    if has(&hdr, 0, PRIMARY) {
        return describe(&hdr);
    }
    SECONDARY_AT.iter().find_map(|&at| {
        let hdr = r.read(at, 512)?;
        (has(&hdr, 0, SECONDARY) && (be32(&hdr, 4) & 0xFFFF) == 2)
            .then(|| describe(&hdr))
            .flatten()
    })
}

fn describe(hdr: &[u8]) -> Option<Filesystem> {
    let version = be32(hdr, 4) & 0xFFFF;
    if version != 1 && version != 2 {
        return None;
    }
    let mut fs = Filesystem::new("crypto_LUKS");
    fs.basis = format!(
        "LUKS{version} header (\"LUKS\\xba\\xbe\" or its secondary copy): encrypted; open it with cryptsetup open --readonly"
    );
    fs.version = Some(version.to_string());
    fs.uuid = label8(slice(hdr, 168, 40));
    if version == 2 {
        fs.label = label8(slice(hdr, 24, 48));
    }
    Some(fs)
}
