//! `verify`: re-reads a copy and checks it against its manifest, and (when the source can still
//! be opened) the source against the manifest too. Says what matched, what differed, what is
//! missing, what could not be read, what the copy did not copy, and what is there that the
//! manifest does not know. Files are checked by a few threads at once (the copy, and the
//! source when it can be read by several), each file hashed with what its manifest line holds
//! (BLAKE3, or SHA-256 in a version 1 manifest); the findings come out in manifest order.
//!
//! A file the copy marked damaged (the image could not give some of its bytes, copied as
//! zeros) that matches its hash is not a mismatch: it is listed apart, as damaged, with the
//! bytes it lost, so a verified copy never passes for an intact one.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::FsError;
use super::host_tree::HostTree;
use super::manifest::{ContentHash, DamageSource, EntryStatus, Manifest, ManifestEntry};
use super::source_tree::{EntryKind, SourceTree};

/// Threads hashing at once.
const VERIFY_THREADS: usize = 4;

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
    /// The damage report the copy marked its entries from; `None`: the copy was made without
    /// one, so which files hold zeros for unreadable areas is not known.
    pub damage_source: Option<DamageSource>,
    /// Entries the copy marked damaged (matched or not: a mismatch is also in `differed`).
    pub damaged: Vec<DamagedFinding>,
    /// The bytes lost inside the damaged files (not directories).
    pub damaged_bytes: u64,
    /// Entries whose damage the copy could not tell (in a damaged directory).
    pub damage_unknown: Vec<String>,
}

/// An entry the copy marked damaged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DamagedFinding {
    /// The path, escaped as in [`Finding`].
    pub path: String,
    pub kind: EntryKind,
    /// `[start, length]` byte ranges the image could not give (zeros in the copy).
    pub ranges: Vec<[u64; 2]>,
    pub lost_bytes: u64,
    /// Whether the copy (and the source, when re-read) matched the manifest.
    pub matched: bool,
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

    /// True when the copy verified and no entry is marked damaged: nothing was lost.
    pub fn intact(&self) -> bool {
        self.ok() && self.damaged.is_empty()
    }

    /// "2 files damaged (12.0 KiB lost), 1 directory" when the copy marked entries damaged.
    pub fn damage_line(&self) -> Option<String> {
        let dirs = self
            .damaged
            .iter()
            .filter(|d| d.kind == EntryKind::Dir)
            .count();
        let files = self.damaged.len() - dirs;
        if self.damaged.is_empty() {
            return None;
        }
        let mut line = match files {
            0 => "no file damaged".to_string(),
            1 => "1 file damaged".to_string(),
            n => format!("{n} files damaged"),
        };
        if files > 0 {
            line.push_str(&format!(
                " ({} lost)",
                salvage_text::size_text::binary_size(self.damaged_bytes, 1)
            ));
        }
        match dirs {
            0 => {}
            1 => line.push_str(", 1 directory"),
            n => line.push_str(&format!(", {n} directories")),
        }
        Some(line)
    }
}

/// A hash being computed, of the kind a manifest line holds.
enum Hashing {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Hashing {
    fn like(like: &ContentHash) -> Hashing {
        match like {
            ContentHash::Sha256(_) => Hashing::Sha256(Sha256::new()),
            _ => Hashing::Blake3(Box::default()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hashing::Sha256(h) => h.update(bytes),
            Hashing::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    fn finish(self) -> ContentHash {
        match self {
            Hashing::Sha256(h) => ContentHash::Sha256(hex::encode(h.finalize())),
            Hashing::Blake3(h) => ContentHash::Blake3(h.finalize().to_hex().to_string()),
        }
    }
}

/// The hash (of the kind `like` is) and length of what `read(buf, offset)` yields from offset
/// 0 on, until it yields nothing, or a short read ends exactly at `size` (when given).
fn hash_reads(
    mut read: impl FnMut(&mut [u8], u64) -> std::io::Result<usize>,
    size: Option<u64>,
    like: &ContentHash,
    buf: &mut [u8],
) -> std::io::Result<(ContentHash, u64)> {
    let mut len = 0u64;
    let mut hashing = Hashing::like(like);
    loop {
        match read(buf, len) {
            Ok(0) => break,
            Ok(n) => {
                hashing.update(&buf[..n]);
                len += n as u64;
                if n < buf.len() && Some(len) == size {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((hashing.finish(), len))
}

/// The hash (of the kind `like` is) and length of everything `reader` yields.
fn hash_of(
    mut reader: impl Read,
    like: &ContentHash,
    buf: &mut [u8],
) -> std::io::Result<(ContentHash, u64)> {
    hash_reads(|b, _| reader.read(b), None, like, buf)
}

/// The hash and length of a regular file of the copy, `size` bytes at open, read straight
/// (`pread`, no hole lookups: a hole reads as zeros anyway): a short read that ends at `size`
/// is the end, so a small file costs one read.
fn hash_file(
    file: &std::fs::File,
    size: u64,
    like: &ContentHash,
    buf: &mut [u8],
) -> std::io::Result<(ContentHash, u64)> {
    use std::os::unix::fs::FileExt;
    hash_reads(|b, at| file.read_at(b, at), Some(size), like, buf)
}

/// What a tree holds at one path, reduced to what a manifest records.
enum Seen {
    File { hash: ContentHash, size: u64 },
    Symlink(std::ffi::OsString),
    Dir,
    Other(EntryKind),
}

fn look(
    tree: &dyn SourceTree,
    entry: &ManifestEntry,
    rel: &Path,
    buf: &mut [u8],
) -> Result<Seen, String> {
    if entry.kind == EntryKind::File
        && let Some(like) = entry.content_hash()
        && let Ok(reader) = tree.open_file(rel)
    {
        // The usual case in one open (`open_file` refuses anything but a regular file).
        let (hash, size) = hash_of(reader, &like, buf).map_err(|e| e.to_string())?;
        return Ok(Seen::File { hash, size });
    }
    let meta = tree.metadata(rel).map_err(|e| e.to_string())?;
    Ok(match meta.kind {
        EntryKind::File => {
            let like = entry
                .content_hash()
                .unwrap_or(ContentHash::Blake3(String::new()));
            let reader = tree.open_file(rel).map_err(|e| e.to_string())?;
            let (hash, size) = hash_of(reader, &like, buf).map_err(|e| e.to_string())?;
            Seen::File { hash, size }
        }
        EntryKind::Symlink => Seen::Symlink(tree.read_link(rel).map_err(|e| e.to_string())?),
        EntryKind::Dir => Seen::Dir,
        other => Seen::Other(other),
    })
}

/// [`look`] for the copy, whose regular files are read straight ([`hash_file`]).
fn look_copy(
    copy: &HostTree,
    entry: &ManifestEntry,
    rel: &Path,
    buf: &mut [u8],
) -> Result<Seen, String> {
    if entry.kind == EntryKind::File
        && let Some(like) = entry.content_hash()
        && let Ok((file, size)) = copy.open_regular(rel)
    {
        let (hash, size) = hash_file(&file, size, &like, buf).map_err(|e| e.to_string())?;
        return Ok(Seen::File { hash, size });
    }
    look(copy, entry, rel, buf)
}

/// How `seen` differs from the manifest entry, or `None` when it matches.
fn compare(entry: &ManifestEntry, seen: &Seen) -> Option<String> {
    match (entry.kind, seen) {
        (EntryKind::File, Seen::File { hash, size }) => {
            let want = entry.content_hash();
            if want.as_ref() != Some(hash) || entry.size != *size {
                let algorithm = hash.algorithm();
                Some(format!(
                    "content differs: {size} bytes {algorithm} {}, manifest says {} bytes {algorithm} {}",
                    hash.hex(),
                    entry.size,
                    want.as_ref().map_or("(none)", ContentHash::hex)
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

/// What checking one manifest entry found, each finding with the list it goes to.
#[derive(Default)]
struct Checked {
    matched: bool,
    findings: Vec<(Kind, Finding)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Differed,
    Missing,
    Unreadable,
    NotCopied,
}

/// Checks one entry against the copy and, when given, the source.
fn check_entry(
    entry: &ManifestEntry,
    copy: &HostTree,
    source: Option<&dyn SourceTree>,
    buf: &mut [u8],
) -> Checked {
    let mut out = Checked::default();
    if entry.status != EntryStatus::Copied {
        let why = entry
            .note
            .clone()
            .unwrap_or_else(|| format!("{:?}", entry.status));
        out.findings.push((Kind::NotCopied, finding(entry, why)));
        return out;
    }
    let rel = entry.rel_path();
    match look_copy(copy, entry, &rel, buf) {
        Ok(seen) => {
            if let Some(diff) = compare(entry, &seen) {
                out.findings
                    .push((Kind::Differed, finding(entry, format!("copy: {diff}"))));
            }
        }
        Err(_) if copy.metadata(&rel).is_err() => {
            out.findings
                .push((Kind::Missing, finding(entry, "not in the copy".to_string())));
        }
        Err(e) => {
            out.findings
                .push((Kind::Unreadable, finding(entry, format!("copy: {e}"))));
        }
    }
    if let Some(source) = source {
        match look(source, entry, &rel, buf) {
            Ok(seen) => {
                if let Some(diff) = compare(entry, &seen) {
                    out.findings
                        .push((Kind::Differed, finding(entry, format!("source: {diff}"))));
                }
            }
            Err(e) => {
                out.findings
                    .push((Kind::Unreadable, finding(entry, format!("source: {e}"))));
            }
        }
    }
    out.matched = out.findings.is_empty();
    out
}

/// Checks every entry, on several threads when the trees allow, in manifest order.
fn check_all(
    entries: &[ManifestEntry],
    copy: &HostTree,
    source: Option<&dyn SourceTree>,
) -> Vec<Checked> {
    let shared: Option<Option<&(dyn SourceTree + Sync)>> = match source {
        None => Some(None),
        Some(s) => s.as_sync().map(Some),
    };
    let Some(shared) = shared else {
        // A source only one thread may read (the userspace ext reader).
        let mut buf = vec![0u8; 1 << 20];
        return entries
            .iter()
            .map(|e| check_entry(e, copy, source, &mut buf))
            .collect();
    };
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Checked>> = Vec::new();
    slots.resize_with(entries.len(), || None);
    let done: Vec<Vec<(usize, Checked)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..VERIFY_THREADS)
            .map(|_| {
                let next = &next;
                scope.spawn(move || {
                    let mut buf = vec![0u8; 1 << 20];
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(entry) = entries.get(i) else { break };
                        let source = shared.map(|s| s as &dyn SourceTree);
                        out.push((i, check_entry(entry, copy, source, &mut buf)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, checked) in done.into_iter().flatten() {
        slots[i] = Some(checked);
    }
    slots
        .into_iter()
        .zip(entries)
        .map(|(c, entry)| {
            c.unwrap_or_else(|| Checked {
                matched: false,
                findings: vec![(
                    Kind::Unreadable,
                    finding(entry, "not checked: a verifying thread failed".to_string()),
                )],
            })
        })
        .collect()
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
        damage_source: manifest.header.damage.clone(),
        ..VerifyReport::default()
    };
    let listed: BTreeSet<PathBuf> = manifest.entries.iter().map(|e| e.rel_path()).collect();
    for (checked, entry) in check_all(&manifest.entries, &copy, source)
        .into_iter()
        .zip(&manifest.entries)
    {
        if checked.matched {
            report.matched += 1;
        }
        if entry.damage == Some(super::manifest::DamageState::Unknown) {
            report.damage_unknown.push(escaped(&entry.rel_path()));
        }
        if let Some(lost) = entry.damage_lost() {
            if entry.kind != EntryKind::Dir {
                report.damaged_bytes += lost;
            }
            report.damaged.push(DamagedFinding {
                path: escaped(&entry.rel_path()),
                kind: entry.kind,
                ranges: entry.damaged.clone(),
                lost_bytes: lost,
                matched: checked.matched,
            });
        }
        for (kind, finding) in checked.findings {
            match kind {
                Kind::Differed => report.differed.push(finding),
                Kind::Missing => report.missing.push(finding),
                Kind::Unreadable => report.unreadable.push(finding),
                Kind::NotCopied => report.not_copied.push(finding),
            }
        }
    }
    // Anything in the copy the manifest does not list.
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = copy.names_and_dirs(&dir) else {
            continue;
        };
        for (name, is_dir) in entries {
            let rel = dir.join(name);
            if !listed.contains(&rel) {
                report.extra.push(escaped(&rel));
            }
            if is_dir {
                stack.push(rel);
            }
        }
    }
    report.extra.sort();
    Ok(report)
}
