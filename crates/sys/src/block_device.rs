//! A block device's size and logical sector size (BLKGETSIZE64, BLKSSZGET of `<linux/fs.h>`).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

nix::ioctl_read_bad!(blk_ssz_get, 0x1268, libc::c_int);
nix::ioctl_read!(blk_get_size64, 0x12, 114, u64);

/// The device's size in bytes (BLKGETSIZE64).
pub fn size_bytes(file: &File) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer, which is valid for writes.
    unsafe { blk_get_size64(file.as_raw_fd(), &mut size) }?;
    Ok(size)
}

/// The device's logical sector size in bytes (BLKSSZGET), as the kernel reports it.
pub fn logical_sector_size(file: &File) -> io::Result<u32> {
    let mut value: libc::c_int = 0;
    // SAFETY: BLKSSZGET writes one int through the pointer, which is valid for writes.
    unsafe { blk_ssz_get(file.as_raw_fd(), &mut value) }?;
    u32::try_from(value).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}
