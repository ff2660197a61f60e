//! Filesystems and volumes salvage recognises but does not read: HPFS, BeFS, UFS and BitLocker.
//! Knowing them matters twice: their boot sectors end in 0x55AA and must not be taken for a
//! partition table, and a planted superblock of one inside another makes the reading
//! ambivalent (blkid refuses to choose; so does salvage). Each is named with what blkid calls
//! it and, where the format makes it cheap, its label.

use super::super::bytes::{be32, has, label8, le32, slice};
use super::super::filesystem::Filesystem;
use super::Region;

/// The UFS superblock magics (UFS1, UFS2, and the two long-name variants), either byte order.
const UFS_MAGICS: [u32; 4] = [0x0001_1954, 0x1954_0119, 0x0009_5014, 0x0019_5612];
/// Where a UFS superblock may be.
const UFS_AT: [u64; 4] = [0, 8192, 65536, 262144];

/// HPFS: the superblock magic 0xF995E849 at byte 8192; label and serial from the boot block.
pub(crate) fn hpfs(r: &Region<'_>) -> Option<Filesystem> {
    let sb = r.read(8192, 16)?;
    if le32(&sb, 0) != 0xF995_E849 {
        return None;
    }
    let mut fs = Filesystem::new("hpfs");
    fs.basis =
        "HPFS superblock at byte 8192 (magic 0xF995E849); salvage does not read HPFS".to_string();
    fs.version = Some(sb[8].to_string());
    let boot = r.read(0, 512)?;
    if has(&boot, 510, &[0x55, 0xAA]) && has(&boot, 0x36, b"HPFS") && boot[0x26] == 0x28 {
        fs.label = label8(slice(&boot, 0x2B, 11));
        let s = slice(&boot, 0x27, 4);
        fs.uuid = Some(format!("{:02X}{:02X}-{:02X}{:02X}", s[3], s[2], s[1], s[0]));
    }
    Some(fs)
}

/// BeFS: the superblock at byte 512 (x86) or 0 (PowerPC), three magics checked.
pub(crate) fn befs(r: &Region<'_>) -> Option<Filesystem> {
    for at in [512u64, 0] {
        let sb = r.read(at, 128)?;
        let le = le32(&sb, 32) == 0x4246_5331
            && le32(&sb, 68) == 0xDD12_1031
            && le32(&sb, 112) == 0x15B6_830E;
        let be = be32(&sb, 32) == 0x4246_5331
            && be32(&sb, 68) == 0xDD12_1031
            && be32(&sb, 112) == 0x15B6_830E;
        if le || be {
            let mut fs = Filesystem::new("befs");
            fs.basis = format!(
                "BeFS superblock at byte {at} (magics 0x42465331, 0xDD121031, 0x15B6830E); salvage does not read BeFS (no UUID)"
            );
            fs.label = label8(slice(&sb, 0, 32));
            return Some(fs);
        }
    }
    None
}

/// UFS (the BSDs, Solaris): the magic at 0x55C of a superblock at one of its usual places.
pub(crate) fn ufs(r: &Region<'_>) -> Option<Filesystem> {
    for at in UFS_AT {
        let Some(m) = r.read(at + 0x55C, 4) else {
            continue;
        };
        let (le, be) = (le32(&m, 0), be32(&m, 0));
        if UFS_MAGICS.contains(&le) || UFS_MAGICS.contains(&be) {
            let mut fs = Filesystem::new("ufs");
            fs.basis = format!(
                "UFS superblock at byte {at} (magic at 0x55C); salvage does not read UFS (no label or UUID)"
            );
            return Some(fs);
        }
    }
    None
}

/// BitLocker (Windows 7 and later): "-FVE-FS-" at byte 3 of the volume's boot sector.
pub(crate) fn bitlocker(r: &Region<'_>) -> Option<Filesystem> {
    let bs = r.read(0, 512)?;
    if !has(&bs, 3, b"-FVE-FS-") {
        return None;
    }
    let mut fs = Filesystem::new("BitLocker");
    fs.basis = "BitLocker volume header at byte 0 (\"-FVE-FS-\" at 3): encrypted; unlock it with dislocker or Windows, then read the unlocked volume".to_string();
    Some(fs)
}
