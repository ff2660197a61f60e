//! `LoopDevice`: a loop device attached to a range of an image through the kernel's loop
//! ioctls (LOOP_CTL_GET_FREE, then LOOP_CONFIGURE, or LOOP_SET_FD + LOOP_SET_STATUS64 on kernels
//! without it), read-only by default and always with LO_FLAGS_AUTOCLEAR, so the kernel detaches
//! it when the last user (this process, a checker, a mount) lets go of it, even after kill -9.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::attachment::Attachment;
use super::error::{FsError, FsErrorKind};
use super::loop_node::open_loop_node;
use salvage_sys::loop_ioctl::{
    self as ioctls, LO_FLAGS_AUTOCLEAR, LO_FLAGS_READ_ONLY, LO_KEY_SIZE, LO_NAME_SIZE, LoopConfig,
    LoopInfo64,
};

/// How many times a free device is asked for when another process takes it first.
const ATTACH_ATTEMPTS: usize = 32;

/// A loop device this process attached. Dropping it closes this process's handle; thanks to
/// autoclear the kernel then detaches the device as soon as nothing else (a mount, a checker)
/// holds it. [`LoopDevice::detach`] detaches explicitly.
#[derive(Debug)]
pub struct LoopDevice {
    device: PathBuf,
    fd: OwnedFd,
    backing: PathBuf,
    offset: u64,
    size_limit: u64,
    read_only: bool,
}

impl LoopDevice {
    /// Attaches a free loop device to `backing` from byte `offset` for `size_limit` bytes
    /// (0: to the end), read-only unless `read_only` is false. Never scans for partitions.
    pub fn attach(
        backing: &Path,
        offset: u64,
        size_limit: u64,
        read_only: bool,
    ) -> Result<Self, FsError> {
        let backing = std::fs::canonicalize(backing).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: backing.to_path_buf(),
                },
                e,
            )
        })?;
        let backing_file = salvage_sys::open_source::open_source_with(&backing, !read_only, 0)
            .map_err(|e| {
                FsError::io(
                    FsErrorKind::Open {
                        path: backing.clone(),
                    },
                    e,
                )
            })?;
        let control = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open("/dev/loop-control")
            .map_err(|e| {
                FsError::io(
                    FsErrorKind::Open {
                        path: "/dev/loop-control".into(),
                    },
                    e,
                )
            })?;

        let mut info = loop_info(&backing, offset, size_limit);
        info.lo_flags = LO_FLAGS_AUTOCLEAR | if read_only { LO_FLAGS_READ_ONLY } else { 0 };
        for _ in 0..ATTACH_ATTEMPTS {
            // SAFETY: LOOP_CTL_GET_FREE takes no argument; the fd is an open /dev/loop-control.
            let number = unsafe { ioctls::loop_ctl_get_free(control.as_raw_fd()) }
                .map_err(|e| FsError::io(FsErrorKind::LoopFree, e))?;
            let device = PathBuf::from(format!("/dev/loop{number}"));
            let loop_file = open_loop_node(&device)?;
            match configure(&loop_file, &backing_file, &info) {
                Ok(()) => {
                    return Ok(Self {
                        device,
                        fd: loop_file.into(),
                        backing,
                        offset,
                        size_limit,
                        read_only,
                    });
                }
                // Another process configured this device between GET_FREE and our ioctl.
                Err(Errno::EBUSY) => continue,
                Err(e) => return Err(FsError::io(FsErrorKind::LoopConfigure { device }, e)),
            }
        }
        Err(FsError::new(FsErrorKind::LoopBusy))
    }

    /// The device node, e.g. `/dev/loop3`.
    pub fn path(&self) -> &Path {
        &self.device
    }

    /// The canonical path of the backing file, as the kernel reports it in sysfs.
    pub fn backing(&self) -> &Path {
        &self.backing
    }

    /// Whether the device was attached read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// What to journal so that a later run (or `salvage cleanup`) can undo this attachment.
    pub fn attachment(&self) -> Attachment {
        Attachment::Loop {
            device: self.device.clone(),
            backing: self.backing.clone(),
            offset: self.offset,
            size_limit: self.size_limit,
        }
    }

    /// Detaches the device now (LOOP_CLR_FD). If something still holds it (a mount), the kernel
    /// detaches it when that lets go.
    pub fn detach(self) -> Result<(), FsError> {
        // SAFETY: LOOP_CLR_FD takes no argument; the fd is our open loop device node.
        match unsafe { ioctls::loop_clr_fd(self.fd.as_raw_fd()) } {
            Ok(_) | Err(Errno::ENXIO) => Ok(()),
            Err(e) => Err(FsError::io(
                FsErrorKind::LoopDetach {
                    device: self.device.clone(),
                },
                e,
            )),
        }
    }
}

fn loop_info(backing: &Path, offset: u64, size_limit: u64) -> LoopInfo64 {
    let mut info = LoopInfo64 {
        lo_device: 0,
        lo_inode: 0,
        lo_rdevice: 0,
        lo_offset: offset,
        lo_sizelimit: size_limit,
        lo_number: 0,
        lo_encrypt_type: 0,
        lo_encrypt_key_size: 0,
        lo_flags: 0,
        lo_file_name: [0; LO_NAME_SIZE],
        lo_crypt_name: [0; LO_NAME_SIZE],
        lo_encrypt_key: [0; LO_KEY_SIZE],
        lo_init: [0; 2],
    };
    let name = backing.as_os_str().as_encoded_bytes();
    let len = name.len().min(LO_NAME_SIZE - 1);
    info.lo_file_name[..len].copy_from_slice(&name[..len]);
    info
}

/// LOOP_CONFIGURE, or on kernels older than 5.8 LOOP_SET_FD then LOOP_SET_STATUS64.
fn configure(loop_file: &File, backing: &File, info: &LoopInfo64) -> Result<(), Errno> {
    let Ok(backing_fd) = u32::try_from(backing.as_raw_fd()) else {
        return Err(Errno::EBADF);
    };
    let config = LoopConfig {
        fd: backing_fd,
        block_size: 0,
        info: *info,
        reserved: [0; 8],
    };
    // SAFETY: `config` is a fully initialised `struct loop_config` that outlives the call; the
    // fd is our open loop device node.
    match unsafe { ioctls::loop_configure(loop_file.as_raw_fd(), &config) } {
        Ok(_) => Ok(()),
        Err(Errno::EINVAL | Errno::ENOTTY) => {
            // SAFETY: LOOP_SET_FD takes the backing fd as its integer argument.
            unsafe { ioctls::loop_set_fd(loop_file.as_raw_fd(), backing.as_raw_fd()) }?;
            // SAFETY: `info` is a fully initialised `struct loop_info64` outliving the call.
            if let Err(e) = unsafe { ioctls::loop_set_status64(loop_file.as_raw_fd(), info) } {
                // SAFETY: LOOP_CLR_FD takes no argument; undoes our own LOOP_SET_FD.
                let _ = unsafe { ioctls::loop_clr_fd(loop_file.as_raw_fd()) };
                return Err(e);
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}
