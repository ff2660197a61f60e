//! [`copy_file_range`]: copies bytes between two files inside the kernel (as `cp` does), so
//! they never pass through user space.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Copies up to `len` bytes from `from` at `from_offset` to `to` at `to_offset`; returns how
/// many were copied (0 at the end of `from`). The files' own offsets are not moved. Errors are
/// the kernel's (`EXDEV`, `EINVAL`, `ENOSYS`, `EOPNOTSUPP` when the kernel cannot copy these
/// files; `EIO` for a bad sector; `EINTR`).
pub fn copy_file_range(
    from: &File,
    from_offset: u64,
    to: &File,
    to_offset: u64,
    len: usize,
) -> io::Result<usize> {
    let too_far = || io::Error::from_raw_os_error(libc::EINVAL);
    let mut off_in = libc::loff_t::try_from(from_offset).map_err(|_| too_far())?;
    let mut off_out = libc::loff_t::try_from(to_offset).map_err(|_| too_far())?;
    // SAFETY: both descriptors are open for the call; the offsets are plain integers the
    // kernel updates.
    let n = unsafe {
        libc::copy_file_range(
            from.as_raw_fd(),
            &mut off_in,
            to.as_raw_fd(),
            &mut off_out,
            len,
            0,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::copy_file_range;
    use std::io::{Read, Seek, Write};

    #[test]
    fn copies_a_range_between_offsets() {
        let mut from = tempfile::tempfile().unwrap();
        from.write_all(b"0123456789").unwrap();
        let mut to = tempfile::tempfile().unwrap();
        to.write_all(b"..........").unwrap();
        let mut copied = 0;
        while copied < 4 {
            copied += copy_file_range(&from, 2 + copied as u64, &to, 5 + copied as u64, 4 - copied)
                .unwrap();
        }
        let mut text = String::new();
        to.rewind().unwrap();
        to.read_to_string(&mut text).unwrap();
        assert_eq!(text, ".....2345.");
        assert_eq!(
            copy_file_range(&from, 10, &to, 0, 4).unwrap(),
            0,
            "end of file"
        );
    }
}
