//! `ExtLayout`: an ext2/3/4 superblock and its group descriptors as the damage mapping needs
//! them: the geometry, the features that move metadata (sparse_super, sparse_super2, meta_bg,
//! flex_bg, 64bit), and where each group's superblock copy, descriptor blocks, bitmaps and
//! inode table lie. Offsets are those of the kernel's `struct ext4_super_block` and
//! `struct ext4_group_desc`.

use super::le_bytes::{le16, le32};

/// `s_feature_compat` bits.
pub(crate) const COMPAT_HAS_JOURNAL: u32 = 0x4;
pub(crate) const COMPAT_SPARSE_SUPER2: u32 = 0x200;
/// `s_feature_incompat` bits.
pub(crate) const INCOMPAT_FILETYPE: u32 = 0x2;
pub(crate) const INCOMPAT_META_BG: u32 = 0x10;
pub(crate) const INCOMPAT_64BIT: u32 = 0x80;
pub(crate) const INCOMPAT_MMP: u32 = 0x100;
/// `s_feature_ro_compat` bits.
pub(crate) const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub(crate) const RO_COMPAT_GDT_CSUM: u32 = 0x10;
pub(crate) const RO_COMPAT_BIGALLOC: u32 = 0x200;
pub(crate) const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// `bg_flags` bits.
pub(crate) const BG_INODE_UNINIT: u16 = 0x1;
pub(crate) const BG_BLOCK_UNINIT: u16 = 0x2;

/// The superblock fields the mapping uses.
#[derive(Debug, Clone)]
pub(crate) struct ExtSuper {
    pub(crate) block_size: u64,
    pub(crate) blocks_count: u64,
    pub(crate) first_data_block: u64,
    pub(crate) blocks_per_group: u64,
    pub(crate) inodes_per_group: u32,
    pub(crate) inodes_count: u32,
    pub(crate) inode_size: u32,
    pub(crate) first_ino: u32,
    pub(crate) groups: u32,
    pub(crate) desc_size: u32,
    pub(crate) compat: u32,
    pub(crate) incompat: u32,
    pub(crate) ro_compat: u32,
    pub(crate) reserved_gdt_blocks: u64,
    pub(crate) first_meta_bg: u32,
    pub(crate) journal_inum: u32,
    pub(crate) backup_bgs: [u32; 2],
    pub(crate) mmp_block: u64,
    /// Blocks per allocation cluster (bigalloc; 1 otherwise): what one bitmap bit covers.
    pub(crate) cluster_ratio: u64,
    /// Inodes at or above `first_ino` the superblock names as metadata (quota, orphan file).
    pub(crate) named_inodes: Vec<(u32, &'static str)>,
    /// `s_uuid`: what identifies the filesystem (a mount's `statfs` id is folded from it).
    pub(crate) uuid: [u8; 16],
}

impl ExtSuper {
    /// Parses the 1024 bytes of a superblock; `Err` says why they are not one.
    pub(crate) fn parse(b: &[u8]) -> Result<Self, String> {
        if b.len() < 1024 {
            return Err("short superblock".into());
        }
        if le16(b, 0x38) != 0xEF53 {
            return Err("no ext magic (0xEF53)".into());
        }
        let log = le32(b, 0x18);
        if log > 6 {
            return Err(format!("block size 2^(10+{log}) is not an ext block size"));
        }
        let block_size = 1024u64 << log;
        let incompat = le32(b, 0x60);
        let rev = le32(b, 0x4C);
        let (first_ino, inode_size) = if rev == 0 {
            (11, 128)
        } else {
            (le32(b, 0x54), u32::from(le16(b, 0x58)))
        };
        let mut blocks_count = u64::from(le32(b, 0x4));
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            blocks_count |= u64::from(le32(b, 0x150)) << 32;
            u32::from(le16(b, 0xFE))
        } else {
            32
        };
        let first_data_block = u64::from(le32(b, 0x14));
        let blocks_per_group = u64::from(le32(b, 0x20));
        let inodes_per_group = le32(b, 0x28);
        let inodes_count = le32(b, 0x0);
        if blocks_per_group == 0 || blocks_per_group > 8 * block_size * 16 {
            return Err(format!("{blocks_per_group} blocks per group"));
        }
        if inodes_per_group == 0 || u64::from(inodes_per_group) > 8 * block_size {
            return Err(format!("{inodes_per_group} inodes per group"));
        }
        if !inode_size.is_power_of_two() || inode_size < 128 || u64::from(inode_size) > block_size {
            return Err(format!("inode size {inode_size}"));
        }
        if !desc_size.is_power_of_two() || desc_size < 32 || u64::from(desc_size) > block_size {
            return Err(format!("group descriptor size {desc_size}"));
        }
        if blocks_count <= first_data_block {
            return Err(format!("{blocks_count} blocks"));
        }
        let groups64 = (blocks_count - first_data_block).div_ceil(blocks_per_group);
        let groups = u32::try_from(groups64).map_err(|_| format!("{groups64} block groups"))?;
        if u64::from(inodes_count) > u64::from(groups) * u64::from(inodes_per_group) {
            return Err(format!(
                "{inodes_count} inodes do not fit in {groups} groups of {inodes_per_group}"
            ));
        }
        let mut named_inodes = Vec::new();
        for (at, name) in [
            (0x240, "user quota"),
            (0x244, "group quota"),
            (0x26C, "project quota"),
            (0x280, "orphan file"),
        ] {
            let ino = le32(b, at);
            if ino != 0 {
                named_inodes.push((ino, name));
            }
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[0x68..0x78]);
        Ok(Self {
            uuid,
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count,
            inode_size,
            first_ino,
            groups,
            desc_size,
            compat: le32(b, 0x5C),
            incompat,
            ro_compat: le32(b, 0x64),
            reserved_gdt_blocks: u64::from(le16(b, 0xCE)),
            first_meta_bg: le32(b, 0x104),
            journal_inum: le32(b, 0xE0),
            backup_bgs: [le32(b, 0x24C), le32(b, 0x250)],
            mmp_block: if incompat & INCOMPAT_MMP != 0 {
                u64::from(le32(b, 0x168)) | (u64::from(le32(b, 0x16C)) << 32)
            } else {
                0
            },
            cluster_ratio: if le32(b, 0x64) & RO_COMPAT_BIGALLOC != 0 {
                1u64 << le32(b, 0x1C).saturating_sub(log).min(30)
            } else {
                1
            },
            named_inodes,
        })
    }

    /// Whether group `g` holds a copy of the superblock (and, without meta_bg, of the
    /// descriptors): libext2fs's `ext2fs_bg_has_super`.
    pub(crate) fn has_super(&self, g: u32) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return g == self.backup_bgs[0] || g == self.backup_bgs[1];
        }
        if g <= 1 || self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        if g & 1 == 0 {
            return false;
        }
        [3u32, 5, 7].iter().any(|&base| {
            let mut p = base;
            while p < g {
                match p.checked_mul(base) {
                    Some(n) => p = n,
                    None => return false,
                }
            }
            p == g
        })
    }

    /// The first block of group `g`.
    pub(crate) fn group_first_block(&self, g: u32) -> u64 {
        self.first_data_block + u64::from(g) * self.blocks_per_group
    }

    /// Group descriptors per descriptor block.
    pub(crate) fn descs_per_block(&self) -> u64 {
        self.block_size / u64::from(self.desc_size)
    }

    /// The number of group descriptor blocks.
    pub(crate) fn gdt_blocks(&self) -> u64 {
        u64::from(self.groups).div_ceil(self.descs_per_block())
    }

    /// Whether group descriptors carry checksums, which makes `bg_itable_unused` and the
    /// `*_UNINIT` flags meaningful.
    pub(crate) fn has_group_csum(&self) -> bool {
        self.ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM) != 0
    }

    fn meta_bg(&self) -> bool {
        self.incompat & INCOMPAT_META_BG != 0
    }

    /// The places of descriptor block `i`: the primary first, then its backups
    /// (libext2fs's `ext2fs_descriptor_block_loc2`).
    pub(crate) fn desc_block_locations(&self, i: u64) -> Vec<u64> {
        if !self.meta_bg() || i < u64::from(self.first_meta_bg) {
            let mut v = vec![self.first_data_block + 1 + i];
            for g in 1..self.groups {
                if self.has_super(g) {
                    v.push(self.group_first_block(g) + 1 + i);
                    if v.len() == 3 {
                        break;
                    }
                }
            }
            return v;
        }
        let dpb = self.descs_per_block();
        let first = i * dpb;
        let mut v = Vec::new();
        for g in [first, first + 1, first + dpb - 1] {
            let Ok(g) = u32::try_from(g) else { continue };
            if g >= self.groups {
                continue;
            }
            v.push(self.group_first_block(g) + u64::from(self.has_super(g)));
        }
        v
    }

    /// Metadata a group holds in fixed places: its superblock copy, descriptor blocks
    /// (old layout or meta_bg) and reserved descriptor blocks, as `(first block, blocks, what)`.
    pub(crate) fn fixed_metadata(&self, g: u32) -> Vec<(u64, u64, &'static str)> {
        let mut v = Vec::new();
        let first = self.group_first_block(g);
        let has_super = self.has_super(g);
        let (sb, gd) = if g == 0 {
            ("superblock", "group descriptors")
        } else {
            ("backup superblock", "backup group descriptors")
        };
        if has_super {
            v.push((first, 1, sb));
        }
        let dpb = self.descs_per_block();
        if !self.meta_bg() {
            if has_super {
                v.push((first + 1, self.gdt_blocks(), gd));
                if self.reserved_gdt_blocks > 0 {
                    v.push((
                        first + 1 + self.gdt_blocks(),
                        self.reserved_gdt_blocks,
                        "reserved group descriptor blocks",
                    ));
                }
            }
        } else {
            let old = u64::from(self.first_meta_bg).min(self.gdt_blocks());
            if has_super && old > 0 {
                v.push((first + 1, old, gd));
            }
            if has_super && self.reserved_gdt_blocks > 0 {
                v.push((
                    first + 1 + old,
                    self.reserved_gdt_blocks,
                    "reserved group descriptor blocks",
                ));
            }
            let gi = u64::from(g);
            let meta_index = gi / dpb;
            if meta_index >= u64::from(self.first_meta_bg) {
                let within = gi % dpb;
                let last = (dpb - 1).min(u64::from(self.groups) - 1 - meta_index * dpb);
                if within == 0 {
                    v.push((first + u64::from(has_super), 1, "group descriptors"));
                } else if within == 1 || within == last {
                    v.push((first + u64::from(has_super), 1, "backup group descriptors"));
                }
            }
        }
        v
    }
}

/// One group descriptor.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GroupDesc {
    pub(crate) block_bitmap: u64,
    pub(crate) inode_bitmap: u64,
    pub(crate) inode_table: u64,
    pub(crate) flags: u16,
    pub(crate) itable_unused: u32,
    /// False when the descriptor's bytes were unreadable in every copy.
    pub(crate) known: bool,
}

impl GroupDesc {
    /// Parses one descriptor of `desc_size` bytes.
    pub(crate) fn parse(b: &[u8], desc_size: u32) -> Self {
        let mut d = GroupDesc {
            block_bitmap: u64::from(le32(b, 0x0)),
            inode_bitmap: u64::from(le32(b, 0x4)),
            inode_table: u64::from(le32(b, 0x8)),
            flags: le16(b, 0x12),
            itable_unused: u32::from(le16(b, 0x1C)),
            known: true,
        };
        if desc_size >= 64 {
            d.block_bitmap |= u64::from(le32(b, 0x20)) << 32;
            d.inode_bitmap |= u64::from(le32(b, 0x24)) << 32;
            d.inode_table |= u64::from(le32(b, 0x28)) << 32;
            d.itable_unused |= u32::from(le16(b, 0x32)) << 16;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::ExtSuper;

    fn sb(groups: u32, sparse2: Option<[u32; 2]>) -> ExtSuper {
        let mut b = vec![0u8; 1024];
        b[0x38..0x3A].copy_from_slice(&0xEF53u16.to_le_bytes());
        b[0x18..0x1C].copy_from_slice(&2u32.to_le_bytes());
        b[0x4..0x8].copy_from_slice(&(groups * 32768).to_le_bytes());
        b[0x20..0x24].copy_from_slice(&32768u32.to_le_bytes());
        b[0x28..0x2C].copy_from_slice(&8192u32.to_le_bytes());
        b[0x0..0x4].copy_from_slice(&(groups * 8192).to_le_bytes());
        b[0x4C..0x50].copy_from_slice(&1u32.to_le_bytes());
        b[0x54..0x58].copy_from_slice(&11u32.to_le_bytes());
        b[0x58..0x5A].copy_from_slice(&256u16.to_le_bytes());
        b[0x64..0x68].copy_from_slice(&1u32.to_le_bytes());
        if let Some([a, c]) = sparse2 {
            b[0x5C..0x60].copy_from_slice(&0x200u32.to_le_bytes());
            b[0x24C..0x250].copy_from_slice(&a.to_le_bytes());
            b[0x250..0x254].copy_from_slice(&c.to_le_bytes());
        }
        ExtSuper::parse(&b).expect("a superblock")
    }

    #[test]
    fn backup_groups_follow_sparse_super() {
        let s = sb(200, None);
        let with: Vec<u32> = (0..200).filter(|&g| s.has_super(g)).collect();
        assert_eq!(with, vec![0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125]);
        let s = sb(200, Some([1, 199]));
        let with: Vec<u32> = (0..200).filter(|&g| s.has_super(g)).collect();
        assert_eq!(with, vec![0, 1, 199]);
        assert_eq!(s.desc_block_locations(0), vec![1, 32769, 199 * 32768 + 1]);
    }

    #[test]
    fn refuses_what_is_not_a_superblock() {
        assert!(ExtSuper::parse(&[0u8; 1024]).is_err());
        assert!(ExtSuper::parse(&[0u8; 10]).is_err());
    }
}
