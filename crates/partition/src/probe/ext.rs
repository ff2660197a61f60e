//! ext2/3/4: the superblock at byte 1024, magic 0xEF53 at 0x438; the type follows the feature
//! flags as libblkid decides it. A superblock whose metadata_csum checksum fails is still
//! reported (blkid -p reports it too), and `checksum_note` says that it is damaged.

use super::super::bytes::{array, crc32c, label8, le16, le32, uuid_be};
use super::super::filesystem::Filesystem;
use super::Region;

const COMPAT_HAS_JOURNAL: u32 = 0x4;
const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
const INCOMPAT_64BIT: u32 = 0x80;
const RO_COMPAT_SUPP: u32 = 0x1 | 0x2 | 0x4;
const EXT2_INCOMPAT_SUPP: u32 = 0x2 | 0x10;
const EXT3_INCOMPAT_SUPP: u32 = 0x2 | 0x4 | 0x10;
const FLAGS_TEST_FILESYS: u32 = 0x4;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
const CHECKSUM_AT: usize = 0x3FC;

/// The superblock fields the scanner also needs (to place a backup superblock).
pub(crate) struct ExtSuperblock {
    pub(crate) block_size: u64,
    pub(crate) first_data_block: u64,
    pub(crate) blocks_per_group: u64,
    pub(crate) group: u64,
}

/// Reads the ext superblock held in `sb` (1024 bytes), if it is one.
pub(crate) fn superblock(sb: &[u8]) -> Option<ExtSuperblock> {
    if le16(sb, 0x38) != 0xEF53 {
        return None;
    }
    let log = le32(sb, 0x18);
    if log > 6 {
        return None;
    }
    Some(ExtSuperblock {
        block_size: 1024 << log,
        first_data_block: u64::from(le32(sb, 0x14)),
        blocks_per_group: u64::from(le32(sb, 0x20)),
        group: u64::from(le16(sb, 0x5A)),
    })
}

pub(crate) fn probe(r: &Region<'_>) -> Option<Filesystem> {
    let sb = r.read(1024, 1024)?;
    describe(&sb)
}

/// The stored and computed metadata_csum checksums of a superblock whose checksum fails
/// (crc32c of the first 1020 bytes, seeded with !0, as the kernel and libblkid compute it);
/// `None` when it holds or the superblock has none.
fn checksum_mismatch(sb: &[u8]) -> Option<(u32, u32)> {
    if sb.len() < 1024 || le32(sb, 0x64) & RO_COMPAT_METADATA_CSUM == 0 {
        return None;
    }
    let (stored, computed) = (le32(sb, CHECKSUM_AT), crc32c(!0, &sb[..CHECKSUM_AT]));
    (stored != computed).then_some((stored, computed))
}

/// A warning for an ext superblock whose checksum fails: what it says (label, size, features)
/// may be damaged, and a backup superblock may be intact.
pub(crate) fn checksum_note(r: &Region<'_>) -> Option<String> {
    let sb = r.read(1024, 1024)?;
    if le16(&sb, 0x38) != 0xEF53 {
        return None;
    }
    let (stored, computed) = checksum_mismatch(&sb)?;
    Some(format!(
        "an ext superblock at byte {} fails its metadata_csum checksum (stored {stored:#010x}, \
         computed {computed:#010x}): the superblock is damaged, so its label, size and features \
         may be wrong; a backup superblock may be intact (salvage partitions --scan; e2fsck -b)",
        r.offset() + 1024,
    ))
}

/// The filesystem a superblock describes.
pub(crate) fn describe(sb: &[u8]) -> Option<Filesystem> {
    if le16(sb, 0x38) != 0xEF53 {
        return None;
    }
    let compat = le32(sb, 0x5C);
    let incompat = le32(sb, 0x60);
    let ro = le32(sb, 0x64);
    let journal = compat & COMPAT_HAS_JOURNAL != 0;
    let ro_ok = ro & !RO_COMPAT_SUPP == 0;
    let fs_type = if incompat & INCOMPAT_JOURNAL_DEV != 0 {
        "jbd"
    } else if journal && ro_ok && incompat & !EXT3_INCOMPAT_SUPP == 0 {
        "ext3"
    } else if !journal && ro_ok && incompat & !EXT2_INCOMPAT_SUPP == 0 {
        "ext2"
    } else if le32(sb, 0x160) & FLAGS_TEST_FILESYS != 0 {
        "ext4dev"
    } else {
        "ext4"
    };
    let mut fs = Filesystem::new(fs_type);
    fs.basis = format!(
        "{fs_type} superblock at byte 1024 (magic 0xEF53 at 0x438; type from its feature flags{})",
        if checksum_mismatch(sb).is_some() {
            "; its metadata_csum checksum FAILS"
        } else {
            ""
        }
    );
    fs.uuid = array::<16>(sb, 0x68).and_then(|u| uuid_be(&u));
    fs.label = label8(&sb[0x78..0x88]);
    fs.version = Some(format!("{}.{}", le32(sb, 0x4C), le16(sb, 0x3E)));
    let mut blocks = u64::from(le32(sb, 0x04));
    if incompat & INCOMPAT_64BIT != 0 {
        blocks |= u64::from(le32(sb, 0x150)) << 32;
    }
    fs.size_bytes = superblock(sb).and_then(|info| blocks.checked_mul(info.block_size));
    Some(fs)
}
