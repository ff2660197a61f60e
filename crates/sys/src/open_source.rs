//! `open_source`: opens what salvage reads a disk from (an image file or a block device)
//! without ever blocking in `open(2)`: the path is opened `O_NONBLOCK`, its type is read from
//! the open descriptor, and anything else (a FIFO, a socket, a terminal or other character
//! device, a directory) is refused with [`NotADisk`] before anything waits on it.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a path is no disk: what it is instead. Carried inside an `io::Error`
/// (`ErrorKind::InvalidInput`), so every op's "cannot open PATH: ..." message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotADisk {
    /// What the path is: "a FIFO (named pipe)", "a socket", "a character device", ...
    pub what: &'static str,
}

impl fmt::Display for NotADisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "it is {}, not an image file or a block device; salvage reads disks only from \
             those (save a stream to a file first, or give the disk's /dev node)",
            self.what
        )
    }
}

impl std::error::Error for NotADisk {}

/// Opens `path` read-only as a rescue source (see the module doc). Never blocks on a FIFO.
pub fn open_source(path: &Path) -> io::Result<File> {
    open_source_with(path, false, 0)
}

/// Opens `path` as a source, read-write when `write` (an in-place repair), with extra
/// `open(2)` flags (`O_DIRECT`, `O_CLOEXEC`, ...). Refuses what is no image file or block
/// device; the returned descriptor is blocking again.
pub fn open_source_with(path: &Path, write: bool, flags: i32) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(flags | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() || kind.is_block_device() {
        None
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_dir() {
        Some("a directory")
    } else {
        Some("neither a file nor a device")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            NotADisk { what },
        ));
    }
    // Reads of a file or a block device never return EAGAIN, but keep the flags exact.
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor this function owns; no memory is passed.
    unsafe {
        let current = libc::fcntl(fd, libc::F_GETFL);
        if current < 0 || libc::fcntl(fd, libc::F_SETFL, current & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// Whether `error` is [`open_source`]'s refusal of a path that is no disk.
pub fn is_not_a_disk(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<NotADisk>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // No writer: a blocking open would never return and this test would hang.
        let err = open_source(&fifo).unwrap_err();
        assert!(is_not_a_disk(&err), "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_directory_and_a_char_device_are_refused_a_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_source(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        let err = open_source(Path::new("/dev/null")).unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let file = dir.path().join("img");
        std::fs::write(&file, b"x").unwrap();
        let f = open_source(&file).unwrap();
        // SAFETY: F_GETFL on an open descriptor.
        let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "O_NONBLOCK must be cleared");
    }
}
