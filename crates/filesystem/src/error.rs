//! `FsError`: the one error type of the filesystem ops, a carrier of an [`FsErrorKind`] and the
//! underlying OS error when there is one. Every message lives in the one `Display` match below.

use std::fmt;
use std::path::PathBuf;

/// What went wrong in a filesystem op.
#[derive(Debug)]
#[non_exhaustive]
pub enum FsErrorKind {
    /// A file or device could not be opened.
    Open { path: PathBuf },
    /// Reading a file, device or image failed.
    Read { path: PathBuf },
    /// Writing a file failed.
    Write { path: PathBuf },
    /// `/dev/loop-control` could not hand out a free loop device.
    LoopFree,
    /// Every free loop device was taken by someone else before it could be configured.
    LoopBusy,
    /// Configuring a loop device (LOOP_CONFIGURE or LOOP_SET_FD + LOOP_SET_STATUS64) failed.
    LoopConfigure { device: PathBuf },
    /// Detaching a loop device failed.
    LoopDetach { device: PathBuf },
    /// The partition does not fit in its image.
    OutOfRange {
        path: PathBuf,
        offset: u64,
        size: u64,
        image_size: u64,
    },
    /// The mount target already exists and is not an empty directory.
    TargetNotEmpty { target: PathBuf },
    /// The mount target directory could not be created.
    CreateTarget { target: PathBuf },
    /// mount(2) failed.
    Mount {
        source: PathBuf,
        target: PathBuf,
        fstype: String,
    },
    /// umount2(2) failed.
    Unmount { target: PathBuf },
    /// The mount stayed busy through every retry; `holders` are the processes using it.
    UnmountBusy {
        target: PathBuf,
        holders: Vec<String>,
    },
    /// No filesystem signature was found where the partition starts.
    UnknownFilesystem { path: PathBuf, offset: u64 },
    /// A forced filesystem type contradicts the signature found there.
    TypeContradicted {
        path: PathBuf,
        offset: u64,
        given: String,
        found: String,
    },
    /// Two or more filesystem signatures compete at the offset and no type was given (or the
    /// given one is none of them): salvage does not choose, as blkid does not.
    Ambivalent {
        path: PathBuf,
        offset: u64,
        found: Vec<String>,
    },
    /// The partition holds something that is not a filesystem to check or mount (swap, a LUKS
    /// container, an LVM PV, md RAID member), or one this kernel path does not handle.
    NotAFilesystem {
        path: PathBuf,
        offset: u64,
        found: String,
    },
    /// This filesystem type cannot be done this way (no checker, no kernel mount, ...).
    Unsupported { what: String },
    /// The checker program is not installed.
    CheckerMissing { program: String },
    /// The checker program could not be started.
    CheckerSpawn { program: String },
    /// A repair of the evidence itself was asked for without the operator's confirmation.
    InPlaceNotConfirmed { path: PathBuf },
    /// The userspace ext reader refused or failed.
    Ext { path: PathBuf, message: String },
    /// The copy destination exists and is not empty.
    DestNotEmpty { path: PathBuf },
    /// The copy destination is inside the source tree.
    DestInsideSource { dest: PathBuf, source: PathBuf },
    /// No `--offset` was given and the image's partition table leaves a choice: `choices` are
    /// the `--offset` arguments, each with its partition.
    ChoosePartition { path: PathBuf, choices: Vec<String> },
    /// The copy's destination has less free space than the data the copy may write.
    NoSpace {
        dest: PathBuf,
        needed: u64,
        available: u64,
    },
    /// A path names something outside the tree or is not a plain relative path.
    BadPath { path: PathBuf },
    /// A manifest line could not be parsed.
    ManifestLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A manifest has no header line.
    ManifestHeader { path: PathBuf },
    /// The run was interrupted (Ctrl-C or SIGTERM).
    Interrupted,
    /// This needs root (loop devices, mounts).
    NeedsRoot { what: String },
    /// The image's partition table could not be read.
    PartitionTable { path: PathBuf, message: String },
    /// A damage report cannot be used for this copy (unreadable, or made from another disk).
    DamageInput { path: PathBuf, message: String },
}

/// The error of every filesystem op: what went wrong, and the OS error beneath it.
#[derive(Debug)]
pub struct FsError {
    kind: FsErrorKind,
    cause: Option<std::io::Error>,
}

impl FsError {
    /// An error without an underlying OS error.
    pub fn new(kind: FsErrorKind) -> Self {
        Self { kind, cause: None }
    }

    /// An error caused by an OS error (an `std::io::Error` or a `nix::errno::Errno`).
    pub fn io(kind: FsErrorKind, cause: impl Into<std::io::Error>) -> Self {
        Self {
            kind,
            cause: Some(cause.into()),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &FsErrorKind {
        &self.kind
    }

    /// The raw OS error number beneath, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.cause.as_ref().and_then(std::io::Error::raw_os_error)
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FsErrorKind::Open { path } => write!(f, "cannot open {}", path.display()),
            FsErrorKind::Read { path } => write!(f, "cannot read {}", path.display()),
            FsErrorKind::Write { path } => write!(f, "cannot write {}", path.display()),
            FsErrorKind::LoopFree => {
                write!(
                    f,
                    "no free loop device (LOOP_CTL_GET_FREE on /dev/loop-control)"
                )
            }
            FsErrorKind::LoopBusy => {
                write!(
                    f,
                    "every free loop device was taken by another process; try again"
                )
            }
            FsErrorKind::LoopConfigure { device } => {
                write!(f, "cannot configure loop device {}", device.display())
            }
            FsErrorKind::LoopDetach { device } => {
                write!(f, "cannot detach loop device {}", device.display())
            }
            FsErrorKind::OutOfRange {
                path,
                offset,
                size,
                image_size,
            } => write!(
                f,
                "partition at byte {offset} of size {size} does not fit in {} ({image_size} bytes)",
                path.display()
            ),
            FsErrorKind::TargetNotEmpty { target } => write!(
                f,
                "mount target {} exists and is not an empty directory",
                target.display()
            ),
            FsErrorKind::CreateTarget { target } => {
                write!(f, "cannot create mount target {}", target.display())
            }
            FsErrorKind::Mount {
                source,
                target,
                fstype,
            } => write!(
                f,
                "cannot mount {} ({fstype}) read-only on {}",
                source.display(),
                target.display()
            ),
            FsErrorKind::Unmount { target } => write!(f, "cannot unmount {}", target.display()),
            FsErrorKind::UnmountBusy { target, holders } => {
                write!(
                    f,
                    "cannot unmount {}: still busy after 3 s",
                    target.display()
                )?;
                if holders.is_empty() {
                    write!(f, " (no process holds it now; undo again)")
                } else {
                    write!(
                        f,
                        "; in use by {}; close them (cd out, end them) and undo again",
                        holders.join(", ")
                    )
                }
            }
            FsErrorKind::NotAFilesystem {
                path,
                offset,
                found,
            } => {
                write!(f, "byte {offset} of {} holds {found}: ", path.display())?;
                match found.as_str() {
                    "swap" => write!(f, "swap space has no files to check or copy"),
                    "crypto_LUKS" => write!(
                        f,
                        "an encrypted container; open it first (cryptsetup open --readonly) and \
                         give salvage the opened device"
                    ),
                    "LVM2_member" => write!(
                        f,
                        "an LVM physical volume; activate its volume group (vgchange -ay) and give \
                         salvage the logical volume"
                    ),
                    "linux_raid_member" => write!(
                        f,
                        "an md RAID member; assemble the array read-only (mdadm --assemble \
                         --readonly) and give salvage the md device"
                    ),
                    _ => write!(
                        f,
                        "salvage cannot check or mount this type; pass --type (fstype: in a runbook) to force one"
                    ),
                }
            }
            FsErrorKind::TypeContradicted {
                path,
                offset,
                given,
                found,
            } => write!(
                f,
                "the type was given as {given}, but byte {offset} of {} holds {found}: drop the \
                 forced type, or check the offset",
                path.display()
            ),
            FsErrorKind::Ambivalent {
                path,
                offset,
                found,
            } => write!(
                f,
                "ambivalent: byte {offset} of {} holds {} signatures, and salvage does not \
                 choose (blkid refuses too): look at it (salvage partitions --json) and name \
                 the type: --type {} (type: in a runbook)",
                path.display(),
                found.join(" and "),
                found.join(" or --type ")
            ),
            FsErrorKind::UnknownFilesystem { path, offset } => write!(
                f,
                "no known filesystem signature at byte {offset} of {}",
                path.display()
            ),
            FsErrorKind::Unsupported { what } => write!(f, "not supported: {what}"),
            FsErrorKind::CheckerMissing { program } => {
                write!(f, "the checker {program} is not installed")
            }
            FsErrorKind::CheckerSpawn { program } => write!(f, "cannot run {program}"),
            FsErrorKind::InPlaceNotConfirmed { path } => write!(
                f,
                "refusing to repair the evidence {} in place without in_place and the operator's confirmation",
                path.display()
            ),
            FsErrorKind::Ext { path, message } => {
                write!(f, "userspace ext reader on {}: {message}", path.display())
            }
            FsErrorKind::DestNotEmpty { path } => write!(
                f,
                "copy destination {} exists and is not empty; copy into a new directory",
                path.display()
            ),
            FsErrorKind::ChoosePartition { path, choices } => write!(
                f,
                "{} holds a partition table, so the filesystem is not at byte 0: choose one with \
                 {} (`salvage partitions {}` lists them)",
                path.display(),
                choices.join(" or "),
                path.display()
            ),
            FsErrorKind::NoSpace {
                dest,
                needed,
                available,
            } => write!(
                f,
                "not enough space for the copy in {}: up to {needed} bytes of file data to write \
                 (holes not counted), {available} bytes available; free space there or copy to \
                 another disk (with --path for less)",
                dest.display()
            ),
            FsErrorKind::DestInsideSource { dest, source } => write!(
                f,
                "copy destination {} is inside the source {}: the copy would copy itself; \
                 copy to a directory outside it",
                dest.display(),
                source.display()
            ),
            FsErrorKind::BadPath { path } => write!(
                f,
                "{:?} is not a relative path inside the source tree",
                path.display().to_string()
            ),
            FsErrorKind::ManifestLine {
                path,
                line,
                message,
            } => {
                write!(f, "{}:{line}: bad manifest line: {message}", path.display())
            }
            FsErrorKind::ManifestHeader { path } => {
                write!(
                    f,
                    "{} is not a salvage manifest (no header line)",
                    path.display()
                )
            }
            FsErrorKind::DamageInput { path, message } => {
                write!(f, "damage report {}: {message}", path.display())
            }
            FsErrorKind::Interrupted => {
                write!(f, "interrupted by a signal (SIGINT, SIGTERM or SIGHUP)")
            }
            FsErrorKind::NeedsRoot { what } => write!(f, "{what} needs root"),
            FsErrorKind::PartitionTable { path, message } => write!(
                f,
                "cannot read the partition table of {}: {message}",
                path.display()
            ),
        }?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
