//! `ByteSource`: the read-only bytes a table is read from (an image file, a block device, a
//! buffer), and `Disk`, an image or device opened read-only.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::path::Path;

/// Bytes that can be read at an offset. Reads past the end return fewer bytes (0 at the end).
pub trait ByteSource {
    /// The size in bytes.
    fn size_bytes(&self) -> u64;
    /// Reads into `buf` at `offset`; returns how many bytes were read (short at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The logical sector size the device reports (block devices only).
    fn logical_sector_size(&self) -> Option<u32> {
        None
    }
    /// The next area at or after `from` that may hold data, `[start, end)`; `None` when only a
    /// hole is left. A source that cannot tell (a buffer, a block device) answers everything
    /// from `from` on.
    fn data_area(&self, from: u64) -> Option<(u64, u64)> {
        let size = self.size_bytes();
        (from < size).then_some((from, size))
    }
}

impl ByteSource for [u8] {
    fn size_bytes(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl ByteSource for Vec<u8> {
    fn size_bytes(&self) -> u64 {
        self.as_slice().size_bytes()
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.as_slice().read_at(buf, offset)
    }
}

/// An image file or block device opened read-only (`O_RDONLY`; it is never written).
#[derive(Debug)]
pub struct Disk {
    file: File,
    size: u64,
    sector_size: Option<u32>,
}

impl Disk {
    /// Opens `path` read-only and finds its size (and, for a block device, its logical sector
    /// size).
    pub fn open(path: &Path) -> io::Result<Disk> {
        let file = salvage_sys::open_source::open_source(path)?;
        let meta = file.metadata()?;
        let (size, sector_size) = if meta.file_type().is_block_device() {
            use std::io::Seek;
            let size = (&file).seek(io::SeekFrom::End(0))?;
            (size, block_sector_size(&file))
        } else {
            (meta.len(), None)
        };
        Ok(Disk {
            file,
            size,
            sector_size,
        })
    }
}

fn block_sector_size(file: &File) -> Option<u32> {
    salvage_sys::block_device::logical_sector_size(file)
        .ok()
        .filter(|v| v.is_power_of_two() && (512..=65536).contains(v))
}

impl ByteSource for Disk {
    fn size_bytes(&self) -> u64 {
        self.size
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        ByteSource::read_at(&self.file, buf, offset)
    }
    fn logical_sector_size(&self) -> Option<u32> {
        self.sector_size
    }
    fn data_area(&self, from: u64) -> Option<(u64, u64)> {
        if self.sector_size.is_some() {
            // A block device: no holes to find.
            return (from < self.size).then_some((from, self.size));
        }
        salvage_sys::seek_data::data_area(&self.file, from, self.size)
    }
}

impl ByteSource for File {
    fn size_bytes(&self) -> u64 {
        self.metadata().map_or(0, |m| m.len())
    }
    fn data_area(&self, from: u64) -> Option<(u64, u64)> {
        salvage_sys::seek_data::data_area(self, from, self.size_bytes())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match FileExt::read_at(self, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// Reads `len` bytes at `offset`; bytes past the end of the source read as zero.
pub(crate) fn read_zero_padded<S: ByteSource + ?Sized>(
    src: &S,
    offset: u64,
    len: usize,
) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    if offset < src.size_bytes() {
        src.read_at(&mut buf, offset)?;
    }
    Ok(buf)
}
