//! `DirIdentity`: what makes two paths of a tree the same directory, so a walker can stop at a
//! directory hard-link loop (a corrupt or hostile ext filesystem) instead of copying the tree
//! inside itself. A mounted tree gives device and inode numbers; the userspace ext reader
//! (ext4-view) does not expose inode numbers, so there it is a fingerprint of the directory's
//! whole inode metadata (times to the nanosecond, creation and change times included) and its
//! names: a hard-linked directory always matches itself, and walkers only compare it with the
//! directories above it, where a match without a loop would need a crafted copy of a whole
//! ancestor down to its change time.

use std::ffi::OsString;
use std::hash::{Hash, Hasher};

/// The identity of a directory within one walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirIdentity {
    /// Device and inode numbers: exact.
    Inode { dev: u64, ino: u64 },
    /// A fingerprint of the directory's inode metadata and names (the ext reader).
    Fingerprint(u64),
}

impl DirIdentity {
    /// A fingerprint of `metadata` (anything hashable that holds the whole inode's metadata)
    /// and the directory's names.
    pub fn fingerprint(metadata: &impl Hash, names: &[OsString]) -> Self {
        // SipHash with fixed keys: the same directory fingerprints alike in every walk.
        let mut h = std::hash::DefaultHasher::new();
        metadata.hash(&mut h);
        names.hash(&mut h);
        DirIdentity::Fingerprint(h.finish())
    }

    /// Whether a match is certain (inode numbers) rather than a fingerprint.
    pub fn is_exact(&self) -> bool {
        matches!(self, DirIdentity::Inode { .. })
    }

    /// How a report names it.
    pub fn describe(&self) -> String {
        match self {
            DirIdentity::Inode { ino, .. } => format!("inode {ino}"),
            DirIdentity::Fingerprint(_) => "identical inode metadata and entries".to_string(),
        }
    }
}
