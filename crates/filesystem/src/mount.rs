//! `MountRequest` and `Mounted`: a read-only mount that can never change the filesystem:
//! MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, and no journal or log replay (`noload` for ext3/4,
//! `norecovery` for xfs, `rescue=nologreplay` for btrfs), into a directory salvage creates.

use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};

use super::attachment::Attachment;
use super::error::{FsError, FsErrorKind};
use super::fs_type::FsType;
use super::mount_info::MountInfo;

/// A read-only mount about to be made. Its [`Attachment`] is known before mounting, so the
/// executor can journal it first (undo is idempotent: "already gone" if the mount never happened).
#[derive(Clone, Debug)]
pub struct MountRequest {
    source: PathBuf,
    target: PathBuf,
    fs_type: FsType,
    create_dir: bool,
}

/// A read-only mount made by salvage. Not unmounted on drop: undo its [`Attachment`].
#[derive(Clone, Debug)]
pub struct Mounted {
    attachment: Attachment,
    target: PathBuf,
}

impl MountRequest {
    /// Plans mounting `source` (a block device, usually a read-only loop device) on `target`,
    /// which must not exist (salvage creates it) or be an empty directory that is no mount point.
    pub fn new(source: &Path, target: &Path, fs_type: FsType) -> Result<Self, FsError> {
        let create_dir = match std::fs::symlink_metadata(target) {
            Err(_) => true,
            Ok(meta) if meta.is_dir() => {
                let empty = std::fs::read_dir(target)
                    .map(|mut entries| entries.next().is_none())
                    .unwrap_or(false);
                let canonical = std::fs::canonicalize(target).unwrap_or_default();
                if !empty || MountInfo::at(&canonical).is_some() {
                    return Err(FsError::new(FsErrorKind::TargetNotEmpty {
                        target: target.to_path_buf(),
                    }));
                }
                false
            }
            Ok(_) => {
                return Err(FsError::new(FsErrorKind::TargetNotEmpty {
                    target: target.to_path_buf(),
                }));
            }
        };
        Ok(Self {
            source: source.to_path_buf(),
            target: canonical_target(target)?,
            fs_type,
            create_dir,
        })
    }

    /// The mount options passed to the kernel besides the flags.
    pub fn data(&self) -> &'static str {
        mount_data(self.fs_type)
    }

    /// What will be attached (journal this before [`MountRequest::mount`]).
    pub fn attachment(&self) -> Attachment {
        Attachment::Mount {
            target: self.target.clone(),
            source: self.source.clone(),
            fstype: self.fs_type.name().to_string(),
            created_dir: self.create_dir,
        }
    }

    /// The equivalent mount(8) command line, for plans.
    pub fn command_line(&self) -> String {
        let data = self.data();
        let sep = if data.is_empty() { "" } else { "," };
        format!(
            "mount -t {} -o ro,nosuid,nodev,noexec{sep}{data} {} {}",
            self.fs_type,
            self.source.display(),
            self.target.display()
        )
    }

    /// Creates the target directory if needed and mounts.
    pub fn mount(self) -> Result<Mounted, FsError> {
        if self.create_dir {
            std::fs::create_dir_all(&self.target).map_err(|e| {
                FsError::io(
                    FsErrorKind::CreateTarget {
                        target: self.target.clone(),
                    },
                    e,
                )
            })?;
        }
        let flags =
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        let data = self.data();
        let result = mount(
            Some(self.source.as_path()),
            self.target.as_path(),
            Some(self.fs_type.name()),
            flags,
            if data.is_empty() { None } else { Some(data) },
        );
        if let Err(e) = result {
            if self.create_dir {
                let _ = std::fs::remove_dir(&self.target);
            }
            return Err(FsError::io(
                FsErrorKind::Mount {
                    source: self.source.clone(),
                    target: self.target.clone(),
                    fstype: self.fs_type.name().to_string(),
                },
                e,
            ));
        }
        Ok(Mounted {
            attachment: self.attachment(),
            target: self.target,
        })
    }
}

impl Mounted {
    /// Where the filesystem is mounted.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// What to undo (umount, then remove the directory salvage created).
    pub fn attachment(&self) -> &Attachment {
        &self.attachment
    }
}

/// Mounts `source` read-only on `target` (see [`MountRequest`]).
pub fn mount_readonly(source: &Path, target: &Path, fs_type: FsType) -> Result<Mounted, FsError> {
    MountRequest::new(source, target, fs_type)?.mount()
}

/// The options that stop a read-only mount from replaying a journal or log.
fn mount_data(fs_type: FsType) -> &'static str {
    match fs_type {
        FsType::Ext3 | FsType::Ext4 => "noload",
        FsType::Xfs => "norecovery",
        FsType::Btrfs => "rescue=nologreplay",
        FsType::Ext2 | FsType::Vfat | FsType::Exfat | FsType::Ntfs => "",
    }
}

/// The absolute, symlink-free path the kernel will show in mountinfo for `target`, which may
/// not exist yet: its parent canonicalised plus its name.
fn canonical_target(target: &Path) -> Result<PathBuf, FsError> {
    let bad = || {
        FsError::new(FsErrorKind::CreateTarget {
            target: target.to_path_buf(),
        })
    };
    let absolute = std::path::absolute(target).map_err(|e| {
        FsError::io(
            FsErrorKind::CreateTarget {
                target: target.to_path_buf(),
            },
            e,
        )
    })?;
    let name = absolute.file_name().ok_or_else(bad)?;
    let parent = absolute.parent().ok_or_else(bad)?;
    std::fs::create_dir_all(parent).map_err(|e| {
        FsError::io(
            FsErrorKind::CreateTarget {
                target: target.to_path_buf(),
            },
            e,
        )
    })?;
    let parent = std::fs::canonicalize(parent).map_err(|e| {
        FsError::io(
            FsErrorKind::CreateTarget {
                target: target.to_path_buf(),
            },
            e,
        )
    })?;
    Ok(parent.join(name))
}
