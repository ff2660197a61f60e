//! Reflinks: a file, or a range of one, shared with another until written (FICLONE and
//! FICLONERANGE of `<linux/fs.h>`).

use std::fs::File;
use std::os::fd::AsRawFd;

/// `struct file_clone_range` of `<linux/fs.h>`.
#[repr(C)]
struct FileCloneRange {
    src_fd: i64,
    src_offset: u64,
    src_length: u64,
    dest_offset: u64,
}

nix::ioctl_write_int!(ficlone, 0x94, 9);
nix::ioctl_write_ptr!(ficlonerange, 0x94, 13, FileCloneRange);

/// Makes `dest` share all of `source`'s blocks (FICLONE).
pub fn clone_file(source: &File, dest: &File) -> nix::Result<()> {
    // SAFETY: FICLONE takes the source fd as its argument; both fds are open and valid.
    unsafe { ficlone(dest.as_raw_fd(), source.as_raw_fd() as u64) }.map(drop)
}

/// Makes the start of `dest` share `size` bytes of `source` from `offset` (FICLONERANGE).
pub fn clone_range(source: &File, dest: &File, offset: u64, size: u64) -> nix::Result<()> {
    let range = FileCloneRange {
        src_fd: i64::from(source.as_raw_fd()),
        src_offset: offset,
        src_length: size,
        dest_offset: 0,
    };
    // SAFETY: `range` is a fully initialised `struct file_clone_range` outliving the call; both
    // fds are open, the source for reading and the destination for writing.
    unsafe { ficlonerange(dest.as_raw_fd(), &range) }.map(drop)
}
