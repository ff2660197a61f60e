//! Undo actions for attachments: what cleanup runs, in reverse order, at the end of a run, on
//! failure, on Ctrl-C, and after a crash. Each is idempotent and checks the thing is still
//! ours before touching it.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How to undo one attachment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Undo {
    /// Unmount a mount point salvage made.
    Unmount {
        /// The mount point.
        target: PathBuf,
    },
    /// Detach a loop device, if it still backs onto the same file at the same offset.
    DetachLoop {
        /// `/dev/loopN`.
        device: PathBuf,
        /// The file it was attached over.
        backing: PathBuf,
        /// The byte offset it was attached at.
        offset: u64,
    },
    /// Remove an empty directory salvage created.
    RemoveDir {
        /// The directory.
        path: PathBuf,
    },
    /// Run a program (no shell), e.g. `lvremove -f vg/snap`.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
    },
}

impl Undo {
    /// The undo as the plan and the log show it.
    pub fn describe(&self) -> String {
        match self {
            Undo::Unmount { target } => format!("umount {}", target.display()),
            Undo::DetachLoop { device, backing, offset } => {
                format!("losetup -d {} (over {} at offset {offset})", device.display(), backing.display())
            }
            Undo::RemoveDir { path } => format!("rmdir {}", path.display()),
            Undo::Command { argv } => argv.iter().map(|a| crate::op_table::shell_quote(a)).collect::<Vec<_>>().join(" "),
        }
    }

    /// Runs the undo. Already undone is success; a thing no longer ours is left alone.
    pub fn run(&self) -> Result<(), String> {
        match self {
            Undo::Unmount { target } => unmount(target),
            Undo::DetachLoop { device, backing, offset } => detach_loop(device, backing, *offset),
            Undo::RemoveDir { path } => match std::fs::remove_dir(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("rmdir {}: {e}", path.display())),
            },
            Undo::Command { argv } => {
                let Some((prog, args)) = argv.split_first() else { return Ok(()) };
                let out = std::process::Command::new(prog)
                    .args(args)
                    .output()
                    .map_err(|e| format!("{prog}: {e}"))?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} exited with {}: {}",
                        self.describe(),
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ))
                }
            }
        }
    }
}

/// Whether `target` is a mount point now (from /proc/self/mountinfo).
pub fn is_mounted(target: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = target.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4).is_some_and(|m| unescape_mountinfo(m) == want))
}

/// Mount points under `dir`, deepest first (for crash recovery).
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let prefix = dir.to_string_lossy().to_string();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|m| m.starts_with(&format!("{prefix}/")))
        .map(PathBuf::from)
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

fn unmount(target: &Path) -> Result<(), String> {
    if !is_mounted(target) {
        return Ok(());
    }
    match nix::mount::umount2(target, nix::mount::MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EBUSY) => {
            // Someone's shell is inside it: detach it from the tree now, freed when they leave.
            nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH)
                .map_err(|e| format!("umount {}: {e}", target.display()))
        }
        Err(e) => Err(format!("umount {}: {e}", target.display())),
    }
}

nix::ioctl_none!(loop_clr_fd, 0x4C, 0x01);

fn detach_loop(device: &Path, backing: &Path, offset: u64) -> Result<(), String> {
    let Some(name) = device.file_name().map(|n| n.to_string_lossy().to_string()) else {
        return Ok(());
    };
    let sys = Path::new("/sys/block").join(&name).join("loop");
    let Ok(file) = std::fs::read_to_string(sys.join("backing_file")) else {
        return Ok(()); // not attached any more
    };
    let same_file = Path::new(file.trim()) == backing
        || std::fs::canonicalize(backing).is_ok_and(|b| b == Path::new(file.trim()));
    let same_offset = std::fs::read_to_string(sys.join("offset"))
        .ok()
        .and_then(|o| o.trim().parse::<u64>().ok())
        == Some(offset);
    if !same_file || !same_offset {
        return Ok(()); // reused by someone else since: not ours to detach
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .open(device)
        .map_err(|e| format!("open {}: {e}", device.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: LOOP_CLR_FD takes no argument; the fd is a valid open loop device.
    match unsafe { loop_clr_fd(f.as_raw_fd()) } {
        Ok(_) | Err(nix::errno::Errno::ENXIO) => Ok(()),
        Err(e) => Err(format!("losetup -d {}: {e}", device.display())),
    }
}
