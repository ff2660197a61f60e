//! `SparseWriter`: writes a copied file the way `cp --sparse=always` does: a 4 KiB block that is
//! all zeros is not written but left as a hole, and the file gets its length at the end, so a
//! sparse file (or one whose zeros were never stored) comes out sparse, whatever reader fed it.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The block size at which zeros become holes (a page; what filesystems allocate).
const BLOCK: usize = 4096;

/// A file being written at increasing offsets, leaving all-zero blocks as holes.
pub(crate) struct SparseWriter {
    file: File,
    pos: u64,
    /// The end of the last bytes written.
    written_to: u64,
}

fn all_zero(piece: &[u8]) -> bool {
    // No early exit: the compiler vectorises the fold.
    piece.iter().fold(0u8, |acc, &b| acc | b) == 0
}

impl SparseWriter {
    pub(crate) fn new(file: File) -> Self {
        Self {
            file,
            pos: 0,
            written_to: 0,
        }
    }

    /// Appends `buf`: runs of non-zero blocks are written, zero blocks skipped.
    pub(crate) fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut run_start: Option<usize> = None;
        let mut at = 0;
        while at < buf.len() {
            let end = (at + BLOCK).min(buf.len());
            if all_zero(&buf[at..end]) {
                if let Some(start) = run_start.take() {
                    self.file
                        .write_all_at(&buf[start..at], self.pos + start as u64)?;
                }
            } else if run_start.is_none() {
                run_start = Some(at);
            }
            at = end;
        }
        if let Some(start) = run_start {
            self.file
                .write_all_at(&buf[start..], self.pos + start as u64)?;
            self.written_to = self.pos + buf.len() as u64;
        }
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Gives the file its length (a trailing hole included) and returns it. Not synced: the
    /// copy makes a batch of files durable at once (`syncfs`) before it claims them.
    pub(crate) fn finish(self) -> std::io::Result<File> {
        if self.pos > 0 && self.written_to < self.pos {
            // Only a trailing hole left to place (a file written in full has its length).
            self.file.set_len(self.pos)?;
        }
        Ok(self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn zero_blocks_become_holes_and_the_bytes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = SparseWriter::new(File::create(&path).unwrap());
        let mut data = vec![0u8; 64 << 20];
        data[5] = 1; // first block has data
        data[(32 << 20) + 100] = 2; // one block in the middle
        for chunk in data.chunks(1 << 20) {
            w.write(chunk).unwrap();
        }
        w.finish().unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 64 << 20);
        assert!(
            meta.blocks() * 512 <= 64 * 1024,
            "{} bytes allocated",
            meta.blocks() * 512
        );
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }
}
