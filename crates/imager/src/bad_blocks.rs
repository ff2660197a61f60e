//! The bad-block list for `e2fsck -l` / `badblocks`: one block number per line, for every
//! block of `block_size` bytes that holds a byte not rescued (like `ddrescuelog -l-`, plus any
//! area left untried by an interrupted run: its bytes are not in the image either).

use std::fmt::Write as _;
use std::path::Path;

use super::error::{ImageError, ImageErrorKind};
use super::map_saver::write_atomically;
use super::mapfile::{BlockStatus, Mapfile};

/// The list's text: block numbers counted from byte `offset` (the filesystem's start in the
/// image, 0 for an image of the filesystem itself), ascending, one per line.
pub fn bad_blocks_text(map: &Mapfile, block_size: u64, offset: u64) -> String {
    let block_size = block_size.max(1);
    let mut out = String::new();
    let mut last: Option<u64> = None;
    for b in map.blocks() {
        if b.status == BlockStatus::Finished || b.end() <= offset {
            continue;
        }
        let first = (b.pos.max(offset) - offset) / block_size;
        let end = (b.end() - offset - 1) / block_size;
        for n in first..=end {
            if last.is_none_or(|l| n > l) {
                let _ = writeln!(out, "{n}");
                last = Some(n);
            }
        }
    }
    out
}

/// Writes the list atomically to `path`; returns the number of blocks listed.
pub fn write_bad_blocks(
    map: &Mapfile,
    block_size: u64,
    offset: u64,
    path: &Path,
) -> Result<usize, ImageError> {
    let text = bad_blocks_text(map, block_size, offset);
    write_atomically(path, text.as_bytes())
        .map_err(|e| ImageError::io(ImageErrorKind::WriteBadBlocks(path.to_path_buf()), e))?;
    Ok(text.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_blocks_touching_unrescued_bytes() {
        let text = "0 + 1\n0 4096 +\n4096 512 -\n4608 8192 +\n12800 512 -\n13312 3072 +\n";
        let m = Mapfile::parse(text, Path::new("m")).expect("parses");
        assert_eq!(bad_blocks_text(&m, 4096, 0), "1\n3\n");
        assert_eq!(bad_blocks_text(&m, 1024, 0), "4\n12\n");
        assert_eq!(bad_blocks_text(&m, 4096, 4096), "0\n2\n");
    }
}
