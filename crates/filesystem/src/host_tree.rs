//! `HostTree`: a directory of this machine (usually a read-only mount) walked as a
//! [`SourceTree`]. Every path is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_XDEV) from the root's fd, so no symlink anywhere in a path is followed and nothing
//! outside the tree (or on another mounted filesystem inside it) can be reached.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2, readlinkat};
use nix::sys::stat::{FileStat, SFlag, fstat};

use super::dir_identity::DirIdentity;
use super::error::{FsError, FsErrorKind};
use super::hole_reader::HoleReader;
use super::source_tree::{DirEntry, EntryKind, EntryMeta, SourceTree, Timestamp, clean_relative};

/// A directory tree on this machine, read without following symlinks.
#[derive(Debug)]
pub struct HostTree {
    root: PathBuf,
    root_fd: OwnedFd,
}

impl HostTree {
    /// Opens `root` (a directory; a symlink as the root itself is refused too).
    pub fn open(root: &Path) -> Result<Self, FsError> {
        let root_fd = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: root.to_path_buf(),
                },
                e,
            )
        })?;
        Ok(Self {
            root: root.to_path_buf(),
            root_fd,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the regular file at `rel` read-only: the file and its size at open. Anything but a
    /// regular file is refused (`Unsupported`), a FIFO included, without blocking on it.
    pub fn open_regular(&self, rel: &Path) -> Result<(File, u64), FsError> {
        // O_NONBLOCK: should the entry have become a FIFO, opening it must not hang.
        let fd = self.open_beneath(
            rel,
            OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_NOATIME,
        );
        // O_NOATIME is refused (EPERM) on files we do not own when not root: retry without.
        let fd = match fd {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK)?
            }
            other => other?,
        };
        let stat = fstat(&fd).map_err(|e| {
            FsError::io(
                FsErrorKind::Read {
                    path: self.root.join(rel),
                },
                e,
            )
        })?;
        if meta_from_stat(&stat).kind != EntryKind::File {
            return Err(FsError::new(FsErrorKind::Unsupported {
                what: format!(
                    "reading {} (not a regular file)",
                    self.root.join(rel).display()
                ),
            }));
        }
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        Ok((File::from(fd), size))
    }

    /// The names in directory `rel` and whether each is a directory, from the directory's own
    /// entry types (no `stat` per entry; an entry whose type the filesystem does not record is
    /// looked at with `fstatat`). For walks that only need to know where to descend.
    pub fn names_and_dirs(&self, rel: &Path) -> Result<Vec<(OsString, bool)>, FsError> {
        use nix::dir::Type;
        let fd = self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let path = || self.root.join(rel);
        let listing = fd
            .try_clone()
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
        let mut dir = nix::dir::Dir::from_fd(listing)
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
        let mut out = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let is_dir = match entry.file_type() {
                Some(t) => t == Type::Directory,
                None => nix::sys::stat::fstatat(
                    &fd,
                    entry.file_name(),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .is_ok_and(|st| {
                    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
                }),
            };
            out.push((std::ffi::OsStr::from_bytes(name).to_os_string(), is_dir));
        }
        out.sort();
        Ok(out)
    }

    fn open_beneath(&self, rel: &Path, flags: OFlag) -> Result<OwnedFd, FsError> {
        let rel = clean_relative(rel)?;
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
            .resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS
                    | ResolveFlag::RESOLVE_NO_XDEV,
            );
        openat2(&self.root_fd, rel.as_path(), how).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: self.root.join(&rel),
                },
                e,
            )
        })
    }
}

impl SourceTree for HostTree {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn metadata(&self, rel: &Path) -> Result<EntryMeta, FsError> {
        let fd = self.open_beneath(rel, OFlag::O_PATH)?;
        let stat = fstat(&fd).map_err(|e| {
            FsError::io(
                FsErrorKind::Read {
                    path: self.root.join(rel),
                },
                e,
            )
        })?;
        Ok(meta_from_stat(&stat))
    }

    fn list_dir(&self, rel: &Path) -> Result<Vec<OsString>, FsError> {
        let fd = self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let path = || self.root.join(rel);
        let mut dir = nix::dir::Dir::from_fd(fd)
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(std::ffi::OsStr::from_bytes(name).to_os_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// One open of the directory, then `fstatat` of each name in it (no symlink followed; a
    /// name on another filesystem, a mount point, is refused as `RESOLVE_NO_XDEV` would).
    fn entries(&self, rel: &Path) -> Result<Vec<DirEntry>, FsError> {
        let fd = self.open_beneath(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let path = || self.root.join(rel);
        let dir_dev = fstat(&fd)
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?
            .st_dev;
        let listing = fd
            .try_clone()
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
        let mut dir = nix::dir::Dir::from_fd(listing)
            .map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| FsError::io(FsErrorKind::Read { path: path() }, e))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(std::ffi::OsStr::from_bytes(name).to_os_string());
            }
        }
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let child = || self.root.join(rel).join(&name);
                let meta = nix::sys::stat::fstatat(
                    &fd,
                    name.as_os_str(),
                    nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| FsError::io(FsErrorKind::Open { path: child() }, e))
                .and_then(|st| {
                    if st.st_dev == dir_dev {
                        Ok(meta_from_stat(&st))
                    } else {
                        Err(FsError::io(
                            FsErrorKind::Open { path: child() },
                            nix::errno::Errno::EXDEV,
                        ))
                    }
                });
                (name, meta)
            })
            .collect())
    }

    fn as_sync(&self) -> Option<&(dyn SourceTree + Sync)> {
        Some(self)
    }

    fn open_file(&self, rel: &Path) -> Result<Box<dyn Read + '_>, FsError> {
        let (file, size) = self.open_regular(rel)?;
        Ok(Box::new(HoleReader::new(file, size)))
    }

    fn read_link(&self, rel: &Path) -> Result<OsString, FsError> {
        let fd = self.open_beneath(rel, OFlag::O_PATH)?;
        readlinkat(&fd, "").map_err(|e| {
            FsError::io(
                FsErrorKind::Read {
                    path: self.root.join(rel),
                },
                e,
            )
        })
    }

    fn used_bytes(&self) -> Option<u64> {
        let st = nix::sys::statvfs::fstatvfs(&self.root_fd).ok()?;
        let used = st.blocks().saturating_sub(st.blocks_free());
        Some(used.saturating_mul(st.fragment_size()))
    }

    fn dir_identity(&self, rel: &Path, _names: &[OsString]) -> Option<DirIdentity> {
        let fd = self.open_beneath(rel, OFlag::O_PATH).ok()?;
        let stat = fstat(&fd).ok()?;
        Some(DirIdentity::Inode {
            dev: stat.st_dev,
            ino: stat.st_ino,
        })
    }
}

/// Metadata from an fstat result.
pub(crate) fn meta_from_stat(stat: &FileStat) -> EntryMeta {
    let format = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
    let kind = match format {
        SFlag::S_IFDIR => EntryKind::Dir,
        SFlag::S_IFLNK => EntryKind::Symlink,
        SFlag::S_IFCHR => EntryKind::CharDevice,
        SFlag::S_IFBLK => EntryKind::BlockDevice,
        SFlag::S_IFIFO => EntryKind::Fifo,
        SFlag::S_IFSOCK => EntryKind::Socket,
        _ => EntryKind::File,
    };
    let nsec = |n: i64| u32::try_from(n).unwrap_or(0);
    EntryMeta {
        kind,
        size: u64::try_from(stat.st_size).unwrap_or(0),
        mode: stat.st_mode & 0o7777,
        uid: stat.st_uid,
        gid: stat.st_gid,
        mtime: Timestamp {
            sec: stat.st_mtime,
            nsec: nsec(stat.st_mtime_nsec),
        },
        atime: Timestamp {
            sec: stat.st_atime,
            nsec: nsec(stat.st_atime_nsec),
        },
        ino: stat.st_ino,
    }
}
