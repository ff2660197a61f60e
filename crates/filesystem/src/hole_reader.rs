//! `HoleReader`: reads a file of a mounted tree without reading its holes: `SEEK_DATA` and
//! `SEEK_HOLE` tell where the data is, and a hole is handed out as zeros without touching the
//! disk (what `cp` does), so a 2 GiB sparse file costs the reads of its data only.

use salvage_sys::seek_data::{seek_data, seek_hole};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

/// A file read at increasing offsets, holes answered with zeros.
pub(crate) struct HoleReader {
    file: File,
    pos: u64,
    size: u64,
    /// The data area `[start, end)` at or after `pos`, when known.
    data: Option<(u64, u64)>,
    /// `SEEK_DATA` is not supported here: read everything.
    dense: bool,
}

impl HoleReader {
    pub(crate) fn new(file: File, size: u64) -> Self {
        Self {
            file,
            pos: 0,
            size,
            data: None,
            dense: false,
        }
    }

    /// The data area at or after `pos`: `(size, size)` when only a hole is left.
    fn next_data(&mut self) -> (u64, u64) {
        if let Some((start, end)) = self.data
            && end > self.pos
        {
            return (start, end);
        }
        let area = match seek_data(&self.file, self.pos) {
            Ok(start) => {
                let end = seek_hole(&self.file, start).unwrap_or(self.size);
                (start, end.max(start + 1))
            }
            Err(e) => {
                if e.raw_os_error() == Some(libc::ENXIO) {
                    (self.size, self.size)
                } else {
                    self.dense = true;
                    (self.pos, self.size)
                }
            }
        };
        self.data = Some(area);
        area
    }
}

impl Read for HoleReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.dense {
            let n = self.file.read_at(buf, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        if self.pos >= self.size {
            // Past the size seen at open: whatever is still there (a file that grew).
            let n = self.file.read_at(buf, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        let (start, end) = self.next_data();
        let n = if self.pos < start {
            let n = usize::try_from(start.min(self.size) - self.pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            buf[..n].fill(0);
            n
        } else {
            let want = usize::try_from(end - self.pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            self.file.read_at(&mut buf[..want], self.pos)?
        };
        self.pos += n as u64;
        Ok(n)
    }
}
