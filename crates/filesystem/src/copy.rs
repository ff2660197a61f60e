//! `copy_tree`: copies a [`SourceTree`] (or chosen paths of it) into a new directory, hashing
//! while copying and writing a manifest. Symlinks are recreated as symlinks and never followed;
//! device nodes, FIFOs and sockets are recorded as skipped, never created; setuid and setgid
//! bits are dropped; a file that cannot be read is recorded and the copy goes on.
//!
//! One thread walks the tree (directories, symlinks, the manifest); regular files go to a few
//! copying threads ([`FileJob`]) when the tree can be read by several at once (a mounted
//! directory), or are copied by the walker itself (the userspace ext reader). The manifest
//! lists entries in walk order and claims them only at a checkpoint ([`Ledger`]: `syncfs`).

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::copy_damage::CopyDamage;
use super::copy_job::{CHUNK, FileJob, JobContext, Outcome};
use super::copy_ledger::Ledger;
use super::dest_dir::DestDir;
use super::dir_identity::DirIdentity;
use super::error::{FsError, FsErrorKind};
use super::manifest::{
    ContentHash, DamageState, EntryStatus, MANIFEST_FORMAT, Manifest, ManifestEntry,
    ManifestHeader, ManifestRecord, ManifestSummary, ManifestWriter, SourceSpec, encode_name,
};
use super::progress::Progress;
use super::source_tree::{EntryKind, EntryMeta, SourceTree, clean_relative};

/// Threads copying files at once (when the tree allows it): enough to keep two cores and the
/// disks busy while some wait on the filesystem.
const COPY_THREADS: usize = 4;

/// Files waiting for a copying thread (the walker waits when this many are queued).
const QUEUE: usize = 256;

/// What to copy and how.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    /// Paths relative to the source's root to copy (with their parents); empty: everything.
    pub paths: Vec<PathBuf>,
    /// Give copies the source's owners: `None` means when running as root.
    pub preserve_owner: Option<bool>,
    /// Set to stop the copy between two reads (Ctrl-C); the manifest then has no summary.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Go on with a copy that was cut short (out of space, killed) in place: files its manifest
    /// lists as copied, still the same size and mtime in the source and the copy, are kept
    /// with their hash instead of being copied again.
    pub resume: bool,
    /// What the image's unreadable areas hit (`CopyDamage::from_report_file`): each entry is
    /// then marked intact or damaged, with its damaged byte ranges, in the manifest.
    pub damage: Option<Arc<CopyDamage>>,
}

/// An entry the copy marked damaged.
#[derive(Clone, Debug, Serialize)]
pub struct DamagedEntry {
    /// The path relative to the copy's root.
    pub path: String,
    /// "file", "dir", ...
    pub kind: EntryKind,
    /// `[start, length]` byte ranges the image could not give (zeros in the copy).
    pub ranges: Vec<[u64; 2]>,
    pub lost_bytes: u64,
    /// What was hit: "data", "extent tree block", "directory block", "inode table".
    pub hit: Vec<String>,
}

/// The outcome of a copy.
#[derive(Clone, Debug, Serialize)]
pub struct CopyReport {
    pub dest: PathBuf,
    pub manifest: PathBuf,
    pub summary: ManifestSummary,
    /// Entries skipped or unreadable, with why (`path: note`).
    pub problems: Vec<String>,
    /// With a damage report: the entries marked damaged, in manifest order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<Vec<DamagedEntry>>,
}

impl CopyReport {
    /// Entries asked for and not recovered (unreadable).
    pub fn losses(&self) -> u64 {
        self.summary.unreadable
    }

    /// Whether the copy lost entries and recovered no file or symlink at all (the root
    /// directory could not be read, say): a failure, not a copy.
    pub fn recovered_nothing(&self) -> bool {
        self.losses() > 0 && self.summary.files == 0 && self.summary.symlinks == 0
    }

    /// With a damage report: "2 files damaged (12.0 KiB lost), 1 directory", or "no file
    /// damaged".
    pub fn damage_line(&self) -> Option<String> {
        let s = &self.summary;
        let files = s.damaged_files?;
        let dirs = s.damaged_dirs.unwrap_or(0);
        let mut line = match files {
            0 => "no file damaged".to_string(),
            1 => "1 file damaged".to_string(),
            n => format!("{n} files damaged"),
        };
        if files > 0 {
            line.push_str(&format!(
                " ({} lost)",
                salvage_text::size_text::binary_size(s.lost_bytes.unwrap_or(0), 1)
            ));
        }
        match dirs {
            0 => {}
            1 => line.push_str(", 1 directory"),
            n => line.push_str(&format!(", {n} directories")),
        }
        if let Some(n) = s.damage_unknown.filter(|n| *n > 0) {
            line.push_str(&format!(
                ", {n} not known (in a damaged directory the report could not read)"
            ));
        }
        Some(line)
    }

    /// Why a copy that recovered nothing failed, for the operator.
    pub fn nothing_recovered_message(&self) -> String {
        format!(
            "nothing was recovered: {} (manifest: {}); the filesystem may be too damaged for this \
             reader: try `salvage fsck` with repair (it works on a copy) and copy from the repaired copy",
            self.problems
                .first()
                .map_or("every entry was unreadable", String::as_str),
            self.manifest.display()
        )
    }
}

/// Copies `source` into `dest` (created; must be absent or empty) and writes the manifest to
/// `manifest_path` (must not exist). `spec` says how to reopen the source for `verify`.
pub fn copy_tree(
    source: &dyn SourceTree,
    spec: SourceSpec,
    dest: &Path,
    manifest_path: &Path,
    options: &CopyOptions,
    progress: &mut Progress,
) -> Result<CopyReport, FsError> {
    let paths = options
        .paths
        .iter()
        .map(|p| clean_relative(p))
        .collect::<Result<Vec<_>, _>>()?;
    let set_owner = options
        .preserve_owner
        .unwrap_or_else(|| nix::unistd::geteuid().is_root());
    if let SourceSpec::Directory { path } = &spec {
        refuse_dest_inside(path, dest)?;
    }
    let roots = if paths.is_empty() {
        vec![PathBuf::new()]
    } else {
        paths
    };
    let total = total_bytes(source, &roots);
    let done_before = if options.resume {
        finished_before(manifest_path, &spec)?
    } else {
        None
    };
    let kept: u64 = done_before
        .iter()
        .flat_map(HashMap::values)
        .map(|e| e.size)
        .sum();
    check_space(source, dest, total.saturating_sub(kept))?;
    let dest_dir = match &done_before {
        Some(_) => DestDir::resume(dest, set_owner)?,
        None => DestDir::create(dest, set_owner)?,
    };
    let old_manifest = aside_path(manifest_path);
    if done_before.is_some() {
        std::fs::rename(manifest_path, &old_manifest).map_err(|e| {
            FsError::io(
                FsErrorKind::Write {
                    path: old_manifest.clone(),
                },
                e,
            )
        })?;
    }
    let dest_abs = std::fs::canonicalize(dest).map_err(|e| {
        FsError::io(
            FsErrorKind::Open {
                path: dest.to_path_buf(),
            },
            e,
        )
    })?;
    let header = ManifestHeader {
        format: MANIFEST_FORMAT.to_string(),
        source: spec,
        dest: dest_abs.clone(),
        damage: options.damage.as_ref().map(|d| d.source().clone()),
    };
    let manifest = ManifestWriter::create(manifest_path, header)?;
    let ledger = Ledger::new(dest_abs)?;
    let bytes = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let (result_tx, result_rx) = std::sync::mpsc::channel();
    let (summary, problems, damaged) = std::thread::scope(|scope| {
        let jobs = source.as_sync().map(|shared| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<FileJob>(QUEUE);
            let rx = Arc::new(Mutex::new(rx));
            for _ in 0..COPY_THREADS {
                let rx = Arc::clone(&rx);
                let results = result_tx.clone();
                let (dest, bytes, stop) = (&dest_dir, &bytes, &stop);
                let cancel = options.cancel.as_deref();
                scope.spawn(move || {
                    let ctx = JobContext {
                        source: shared,
                        dest,
                        cancel,
                        stop,
                        bytes,
                    };
                    let mut buffer = vec![0u8; CHUNK];
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(job) = job else { break };
                        let done = ctx.run(&job, &mut buffer).map(|o| (job.seq, o));
                        if results.send(done).is_err() {
                            break;
                        }
                    }
                });
            }
            tx
        });
        drop(result_tx);
        let copier = Copier {
            source,
            dest: &dest_dir,
            manifest,
            summary: ManifestSummary::default(),
            problems: Vec::new(),
            progress,
            cancel: options.cancel.clone(),
            open_dirs: Vec::new(),
            seen_dirs: HashMap::new(),
            done_before: done_before.unwrap_or_default(),
            ledger,
            finish_dirs: Vec::new(),
            dest_dirs: HashMap::new(),
            jobs,
            results: result_rx,
            in_flight: 0,
            bytes: &bytes,
            shown_bytes: 0,
            stop: &stop,
            buffer: Vec::new(),
            damage: options.damage.as_deref(),
            damaged: Vec::new(),
        };
        copier.progress.set_total(total);
        copier.run(&roots)
    })?;
    let _ = std::fs::remove_file(&old_manifest);
    Ok(CopyReport {
        dest: dest.to_path_buf(),
        manifest: manifest_path.to_path_buf(),
        summary,
        problems,
        damaged: options.damage.is_some().then_some(damaged),
    })
}

/// The manifest of a cut-short copy while it is being resumed (removed when the copy ends).
fn aside_path(manifest: &Path) -> PathBuf {
    let mut s = manifest.as_os_str().to_os_string();
    s.push(".resuming");
    PathBuf::from(s)
}

/// Whether a cut-short copy can be resumed: its manifest, or the one a resume that was cut
/// short itself set aside, got as far as its header line.
pub fn resumable(manifest_path: &Path) -> bool {
    [manifest_path.to_path_buf(), aside_path(manifest_path)]
        .iter()
        .any(|m| matches!(Manifest::read_cut_short(m), Ok(Some(_))))
}

/// The files a cut-short copy finished, from its manifest (or from the one a resume that was
/// cut short itself set aside); `None` when there is nothing to resume (no manifest got as far
/// as its header).
fn finished_before(
    manifest_path: &Path,
    spec: &SourceSpec,
) -> Result<Option<HashMap<PathBuf, ManifestEntry>>, FsError> {
    let aside = aside_path(manifest_path);
    for path in [manifest_path, aside.as_path()] {
        if !path.exists() {
            continue;
        }
        let Some(manifest) = Manifest::read_cut_short(path)? else {
            continue; // cut short before its header
        };
        if path == aside {
            std::fs::rename(&aside, manifest_path).map_err(|e| {
                FsError::io(
                    FsErrorKind::Write {
                        path: aside.clone(),
                    },
                    e,
                )
            })?;
        }
        if manifest.header.source != *spec {
            return Err(FsError::new(FsErrorKind::Unsupported {
                what: format!(
                    "resuming the copy whose manifest {} was made from another source; move it \
                     and the copy aside to start again",
                    manifest_path.display()
                ),
            }));
        }
        return Ok(Some(
            manifest
                .entries
                .into_iter()
                .filter(|e| {
                    e.status == EntryStatus::Copied
                        && e.kind == EntryKind::File
                        && e.content_hash().is_some()
                })
                .map(|e| (e.rel_path(), e))
                .collect(),
        ));
    }
    Ok(None)
}

/// Refuses a copy whose data cannot fit: the bytes it may write (the files' sizes, but never
/// more than the source filesystem holds in all, since holes and zero blocks are not written)
/// against the free space where `dest` will be (its deepest existing ancestor).
fn check_space(source: &dyn SourceTree, dest: &Path, total: u64) -> Result<(), FsError> {
    let needed = source.used_bytes().map_or(total, |used| used.min(total));
    let mut dir = dest.to_path_buf();
    let st = loop {
        match nix::sys::statvfs::statvfs(&dir) {
            Ok(st) => break st,
            Err(_) => match dir.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_path_buf(),
                _ => match nix::sys::statvfs::statvfs(".") {
                    Ok(st) => break st,
                    Err(_) => return Ok(()), // the copy's own create reports it
                },
            },
        }
    };
    // Root may use the blocks reserved for it; others only the available ones.
    let free = if nix::unistd::geteuid().is_root() {
        st.blocks_free()
    } else {
        st.blocks_available()
    };
    let available = free.saturating_mul(st.fragment_size());
    if needed > available {
        return Err(FsError::new(FsErrorKind::NoSpace {
            dest: dest.to_path_buf(),
            needed,
            available,
        }));
    }
    Ok(())
}

/// The bytes of regular files under `roots`, for the progress display (errors count as 0;
/// a directory seen before, such as one a hard-link loop leads back to, counts once).
fn total_bytes(source: &dyn SourceTree, roots: &[PathBuf]) -> u64 {
    let mut total = 0u64;
    let mut stack: Vec<PathBuf> = roots.to_vec();
    let mut seen = HashSet::new();
    while let Some(rel) = stack.pop() {
        match source.metadata(&rel) {
            Ok(meta) if meta.kind == EntryKind::File => total = total.saturating_add(meta.size),
            Ok(meta) if meta.kind == EntryKind::Dir => {
                if let Ok(names) = source.list_dir(&rel) {
                    let id = source.dir_identity(&rel, &names);
                    if id.is_some_and(|id| !seen.insert(id)) {
                        continue;
                    }
                    stack.extend(names.into_iter().map(|n| rel.join(n)));
                }
            }
            _ => {}
        }
    }
    total
}

/// Work left for the walker: an entry to copy (with its metadata, or why it has none), or a
/// directory that is done being walked.
enum Work {
    Visit(PathBuf, Result<EntryMeta, FsError>),
    Finish(PathBuf, EntryMeta),
}

/// What a finished walk hands back: the summary, the problems, the entries marked damaged.
type CopyDone = (ManifestSummary, Vec<String>, Vec<DamagedEntry>);

struct Copier<'a> {
    source: &'a dyn SourceTree,
    dest: &'a DestDir,
    manifest: ManifestWriter,
    summary: ManifestSummary,
    problems: Vec<String>,
    progress: &'a mut Progress,
    cancel: Option<Arc<AtomicBool>>,
    /// The directories being walked, outermost first: a directory equal to one of them is a
    /// hard-link loop.
    open_dirs: Vec<(PathBuf, DirIdentity)>,
    /// Every directory copied, by exact identity (inode numbers): a second hard link to one.
    seen_dirs: HashMap<DirIdentity, PathBuf>,
    /// On resume: the files the cut-short copy finished, by path.
    done_before: HashMap<PathBuf, ManifestEntry>,
    /// What the manifest may claim, and when.
    ledger: Ledger,
    /// Directories whose mode and times are set once every file is written (so a read-only
    /// directory can still be filled, and no write changes its times afterwards), in the
    /// order their walks ended (innermost first).
    finish_dirs: Vec<(PathBuf, EntryMeta)>,
    /// The copy's directories being filled, opened once each.
    dest_dirs: HashMap<PathBuf, Arc<OwnedFd>>,
    /// Files for the copying threads; `None`: the walker copies them itself.
    jobs: Option<SyncSender<FileJob>>,
    results: Receiver<Result<(u64, Outcome), FsError>>,
    in_flight: usize,
    /// Bytes copied by every thread, and what the progress display has been told.
    bytes: &'a AtomicU64,
    shown_bytes: u64,
    /// Set when the copy ends early: the copying threads stop between two reads.
    stop: &'a AtomicBool,
    /// The walker's buffer when it copies files itself.
    buffer: Vec<u8>,
    /// What the image's unreadable areas hit, when the copy was given it.
    damage: Option<&'a CopyDamage>,
    /// The entries marked damaged so far.
    damaged: Vec<DamagedEntry>,
}

impl Copier<'_> {
    fn check_cancel(&self) -> Result<(), FsError> {
        match &self.cancel {
            Some(flag) if flag.load(Ordering::Relaxed) => {
                Err(FsError::new(FsErrorKind::Interrupted))
            }
            _ => Ok(()),
        }
    }

    /// Copies every root, then waits for the copying threads, sets the directories'
    /// attributes, makes everything durable and closes the manifest with its summary. On an
    /// error (a cancel included), what was done is still made durable and claimed, so a
    /// resume does not copy it again.
    fn run(mut self, roots: &[PathBuf]) -> Result<CopyDone, FsError> {
        let walked = roots.iter().try_for_each(|root| self.copy_root(root));
        if walked.is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
        self.jobs = None; // the threads end once the queue is empty
        let drained = self.drain();
        let done = walked.and(drained).and_then(|()| self.finish_dirs());
        self.progress.finish();
        let claimed = self.checkpoint();
        match done.and(claimed) {
            Ok(()) if self.ledger.complete() => {
                let Copier {
                    manifest,
                    mut summary,
                    problems,
                    damage,
                    damaged,
                    ..
                } = self;
                if damage.is_some() {
                    // Counted even when no entry was recorded.
                    summary.damaged_files.get_or_insert(0);
                    summary.damaged_dirs.get_or_insert(0);
                    summary.lost_bytes.get_or_insert(0);
                }
                manifest.finish(summary.clone())?;
                Ok((summary, problems, damaged))
            }
            Ok(()) => Err(FsError::new(FsErrorKind::Interrupted)),
            Err(e) => {
                let _ = self.manifest.flush();
                Err(e)
            }
        }
    }

    /// Copies one chosen root: its parents are created as plain directories first; each must
    /// be a real directory in the source (a symlinked parent is refused).
    fn copy_root(&mut self, root: &Path) -> Result<(), FsError> {
        let mut prefix = PathBuf::new();
        let components: Vec<_> = root.components().collect();
        for (i, component) in components.iter().enumerate() {
            if i + 1 == components.len() {
                break;
            }
            prefix.push(component);
            let meta = self.source.metadata(&prefix)?;
            if meta.kind != EntryKind::Dir {
                return Err(FsError::new(FsErrorKind::BadPath {
                    path: root.to_path_buf(),
                }));
            }
            if std::fs::symlink_metadata(self.dest_path(&prefix)).is_err() {
                self.dest.make_dir(&prefix)?;
                self.ledger
                    .push(Outcome::new(prefix.clone(), meta, EntryStatus::Copied));
                self.finish_dirs.push((prefix.clone(), meta));
            }
        }
        let meta = self.source.metadata(root);
        self.walk(root, meta)
    }

    fn dest_path(&self, rel: &Path) -> PathBuf {
        self.dest.root().join(rel)
    }

    fn walk(&mut self, start: &Path, meta: Result<EntryMeta, FsError>) -> Result<(), FsError> {
        let mut work = vec![Work::Visit(start.to_path_buf(), meta)];
        while let Some(item) = work.pop() {
            self.check_cancel()?;
            match item {
                Work::Finish(rel, meta) => {
                    if self.open_dirs.last().is_some_and(|(open, _)| *open == rel) {
                        self.open_dirs.pop();
                    }
                    self.dest_dirs.remove(&rel);
                    self.finish_dirs.push((rel, meta));
                }
                Work::Visit(rel, meta) => {
                    match meta {
                        Err(e) => self.record_failure(&rel, &e),
                        Ok(meta) if meta.kind == EntryKind::Dir => {
                            self.visit_dir(&rel, &meta, &mut work)?;
                        }
                        Ok(meta) => self.copy_entry(&rel, &meta)?,
                    }
                    self.progress.add_entry();
                    self.collect(false)?;
                    if self.ledger.due() {
                        self.checkpoint()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn visit_dir(
        &mut self,
        rel: &Path,
        meta: &EntryMeta,
        work: &mut Vec<Work>,
    ) -> Result<(), FsError> {
        let listed = self.source.entries(rel);
        if let Ok(entries) = &listed {
            let names: Vec<OsString> = entries.iter().map(|(n, _)| n.clone()).collect();
            if let Some(id) = self.source.dir_identity(rel, &names) {
                if let Some(note) = self.same_directory(id) {
                    self.ledger.push(
                        Outcome::new(rel.to_path_buf(), *meta, EntryStatus::Skipped)
                            .with_note(note),
                    );
                    return Ok(());
                }
                self.open_dirs.push((rel.to_path_buf(), id));
                if id.is_exact() {
                    self.seen_dirs.insert(id, rel.to_path_buf());
                }
            }
        }
        if !rel.as_os_str().is_empty() {
            self.dest.make_dir(rel)?;
        }
        work.push(Work::Finish(rel.to_path_buf(), *meta));
        match listed {
            Ok(entries) => {
                self.ledger
                    .push(Outcome::new(rel.to_path_buf(), *meta, EntryStatus::Copied));
                let fd = self.dest.dir_fd(rel)?;
                self.dest_dirs.insert(rel.to_path_buf(), Arc::new(fd));
                // Reverse so that popping visits names in sorted order.
                work.extend(
                    entries
                        .into_iter()
                        .rev()
                        .map(|(name, meta)| Work::Visit(rel.join(name), meta)),
                );
            }
            Err(e) => {
                self.ledger.push(
                    Outcome::new(rel.to_path_buf(), *meta, EntryStatus::Unreadable)
                        .with_note(e.to_string()),
                );
            }
        }
        Ok(())
    }

    /// Why a directory is not copied again: it is a directory being walked above it (a
    /// hard-link loop) or, by inode number, one copied elsewhere (a second hard link).
    fn same_directory(&self, id: DirIdentity) -> Option<String> {
        let shown = |p: &Path| format!("/{}", p.display());
        if let Some((above, _)) = self.open_dirs.iter().find(|(_, open)| *open == id) {
            return Some(format!(
                "directory loop: a hard link back to {} ({}), which holds it; not copied again \
                 (a healthy filesystem has no hard links to directories: run fsck on a copy)",
                shown(above),
                id.describe()
            ));
        }
        let first = self.seen_dirs.get(&id)?;
        Some(format!(
            "the same directory as {} ({}), a second hard link to it; copied there only \
             (a healthy filesystem has no hard links to directories: run fsck on a copy)",
            shown(first),
            id.describe()
        ))
    }

    fn copy_entry(&mut self, rel: &Path, meta: &EntryMeta) -> Result<(), FsError> {
        let outcome = |status| Outcome::new(rel.to_path_buf(), *meta, status);
        match meta.kind {
            EntryKind::File => return self.copy_file(rel, meta),
            EntryKind::Symlink => match self.source.read_link(rel) {
                Ok(target) => {
                    self.dest.make_symlink(rel, &target)?;
                    self.dest.set_attributes(rel, meta)?;
                    let mut done = outcome(EntryStatus::Copied);
                    done.target = Some(target);
                    self.ledger.push(done);
                }
                Err(e) => self
                    .ledger
                    .push(outcome(EntryStatus::Unreadable).with_note(e.to_string())),
            },
            EntryKind::Dir => {}
            EntryKind::CharDevice | EntryKind::BlockDevice => self.ledger.push(
                outcome(EntryStatus::Skipped).with_note("device node: not created in the copy"),
            ),
            EntryKind::Fifo | EntryKind::Socket => self.ledger.push(
                outcome(EntryStatus::Skipped).with_note("FIFO or socket: not created in the copy"),
            ),
        }
        Ok(())
    }

    /// On resume: keeps a file the cut-short copy finished, when the source and the copy still
    /// match its manifest line (size, mtime); returns whether it was kept.
    fn keep_done_before(&mut self, rel: &Path, meta: &EntryMeta) -> bool {
        let Some(old) = self.done_before.remove(rel) else {
            return false;
        };
        let same_source = old.size == meta.size
            && old.mtime == meta.mtime.sec
            && old.mtime_nsec == meta.mtime.nsec;
        let copy_len = std::fs::symlink_metadata(self.dest_path(rel))
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len());
        if !same_source || copy_len != Some(old.size) {
            return false;
        }
        self.progress.add_bytes(old.size);
        let mut kept = Outcome::new(rel.to_path_buf(), *meta, EntryStatus::Copied);
        kept.hash = old.content_hash();
        kept.note = old.note;
        self.ledger.push(kept);
        true
    }

    /// The copy's directory that receives `rel`, opened once.
    fn dest_parent(&mut self, rel: &Path) -> Result<Arc<OwnedFd>, FsError> {
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        if let Some(fd) = self.dest_dirs.get(&parent) {
            return Ok(Arc::clone(fd));
        }
        let fd = Arc::new(self.dest.dir_fd(&parent)?);
        self.dest_dirs.insert(parent, Arc::clone(&fd));
        Ok(fd)
    }

    fn copy_file(&mut self, rel: &Path, meta: &EntryMeta) -> Result<(), FsError> {
        if self.keep_done_before(rel, meta) {
            return Ok(());
        }
        let name = rel
            .file_name()
            .ok_or_else(|| {
                FsError::new(FsErrorKind::BadPath {
                    path: rel.to_path_buf(),
                })
            })?
            .to_os_string();
        let job = FileJob {
            seq: self.ledger.reserve(),
            rel: rel.to_path_buf(),
            meta: *meta,
            dest_parent: self.dest_parent(rel)?,
            name,
        };
        if let Some(jobs) = &self.jobs {
            self.in_flight += 1;
            return jobs
                .send(job)
                .map_err(|_| FsError::new(FsErrorKind::Interrupted));
        }
        // Copied here: the tree cannot be read by several threads.
        if self.buffer.is_empty() {
            self.buffer = vec![0; CHUNK];
        }
        let ctx = JobContext {
            source: self.source,
            dest: self.dest,
            cancel: self.cancel.as_deref(),
            stop: self.stop,
            bytes: self.bytes,
        };
        let outcome = ctx.run(&job, &mut self.buffer)?;
        self.ledger.fill(job.seq, outcome);
        Ok(())
    }

    /// Takes the copying threads' results (waiting for all of them when `all`), and shows
    /// the bytes copied.
    fn collect(&mut self, all: bool) -> Result<(), FsError> {
        let mut first_error = None;
        while self.in_flight > 0 {
            let next = if all {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            let Some(result) = next else { break };
            self.in_flight -= 1;
            match result {
                Ok((seq, outcome)) => self.ledger.fill(seq, outcome),
                Err(e) => {
                    self.stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                    if !all {
                        break;
                    }
                }
            }
        }
        let now = self.bytes.load(Ordering::Relaxed);
        self.progress.add_bytes(now - self.shown_bytes);
        self.shown_bytes = now;
        first_error.map_or(Ok(()), Err)
    }

    /// Waits for every file handed to the copying threads.
    fn drain(&mut self) -> Result<(), FsError> {
        self.collect(true)
    }

    /// Gives every directory its mode and times, innermost first, now that all is written.
    fn finish_dirs(&mut self) -> Result<(), FsError> {
        for (rel, meta) in std::mem::take(&mut self.finish_dirs) {
            if rel.as_os_str().is_empty() {
                self.dest.set_root_attributes(&meta)?;
            } else {
                self.dest.set_attributes(&rel, &meta)?;
            }
        }
        Ok(())
    }

    /// Makes what is done durable and writes it to the manifest (flushed: a kill of this
    /// process keeps it).
    fn checkpoint(&mut self) -> Result<(), FsError> {
        for outcome in self.ledger.checkpoint()? {
            self.record(outcome)?;
        }
        self.manifest.flush()
    }

    fn record_failure(&mut self, rel: &Path, error: &FsError) {
        let meta = EntryMeta {
            kind: EntryKind::File,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: Default::default(),
            atime: Default::default(),
            ino: 0,
        };
        self.ledger.push(
            Outcome::new(rel.to_path_buf(), meta, EntryStatus::Unreadable)
                .with_note(error.to_string()),
        );
    }

    /// Writes one claimed entry to the manifest and counts it.
    fn record(&mut self, outcome: Outcome) -> Result<(), FsError> {
        let Outcome {
            rel,
            meta,
            hash,
            target,
            status,
            note,
        } = outcome;
        let (path, path_hex) = encode_name(rel.as_os_str());
        let (target, target_hex) = match target.as_deref().map(encode_name) {
            Some((text, hex_bytes)) => (Some(text), hex_bytes),
            None => (None, None),
        };
        match status {
            EntryStatus::Copied => match meta.kind {
                EntryKind::Dir => self.summary.dirs += 1,
                EntryKind::Symlink => self.summary.symlinks += 1,
                _ => {
                    self.summary.files += 1;
                    self.summary.bytes += meta.size;
                }
            },
            EntryStatus::Skipped => self.summary.skipped += 1,
            EntryStatus::Unreadable => self.summary.unreadable += 1,
        }
        if status != EntryStatus::Copied {
            self.problems.push(format!(
                "{path:?}: {}",
                note.as_deref().unwrap_or("not copied")
            ));
        }
        let (blake3, sha256) = match hash {
            Some(ContentHash::Blake3(h)) => (Some(h), None),
            Some(ContentHash::Sha256(h)) => (None, Some(h)),
            None => (None, None),
        };
        let mut entry = ManifestEntry {
            path,
            path_hex,
            kind: meta.kind,
            size: meta.size,
            blake3,
            sha256,
            mode: format!("{:04o}", meta.mode),
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime.sec,
            mtime_nsec: meta.mtime.nsec,
            target,
            target_hex,
            status,
            note,
            damage: None,
            damaged: Vec::new(),
            lost_bytes: None,
            damage_hit: Vec::new(),
        };
        if let Some(marks) = self.damage {
            self.mark_damage(marks, &mut entry, &rel, &meta);
        }
        self.manifest.write(&ManifestRecord::Entry(entry))
    }

    /// Marks `entry` intact or damaged and counts it.
    fn mark_damage(
        &mut self,
        marks: &CopyDamage,
        entry: &mut ManifestEntry,
        rel: &Path,
        meta: &EntryMeta,
    ) {
        let found = marks.of(rel, meta);
        let s = &mut self.summary;
        s.damaged_files.get_or_insert(0);
        s.damaged_dirs.get_or_insert(0);
        s.lost_bytes.get_or_insert(0);
        if found.unknown {
            *s.damage_unknown.get_or_insert(0) += 1;
            entry.damage = Some(DamageState::Unknown);
            return;
        }
        if found.hit.is_empty() {
            entry.damage = Some(DamageState::Intact);
            return;
        }
        if meta.kind == EntryKind::Dir {
            s.damaged_dirs = s.damaged_dirs.map(|n| n + 1);
        } else {
            s.damaged_files = s.damaged_files.map(|n| n + 1);
            s.lost_bytes = s.lost_bytes.map(|n| n + found.lost_bytes);
        }
        entry.damage = Some(DamageState::Damaged);
        entry.damaged = found.ranges.clone();
        entry.lost_bytes = Some(found.lost_bytes);
        entry.damage_hit = found.hit.clone();
        self.damaged.push(DamagedEntry {
            path: entry.path.clone(),
            kind: meta.kind,
            ranges: found.ranges,
            lost_bytes: found.lost_bytes,
            hit: found.hit,
        });
    }
}

/// Refuses a destination inside the source directory (the copy would copy itself, deeper and
/// deeper). `dest` need not exist yet: its deepest existing ancestor is resolved.
fn refuse_dest_inside(source: &Path, dest: &Path) -> Result<(), FsError> {
    let Ok(source) = std::fs::canonicalize(source) else {
        return Ok(()); // the source's own open reports it
    };
    let mut existing = dest.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        match std::fs::canonicalize(&existing) {
            Ok(p) => break p,
            Err(_) => match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name.to_os_string());
                    existing = if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    };
                }
                _ => return Ok(()),
            },
        }
    };
    let full = rest.iter().rev().fold(resolved, |p, n| p.join(n));
    if full.starts_with(&source) {
        return Err(FsError::new(FsErrorKind::DestInsideSource {
            dest: dest.to_path_buf(),
            source,
        }));
    }
    Ok(())
}
