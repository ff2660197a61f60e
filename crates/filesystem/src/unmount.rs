//! `unmount`: takes a read-only mount off patiently. A mount is busy while any process has a
//! file, a working directory or a root inside it; some holders are passing (a child process
//! between fork and exec still holds its parent's descriptors), so a busy unmount is retried
//! for a bounded time, and when it stays busy the error names the processes that hold it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};

use super::error::{FsError, FsErrorKind};

/// Waits between tries of a busy unmount: about 3 s in all, then the holders are named.
const BUSY_BACKOFF_MS: [u64; 9] = [5, 10, 20, 50, 100, 200, 400, 800, 1500];

/// Unmounts `target`, retrying while the kernel says it is busy. Never lazy (`MNT_DETACH`
/// would hide a holder that keeps the filesystem, and its loop device, alive).
pub(super) fn unmount(target: &Path) -> Result<(), FsError> {
    let mut waits = BUSY_BACKOFF_MS.iter();
    loop {
        match umount2(target, MntFlags::UMOUNT_NOFOLLOW) {
            Ok(()) => return Ok(()),
            Err(Errno::EBUSY) => match waits.next() {
                Some(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                None => {
                    return Err(FsError::new(FsErrorKind::UnmountBusy {
                        target: target.to_path_buf(),
                        holders: holders_of(target),
                    }));
                }
            },
            Err(e) => {
                return Err(FsError::io(
                    FsErrorKind::Unmount {
                        target: target.to_path_buf(),
                    },
                    e,
                ));
            }
        }
    }
}

/// The processes that hold something under `target`, as `pid 123 (bash): cwd /mnt/x`, sorted
/// by pid, at most one line per process (what `fuser -vm` would show a person).
pub(super) fn holders_of(target: &Path) -> Vec<String> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|pid| {
            let dir = PathBuf::from(format!("/proc/{pid}"));
            let what = held_under(&dir, target)?;
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            Some(format!("pid {pid} ({}): {what}", comm.trim()))
        })
        .collect()
}

/// The first thing process `dir` holds under `target`: its cwd, its root, or an open file.
fn held_under(dir: &Path, target: &Path) -> Option<String> {
    let under = |link: &Path| {
        std::fs::read_link(link)
            .ok()
            .filter(|p| p.starts_with(target))
    };
    for name in ["cwd", "root"] {
        if let Some(p) = under(&dir.join(name)) {
            return Some(format!("{name} {}", p.display()));
        }
    }
    let fds = std::fs::read_dir(dir.join("fd")).ok()?;
    fds.flatten()
        .find_map(|fd| under(&fd.path()))
        .map(|p| format!("open file {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_named_as_a_holder_of_its_working_directory() {
        let dir = std::env::current_dir().expect("cwd");
        let me = std::process::id();
        let holders = holders_of(&dir);
        assert!(
            holders
                .iter()
                .any(|h| h.starts_with(&format!("pid {me} (")) && h.contains("cwd")),
            "{holders:?}"
        );
    }

    #[test]
    fn an_open_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("held");
        let _file = std::fs::File::create(&path).expect("create");
        let holders = holders_of(dir.path());
        let me = format!("pid {} (", std::process::id());
        assert!(
            holders.iter().any(
                |h| h.starts_with(&me) && h.ends_with(&format!("open file {}", path.display()))
            ),
            "{holders:?}"
        );
        assert!(holders_of(&dir.path().join("nothing-here")).is_empty());
    }
}
