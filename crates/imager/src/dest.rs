//! `Dest`: the image being written, opened after the safety checks: never the source, never
//! on the source device, a device only when forced and not mounted, enough space, and never
//! truncated (rescued data already in it is kept).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::{ImageError, ImageErrorKind};
use super::source::Source;

/// The open image.
pub(crate) struct Dest {
    pub(crate) file: File,
    /// The length before this run: bytes past it were never written (sparse writes may skip).
    pub(crate) original_len: u64,
    pub(crate) is_device: bool,
}

fn major_minor(dev: u64) -> (u64, u64) {
    (libc::major(dev) as u64, libc::minor(dev) as u64)
}

/// The whole disk holding device `dev` (itself when it is not a partition).
fn whole_disk(dev: u64) -> u64 {
    let (ma, mi) = major_minor(dev);
    let sys = PathBuf::from(format!("/sys/dev/block/{ma}:{mi}"));
    if !sys.join("partition").exists() {
        return dev;
    }
    let parent_dev = std::fs::canonicalize(&sys)
        .ok()
        .and_then(|p| p.parent().map(|p| p.join("dev")))
        .and_then(|p| std::fs::read_to_string(p).ok());
    let Some(text) = parent_dev else { return dev };
    let mut parts = text.trim().split(':');
    match (
        parts.next().and_then(|s| s.parse().ok()),
        parts.next().and_then(|s| s.parse().ok()),
    ) {
        (Some(a), Some(b)) => libc::makedev(a, b),
        _ => dev,
    }
}

/// The mount point of device `dev` or of a partition of it, from /proc/self/mountinfo.
fn mounted_at(dev: u64) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let disk = whole_disk(dev);
    for line in info.lines() {
        let mut f = line.split_whitespace();
        let (Some(_), Some(_), Some(mm), Some(_), Some(mountpoint)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let mut parts = mm.split(':');
        let (Some(Ok(a)), Some(Ok(b))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u32>),
        ) else {
            continue;
        };
        let m = libc::makedev(a, b);
        if a != 0 && (m == dev || (disk == dev && whole_disk(m) == dev)) {
            return Some(mountpoint.to_string());
        }
    }
    None
}

fn free_space(dir: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64)
}

impl Dest {
    /// Checks and opens `path` for an image that must reach byte `end`.
    pub(crate) fn open(
        path: &Path,
        src: &Source,
        force: bool,
        sparse: bool,
        end: u64,
    ) -> Result<Self, ImageError> {
        let open_err = |e| ImageError::io(ImageErrorKind::OpenDest(path.to_path_buf()), e);
        let is_source = || {
            ImageError::new(ImageErrorKind::DestIsSource {
                source: src_path(src),
                dest: path.to_path_buf(),
            })
        };
        let on_source = || {
            ImageError::new(ImageErrorKind::DestOnSource {
                source: src_path(src),
                dest: path.to_path_buf(),
            })
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                if meta.dev() == src.dev && meta.ino() == src.ino {
                    return Err(is_source());
                }
                if meta.file_type().is_block_device() {
                    if src.is_device
                        && (meta.rdev() == src.rdev
                            || whole_disk(meta.rdev()) == src.rdev
                            || whole_disk(src.rdev) == meta.rdev())
                    {
                        return Err(is_source());
                    }
                    if !force {
                        return Err(ImageError::new(ImageErrorKind::DestIsDevice(
                            path.to_path_buf(),
                        )));
                    }
                    if let Some(mountpoint) = mounted_at(meta.rdev()) {
                        return Err(ImageError::new(ImageErrorKind::DestMounted {
                            dest: path.to_path_buf(),
                            mountpoint,
                        }));
                    }
                    // O_EXCL on a block device fails when it is mounted or otherwise claimed.
                    let file = File::options()
                        .write(true)
                        .read(true)
                        .custom_flags(libc::O_EXCL)
                        .open(path)
                        .map_err(open_err)?;
                    let size = {
                        use std::io::Seek;
                        let mut f = &file;
                        f.seek(std::io::SeekFrom::End(0)).map_err(open_err)?
                    };
                    if size < end {
                        return Err(ImageError::new(ImageErrorKind::DestTooSmall {
                            dest: path.to_path_buf(),
                            needed: end,
                            size,
                        }));
                    }
                    return Ok(Self {
                        file,
                        original_len: size,
                        is_device: true,
                    });
                }
                if !meta.is_file() {
                    return Err(ImageError::new(ImageErrorKind::DestNotFileOrDevice(
                        path.to_path_buf(),
                    )));
                }
                if src.is_device && whole_disk(meta.dev()) == whole_disk(src.rdev) {
                    return Err(on_source());
                }
                let allocated = meta.blocks() * 512;
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                check_space(path, dir, end.saturating_sub(allocated), sparse)?;
                let file = File::options()
                    .write(true)
                    .read(true)
                    .open(path)
                    .map_err(open_err)?;
                let original_len = meta.len();
                if original_len < end {
                    file.set_len(end).map_err(open_err)?;
                }
                Ok(Self {
                    file,
                    original_len,
                    is_device: false,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let dir_meta = std::fs::metadata(dir).map_err(open_err)?;
                if src.is_device && whole_disk(dir_meta.dev()) == whole_disk(src.rdev) {
                    return Err(on_source());
                }
                check_space(path, dir, end, sparse)?;
                let file = File::options()
                    .write(true)
                    .read(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(open_err)?;
                file.set_len(end).map_err(open_err)?;
                Ok(Self {
                    file,
                    original_len: 0,
                    is_device: false,
                })
            }
            Err(e) => Err(open_err(e)),
        }
    }
}

fn src_path(src: &Source) -> PathBuf {
    src.path().to_path_buf()
}

fn check_space(path: &Path, dir: &Path, needed: u64, sparse: bool) -> Result<(), ImageError> {
    if sparse || needed == 0 {
        return Ok(());
    }
    if let Some(available) = free_space(dir) {
        if available < needed {
            return Err(ImageError::new(ImageErrorKind::NoSpace {
                dest: path.to_path_buf(),
                needed,
                available,
            }));
        }
    }
    Ok(())
}
