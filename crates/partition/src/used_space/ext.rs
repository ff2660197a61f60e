//! ext2/3/4: the superblock, the group descriptors and each group's block bitmap say which
//! blocks are in use. Metadata: the superblock and descriptor copies (with the reserved
//! descriptor blocks), the bitmaps and the inode tables. A group whose bitmap was never
//! initialised (`BLOCK_UNINIT`) uses only its metadata, as the kernel reads it. A bitmap that
//! cannot be read makes its whole group count as used.

use crate::bytes::{le16_u64 as u16_at, le32_u64 as u32_at};

use super::UsedSpace;
use super::recorder::{Known, Recorder};

const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const BG_BLOCK_UNINIT: u16 = 0x2;

/// Whether group `g` holds a superblock copy (with sparse_super: 0, 1 and powers of 3, 5, 7).
fn has_super(g: u64, sparse: bool) -> bool {
    if !sparse || g <= 1 {
        return true;
    }
    [3u64, 5, 7].iter().any(|&base| {
        let mut p = base;
        while p < g {
            p = p.saturating_mul(base);
        }
        p == g
    })
}

/// Adds the used blocks of the ext filesystem at `offset`; the note, or why it cannot be read.
pub(super) fn used(
    rec: &Recorder,
    offset: u64,
    size: u64,
    out: &mut UsedSpace,
) -> Result<String, String> {
    let sb = rec
        .read_whole(offset + 1024, 1024)
        .ok_or("its superblock could not be read")?;
    if u16_at(&sb, 0x38) != 0xEF53 {
        return Err("no ext superblock magic".into());
    }
    let log = u32_at(&sb, 0x18);
    if log > 6 {
        return Err(format!("implausible block size 2^(10+{log})"));
    }
    let bs = 1024u64 << log;
    let incompat = u32_at(&sb, 0x60) as u32;
    let ro_compat = u32_at(&sb, 0x64) as u32;
    let is64 = incompat & INCOMPAT_64BIT != 0;
    let blocks = u32_at(&sb, 0x04) | if is64 { u32_at(&sb, 0x150) << 32 } else { 0 };
    let first = u32_at(&sb, 0x14);
    let per_group = u32_at(&sb, 0x20);
    let inodes_per_group = u32_at(&sb, 0x28);
    let inode_size = if u32_at(&sb, 0x4C) == 0 {
        128
    } else {
        u16_at(&sb, 0x58)
    };
    let desc_size = if is64 { u16_at(&sb, 0xFE).max(32) } else { 32 };
    let reserved_gdt = u16_at(&sb, 0xCE);
    if per_group == 0 || per_group > 8 * bs || blocks == 0 || first >= blocks {
        return Err("implausible superblock geometry".into());
    }
    if incompat & INCOMPAT_META_BG != 0 {
        return Err("meta_bg descriptor layout is not read".into());
    }
    let fs_bytes = blocks.saturating_mul(bs);
    if fs_bytes > size {
        return Err(format!(
            "the superblock says {fs_bytes} bytes, more than the {size} bytes of the area"
        ));
    }
    let groups = (blocks - first).div_ceil(per_group);
    let sparse = ro_compat & RO_COMPAT_SPARSE_SUPER != 0;
    let gdt_blocks = (groups * desc_size).div_ceil(bs);
    let byte = |block: u64| offset + block * bs;
    let gdt = rec
        .read_whole(
            byte(first + 1),
            usize::try_from(gdt_blocks * bs).unwrap_or(0),
        )
        .ok_or("its group descriptors could not be read")?;
    // The superblock and descriptor copies, and group 0's boot block.
    out.metadata.add(
        offset,
        byte(first + 1) - offset + (gdt_blocks + reserved_gdt) * bs,
    );
    let mut used_blocks = 0u64;
    let mut unread_groups = 0u64;
    let mut bitmaps = Vec::with_capacity(usize::try_from(groups).unwrap_or(0));
    for g in 0..groups {
        let d = &gdt[usize::try_from(g * desc_size).unwrap_or(usize::MAX)..];
        let hi = |at: usize| if is64 { u32_at(d, at) << 32 } else { 0 };
        let block_bitmap = u32_at(d, 0x0) | hi(0x20);
        let inode_bitmap = u32_at(d, 0x4) | hi(0x24);
        let inode_table = u32_at(d, 0x8) | hi(0x28);
        let flags = u16_at(d, 0x12) as u16;
        let group_start = first + g * per_group;
        if g > 0 && has_super(g, sparse) {
            out.metadata
                .add(byte(group_start), (1 + gdt_blocks + reserved_gdt) * bs);
        }
        for b in [block_bitmap, inode_bitmap] {
            if b < blocks {
                out.metadata.add(byte(b), bs);
            }
        }
        let table_bytes = inodes_per_group * inode_size;
        if inode_table < blocks {
            out.metadata.add(
                byte(inode_table),
                table_bytes.min(fs_bytes - inode_table * bs),
            );
        }
        bitmaps.push((g, group_start, block_bitmap, flags));
    }
    for (g, group_start, block_bitmap, flags) in bitmaps {
        let in_group = per_group.min(blocks - group_start);
        if flags & BG_BLOCK_UNINIT != 0 {
            continue;
        }
        let bitmap = if block_bitmap < blocks {
            rec.read_whole(byte(block_bitmap), usize::try_from(bs).unwrap_or(0))
        } else {
            None
        };
        let Some(bitmap) = bitmap else {
            if rec.state(byte(block_bitmap.min(blocks - 1)), bs) != Known::NotYet {
                unread_groups += 1;
            }
            out.used.add(byte(group_start), in_group * bs);
            used_blocks += in_group;
            continue;
        };
        let _ = g;
        let mut run: Option<u64> = None;
        for i in 0..=in_group {
            let set = i < in_group && bitmap[(i / 8) as usize] & (1 << (i % 8)) != 0;
            match (set, run) {
                (true, None) => run = Some(i),
                (false, Some(s)) => {
                    out.used.add(byte(group_start + s), (i - s) * bs);
                    used_blocks += i - s;
                    run = None;
                }
                _ => {}
            }
        }
    }
    // Past the filesystem's end, the partition holds nothing the filesystem uses.
    let kind = if unread_groups > 0 {
        format!(", {unread_groups} unreadable bitmaps (their groups count as used)")
    } else {
        String::new()
    };
    Ok(format!(
        "ext, {groups} groups of {} bytes, {} bytes in use{kind}",
        per_group * bs,
        used_blocks * bs
    ))
}
