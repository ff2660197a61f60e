//! Undo actions for attachments: what cleanup runs, in reverse order, at the end of a run, on
//! failure, on Ctrl-C, and after a crash. Each is idempotent and checks the thing is still
//! ours before touching it (loop devices and mounts through [`Attachment::undo`]).

use salvage_filesystem::{Attachment, UndoOutcome};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How to undo one attachment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Undo {
    /// A loop device or a mount salvage made.
    Fs {
        /// What was attached.
        attachment: Attachment,
    },
    /// Run a program (no shell), e.g. `lvremove -f vg/snap`.
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
    },
    /// Remove a file salvage created (a reflink or qcow2 snapshot), only while it is still
    /// the same file (device and inode), so a file put there since is left alone.
    RemoveFile {
        /// The file.
        path: PathBuf,
        /// Its device number when salvage made it.
        dev: u64,
        /// Its inode number when salvage made it.
        ino: u64,
    },
}

impl Undo {
    /// The undo as the plan and the log show it.
    pub fn describe(&self) -> String {
        match self {
            Undo::Fs { attachment } => attachment.undo_command(),
            Undo::Command { argv } => salvage_text::shell_quote::quote_argv(argv),
            Undo::RemoveFile { path, .. } => {
                format!("rm {}", salvage_text::shell_quote::quote_path(path))
            }
        }
    }

    /// The undo of a file salvage just made at `path`.
    pub fn remove_file(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Undo::RemoveFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Runs the undo. Already undone is success; a thing no longer ours is left alone, and
    /// the result says which.
    pub fn run(&self) -> Result<Undone, String> {
        match self {
            Undo::Fs { attachment } => match attachment.undo() {
                Ok(UndoOutcome::Undone) => Ok(Undone::Done),
                Ok(UndoOutcome::AlreadyGone) => Ok(Undone::AlreadyGone),
                Ok(UndoOutcome::NotOurs { found }) => Ok(Undone::LeftAlone(found)),
                Err(e) => Err(e.to_string()),
            },
            Undo::RemoveFile { path, dev, ino } => {
                use std::os::unix::fs::MetadataExt;
                match std::fs::symlink_metadata(path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Undone::AlreadyGone),
                    Err(e) => Err(format!("{}: {e}", path.display())),
                    Ok(m) if m.dev() != *dev || m.ino() != *ino => Ok(Undone::LeftAlone(format!(
                        "{} is another file now",
                        path.display()
                    ))),
                    Ok(_) => std::fs::remove_file(path)
                        .map(|()| Undone::Done)
                        .map_err(|e| format!("rm {}: {e}", path.display())),
                }
            }
            Undo::Command { argv } => {
                let Some((prog, args)) = argv.split_first() else {
                    return Ok(Undone::AlreadyGone);
                };
                let out = std::process::Command::new(prog)
                    .args(args)
                    .output()
                    .map_err(|e| format!("{prog}: {e}"))?;
                if out.status.success() {
                    Ok(Undone::Done)
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

/// What an undo found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undone {
    /// It was there and is undone.
    Done,
    /// Nothing to do: undone before, or cleared by the kernel.
    AlreadyGone,
    /// Something that is not salvage's uses it now: left alone (what was found).
    LeftAlone(String),
}

impl Undone {
    /// The log's status word: `ok`, `already_gone` or `left_alone`.
    pub fn status(&self) -> &'static str {
        match self {
            Undone::Done => "ok",
            Undone::AlreadyGone => "already_gone",
            Undone::LeftAlone(_) => "left_alone",
        }
    }

    /// What was found, when something else uses it now.
    pub fn note(&self) -> Option<String> {
        match self {
            Undone::LeftAlone(found) => Some(format!("not salvage's any more: {found}")),
            _ => None,
        }
    }
}

/// Mount points under `dir`, deepest first (crash recovery's second look, beside the journal).
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.to_string_lossy());
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|m| m.starts_with(&prefix))
        .map(PathBuf::from)
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
