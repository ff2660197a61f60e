//! `ExtVolume`: one ext filesystem inside the image (its byte offset, superblock and the
//! image's unreadable ranges), with block reads and the question "is any byte of these blocks
//! unreadable?".

use super::ext_layout::ExtSuper;
use super::image_reader::ImageReader;
use super::unreadable::Unreadable;
use crate::error::FsError;

/// An ext filesystem at `offset` bytes into the image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExtVolume<'a> {
    pub(crate) reader: &'a ImageReader,
    pub(crate) offset: u64,
    pub(crate) sb: &'a ExtSuper,
    pub(crate) bad: &'a Unreadable,
}

impl ExtVolume<'_> {
    /// The image byte range of `count` blocks from `block`.
    pub(crate) fn bytes_of(&self, block: u64, count: u64) -> (u64, u64) {
        let bs = self.sb.block_size;
        let start = self.offset.saturating_add(block.saturating_mul(bs));
        (start, start.saturating_add(count.saturating_mul(bs)))
    }

    /// Whether any byte of `count` blocks from `block` is unreadable.
    pub(crate) fn unreadable(&self, block: u64, count: u64) -> bool {
        let (s, e) = self.bytes_of(block, count);
        self.bad.overlaps(s, e)
    }

    /// Whether `count` blocks from `block` lie inside the filesystem.
    pub(crate) fn in_bounds(&self, block: u64, count: u64) -> bool {
        block
            .checked_add(count)
            .is_some_and(|end| end <= self.sb.blocks_count)
    }

    /// Reads one block.
    pub(crate) fn read_block(&self, block: u64) -> Result<Vec<u8>, FsError> {
        let (s, e) = self.bytes_of(block, 1);
        self.reader.read(s, (e - s) as usize)
    }
}
