//! `ReadPath`: how salvage reads the files of a filesystem inside an image: the userspace ext
//! reader (no root, no loop device, no kernel parsing of a damaged filesystem) or a read-only
//! kernel mount through a read-only loop device (root). Plans show the choice.

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::fs_type::FsType;

/// The way the files of a filesystem inside an image are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadPath {
    /// ext2/3/4 read in userspace by ext4-view, straight from the image.
    Userspace,
    /// A read-only loop device and a read-only, no-replay kernel mount.
    KernelMount,
}

impl ReadPath {
    /// ext2/3/4 are read in userspace (with or without root); other filesystems need a mount,
    /// hence root.
    pub fn choose(fs_type: FsType, is_root: bool) -> Result<Self, FsError> {
        if fs_type.is_ext() {
            Ok(Self::Userspace)
        } else if is_root {
            Ok(Self::KernelMount)
        } else {
            Err(FsError::new(FsErrorKind::NeedsRoot {
                what: format!("reading {fs_type} (a loop device and a mount)"),
            }))
        }
    }

    /// One line for a plan.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Userspace => {
                "read in userspace from the image (ext4-view): no root, no loop device, no mount"
            }
            Self::KernelMount => {
                "attach a read-only loop device and mount it ro,noload,nosuid,nodev,noexec (root)"
            }
        }
    }
}
