//! `verify`: re-reads a copy and checks it against its manifest, and (when the source can still
//! be opened) the source against the manifest too. Says what matched, what differed, what is
//! missing, what could not be read, what the copy did not copy, and what is there that the
//! manifest does not know.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::FsError;
use super::host_tree::HostTree;
use super::manifest::{EntryStatus, Manifest, ManifestEntry};
use super::source_tree::{EntryKind, SourceTree};

/// One finding about one path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The path, escaped (newlines and other control characters shown as `\n` etc.).
    pub path: String,
    pub detail: String,
}

/// The outcome of a verification.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyReport {
    pub manifest: PathBuf,
    pub copy_root: PathBuf,
    /// What the source was re-read from, if it was.
    pub source: Option<String>,
    /// Entries whose copy (and source, when checked) matched the manifest.
    pub matched: u64,
    pub differed: Vec<Finding>,
    pub missing: Vec<Finding>,
    /// Entries that could not be read now (copy or source).
    pub unreadable: Vec<Finding>,
    /// Entries the copy recorded as skipped or unreadable (not checked).
    pub not_copied: Vec<Finding>,
    /// Paths in the copy the manifest does not list.
    pub extra: Vec<String>,
    /// The manifest has no summary line: the copy did not finish.
    pub incomplete_copy: bool,
}

impl VerifyReport {
    /// True when everything copied matched and nothing is missing, unreadable or extra.
    pub fn ok(&self) -> bool {
        self.differed.is_empty()
            && self.missing.is_empty()
            && self.unreadable.is_empty()
            && self.extra.is_empty()
            && !self.incomplete_copy
    }
}

/// SHA-256 and length of everything `reader` yields.
pub(crate) fn sha256_of(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// What a tree holds at one path, reduced to what a manifest records.
enum Seen {
    File { sha256: String, size: u64 },
    Symlink(std::ffi::OsString),
    Dir,
    Other(EntryKind),
}

fn look(tree: &dyn SourceTree, rel: &Path) -> Result<Seen, String> {
    let meta = tree.metadata(rel).map_err(|e| e.to_string())?;
    Ok(match meta.kind {
        EntryKind::File => {
            let reader = tree.open_file(rel).map_err(|e| e.to_string())?;
            let (sha256, size) = sha256_of(reader).map_err(|e| e.to_string())?;
            Seen::File { sha256, size }
        }
        EntryKind::Symlink => Seen::Symlink(tree.read_link(rel).map_err(|e| e.to_string())?),
        EntryKind::Dir => Seen::Dir,
        other => Seen::Other(other),
    })
}

/// How `seen` differs from the manifest entry, or `None` when it matches.
fn compare(entry: &ManifestEntry, seen: &Seen) -> Option<String> {
    match (entry.kind, seen) {
        (EntryKind::File, Seen::File { sha256, size }) => {
            let want = entry.sha256.as_deref().unwrap_or("");
            if want != sha256 || entry.size != *size {
                Some(format!(
                    "content differs: {size} bytes sha256 {sha256}, manifest says {} bytes sha256 {want}",
                    entry.size
                ))
            } else {
                None
            }
        }
        (EntryKind::Symlink, Seen::Symlink(target)) => {
            (entry.link_target().as_ref() != Some(target)).then(|| {
                format!(
                    "symlink points to {}, manifest says {}",
                    escaped(Path::new(target)),
                    entry
                        .target
                        .as_deref()
                        .map_or_else(|| "no target".to_string(), |t| t.escape_debug().to_string())
                )
            })
        }
        (EntryKind::Dir, Seen::Dir) => None,
        (want, Seen::File { .. }) => Some(format!("is a regular file, manifest says {want:?}")),
        (want, Seen::Symlink(_)) => Some(format!("is a symlink, manifest says {want:?}")),
        (want, Seen::Dir) => Some(format!("is a directory, manifest says {want:?}")),
        (want, Seen::Other(kind)) => Some(format!("is a {kind:?}, manifest says {want:?}")),
    }
}

fn finding(entry: &ManifestEntry, detail: String) -> Finding {
    Finding {
        path: escaped(&entry.rel_path()),
        detail,
    }
}

/// A path as text, control characters (a newline in a name) escaped, without quotes.
fn escaped(path: &Path) -> String {
    path.to_string_lossy().escape_debug().to_string()
}

/// Verifies the copy described by `manifest_path` (at `copy_root`, or where the manifest says),
/// and the source against the manifest when `source` is given.
pub fn verify(
    manifest_path: &Path,
    copy_root: Option<&Path>,
    source: Option<&dyn SourceTree>,
) -> Result<VerifyReport, FsError> {
    let manifest = Manifest::read(manifest_path)?;
    let root = copy_root
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.header.dest.clone());
    let copy = HostTree::open(&root)?;
    let mut report = VerifyReport {
        manifest: manifest_path.to_path_buf(),
        copy_root: root,
        source: source.map(|s| s.describe()),
        incomplete_copy: manifest.summary.is_none(),
        ..VerifyReport::default()
    };
    let mut listed = BTreeSet::new();
    for entry in &manifest.entries {
        let rel = entry.rel_path();
        listed.insert(rel.clone());
        if entry.status != EntryStatus::Copied {
            let why = entry
                .note
                .clone()
                .unwrap_or_else(|| format!("{:?}", entry.status));
            report.not_copied.push(finding(entry, why));
            continue;
        }
        let mut good = true;
        match look(&copy, &rel) {
            Ok(seen) => {
                if let Some(diff) = compare(entry, &seen) {
                    report
                        .differed
                        .push(finding(entry, format!("copy: {diff}")));
                    good = false;
                }
            }
            Err(_) if copy.metadata(&rel).is_err() => {
                report
                    .missing
                    .push(finding(entry, "not in the copy".to_string()));
                good = false;
            }
            Err(e) => {
                report.unreadable.push(finding(entry, format!("copy: {e}")));
                good = false;
            }
        }
        if let Some(source) = source {
            match look(source, &rel) {
                Ok(seen) => {
                    if let Some(diff) = compare(entry, &seen) {
                        report
                            .differed
                            .push(finding(entry, format!("source: {diff}")));
                        good = false;
                    }
                }
                Err(e) => {
                    report
                        .unreadable
                        .push(finding(entry, format!("source: {e}")));
                    good = false;
                }
            }
        }
        if good {
            report.matched += 1;
        }
    }
    // Anything in the copy the manifest does not list.
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let Ok(names) = copy.list_dir(&dir) else {
            continue;
        };
        for name in names {
            let rel = dir.join(name);
            if !listed.contains(&rel) {
                report.extra.push(escaped(&rel));
            }
            if copy.metadata(&rel).is_ok_and(|m| m.kind == EntryKind::Dir) {
                stack.push(rel);
            }
        }
    }
    report.extra.sort();
    Ok(report)
}
