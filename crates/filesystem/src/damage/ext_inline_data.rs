//! `inline_data`: where an ext inode with the `inline_data` feature keeps its bytes: the 60
//! bytes of `i_block`, then the value of its `system.data` extended attribute, which the kernel
//! and mke2fs keep in the inode's extra space and which is looked for in the inode's xattr
//! block only when the inode does not hold it. Offsets are those of the kernel's
//! `struct ext4_xattr_entry` (`fs/ext4/xattr.h`).

use super::le_bytes::{le16, le32};

/// `EXT4_XATTR_MAGIC`, at the start of the in-inode xattr area and of an xattr block.
const XATTR_MAGIC: u32 = 0xEA02_0000;
/// `EXT4_XATTR_INDEX_SYSTEM`: the name index of `system.data`.
const INDEX_SYSTEM: u8 = 7;
/// The size of an xattr block's header: entries start after it.
const BLOCK_HEADER: usize = 32;
/// The fixed part of an entry, before its name.
const ENTRY_HEAD: usize = 16;

/// The value of `system.data` in the in-inode xattr area of `inode` (the whole on-disk inode).
/// `Ok(None)`: the inode has no xattr area or no such attribute; `Err` says why the area does
/// not parse.
pub(crate) fn system_data_in_inode(inode: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if inode.len() < 0x84 {
        return Ok(None);
    }
    let extra = usize::from(le16(inode, 0x80));
    let at = 128 + extra;
    if extra % 4 != 0 || at + 4 > inode.len() {
        return Err(format!(
            "its extra inode size {extra} does not fit the inode"
        ));
    }
    if le32(inode, at) != XATTR_MAGIC {
        return Ok(None);
    }
    // Value offsets count from the first entry.
    find_system_data(&inode[at + 4..], 0)
}

/// The value of `system.data` in an xattr block; `Ok(None)` when it is not there.
pub(crate) fn system_data_in_block(block: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if block.len() < BLOCK_HEADER || le32(block, 0) != XATTR_MAGIC {
        return Err("the extended attribute block has no xattr magic".into());
    }
    find_system_data(block, BLOCK_HEADER)
}

/// Walks the entries of `area` from `first` (values at offsets from the start of `area`).
fn find_system_data(area: &[u8], first: usize) -> Result<Option<Vec<u8>>, String> {
    let mut pos = first;
    loop {
        if pos + 4 > area.len() {
            return Err("its extended attribute entries run past their area".into());
        }
        if le32(area, pos) == 0 {
            return Ok(None);
        }
        if pos + ENTRY_HEAD > area.len() {
            return Err("its extended attribute entries run past their area".into());
        }
        let name_len = usize::from(area[pos]);
        let index = area[pos + 1];
        let value_offs = usize::from(le16(area, pos + 2));
        let value_inum = le32(area, pos + 4);
        let value_size = le32(area, pos + 8) as usize;
        let name_end = pos + ENTRY_HEAD + name_len;
        if name_end > area.len() {
            return Err("an extended attribute name runs past its area".into());
        }
        if index == INDEX_SYSTEM && &area[pos + ENTRY_HEAD..name_end] == b"data" {
            if value_inum != 0 {
                return Err(format!(
                    "its system.data value is kept in inode {value_inum}, which salvage does not read"
                ));
            }
            return match area.get(value_offs..value_offs + value_size) {
                Some(v) => Ok(Some(v.to_vec())),
                None => Err(format!(
                    "its system.data value ({value_size} bytes at {value_offs}) runs past its area"
                )),
            };
        }
        pos = (name_end + 3) & !3;
    }
}

#[cfg(test)]
mod tests {
    use super::{system_data_in_block, system_data_in_inode};

    /// An entry `index.name` with its value at `offs`.
    fn entry(index: u8, name: &[u8], offs: u16, size: u32) -> Vec<u8> {
        let mut e = vec![name.len() as u8, index];
        e.extend_from_slice(&offs.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(name);
        while e.len() % 4 != 0 {
            e.push(0);
        }
        e
    }

    #[test]
    fn finds_system_data_after_other_attributes_in_the_inode() {
        let mut inode = vec![0u8; 256];
        inode[0x80..0x82].copy_from_slice(&32u16.to_le_bytes());
        inode[160..164].copy_from_slice(&0xEA02_0000u32.to_le_bytes());
        let mut entries = entry(1, b"user.x", 80, 2);
        entries.extend(entry(7, b"data", 84, 5));
        inode[164..164 + entries.len()].copy_from_slice(&entries);
        inode[164 + 80..164 + 82].copy_from_slice(b"ab");
        inode[164 + 84..164 + 89].copy_from_slice(b"hello");
        assert_eq!(system_data_in_inode(&inode), Ok(Some(b"hello".to_vec())));
        // A value past the inode's end is refused, never read out of bounds.
        let e = entry(7, b"data", 84, 500);
        inode[164 + 24..164 + 24 + e.len()].copy_from_slice(&e);
        assert!(system_data_in_inode(&inode).is_err());
        // No magic: no in-inode attributes.
        inode[163] = 0;
        assert_eq!(system_data_in_inode(&inode), Ok(None));
        assert_eq!(system_data_in_inode(&inode[..128]), Ok(None));
    }

    #[test]
    fn finds_system_data_in_a_block_and_refuses_garbage() {
        let mut block = vec![0u8; 1024];
        block[0..4].copy_from_slice(&0xEA02_0000u32.to_le_bytes());
        let e = entry(7, b"data", 1000, 3);
        block[32..32 + e.len()].copy_from_slice(&e);
        block[1000..1003].copy_from_slice(b"xyz");
        assert_eq!(system_data_in_block(&block), Ok(Some(b"xyz".to_vec())));
        block[32..36].fill(0);
        assert_eq!(system_data_in_block(&block), Ok(None));
        assert!(system_data_in_block(&[0u8; 1024]).is_err());
    }
}
