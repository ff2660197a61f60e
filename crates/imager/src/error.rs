//! `ImageError`: why an imaging run could not start or could not finish.

use std::fmt;
use std::path::PathBuf;

/// An imaging failure: what went wrong ([`ImageErrorKind`]) and the I/O error under it, if any.
#[derive(Debug)]
pub struct ImageError {
    /// What went wrong; every message lives in its `Display`.
    pub kind: ImageErrorKind,
    /// The operating-system error behind it, when there is one.
    pub source: Option<std::io::Error>,
}

/// Every way an imaging run can fail. `Display` holds every message, each naming the file and
/// the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageErrorKind {
    /// The source could not be opened or examined.
    OpenSource(PathBuf),
    /// The source is no image file or block device (a FIFO, a socket, a directory...).
    SourceNotADisk(PathBuf),
    /// The destination could not be opened, created or examined.
    OpenDest(PathBuf),
    /// The destination is the source (same inode or the same device).
    DestIsSource { source: PathBuf, dest: PathBuf },
    /// The destination file lives on the source device (or a partition of it).
    DestOnSource { source: PathBuf, dest: PathBuf },
    /// The destination is a device and `force` was not given.
    DestIsDevice(PathBuf),
    /// The destination device is mounted.
    DestMounted { dest: PathBuf, mountpoint: String },
    /// The destination is neither a regular file nor a block device.
    DestNotFileOrDevice(PathBuf),
    /// The image exists with data in it but there is no map: it is not this rescue's.
    DestHasDataWithoutMap { dest: PathBuf, map: PathBuf },
    /// The destination device is smaller than what must be written to it.
    DestTooSmall {
        dest: PathBuf,
        needed: u64,
        size: u64,
    },
    /// Not enough free space for the destination file.
    NoSpace {
        dest: PathBuf,
        needed: u64,
        available: u64,
    },
    /// The mapfile could not be read.
    ReadMap(PathBuf),
    /// A syntax or consistency error in a mapfile, with its 1-based line number.
    MapSyntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// The mapfile describes a different (larger) source.
    MapBeyondSource {
        path: PathBuf,
        map_end: u64,
        source_size: u64,
    },
    /// The mapfile was made from another source than this run's.
    MapOfAnotherSource {
        path: PathBuf,
        was: String,
        now: String,
    },
    /// The mapfile could not be written.
    WriteMap(PathBuf),
    /// The simulated bad-sector map could not be read.
    ReadBadMap(PathBuf),
    /// A syntax error in the simulated bad-sector map, with its 1-based line number.
    BadMapSyntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// An option value is out of range.
    BadOption(String),
    /// The source reported a fatal condition (gone, shrunk) while reading.
    SourceGone { source: PathBuf, pos: u64 },
    /// Writing the image failed (disk full, I/O error on the destination).
    WriteDest { dest: PathBuf, pos: u64 },
    /// Reading the image back to finish its hash failed.
    HashDest(PathBuf),
    /// The bad-block list could not be written.
    WriteBadBlocks(PathBuf),
    /// The run was cancelled (signal or caller); the map was saved and a rerun resumes.
    Interrupted { map: PathBuf },
    /// A limit the user set was reached (`--timeout`, `--max-read-errors`, ...); the map was
    /// saved and a rerun resumes.
    Stopped { why: String, map: PathBuf },
    /// A missing parent directory of the image or the map could not be created.
    MakeDir(PathBuf),
    /// Another imager holds the lock of this image or map (`holder`: its pid, when known).
    InUse {
        path: PathBuf,
        lock: PathBuf,
        holder: Option<u32>,
    },
}

impl ImageError {
    /// An error of `kind` with no underlying I/O error.
    pub fn new(kind: ImageErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by `err`.
    pub fn io(kind: ImageErrorKind, err: std::io::Error) -> Self {
        Self {
            kind,
            source: Some(err),
        }
    }

    /// The process exit code, as GNU ddrescue's: 1 for I/O or environment problems,
    /// 2 for bad input (a corrupt mapfile, a bad option), 130 when interrupted.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ImageErrorKind::MapSyntax { .. }
            | ImageErrorKind::MapBeyondSource { .. }
            | ImageErrorKind::MapOfAnotherSource { .. }
            | ImageErrorKind::BadMapSyntax { .. }
            | ImageErrorKind::BadOption(_) => 2,
            ImageErrorKind::Interrupted { .. } => 130,
            _ => 1,
        }
    }

    /// True when the run stopped because it was cancelled (the map is saved).
    pub fn is_interrupted(&self) -> bool {
        matches!(self.kind, ImageErrorKind::Interrupted { .. })
    }
}

impl fmt::Display for ImageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OpenSource(p) => write!(
                f,
                "cannot open the source {} read-only: check the path and that you may read it (root for a device)",
                p.display()
            ),
            Self::SourceNotADisk(p) => write!(f, "cannot image {}", p.display()),
            Self::OpenDest(p) => write!(
                f,
                "cannot open or create the image {}: check the directory exists and is writable",
                p.display()
            ),
            Self::DestIsSource { source, dest } => write!(
                f,
                "the image {} is the source {} itself: choose an image on another disk",
                dest.display(),
                source.display()
            ),
            Self::DestOnSource { source, dest } => write!(
                f,
                "the image {} would be written onto the failing source {}: put it on another disk",
                dest.display(),
                source.display()
            ),
            Self::DestIsDevice(p) => write!(
                f,
                "the image {} is a device and would be overwritten: add --force if that is what you want",
                p.display()
            ),
            Self::DestMounted { dest, mountpoint } => write!(
                f,
                "the destination device {} is mounted on {mountpoint}: unmount it first",
                dest.display()
            ),
            Self::DestHasDataWithoutMap { dest, map } => write!(
                f,
                "the image {} already holds data but the map {} does not exist: it is not this rescue's image (are SRC and DEST swapped?); choose a new file, give its map, or pass --force to write over it",
                dest.display(),
                map.display()
            ),
            Self::DestNotFileOrDevice(p) => write!(
                f,
                "the image {} is neither a regular file nor a block device: choose a file path",
                p.display()
            ),
            Self::DestTooSmall { dest, needed, size } => write!(
                f,
                "the destination device {} holds {size} bytes but the image needs {needed}: use a larger device or a --domain",
                dest.display()
            ),
            Self::NoSpace {
                dest,
                needed,
                available,
            } => write!(
                f,
                "not enough space for the image {}: {needed} more bytes needed, {available} available; free space or image to another disk",
                dest.display()
            ),
            Self::ReadMap(p) => write!(
                f,
                "cannot read the mapfile {}: check the path and permissions",
                p.display()
            ),
            Self::MapSyntax { path, line, reason } => write!(
                f,
                "{}:{line}: corrupt mapfile: {reason}; fix or move the file away (a missing map starts a new rescue)",
                path.display()
            ),
            Self::MapBeyondSource {
                path,
                map_end,
                source_size,
            } => write!(
                f,
                "the mapfile {} covers {map_end} bytes but the source has only {source_size}: is it the map of another disk?",
                path.display()
            ),
            Self::MapOfAnotherSource { path, was, now } => write!(
                f,
                "the mapfile {} was made from {was}, but this run reads {now}: resuming would \
                 keep the other disk's data. Give this disk its own image and map; if it is the \
                 same disk under a new name, rerun with --force (force: true in a runbook)",
                path.display()
            ),
            Self::WriteMap(p) => write!(
                f,
                "cannot save the mapfile {}: check free space and permissions of its directory",
                p.display()
            ),
            Self::ReadBadMap(p) => write!(
                f,
                "cannot read the simulated bad-sector map {}: check the path",
                p.display()
            ),
            Self::BadMapSyntax { path, line, reason } => write!(
                f,
                "{}:{line}: bad simulated bad-sector map: {reason} (lines are START+SIZE, or a ddrescue mapfile)",
                path.display()
            ),
            Self::BadOption(msg) => write!(f, "bad option: {msg}"),
            Self::SourceGone { source, pos } => write!(
                f,
                "the source {} stopped answering at byte {pos} (disconnected or shrunk): reconnect it and rerun the same command to resume",
                source.display()
            ),
            Self::WriteDest { dest, pos } => write!(
                f,
                "cannot write the image {} at byte {pos}: check free space and the destination disk, then rerun to resume",
                dest.display()
            ),
            Self::HashDest(p) => write!(
                f,
                "cannot read back the image {} to finish its hash: check the destination disk",
                p.display()
            ),
            Self::WriteBadBlocks(p) => write!(
                f,
                "cannot write the bad-block list {}: check the directory is writable",
                p.display()
            ),
            Self::Interrupted { map } => write!(
                f,
                "interrupted; the map {} is saved: rerun the same command to resume",
                map.display()
            ),
            Self::Stopped { why, map } => write!(
                f,
                "stopped: {why}; the map {} is saved: rerun (with a higher limit) to go on",
                map.display()
            ),
            Self::MakeDir(p) => write!(
                f,
                "cannot create the directory {} for the image or its map: check the path and that its parent is writable",
                p.display()
            ),
            Self::InUse { path, lock, holder } => {
                let who = match holder {
                    Some(pid) => format!("another imager (pid {pid})"),
                    None => "another imager (pid unknown)".to_string(),
                };
                write!(
                    f,
                    "{} is in use by {who}, which holds {}: two imagers on one image or map would mix two disks' bytes; wait for it to finish or stop it, then rerun",
                    path.display(),
                    lock.display()
                )
            }
        }
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(err) => write!(f, "{} ({err})", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
