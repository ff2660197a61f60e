//! `CopyDamage`: which entries of a copy hold bytes the image could not give, from a `damage`
//! report. The report's filesystem is matched with the copy's source by UUID (a mounted
//! directory through its `statfs` id, which ext folds from the UUID; an image by reading its
//! superblock), never by a guess; then entries by inode number (a mounted directory: exact,
//! whatever directory was copied from) or by path from the filesystem's root (the userspace
//! reader, whose root is the filesystem's). A file the image lost bytes of is copied with
//! zeros there: its copy matches its hash, yet it is not intact, and the manifest says so.

use std::collections::HashMap;
use std::path::Path;

use super::damage::{ByteRange, DamageReport, MappedFilesystem, ext_uuid_at};
use super::error::{FsError, FsErrorKind};
use super::manifest::{DamageSource, SourceSpec};
use super::source_tree::EntryMeta;

/// What was lost of one inode.
#[derive(Clone, Debug)]
struct Lost {
    /// Byte ranges inside the file; `None`: the whole file (its inode was lost).
    ranges: Option<Vec<ByteRange>>,
    /// "data", "extent tree block", "directory block", "inode table", ...
    hit: Vec<String>,
}

/// An entry's damage, as its manifest line records it (`hit` empty and not `unknown`: intact).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EntryDamage {
    /// Matched by path, it lies under a damaged directory the report could not read names
    /// from: whether it is damaged is not known.
    pub unknown: bool,
    /// `[start, length]` byte ranges inside the entry that the image could not give.
    pub ranges: Vec<[u64; 2]>,
    pub lost_bytes: u64,
    pub hit: Vec<String>,
}

/// The damage marks of one filesystem, ready to look entries up.
#[derive(Clone, Debug)]
pub struct CopyDamage {
    source: DamageSource,
    by_inode: HashMap<u64, Lost>,
    /// Path from the filesystem's root ("/a/b") to inode, for trees that hide inode numbers.
    by_path: HashMap<String, u64>,
    /// The paths of the damaged directories (names in them may be missing from `by_path`).
    damaged_dirs: Vec<String>,
}

impl CopyDamage {
    /// Reads the JSON report `salvage damage --json` (or the `damage` op) wrote and picks the
    /// filesystem the copy's source is.
    pub fn from_report_file(path: &Path, spec: &SourceSpec) -> Result<Self, FsError> {
        let bad = |message: String| {
            FsError::new(FsErrorKind::DamageInput {
                path: path.to_path_buf(),
                message,
            })
        };
        let text = std::fs::read(path).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: path.to_path_buf(),
                },
                e,
            )
        })?;
        let report: DamageReport = serde_json::from_slice(&text).map_err(|e| {
            bad(format!(
                "not a damage report (line {}, column {}: {e}); give the JSON that `salvage damage --json` or the `damage` op wrote",
                e.line(),
                e.column()
            ))
        })?;
        Self::from_report(&report, &path.display().to_string(), spec).map_err(bad)
    }

    /// The marks of the filesystem of `report` that `spec` reads; `label` names the report.
    /// `Err` says why none (or more than one) is it.
    pub fn from_report(
        report: &DamageReport,
        label: &str,
        spec: &SourceSpec,
    ) -> Result<Self, String> {
        let fs = pick_filesystem(report, spec)?;
        let part = fs.partition;
        let mut by_inode: HashMap<u64, Lost> = HashMap::new();
        let mut by_path = HashMap::new();
        let lists = [&report.files, &report.directories];
        for f in lists.into_iter().flatten().filter(|f| f.partition == part) {
            by_inode.insert(
                u64::from(f.inode),
                Lost {
                    ranges: Some(f.ranges.clone()),
                    hit: f.hit.clone(),
                },
            );
            for p in &f.paths {
                by_path.insert(p.clone(), u64::from(f.inode));
            }
        }
        for i in report.inodes.iter().filter(|i| i.partition == part) {
            by_inode.insert(
                u64::from(i.inode),
                Lost {
                    ranges: None,
                    hit: vec!["inode table".into()],
                },
            );
            for p in &i.paths {
                by_path.insert(p.clone(), u64::from(i.inode));
            }
        }
        let mut damaged_dirs: Vec<String> = report
            .directories
            .iter()
            .filter(|d| d.partition == part)
            .flat_map(|d| d.paths.iter().cloned())
            .collect();
        damaged_dirs.extend(
            report
                .inodes
                .iter()
                .filter(|i| i.partition == part && i.kind.as_deref() == Some("directory"))
                .flat_map(|i| i.paths.iter().cloned()),
        );
        let name = match part {
            Some(n) => format!("partition {n} ({})", fs.fs_type),
            None => format!("the image ({})", fs.fs_type),
        };
        Ok(Self {
            source: DamageSource {
                report: label.to_string(),
                filesystem: name,
                uuid: fs.uuid.clone(),
                headline: report.headline(),
            },
            by_inode,
            by_path,
            damaged_dirs,
        })
    }

    /// Where the marks come from, for the manifest's header.
    pub fn source(&self) -> &DamageSource {
        &self.source
    }

    /// The damage of the entry at `rel` (relative to the copy's source root): empty ranges
    /// when it is intact.
    pub(crate) fn of(&self, rel: &Path, meta: &EntryMeta) -> EntryDamage {
        let ino = if meta.ino != 0 {
            Some(meta.ino)
        } else {
            let key = format!("/{}", rel.to_string_lossy());
            let found = self.by_path.get(&key).copied();
            if found.is_none() && self.under_damaged_dir(&key) {
                return EntryDamage {
                    unknown: true,
                    ..EntryDamage::default()
                };
            }
            found
        };
        let Some(lost) = ino.and_then(|i| self.by_inode.get(&i)) else {
            return EntryDamage::default();
        };
        let size = meta.size;
        let ranges: Vec<[u64; 2]> = match &lost.ranges {
            Some(r) => r
                .iter()
                .filter(|r| r.start < size)
                .map(|r| [r.start, r.end.min(size) - r.start])
                .collect(),
            None if size > 0 => vec![[0, size]],
            None => Vec::new(),
        };
        if ranges.is_empty() && lost.ranges.is_some() {
            // Every byte lost lies past what this entry holds now.
            return EntryDamage::default();
        }
        EntryDamage {
            lost_bytes: ranges.iter().map(|r| r[1]).sum(),
            ranges,
            hit: lost.hit.clone(),
            unknown: false,
        }
    }

    /// Whether `path` ("/a/b") lies inside a damaged directory ("/a", "/").
    fn under_damaged_dir(&self, path: &str) -> bool {
        self.damaged_dirs.iter().any(|d| {
            let d = d.trim_end_matches('/');
            path.strip_prefix(d)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// The filesystem of the report that `spec` reads, by UUID.
fn pick_filesystem<'a>(
    report: &'a DamageReport,
    spec: &SourceSpec,
) -> Result<&'a MappedFilesystem, String> {
    let listed = || {
        let v: Vec<String> = report
            .filesystems
            .iter()
            .map(|f| {
                let at = f
                    .partition
                    .map_or_else(|| "the image".to_string(), |n| format!("partition {n}"));
                format!("{at} uuid {}", nonempty(&f.uuid))
            })
            .collect();
        if v.is_empty() {
            "it mapped no filesystem".to_string()
        } else {
            format!("it mapped {}", v.join(", "))
        }
    };
    let (found, what): (Vec<&MappedFilesystem>, String) = match spec {
        SourceSpec::ExtImage { image, offset, .. } => {
            let uuid = ext_uuid_at(image, *offset)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "no ext superblock at byte {offset} of {} to match it by",
                        image.display()
                    )
                })?;
            let mut v: Vec<&MappedFilesystem> = report
                .filesystems
                .iter()
                .filter(|f| f.uuid == uuid)
                .collect();
            // Two partitions with one UUID (a cloned partition): the one at the same offset.
            if v.len() > 1 {
                v.retain(|f| f.offset == *offset);
            }
            (v, format!("the copy's source has uuid {uuid}"))
        }
        SourceSpec::Directory { path } => {
            let id = salvage_sys::filesystem_id::filesystem_id(path)
                .map_err(|e| format!("statfs {}: {e}", path.display()))?;
            let v: Vec<&MappedFilesystem> = report
                .filesystems
                .iter()
                .filter(|f| {
                    uuid_bytes(&f.uuid)
                        .is_some_and(|u| salvage_sys::filesystem_id::ext_filesystem_id(&u) == id)
                })
                .collect();
            (
                v,
                format!(
                    "{} is on filesystem id {:08x}{:08x}",
                    path.display(),
                    id[1],
                    id[0]
                ),
            )
        }
    };
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "it is not about the filesystem being copied ({what}; {}): was it made from this \
             image? run `salvage damage` on the image this copy reads, or copy without it",
            listed()
        )),
        _ => Err(format!(
            "more than one filesystem of it matches ({what}; {}): salvage does not choose",
            listed()
        )),
    }
}

fn nonempty(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

/// The 16 bytes of a UUID written `8-4-4-4-12`.
fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex_text: String = text.chars().filter(|c| *c != '-').collect();
    let v = hex::decode(hex_text).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::damage::DamagedFile;
    use crate::source_tree::EntryKind;

    fn file(inode: u32, path: &str, ranges: &[(u64, u64)]) -> DamagedFile {
        DamagedFile {
            partition: Some(1),
            inode,
            kind: "file".into(),
            paths: vec![path.into()],
            size: 100_000,
            ranges: ranges
                .iter()
                .map(|&(start, end)| ByteRange { start, end })
                .collect(),
            lost_bytes: ranges.iter().map(|(s, e)| e - s).sum(),
            hit: vec!["data".into()],
        }
    }

    fn marks() -> CopyDamage {
        CopyDamage {
            source: DamageSource {
                report: "r.json".into(),
                filesystem: "partition 1 (ext4)".into(),
                uuid: String::new(),
                headline: String::new(),
            },
            by_inode: [(
                12,
                Lost {
                    ranges: Some(vec![
                        ByteRange {
                            start: 4096,
                            end: 8192,
                        },
                        ByteRange {
                            start: 90_000,
                            end: 110_000,
                        },
                    ]),
                    hit: vec!["data".into()],
                },
            )]
            .into_iter()
            .collect(),
            by_path: [("/a/b".to_string(), 12)].into_iter().collect(),
            damaged_dirs: vec!["/d".into()],
        }
    }

    fn meta(size: u64, ino: u64) -> EntryMeta {
        EntryMeta {
            kind: EntryKind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: Default::default(),
            atime: Default::default(),
            ino,
        }
    }

    #[test]
    fn ranges_become_start_and_length_clipped_to_the_file() {
        let d = marks().of(Path::new("a/b"), &meta(100_000, 0));
        assert_eq!(d.ranges, vec![[4096, 4096], [90_000, 10_000]]);
        assert_eq!(d.lost_bytes, 14_096);
        let by_ino = marks().of(Path::new("elsewhere"), &meta(100_000, 12));
        assert_eq!(by_ino, d, "an inode number wins over the path");
        let intact = marks().of(Path::new("a/c"), &meta(100_000, 0));
        assert_eq!(intact, EntryDamage::default());
        let under = marks().of(Path::new("d/x"), &meta(10, 0));
        assert!(
            under.unknown,
            "under a damaged directory, unnamed: not known"
        );
        assert!(!marks().of(Path::new("dx/y"), &meta(10, 0)).unknown);
        let short = marks().of(Path::new("a/b"), &meta(4096, 0));
        assert_eq!(
            short,
            EntryDamage::default(),
            "lost only past its end: intact"
        );
        let other_inode = marks().of(Path::new("a/b"), &meta(100_000, 13));
        assert!(other_inode.ranges.is_empty(), "the inode number decides");
    }

    #[test]
    fn a_report_of_another_filesystem_is_refused() {
        let report = DamageReport {
            files: vec![file(12, "/a/b", &[(0, 4096)])],
            ..DamageReport::default()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = SourceSpec::Directory {
            path: dir.path().to_path_buf(),
        };
        let e = CopyDamage::from_report(&report, "r.json", &spec).expect_err("no match");
        assert!(e.contains("not about the filesystem being copied"), "{e}");
    }
}
