//! `FailDisk`: a real failing disk for tests, made with FUSE (root): one read-only file backed
//! by an image, whose reads fail with EIO on chosen byte ranges and can be slow in others.
//! Files are opened with `FOPEN_DIRECT_IO`, so nothing is cached and every `read(2)` reaches
//! the filesystem: errors stay exact, for salvage, GNU ddrescue and dd alike.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenAccMode, OpenFlags, ReplyAttr, ReplyData,
    ReplyDirectory, ReplyEntry, ReplyOpen, Request,
};

/// The name of the one file the filesystem serves.
pub const FAIL_DISK_FILE: &str = "disk.img";

/// A range whose reads are slow: a read touching it sleeps `delay` for every 64 KiB (started)
/// it asks for, so the slowdown does not depend on how the kernel splits reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowRange {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// Sleep per 64 KiB read.
    pub delay: Duration,
}

/// What to serve.
#[derive(Debug, Clone, Default)]
pub struct FailDiskSpec {
    /// The image whose bytes are served.
    pub backing: PathBuf,
    /// Bad byte ranges `(start, size)`: a read touching one fails with EIO.
    pub bad: Vec<(u64, u64)>,
    /// Slow ranges.
    pub slow: Vec<SlowRange>,
    /// Flaky ranges `(start, size, failures)`: a read touching one fails with EIO until that
    /// range has failed `failures` times, then succeeds (a sector that reads on a later try).
    pub flaky: Vec<(u64, u64, u64)>,
}

/// Counters of what the filesystem served.
#[derive(Debug, Default)]
pub struct FailDiskStats {
    /// Read requests answered with data.
    pub reads_ok: AtomicU64,
    /// Read requests answered with EIO.
    pub reads_failed: AtomicU64,
    /// Read requests touching a bad or flaky range (failed or not): what a tool made a
    /// failing disk read of its bad sectors.
    pub reads_of_bad: AtomicU64,
}

struct FailFs {
    backing: File,
    size: u64,
    bad: Vec<(u64, u64)>,
    slow: Vec<SlowRange>,
    /// Flaky ranges and how many more times each fails.
    flaky: Vec<(u64, u64, AtomicU64)>,
    stats: Arc<FailDiskStats>,
}

const TTL: Duration = Duration::from_secs(3600);
const FILE_INO: INodeNo = INodeNo(2);

fn attr(ino: INodeNo, kind: FileType, size: u64, perm: u16) -> FileAttr {
    // SAFETY: getuid/getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    FileAttr {
        ino,
        size,
        blocks: size.div_ceil(512),
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind,
        perm,
        nlink: if kind == FileType::Directory { 2 } else { 1 },
        uid,
        gid,
        rdev: 0,
        blksize: 512,
        flags: 0,
    }
}

impl FailFs {
    fn file_attr(&self) -> FileAttr {
        attr(FILE_INO, FileType::RegularFile, self.size, 0o444)
    }
}

fn overlaps(start: u64, size: u64, pos: u64, len: u64) -> bool {
    start < pos.saturating_add(len) && pos < start.saturating_add(size)
}

impl Filesystem for FailFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        if parent == INodeNo::ROOT && name == FAIL_DISK_FILE {
            reply.entry(&TTL, &self.file_attr(), Generation(0));
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        if ino == INodeNo::ROOT {
            reply.attr(&TTL, &attr(INodeNo::ROOT, FileType::Directory, 0, 0o555));
        } else if ino == FILE_INO {
            reply.attr(&TTL, &self.file_attr());
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if ino != FILE_INO {
            reply.error(Errno::ENOENT);
        } else if flags.acc_mode() != OpenAccMode::O_RDONLY {
            reply.error(Errno::EROFS);
        } else {
            reply.opened(FileHandle(0), FopenFlags::FOPEN_DIRECT_IO);
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        if ino != FILE_INO {
            reply.error(Errno::ENOENT);
            return;
        }
        let len = u64::from(size).min(self.size.saturating_sub(offset));
        for s in &self.slow {
            if overlaps(s.start, s.size, offset, len) {
                let units = u32::try_from(len.div_ceil(64 * 1024).max(1)).unwrap_or(u32::MAX);
                std::thread::sleep(s.delay.saturating_mul(units));
            }
        }
        let bad = self
            .bad
            .iter()
            .any(|&(start, n)| overlaps(start, n, offset, len));
        let mut flaky_touched = false;
        let mut flaky_failed = false;
        for (start, n, left) in &self.flaky {
            if overlaps(*start, *n, offset, len) {
                flaky_touched = true;
                let before = left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1))
                    .is_ok();
                flaky_failed |= before;
            }
        }
        if bad || flaky_touched {
            self.stats.reads_of_bad.fetch_add(1, Ordering::Relaxed);
        }
        if bad || flaky_failed {
            self.stats.reads_failed.fetch_add(1, Ordering::Relaxed);
            reply.error(Errno::EIO);
            return;
        }
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let mut got = 0;
        while got < buf.len() {
            match self.backing.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.stats.reads_failed.fetch_add(1, Ordering::Relaxed);
                    reply.error(Errno::EIO);
                    return;
                }
            }
        }
        self.stats.reads_ok.fetch_add(1, Ordering::Relaxed);
        reply.data(&buf[..got]);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != INodeNo::ROOT {
            reply.error(Errno::ENOENT);
            return;
        }
        let entries = [
            (INodeNo::ROOT, FileType::Directory, "."),
            (INodeNo::ROOT, FileType::Directory, ".."),
            (FILE_INO, FileType::RegularFile, FAIL_DISK_FILE),
        ];
        for (i, (ino, kind, name)) in entries
            .iter()
            .enumerate()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        {
            if reply.add(*ino, (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
    }
}

/// A mounted failing disk; unmounted when dropped (also when a test panics).
pub struct FailDisk {
    mountpoint: PathBuf,
    /// The FUSE connection's number (the mount's device minor), to abort it when dropped.
    connection: Option<u64>,
    session: Option<BackgroundSession>,
    stats: Arc<FailDiskStats>,
}

impl FailDisk {
    /// Mounts `spec` on `mountpoint` (an existing empty directory) and serves it from a
    /// background thread. Needs root (or a FUSE setup allowing the user to mount).
    pub fn mount(spec: &FailDiskSpec, mountpoint: &Path) -> std::io::Result<Self> {
        let backing = File::open(&spec.backing)?;
        let size = backing.metadata()?.len();
        let stats = Arc::new(FailDiskStats::default());
        let fs = FailFs {
            backing,
            size,
            bad: spec.bad.clone(),
            slow: spec.slow.clone(),
            flaky: spec
                .flaky
                .iter()
                .map(|&(s, n, f)| (s, n, AtomicU64::new(f)))
                .collect(),
            stats: Arc::clone(&stats),
        };
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::RO,
            MountOption::FSName("salvage-faildisk".into()),
        ];
        let session = fuser::spawn_mount(fs, mountpoint, &config)?;
        let connection = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(mountpoint)
                .ok()
                .map(|m| m.dev())
                .filter(|&d| libc::major(d) == 0)
                .map(|d| u64::from(libc::minor(d)))
        };
        Ok(Self {
            connection,
            mountpoint: mountpoint.to_path_buf(),
            session: Some(session),
            stats,
        })
    }

    /// The failing file.
    pub fn file(&self) -> PathBuf {
        self.mountpoint.join(FAIL_DISK_FILE)
    }

    /// What was served so far.
    pub fn stats(&self) -> &FailDiskStats {
        &self.stats
    }
}

/// Aborts FUSE connection `n` through fusectl (mounted if it is not), so its session thread
/// ends even when another mount namespace still holds a copy of the mount (as `ip netns
/// exec` processes do), which a plain unmount would leave waiting forever.
fn abort_connection(n: u64) {
    let dir = Path::new("/sys/fs/fuse/connections");
    if !dir.join(n.to_string()).exists() {
        let (src, target, kind) = (c"fusectl", c"/sys/fs/fuse/connections", c"fusectl");
        // SAFETY: all three are valid NUL-terminated strings; no data argument.
        unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                kind.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
    }
    let _ = std::fs::write(dir.join(n.to_string()).join("abort"), "1");
}

impl Drop for FailDisk {
    fn drop(&mut self) {
        if let Some(n) = self.connection {
            abort_connection(n);
        }
        if let Some(session) = self.session.take() {
            if session.umount_and_join().is_err() {
                // Busy (a reader still has it open): detach it lazily so nothing is left mounted.
                if let Ok(c) =
                    std::ffi::CString::new(self.mountpoint.as_os_str().as_encoded_bytes())
                {
                    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
                    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
                }
            }
        }
    }
}
