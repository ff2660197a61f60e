//! `Attachment`: a piece of reversible system state salvage made (a loop device, a mount),
//! serialisable so the executor can journal it before using it, with an undo that is idempotent
//! and safe to run after a crash: it first checks that the device or mount is still the one
//! salvage made, and leaves anything else alone.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::FsError;
use super::loop_node::{detach_device, loop_backing};
use super::mount_info::MountInfo;
use super::unmount::unmount;

/// Reversible system state made by salvage, as journaled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attachment {
    /// A loop device on `backing` (canonical path) from byte `offset`.
    Loop {
        device: PathBuf,
        backing: PathBuf,
        offset: u64,
        /// Byte length; 0 means to the end of the backing file.
        size_limit: u64,
    },
    /// A read-only mount of `source` on `target` (canonical path).
    Mount {
        target: PathBuf,
        source: PathBuf,
        fstype: String,
        /// salvage created the target directory and removes it (when empty) after unmounting.
        created_dir: bool,
    },
}

/// What an undo found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UndoOutcome {
    /// The attachment was there and has been undone.
    Undone,
    /// Nothing to do: it was already gone (undone before, or cleared by the kernel).
    AlreadyGone,
    /// The device or mount point is now used by something salvage did not make: left alone.
    NotOurs { found: String },
}

impl Attachment {
    /// One line for plans and logs: what is attached.
    pub fn describe(&self) -> String {
        match self {
            Self::Loop {
                device,
                backing,
                offset,
                size_limit,
            } => {
                let size = if *size_limit == 0 {
                    "to the end".to_string()
                } else {
                    format!("{size_limit} bytes")
                };
                format!(
                    "loop device {} on {} from byte {offset} ({size})",
                    device.display(),
                    backing.display()
                )
            }
            Self::Mount {
                target,
                source,
                fstype,
                ..
            } => format!(
                "read-only {fstype} mount of {} on {}",
                source.display(),
                target.display()
            ),
        }
    }

    /// The shell command a person would type to undo it (for dry-run plans and for printing
    /// after `salvage mount`).
    pub fn undo_command(&self) -> String {
        match self {
            Self::Loop { device, .. } => {
                format!(
                    "losetup -d {}",
                    salvage_text::shell_quote::quote_path(device)
                )
            }
            Self::Mount {
                target,
                created_dir: true,
                ..
            } => {
                let target = salvage_text::shell_quote::quote_path(target);
                format!("umount {target} && rmdir {target}")
            }
            Self::Mount {
                target,
                created_dir: false,
                ..
            } => {
                format!("umount {}", salvage_text::shell_quote::quote_path(target))
            }
        }
    }

    /// Undoes the attachment if it is still there and still ours. Idempotent; safe after a
    /// crash, when the loop device number or mount point may have been reused by someone else.
    pub fn undo(&self) -> Result<UndoOutcome, FsError> {
        match self {
            Self::Loop {
                device,
                backing,
                offset,
                ..
            } => match loop_backing(device) {
                None => Ok(UndoOutcome::AlreadyGone),
                Some((now_backing, now_offset))
                    if now_backing == *backing && now_offset == *offset =>
                {
                    detach_device(device)?;
                    Ok(UndoOutcome::Undone)
                }
                Some((now_backing, now_offset)) => Ok(UndoOutcome::NotOurs {
                    found: format!(
                        "{} is now attached to {} at byte {now_offset}",
                        device.display(),
                        now_backing.display()
                    ),
                }),
            },
            Self::Mount {
                target,
                source,
                created_dir,
                ..
            } => {
                let outcome = match MountInfo::at(target) {
                    None => UndoOutcome::AlreadyGone,
                    Some(mount) if mount.source == *source => {
                        unmount(target)?;
                        UndoOutcome::Undone
                    }
                    Some(mount) => {
                        return Ok(UndoOutcome::NotOurs {
                            found: format!(
                                "{} is now a mount of {} ({})",
                                target.display(),
                                mount.source.display(),
                                mount.fstype
                            ),
                        });
                    }
                };
                if *created_dir {
                    remove_empty_dir(target);
                }
                Ok(outcome)
            }
        }
    }
}

/// Removes the mount point salvage created, only when it is no longer a mount point and empty
/// (rmdir refuses a non-empty directory, so nothing inside can be lost).
fn remove_empty_dir(target: &Path) {
    if MountInfo::at(target).is_none() {
        let _ = std::fs::remove_dir(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_commands_are_quoted_for_a_shell() {
        let mount = Attachment::Mount {
            target: "/srv/rescue/it's here".into(),
            source: "/dev/loop3".into(),
            fstype: "ext4".into(),
            created_dir: true,
        };
        assert_eq!(
            mount.undo_command(),
            r"umount '/srv/rescue/it'\''s here' && rmdir '/srv/rescue/it'\''s here'"
        );
        let lo = Attachment::Loop {
            device: "/dev/loop3".into(),
            backing: "/srv/a.img".into(),
            offset: 1_048_576,
            size_limit: 0,
        };
        assert_eq!(lo.undo_command(), "losetup -d /dev/loop3");
        assert_eq!(
            lo.describe(),
            "loop device /dev/loop3 on /srv/a.img from byte 1048576 (to the end)"
        );
    }

    #[test]
    fn attachments_round_trip_through_json() {
        let lo = Attachment::Loop {
            device: "/dev/loop7".into(),
            backing: "/a b/c.img".into(),
            offset: 512,
            size_limit: 4096,
        };
        let text = serde_json::to_string(&lo).unwrap_or_default();
        assert!(text.contains(r#""kind":"loop""#), "{text}");
        let back: Attachment = serde_json::from_str(&text).expect("parses back");
        assert_eq!(back, lo);
    }

    #[test]
    fn undoing_what_is_not_there_is_already_gone() {
        let mount = Attachment::Mount {
            target: "/nonexistent/salvage-test-mount".into(),
            source: "/dev/loop99".into(),
            fstype: "ext4".into(),
            created_dir: false,
        };
        assert_eq!(mount.undo().ok(), Some(UndoOutcome::AlreadyGone));
        let lo = Attachment::Loop {
            device: "/dev/loop-salvage-nonexistent".into(),
            backing: "/x".into(),
            offset: 0,
            size_limit: 0,
        };
        assert_eq!(lo.undo().ok(), Some(UndoOutcome::AlreadyGone));
    }
}
