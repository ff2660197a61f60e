//! [`seek_data`] and [`seek_hole`]: where a sparse file's data and holes are (`lseek` with
//! `SEEK_DATA` / `SEEK_HOLE`), so a copy reads only the data.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// The first byte of data at or after `from`; `ENXIO` when only a hole is left.
pub fn seek_data(file: &File, from: u64) -> io::Result<u64> {
    seek(file, from, libc::SEEK_DATA)
}

/// The first byte of a hole at or after `from` (the end of the file counts as a hole).
pub fn seek_hole(file: &File, from: u64) -> io::Result<u64> {
    seek(file, from, libc::SEEK_HOLE)
}

/// The data area `[start, end)` at or after `from` in a file of `size` bytes; `None` when only
/// a hole is left; everything from `from` on when the filesystem cannot say.
pub fn data_area(file: &File, from: u64, size: u64) -> Option<(u64, u64)> {
    if from >= size {
        return None;
    }
    match seek_data(file, from) {
        Ok(start) if start >= size => None,
        Ok(start) => {
            let end = seek_hole(file, start).unwrap_or(size);
            Some((start, end.clamp(start + 1, size)))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => None,
        Err(_) => Some((from, size)),
    }
}

fn seek(file: &File, from: u64, whence: libc::c_int) -> io::Result<u64> {
    let from =
        libc::off_t::try_from(from).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: lseek on an open descriptor; it touches no memory of ours.
    let r = unsafe { libc::lseek(file.as_raw_fd(), from, whence) };
    u64::try_from(r).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::{seek_data, seek_hole};
    use std::io::Write;

    #[test]
    fn finds_data_and_the_end_as_a_hole() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[7u8; 4096]).unwrap();
        assert_eq!(seek_data(&f, 0).unwrap(), 0);
        assert_eq!(seek_hole(&f, 0).unwrap(), 4096);
        let past = seek_data(&f, 4096).unwrap_err();
        assert_eq!(past.raw_os_error(), Some(libc::ENXIO));
    }

    #[test]
    fn data_areas_skip_a_hole() {
        let f = tempfile::tempfile().unwrap();
        let size = 64 << 20;
        f.set_len(size).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &[1u8; 4096], 32 << 20).unwrap();
        let (start, end) = super::data_area(&f, 0, size).expect("data");
        assert!(start <= 32 << 20 && end >= (32 << 20) + 4096 && end - start < 16 << 20);
        assert_eq!(super::data_area(&f, end, size), None);
    }
}
