//! `Inspection`: what a filesystem holds, so a runbook can pick the real root among candidates:
//! whether it looks like an OS root (`/etc` with `/etc/os-release` or `/etc/fstab`), the OS name
//! from os-release, and the newest modification time found and where.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::source_tree::{EntryKind, SourceTree, Timestamp, resolve_in_tree};

/// The most of an os-release file read.
const OS_RELEASE_MAX: u64 = 64 * 1024;

/// What one filesystem holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Which filesystem (a label given by the caller, e.g. "disk.img at byte 1048576").
    pub source: String,
    pub is_os_root: bool,
    pub has_etc: bool,
    pub has_os_release: bool,
    pub has_fstab: bool,
    /// `/bin` or `/usr/bin` (symlinks resolved inside the filesystem).
    pub has_bin: bool,
    /// PRETTY_NAME (or NAME) from os-release.
    pub os_name: Option<String>,
    pub os_id: Option<String>,
    pub os_version: Option<String>,
    /// The newest modification time of any file or symlink (not directory), and its path.
    pub newest_mtime: Option<Timestamp>,
    /// The same as UTC text (`2012-09-08T17:23:13Z`).
    pub newest_mtime_utc: Option<String>,
    pub newest_path: Option<String>,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub other: u64,
    /// Entries or directories that could not be read.
    pub unreadable: u64,
}

/// Inspections of several candidates and which is the newest OS root.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InspectReport {
    pub candidates: Vec<Inspection>,
    /// Index into `candidates` of the OS root with the newest modification time.
    pub newest_root: Option<usize>,
}

impl InspectReport {
    /// Wraps candidates and picks the newest OS root (the first one on a tie).
    pub fn new(candidates: Vec<Inspection>) -> Self {
        let mut newest_root: Option<usize> = None;
        for (i, candidate) in candidates.iter().enumerate() {
            if !candidate.is_os_root {
                continue;
            }
            let better = match newest_root {
                None => true,
                Some(best) => candidate.newest_mtime > candidates[best].newest_mtime,
            };
            if better {
                newest_root = Some(i);
            }
        }
        Self {
            candidates,
            newest_root,
        }
    }
}

/// Walks the whole tree (never following symlinks out of it) and reports what it holds.
/// `cancel` stops the walk between entries.
pub fn inspect_tree(
    tree: &dyn SourceTree,
    label: &str,
    cancel: Option<&AtomicBool>,
) -> Result<Inspection, FsError> {
    let mut report = Inspection {
        source: label.to_string(),
        ..Inspection::default()
    };
    let kind_of = |rel: &str| {
        resolve_in_tree(tree, Path::new(rel))
            .and_then(|resolved| tree.metadata(&resolved))
            .map(|meta| meta.kind)
            .ok()
    };
    report.has_etc = kind_of("etc") == Some(EntryKind::Dir);
    report.has_fstab = kind_of("etc/fstab") == Some(EntryKind::File);
    report.has_bin =
        kind_of("bin") == Some(EntryKind::Dir) || kind_of("usr/bin") == Some(EntryKind::Dir);
    let os_release = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|rel| read_small(tree, rel));
    report.has_os_release = kind_of("etc/os-release") == Some(EntryKind::File);
    if let Some(text) = os_release {
        let field = |key: &str| os_release_field(&text, key);
        report.os_name = field("PRETTY_NAME").or_else(|| field("NAME"));
        report.os_id = field("ID");
        report.os_version = field("VERSION_ID");
    }
    report.is_os_root = report.has_etc && (report.has_os_release || report.has_fstab);

    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        if cancel.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(FsError::new(FsErrorKind::Interrupted));
        }
        let Ok(names) = tree.list_dir(&dir) else {
            report.unreadable += 1;
            continue;
        };
        for name in names {
            let rel = dir.join(name);
            let Ok(meta) = tree.metadata(&rel) else {
                report.unreadable += 1;
                continue;
            };
            match meta.kind {
                EntryKind::Dir => {
                    report.dirs += 1;
                    stack.push(rel.clone());
                }
                EntryKind::File => report.files += 1,
                EntryKind::Symlink => report.symlinks += 1,
                _ => report.other += 1,
            }
            // Directories do not count: lost+found and the like carry the mkfs date.
            if meta.kind != EntryKind::Dir
                && report.newest_mtime.is_none_or(|newest| meta.mtime > newest)
            {
                report.newest_mtime = Some(meta.mtime);
                report.newest_path = Some(format!("/{}", rel.display()));
            }
        }
    }
    report.newest_mtime_utc = report.newest_mtime.map(|t| utc_text(t.sec));
    Ok(report)
}

/// Reads a small regular file inside the tree, following symlinks only inside it.
fn read_small(tree: &dyn SourceTree, rel: &str) -> Option<String> {
    let resolved = resolve_in_tree(tree, Path::new(rel)).ok()?;
    if tree.metadata(&resolved).ok()?.kind != EntryKind::File {
        return None;
    }
    let mut text = Vec::new();
    tree.open_file(&resolved)
        .ok()?
        .take(OS_RELEASE_MAX)
        .read_to_end(&mut text)
        .ok()?;
    Some(String::from_utf8_lossy(&text).into_owned())
}

/// The value of `KEY=value` in os-release syntax (quotes and backslash escapes undone).
fn os_release_field(text: &str, key: &str) -> Option<String> {
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))?;
    let line = line.trim();
    let unquoted = match line.as_bytes().first() {
        Some(b'"') | Some(b'\'') if line.len() >= 2 && line.ends_with(&line[..1]) => {
            &line[1..line.len() - 1]
        }
        _ => line,
    };
    let mut out = String::new();
    let mut chars = unquoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Seconds since the epoch as `YYYY-MM-DDThh:mm:ssZ` (proleptic Gregorian, UTC).
fn utc_text(secs: i64) -> String {
    let (year, month, day) = salvage_text::calendar::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_values_are_unquoted() {
        let text =
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME='Debian 12 \\\"bookworm\\\"'\nID=debian\n";
        assert_eq!(
            os_release_field(text, "NAME").as_deref(),
            Some("Debian GNU/Linux")
        );
        assert_eq!(
            os_release_field(text, "PRETTY_NAME").as_deref(),
            Some("Debian 12 \"bookworm\"")
        );
        assert_eq!(os_release_field(text, "ID").as_deref(), Some("debian"));
        assert_eq!(os_release_field(text, "VERSION_ID"), None);
    }

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_text(1_347_124_993), "2012-09-08T17:23:13Z");
        assert_eq!(utc_text(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn the_newest_os_root_wins() {
        let root = |mtime, is_os_root| Inspection {
            is_os_root,
            newest_mtime: Some(Timestamp {
                sec: mtime,
                nsec: 0,
            }),
            ..Inspection::default()
        };
        let report = InspectReport::new(vec![root(10, true), root(99, false), root(20, true)]);
        assert_eq!(report.newest_root, Some(2));
    }
}
