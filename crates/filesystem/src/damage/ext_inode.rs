//! `ExtInode`: the fields of an ext inode the damage mapping reads (mode, size, links, flags,
//! the xattr block, `i_block`), and what kind of file it is.

/// `i_flags` bits.
const EXTENTS_FL: u32 = 0x8_0000;
const INLINE_DATA_FL: u32 = 0x1000_0000;

const S_IFMT: u16 = 0o170_000;
const S_IFDIR: u16 = 0o040_000;
const S_IFREG: u16 = 0o100_000;
const S_IFLNK: u16 = 0o120_000;

/// The inode fields the mapping uses.
#[derive(Debug, Clone)]
pub(crate) struct ExtInode {
    pub(crate) mode: u16,
    pub(crate) size: u64,
    pub(crate) links: u16,
    pub(crate) flags: u32,
    pub(crate) file_acl: u64,
    pub(crate) block: [u8; 60],
}

impl ExtInode {
    /// Parses an on-disk inode (at least 128 bytes).
    pub(crate) fn parse(b: &[u8]) -> Self {
        let u16_at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut block = [0u8; 60];
        block.copy_from_slice(&b[0x28..0x64]);
        ExtInode {
            mode: u16_at(0x0),
            size: u64::from(u32_at(0x4)) | (u64::from(u32_at(0x6C)) << 32),
            links: u16_at(0x1A),
            flags: u32_at(0x20),
            file_acl: u64::from(u32_at(0x68)) | (u64::from(u16_at(0x76)) << 32),
            block,
        }
    }

    /// In use: what debugfs `icheck` and e2fsck count (a link count above zero).
    pub(crate) fn in_use(&self) -> bool {
        self.links > 0 && self.mode != 0
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    pub(crate) fn is_regular(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    pub(crate) fn uses_extents(&self) -> bool {
        self.flags & EXTENTS_FL != 0
    }

    pub(crate) fn has_inline_data(&self) -> bool {
        self.flags & INLINE_DATA_FL != 0
    }

    /// Whether `i_block` maps blocks (libext2fs's `ext2fs_inode_has_valid_blocks2`): only
    /// directories, regular files and symlinks too long for `i_block` do; inline data does not.
    pub(crate) fn has_blocks(&self) -> bool {
        if self.has_inline_data() {
            return false;
        }
        if self.is_dir() || self.is_regular() {
            return true;
        }
        self.is_symlink() && !(self.size > 0 && self.size < 60)
    }

    /// "file", "directory", "symlink", ... as a report names it.
    pub(crate) fn kind(&self) -> &'static str {
        match self.mode & S_IFMT {
            S_IFREG => "file",
            S_IFDIR => "directory",
            S_IFLNK => "symlink",
            0o020_000 => "character device",
            0o060_000 => "block device",
            0o010_000 => "fifo",
            0o140_000 => "socket",
            _ => "unknown",
        }
    }
}
