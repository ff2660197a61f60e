//! `RunLock`: one imager per image and per map. Each is guarded for the whole run by an
//! exclusive `flock` on a lock file beside it (`IMAGE.lock`, `MAP.lock`: the map is replaced by
//! rename at every save, so it cannot carry the lock itself), holding an owner record (pid and
//! command line) for the message a second imager prints. The lock dies with the process, even
//! after `kill -9`; a record left behind is only read while its lock is held.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::error::{ImageError, ImageErrorKind};

/// A held lock; released when dropped (or when the process dies).
pub(crate) struct RunLock {
    _lock: Flock<File>,
}

/// The lock file guarding `path`: `path` with `.lock` appended.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

impl RunLock {
    /// Takes the lock guarding `path` (an image or a map) at once, or says who holds it.
    pub(crate) fn acquire(path: &Path, command_line: &str) -> Result<Self, ImageError> {
        let lock = lock_path(path);
        let open_err = |e| ImageError::io(ImageErrorKind::OpenDest(lock.clone()), e);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock)
            .map_err(open_err)?;
        let mut held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => held,
            Err((mut file, errno)) if errno == nix::errno::Errno::EWOULDBLOCK => {
                return Err(ImageError::new(ImageErrorKind::InUse {
                    path: path.to_path_buf(),
                    lock: lock.clone(),
                    holder: holder_pid(&mut file),
                }));
            }
            Err((_, errno)) => return Err(open_err(std::io::Error::from(errno))),
        };
        let record = format!("pid {}\n{command_line}\n", std::process::id());
        let written = held
            .set_len(0)
            .and_then(|()| held.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| held.write_all(record.as_bytes()));
        written.map_err(open_err)?;
        Ok(Self { _lock: held })
    }
}

/// The pid holding the lock on `file`: from `/proc/locks` (which names the process that took
/// each flock), else from the owner record the holder wrote.
fn holder_pid(file: &mut File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let from_proc = std::fs::read_to_string("/proc/locks")
        .ok()
        .and_then(|text| pid_in_proc_locks(&text, meta.dev(), meta.ino()));
    if from_proc.is_some() {
        return from_proc;
    }
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.lines()
        .next()?
        .strip_prefix("pid ")?
        .trim()
        .parse()
        .ok()
}

/// The pid of the FLOCK line of `/proc/locks` on inode `ino` of device `dev`.
fn pid_in_proc_locks(text: &str, dev: u64, ino: u64) -> Option<u32> {
    let want = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5343282 0 EOF"; blocked waiters start with "->".
        let i = fields.iter().position(|f| *f == "FLOCK")?;
        if fields.first() == Some(&"->") || fields.get(i + 4) != Some(&want.as_str()) {
            return None;
        }
        fields.get(i + 3)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_holder_from_proc_locks() {
        let text = "1: FLOCK  ADVISORY  WRITE 10814 fe:00:5343282 0 EOF\n\
                    2: POSIX  ADVISORY  WRITE 99 fe:00:77 0 EOF\n\
                    3: FLOCK  ADVISORY  WRITE 4242 fe:00:77 0 EOF\n";
        let dev = libc::makedev(0xfe, 0);
        assert_eq!(pid_in_proc_locks(text, dev, 77), Some(4242));
        assert_eq!(pid_in_proc_locks(text, dev, 5343282), Some(10814));
        assert_eq!(pid_in_proc_locks(text, dev, 1), None);
    }

    #[test]
    fn a_second_lock_is_refused_naming_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("e.map");
        let first = RunLock::acquire(&map, "first").unwrap();
        // A second open file description is refused like another process would be.
        let err = RunLock::acquire(&map, "second").err().unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        RunLock::acquire(&map, "third").unwrap();
    }
}
