//! `SourceTree`: a read-only file tree that copy, verify and inspect walk, whether it is a
//! mounted directory ([`super::HostTree`]) or an ext filesystem read in userspace
//! ([`super::ExtTree`]). Paths are relative to the tree's root; symlinks are never followed
//! except by [`resolve_in_tree`], which keeps them inside the tree like a chroot would.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dir_identity::DirIdentity;
use super::error::{FsError, FsErrorKind};

/// What kind of thing a directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// A timestamp: seconds since the epoch and nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

/// The metadata of an entry, not following symlinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub size: u64,
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Timestamp,
    pub atime: Timestamp,
    /// The inode number, where the tree shows it (a mounted directory); 0 where it does not
    /// (the userspace ext reader).
    pub ino: u64,
}

/// A name in a directory with its metadata, or why it could not be read.
pub type DirEntry = (OsString, Result<EntryMeta, FsError>);

/// A read-only tree of files.
pub trait SourceTree {
    /// What the tree is, for reports and manifests.
    fn describe(&self) -> String;
    /// The metadata of `rel` ("" is the root), not following a final symlink.
    fn metadata(&self, rel: &Path) -> Result<EntryMeta, FsError>;
    /// The names in directory `rel`, without `.` and `..`, sorted bytewise.
    fn list_dir(&self, rel: &Path) -> Result<Vec<OsString>, FsError>;
    /// Opens regular file `rel` for reading; never follows a symlink.
    fn open_file(&self, rel: &Path) -> Result<Box<dyn Read + '_>, FsError>;
    /// The target of symlink `rel`, as stored.
    fn read_link(&self, rel: &Path) -> Result<OsString, FsError>;
    /// What makes directory `rel` (whose entries are `names`) the same directory as another
    /// path of the tree; `None` when it cannot be told.
    fn dir_identity(&self, rel: &Path, names: &[OsString]) -> Option<DirIdentity> {
        let _ = (rel, names);
        None
    }
    /// The entries of directory `rel` with their metadata (or why it could not be read),
    /// sorted bytewise by name. A tree that can stat a name inside an open directory
    /// overrides this to avoid looking every path up from the root again.
    fn entries(&self, rel: &Path) -> Result<Vec<DirEntry>, FsError> {
        Ok(self
            .list_dir(rel)?
            .into_iter()
            .map(|name| {
                let meta = self.metadata(&rel.join(&name));
                (name, meta)
            })
            .collect())
    }
    /// The tree as one that threads may read at once, when it is (a copy then reads and
    /// writes several files in parallel); `None`: one file at a time.
    fn as_sync(&self) -> Option<&(dyn SourceTree + Sync)> {
        None
    }
    /// The bytes in use on the whole filesystem: no copy of it can need more room for data
    /// (holes and zero blocks are not written). `None` when it cannot be told.
    fn used_bytes(&self) -> Option<u64> {
        None
    }
}

/// Checks that `rel` is a plain relative path (no root, no `..`), dropping `.` components.
pub(crate) fn clean_relative(rel: &Path) -> Result<PathBuf, FsError> {
    let mut out = PathBuf::new();
    for component in rel.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::RootDir | Component::ParentDir | Component::Prefix(_) => {
                return Err(FsError::new(FsErrorKind::BadPath {
                    path: rel.to_path_buf(),
                }));
            }
        }
    }
    Ok(out)
}

/// The largest number of symlinks followed while resolving one path (as Linux's MAXSYMLINKS).
const MAX_SYMLINK_HOPS: usize = 40;

/// Resolves `rel` inside the tree, following symlinks as if the tree's root were `/`: absolute
/// targets start again at the tree's root and `..` never climbs above it. The result names an
/// entry that is not a symlink (or does not exist).
pub fn resolve_in_tree(tree: &dyn SourceTree, rel: &Path) -> Result<PathBuf, FsError> {
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, rel);
    let mut resolved = PathBuf::new();
    let mut hops = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&name);
        match tree.metadata(&candidate) {
            Ok(meta) if meta.kind == EntryKind::Symlink => {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(FsError::new(FsErrorKind::BadPath {
                        path: rel.to_path_buf(),
                    }));
                }
                let target = PathBuf::from(tree.read_link(&candidate)?);
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                push_components(&mut pending, &target);
            }
            _ => resolved = candidate,
        }
    }
    Ok(resolved)
}

/// Pushes the components of `path` so that popping yields them first to last.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsStr::new("..").to_os_string()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}
