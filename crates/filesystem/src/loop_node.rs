//! Loop device nodes by path: opening one, what sysfs says backs it, and detaching it. What an
//! undo needs for a device attached by an earlier process, without a [`LoopDevice`] handle.
//!
//! [`LoopDevice`]: super::LoopDevice

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::error::{FsError, FsErrorKind};
use salvage_sys::loop_ioctl as ioctls;

/// Opens a loop device node, read-write when allowed (as losetup does), else read-only.
pub(crate) fn open_loop_node(device: &Path) -> Result<File, FsError> {
    let open = |write| {
        OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_CLOEXEC)
            .open(device)
    };
    open(true).or_else(|_| open(false)).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: device.to_path_buf(),
            },
            e,
        )
    })
}

/// What sysfs says a loop device is attached to: (backing file, offset), or `None` when the
/// device is not attached (or does not exist).
pub(crate) fn loop_backing(device: &Path) -> Option<(PathBuf, u64)> {
    let name = device.file_name()?.to_str()?;
    let dir = Path::new("/sys/block").join(name).join("loop");
    let backing = std::fs::read(dir.join("backing_file")).ok()?;
    let mut backing = backing.strip_suffix(b"\n").unwrap_or(&backing).to_vec();
    if let Some(stripped) = backing.strip_suffix(b" (deleted)") {
        backing = stripped.to_vec();
    }
    let offset = std::fs::read_to_string(dir.join("offset"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((PathBuf::from(std::ffi::OsString::from_vec(backing)), offset))
}

/// Detaches a loop device by path (used by [`Attachment::undo`] after checking it is ours).
pub(crate) fn detach_device(device: &Path) -> Result<(), FsError> {
    let file = match open_loop_node(device) {
        Ok(file) => file,
        Err(e)
            if e.raw_os_error() == Some(libc::ENOENT) || e.raw_os_error() == Some(libc::ENXIO) =>
        {
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    // SAFETY: LOOP_CLR_FD takes no argument; the fd is an open loop device node.
    match unsafe { ioctls::loop_clr_fd(file.as_raw_fd()) } {
        Ok(_) | Err(Errno::ENXIO) => Ok(()),
        Err(e) => Err(FsError::io(
            FsErrorKind::LoopDetach {
                device: device.to_path_buf(),
            },
            e,
        )),
    }
}
