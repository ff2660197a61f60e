//! `walk_blocks`: every block an ext inode maps, through its extent tree or its indirect
//! blocks, handed to a [`BlockSink`] as runs of data blocks and as the tree blocks that map
//! them, each with the logical range it covers. A tree block that is unreadable (or does not
//! parse) is reported and not entered: the range it covers is what is lost with it.

use super::le_bytes::{le16, le32};

use super::ext_inode::ExtInode;
use super::ext_volume::ExtVolume;
use crate::error::FsError;

/// The logical block numbers an ext file can have (32-bit).
const LOGICAL_END: u64 = 1 << 32;
/// Extent tree depth limit (the kernel's is 5).
const MAX_DEPTH: u16 = 5;

/// What a walk reports.
pub(crate) trait BlockSink {
    /// `len` data blocks from logical block `logical` at physical block `physical`.
    fn data(&mut self, logical: u64, physical: u64, len: u64, unwritten: bool);
    /// A tree block (extent index or leaf, indirect block) mapping logical `[first, end)`.
    fn tree(&mut self, physical: u64, first: u64, end: u64, what: &'static str);
    /// A readable tree block that does not parse, or a pointer outside the filesystem: the
    /// logical range `[first, end)` cannot be mapped.
    fn broken(&mut self, first: u64, end: u64, why: String);
}

/// Joins consecutive data blocks into runs before they reach the sink.
struct Runs<'s, S: BlockSink> {
    sink: &'s mut S,
    run: Option<(u64, u64, u64)>,
}

impl<S: BlockSink> Runs<'_, S> {
    fn push(&mut self, logical: u64, physical: u64) {
        if let Some((l, p, n)) = &mut self.run {
            if *l + *n == logical && *p + *n == physical {
                *n += 1;
                return;
            }
        }
        self.flush();
        self.run = Some((logical, physical, 1));
    }

    fn flush(&mut self) {
        if let Some((l, p, n)) = self.run.take() {
            self.sink.data(l, p, n, false);
        }
    }
}

/// Walks every block `inode` maps.
pub(crate) fn walk_blocks<S: BlockSink>(
    vol: &ExtVolume<'_>,
    inode: &ExtInode,
    sink: &mut S,
) -> Result<(), FsError> {
    if inode.uses_extents() {
        extent_node(vol, &inode.block, 0, LOGICAL_END, None, sink)
    } else {
        let mut runs = Runs { sink, run: None };
        for i in 0..12u64 {
            let b = u64::from(le32(&inode.block, i as usize * 4));
            if b != 0 {
                runs.push(i, b);
            }
        }
        let apb = vol.sb.block_size / 4;
        let mut first = 12u64;
        for level in 1..=3u32 {
            let b = u64::from(le32(&inode.block, (11 + level as usize) * 4));
            let span = apb.pow(level);
            if b != 0 {
                indirect(vol, b, level, first, &mut runs)?;
            }
            first += span;
        }
        runs.flush();
        Ok(())
    }
}

fn indirect<S: BlockSink>(
    vol: &ExtVolume<'_>,
    block: u64,
    level: u32,
    first: u64,
    runs: &mut Runs<'_, S>,
) -> Result<(), FsError> {
    let apb = vol.sb.block_size / 4;
    let span = apb.pow(level - 1);
    let end = (first + apb * span).min(LOGICAL_END);
    let what = match level {
        1 => "indirect block",
        2 => "double indirect block",
        _ => "triple indirect block",
    };
    runs.flush();
    if !vol.in_bounds(block, 1) {
        runs.sink.broken(
            first,
            end,
            format!("{what} pointer {block} is outside the filesystem"),
        );
        return Ok(());
    }
    runs.sink.tree(block, first, end, what);
    if vol.unreadable(block, 1) {
        return Ok(());
    }
    let data = vol.read_block(block)?;
    for i in 0..apb {
        let b = u64::from(le32(&data, i as usize * 4));
        let l = first + i * span;
        if b == 0 || l >= LOGICAL_END {
            continue;
        }
        if level == 1 {
            runs.push(l, b);
        } else {
            indirect(vol, b, level - 1, l, runs)?;
        }
    }
    Ok(())
}

/// One node of an extent tree (`i_block` or a tree block), covering logical `[first, end)`.
fn extent_node<S: BlockSink>(
    vol: &ExtVolume<'_>,
    node: &[u8],
    first: u64,
    end: u64,
    want_depth: Option<u16>,
    sink: &mut S,
) -> Result<(), FsError> {
    if node.len() < 12 || le16(node, 0) != 0xF30A {
        sink.broken(first, end, "an extent tree node without its magic".into());
        return Ok(());
    }
    let entries = usize::from(le16(node, 2));
    let depth = le16(node, 6);
    if depth > MAX_DEPTH || want_depth.is_some_and(|d| d != depth) || 12 + entries * 12 > node.len()
    {
        sink.broken(
            first,
            end,
            format!("an extent tree node of depth {depth} with {entries} entries"),
        );
        return Ok(());
    }
    for i in 0..entries {
        let e = &node[12 + i * 12..24 + i * 12];
        let lblock = u64::from(le32(e, 0));
        if depth == 0 {
            let raw = u64::from(le16(e, 4));
            let (len, unwritten) = if raw > 32768 {
                (raw - 32768, true)
            } else {
                (raw, false)
            };
            let start = u64::from(le32(e, 8)) | (u64::from(le16(e, 6)) << 32);
            if len == 0 {
                continue;
            }
            if !vol.in_bounds(start, len) {
                sink.broken(
                    lblock,
                    lblock + len,
                    format!("an extent at block {start} outside the filesystem"),
                );
                continue;
            }
            sink.data(lblock, start, len, unwritten);
        } else {
            let child = u64::from(le32(e, 4)) | (u64::from(le16(e, 8)) << 32);
            let child_end = if i + 1 < entries {
                u64::from(le32(&node[24 + i * 12..], 0)).max(lblock)
            } else {
                end
            };
            if !vol.in_bounds(child, 1) {
                sink.broken(
                    lblock,
                    child_end,
                    format!("an extent index pointing at block {child}, outside the filesystem"),
                );
                continue;
            }
            sink.tree(child, lblock, child_end, "extent tree block");
            if vol.unreadable(child, 1) {
                continue;
            }
            let data = vol.read_block(child)?;
            extent_node(vol, &data, lblock, child_end, Some(depth - 1), sink)?;
        }
    }
    Ok(())
}
