//! `DestDir`: the directory a copy writes into. Everything is created relative to the
//! directory's fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and O_EXCL, so a symlink
//! recreated from the source can never redirect a later write outside the copy.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{FchmodatFlags, Mode, UtimensatFlags, fchmodat, mkdirat, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, symlinkat, unlinkat};

use super::error::{FsError, FsErrorKind};
use super::source_tree::{EntryKind, EntryMeta, clean_relative};

/// Permission bits a copy never carries over: setuid and setgid.
pub(crate) const STRIPPED_BITS: u32 = 0o6000;

/// The copy's destination directory.
#[derive(Debug)]
pub(crate) struct DestDir {
    root: PathBuf,
    root_fd: OwnedFd,
    set_owner: bool,
    /// Resuming a partial copy in place: what exists is replaced (files, symlinks) or kept
    /// (directories) instead of refused.
    resume: bool,
}

impl DestDir {
    /// Creates `root` (and its parents) or accepts it if it is an empty directory.
    pub(crate) fn create(root: &Path, set_owner: bool) -> Result<Self, FsError> {
        Self::open(root, set_owner, false)
    }

    /// Opens the directory of a partial copy to go on with it in place (it may hold entries).
    pub(crate) fn resume(root: &Path, set_owner: bool) -> Result<Self, FsError> {
        Self::open(root, set_owner, true)
    }

    fn open(root: &Path, set_owner: bool, resume: bool) -> Result<Self, FsError> {
        std::fs::create_dir_all(root).map_err(|e| {
            FsError::io(
                FsErrorKind::Write {
                    path: root.to_path_buf(),
                },
                e,
            )
        })?;
        let not_empty = std::fs::read_dir(root)
            .map_err(|e| {
                FsError::io(
                    FsErrorKind::Open {
                        path: root.to_path_buf(),
                    },
                    e,
                )
            })?
            .next()
            .is_some();
        if not_empty && !resume {
            return Err(FsError::new(FsErrorKind::DestNotEmpty {
                path: root.to_path_buf(),
            }));
        }
        let root_fd = nix::fcntl::open(
            root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
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
            set_owner,
            resume,
        })
    }

    /// The destination directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn write_error(&self, rel: &Path, e: impl Into<std::io::Error>) -> FsError {
        FsError::io(
            FsErrorKind::Write {
                path: self.root.join(rel),
            },
            e,
        )
    }

    /// The parent directory's fd and the entry's name.
    fn parent(&self, rel: &Path) -> Result<(OwnedFd, PathBuf), FsError> {
        let rel = clean_relative(rel)?;
        let name = rel
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| FsError::new(FsErrorKind::BadPath { path: rel.clone() }))?;
        let parent = rel
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
        let fd = openat2(&self.root_fd, parent, how).map_err(|e| self.write_error(&rel, e))?;
        Ok((fd, name))
    }

    /// Creates directory `rel`, owner-only until [`DestDir::set_attributes`] gives it its mode.
    pub(crate) fn make_dir(&self, rel: &Path) -> Result<(), FsError> {
        let (parent, name) = self.parent(rel)?;
        match mkdirat(&parent, name.as_path(), Mode::from_bits_truncate(0o700)) {
            Err(nix::errno::Errno::EEXIST) if self.resume && self.is_real_dir(&parent, &name) => {
                Ok(())
            }
            other => other.map_err(|e| self.write_error(rel, e)),
        }
    }

    /// Whether `name` in `parent` is a directory (not a symlink to one).
    fn is_real_dir(&self, parent: &OwnedFd, name: &Path) -> bool {
        nix::sys::stat::fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
    }

    /// On resume: removes a file or symlink a cut-short run left where `rel` goes.
    fn clear_for_resume(&self, parent: &OwnedFd, name: &Path) {
        if self.resume && !self.is_real_dir(parent, name) {
            let _ = unlinkat(parent, name, UnlinkatFlags::NoRemoveDir);
        }
    }

    /// The fd of directory `rel` of the copy ("" is the root), opened once so the files
    /// created in it cost one open each (`O_PATH`, beneath the root, no symlinks).
    pub(crate) fn dir_fd(&self, rel: &Path) -> Result<OwnedFd, FsError> {
        let rel = clean_relative(rel)?;
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
        openat2(&self.root_fd, rel.as_path(), how).map_err(|e| self.write_error(&rel, e))
    }

    /// Creates regular file `name` in the directory `parent` (from [`DestDir::dir_fd`]; `rel`
    /// is its path, for errors), owner-only until its attributes are set. It must not exist
    /// (on resume, a file or symlink a cut-short run left there is removed first).
    pub(crate) fn create_file_in(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        rel: &Path,
    ) -> Result<File, FsError> {
        self.clear_for_resume(parent, Path::new(name));
        let how = OpenHow::new()
            .flags(
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
            )
            .mode(Mode::from_bits_truncate(0o600))
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
        let fd = openat2(parent, name, how).map_err(|e| self.write_error(rel, e))?;
        Ok(File::from(fd))
    }

    /// Removes a partly written file `name` of directory `parent`.
    pub(crate) fn remove_file_in(&self, parent: &OwnedFd, name: &OsStr) {
        let _ = unlinkat(parent, name, UnlinkatFlags::NoRemoveDir);
    }

    /// Gives the file open as `file` (created by this copy) the source's owner (when allowed),
    /// mode (without setuid/setgid) and times, through its fd: no path is looked up again.
    pub(crate) fn set_file_attributes(
        &self,
        file: &File,
        rel: &Path,
        meta: &EntryMeta,
    ) -> Result<(), FsError> {
        if self.set_owner {
            nix::unistd::fchown(
                file,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| self.write_error(rel, e))?;
        }
        let mode = Mode::from_bits_truncate(self.copy_mode(meta));
        nix::sys::stat::fchmod(file, mode).map_err(|e| self.write_error(rel, e))?;
        let spec = |t: super::source_tree::Timestamp| {
            TimeSpec::new(t.sec, i64::from(t.nsec.min(999_999_999)))
        };
        nix::sys::stat::futimens(file, &spec(meta.atime), &spec(meta.mtime))
            .map_err(|e| self.write_error(rel, e))
    }

    /// Creates symlink `rel` pointing at `target` (never followed).
    pub(crate) fn make_symlink(&self, rel: &Path, target: &OsStr) -> Result<(), FsError> {
        let (parent, name) = self.parent(rel)?;
        self.clear_for_resume(&parent, &name);
        symlinkat(target, &parent, name.as_path()).map_err(|e| self.write_error(rel, e))
    }

    /// Gives `rel` the source's owner (when allowed), mode (without setuid/setgid) and times.
    pub(crate) fn set_attributes(&self, rel: &Path, meta: &EntryMeta) -> Result<(), FsError> {
        let (parent, name) = self.parent(rel)?;
        let name = name.as_path();
        if self.set_owner {
            fchownat(
                &parent,
                name,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| self.write_error(rel, e))?;
        }
        if meta.kind != EntryKind::Symlink {
            // The entry was created by this copy as a file or directory, so it is no symlink.
            let mode = Mode::from_bits_truncate(self.copy_mode(meta));
            fchmodat(&parent, name, mode, FchmodatFlags::FollowSymlink)
                .map_err(|e| self.write_error(rel, e))?;
        }
        let spec = |t: super::source_tree::Timestamp| {
            TimeSpec::new(t.sec, i64::from(t.nsec.min(999_999_999)))
        };
        utimensat(
            &parent,
            name,
            &spec(meta.atime),
            &spec(meta.mtime),
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| self.write_error(rel, e))
    }

    /// The mode a copy gets: the source's, without setuid/setgid. Without root (no owners
    /// kept), the copying user keeps read and write on files and full access to directories,
    /// or a file of mode 000 in the image would be a copy that its own user (and `verify`)
    /// cannot read; the manifest keeps the true mode.
    fn copy_mode(&self, meta: &EntryMeta) -> u32 {
        let mode = meta.mode & 0o7777 & !STRIPPED_BITS;
        match (self.set_owner, meta.kind) {
            (true, _) => mode,
            (false, EntryKind::Dir) => mode | 0o700,
            (false, _) => mode | 0o600,
        }
    }

    /// Sets the root directory's mode and times (it was created by [`DestDir::create`]).
    pub(crate) fn set_root_attributes(&self, meta: &EntryMeta) -> Result<(), FsError> {
        let mode = Mode::from_bits_truncate(self.copy_mode(meta));
        std::fs::set_permissions(
            &self.root,
            std::os::unix::fs::PermissionsExt::from_mode(mode.bits()),
        )
        .map_err(|e| self.write_error(Path::new(""), e))?;
        let spec = |t: super::source_tree::Timestamp| {
            TimeSpec::new(t.sec, i64::from(t.nsec.min(999_999_999)))
        };
        utimensat(
            nix::fcntl::AT_FDCWD,
            self.root.as_path(),
            &spec(meta.atime),
            &spec(meta.mtime),
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| self.write_error(Path::new(""), e))
    }
}
