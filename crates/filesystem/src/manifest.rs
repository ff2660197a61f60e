//! `Manifest`: the JSON-lines record of a copy: a header (what was copied from where to where),
//! one line per entry (path, kind, size, sha256, mode, owner, mtime, status) and a closing
//! summary. JSON escapes names with newlines; names that are not UTF-8 also carry their bytes
//! in hex, so every name round-trips exactly. A copy given a damage report also marks each
//! entry `"damage": "intact"` or `"damaged"` with the byte ranges the image could not give
//! (copied as zeros), and counts them in the summary; these fields are optional, so format 2
//! is unchanged for copies without one and format 1 still reads.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{FsError, FsErrorKind};
use super::source_tree::EntryKind;

/// The format tag of the header line a copy writes: version 2 hashes files with BLAKE3.
pub const MANIFEST_FORMAT: &str = "salvage-manifest/2";

/// The formats read: version 1 (SHA-256) is still verified and resumed.
const READ_FORMATS: [&str; 2] = ["salvage-manifest/1", MANIFEST_FORMAT];

/// A file's content hash as a manifest records it (lowercase hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentHash {
    /// What copies write (version 2); what `b3sum` prints.
    Blake3(String),
    /// What version 1 manifests hold; what `sha256sum` prints.
    Sha256(String),
}

impl ContentHash {
    /// The algorithm's name, as `b3sum`/`sha256sum` are named.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Blake3(_) => "blake3",
            Self::Sha256(_) => "sha256",
        }
    }

    /// The hex digest.
    pub fn hex(&self) -> &str {
        match self {
            Self::Blake3(h) | Self::Sha256(h) => h,
        }
    }
}

/// Where a copy was read from, enough to open it again for `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceSpec {
    /// A directory (usually a read-only mount).
    Directory { path: PathBuf },
    /// An ext filesystem inside an image, read in userspace.
    ExtImage {
        image: PathBuf,
        offset: u64,
        size: Option<u64>,
    },
}

/// Where a copy's damage marks come from, as its manifest header records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageSource {
    /// The damage report (or the map it was computed from).
    pub report: String,
    /// The filesystem of the report the copy was made from: "partition 1 (ext4)".
    pub filesystem: String,
    /// Its UUID.
    pub uuid: String,
    /// The report's one-line answer, for the whole image.
    pub headline: String,
}

/// The first line of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestHeader {
    pub format: String,
    pub source: SourceSpec,
    /// The copy's root directory (absolute).
    pub dest: PathBuf,
    /// The damage report the entries' `damage` marks come from, when the copy was given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<DamageSource>,
}

/// Whether an entry holds bytes the image could not give (with a damage report only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageState {
    /// No byte of it lay in an unreadable area.
    Intact,
    /// Some bytes (`damaged`) were unreadable in the image: the copy holds zeros there (a
    /// directory: entries may be missing).
    Damaged,
    /// Not known: the copy's reader hides inode numbers and the entry lies in a damaged
    /// directory whose names the report could not read.
    Unknown,
}

/// What happened to one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Copied completely (symlinks recreated as symlinks, directories created).
    Copied,
    /// Deliberately not copied (device nodes, FIFOs, sockets).
    Skipped,
    /// Could not be read; nothing (or nothing usable) was written.
    Unreadable,
}

/// One entry of the copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The path relative to the copy's root (lossy UTF-8 when `path_hex` is set).
    pub path: String,
    /// The exact bytes of the path in hex, when the path is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    pub kind: EntryKind,
    pub size: u64,
    /// BLAKE3 of the file's content as copied (regular files; format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    /// SHA-256 of the file's content as copied (regular files; format version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The mode in the source, octal (setuid/setgid are recorded here but never copied).
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    /// A symlink's target as stored (lossy UTF-8 when `target_hex` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
    pub status: EntryStatus,
    /// Why an entry was skipped or unreadable, or what was changed (setuid stripped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// With a damage report: intact or damaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage: Option<DamageState>,
    /// The damaged byte ranges inside the entry, `[start, length]`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<[u64; 2]>,
    /// The bytes in `damaged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_bytes: Option<u64>,
    /// What of it was hit: "data", "extent tree block", "directory block", "inode table".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub damage_hit: Vec<String>,
}

/// The last line of a manifest: totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSummary {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub unreadable: u64,
    /// With a damage report: files (not directories) marked damaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged_files: Option<u64>,
    /// With a damage report: directories marked damaged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged_dirs: Option<u64>,
    /// With a damage report: the bytes lost inside the damaged files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_bytes: Option<u64>,
    /// With a damage report: entries whose damage is not known (`DamageState::Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damage_unknown: Option<u64>,
}

/// One line of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum ManifestRecord {
    Header(ManifestHeader),
    Entry(ManifestEntry),
    Summary(ManifestSummary),
}

/// A manifest read back.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub header: ManifestHeader,
    pub entries: Vec<ManifestEntry>,
    /// Absent when the copy did not finish.
    pub summary: Option<ManifestSummary>,
}

impl ManifestEntry {
    /// The entry's path relative to the copy's root, exactly as in the source.
    pub fn rel_path(&self) -> PathBuf {
        PathBuf::from(decode_name(&self.path, self.path_hex.as_deref()))
    }

    /// A symlink's target exactly as stored.
    pub fn link_target(&self) -> Option<OsString> {
        self.target
            .as_deref()
            .map(|t| decode_name(t, self.target_hex.as_deref()))
    }

    /// The content hash recorded (BLAKE3 first), for regular files.
    pub fn content_hash(&self) -> Option<ContentHash> {
        match (&self.blake3, &self.sha256) {
            (Some(b), _) => Some(ContentHash::Blake3(b.clone())),
            (None, Some(s)) => Some(ContentHash::Sha256(s.clone())),
            (None, None) => None,
        }
    }

    /// The damaged ranges and bytes lost, when the copy marked the entry damaged.
    pub fn damage_lost(&self) -> Option<u64> {
        (self.damage == Some(DamageState::Damaged)).then(|| self.lost_bytes.unwrap_or(0))
    }

    /// The source mode as a number.
    pub fn mode_bits(&self) -> u32 {
        u32::from_str_radix(&self.mode, 8).unwrap_or(0)
    }
}

/// Text for a JSON string plus the exact bytes in hex when the name is not UTF-8.
pub(crate) fn encode_name(name: &OsStr) -> (String, Option<String>) {
    match name.to_str() {
        Some(text) => (text.to_string(), None),
        None => (
            name.to_string_lossy().into_owned(),
            Some(hex::encode(name.as_bytes())),
        ),
    }
}

fn decode_name(text: &str, hex_bytes: Option<&str>) -> OsString {
    match hex_bytes.and_then(|h| hex::decode(h).ok()) {
        Some(bytes) => OsString::from_vec(bytes),
        None => OsString::from(text),
    }
}

/// Writes a manifest line by line.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl ManifestWriter {
    /// Creates the manifest file (refusing to overwrite one) and writes its header.
    pub(crate) fn create(path: &Path, header: ManifestHeader) -> Result<Self, FsError> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                FsError::io(
                    FsErrorKind::Write {
                        path: path.to_path_buf(),
                    },
                    e,
                )
            })?;
        let mut writer = Self {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
        };
        writer.write(&ManifestRecord::Header(header))?;
        // Out now: a copy killed before its first checkpoint can still be resumed in place.
        writer.flush()?;
        Ok(writer)
    }

    pub(crate) fn write(&mut self, record: &ManifestRecord) -> Result<(), FsError> {
        let io = |e| {
            FsError::io(
                FsErrorKind::Write {
                    path: self.path.clone(),
                },
                e,
            )
        };
        serde_json::to_writer(&mut self.out, record).map_err(|e| io(e.into()))?;
        self.out.write_all(b"\n").map_err(io)
    }

    /// Hands the lines written so far to the kernel (they survive a kill of this process).
    pub(crate) fn flush(&mut self) -> Result<(), FsError> {
        let path = self.path.clone();
        self.out
            .flush()
            .map_err(|e| FsError::io(FsErrorKind::Write { path }, e))
    }

    /// Writes the summary, flushes and syncs.
    pub(crate) fn finish(mut self, summary: ManifestSummary) -> Result<(), FsError> {
        self.write(&ManifestRecord::Summary(summary))?;
        let io = |e| {
            FsError::io(
                FsErrorKind::Write {
                    path: self.path.clone(),
                },
                e,
            )
        };
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_all().map_err(io)
    }
}

impl Manifest {
    /// Reads a manifest; every malformed line is an error naming its line number.
    pub fn read(path: &Path) -> Result<Self, FsError> {
        let file = File::open(path).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: path.to_path_buf(),
                },
                e,
            )
        })?;
        Self::parse(BufReader::new(file), path)
    }

    /// Reads the manifest of a copy that may have been cut short (kill -9, a full disk): a last
    /// line without its newline is dropped, and one without a header line yet is `None`
    /// (nothing to resume). Every other malformed line is still an error.
    pub fn read_cut_short(path: &Path) -> Result<Option<Self>, FsError> {
        let mut bytes = std::fs::read(path).map_err(|e| {
            FsError::io(
                FsErrorKind::Open {
                    path: path.to_path_buf(),
                },
                e,
            )
        })?;
        let whole_lines = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(whole_lines);
        match Self::parse(&bytes[..], path) {
            Err(e) if matches!(e.kind(), FsErrorKind::ManifestHeader { .. }) => Ok(None),
            other => other.map(Some),
        }
    }

    fn parse(reader: impl BufRead, path: &Path) -> Result<Self, FsError> {
        let mut header = None;
        let mut entries = Vec::new();
        let mut summary = None;
        for (index, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(|e| {
                FsError::io(
                    FsErrorKind::Read {
                        path: path.to_path_buf(),
                    },
                    e,
                )
            })?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record: ManifestRecord = serde_json::from_slice(&line).map_err(|e| {
                FsError::new(FsErrorKind::ManifestLine {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: e.to_string(),
                })
            })?;
            match record {
                ManifestRecord::Header(h)
                    if header.is_none() && READ_FORMATS.contains(&h.format.as_str()) =>
                {
                    header = Some(h);
                }
                ManifestRecord::Entry(entry) if header.is_some() => entries.push(entry),
                ManifestRecord::Summary(s) if header.is_some() => summary = Some(s),
                _ => {
                    return Err(FsError::new(FsErrorKind::ManifestLine {
                        path: path.to_path_buf(),
                        line: index + 1,
                        message:
                            "record out of place (one header first, in format salvage-manifest/2 or /1)"
                                .to_string(),
                    }));
                }
            }
        }
        let header = header.ok_or_else(|| {
            FsError::new(FsErrorKind::ManifestHeader {
                path: path.to_path_buf(),
            })
        })?;
        Ok(Self {
            header,
            entries,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy killed before or while writing a line: nothing to resume without a header, and
    /// a torn last line is dropped rather than failing the resume.
    #[test]
    fn a_cut_short_manifest_reads_up_to_its_last_whole_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.jsonl");
        for torn in ["", "{\"record\":\"hea"] {
            std::fs::write(&path, torn).expect("write");
            assert!(
                Manifest::read_cut_short(&path).expect("read").is_none(),
                "{torn:?}"
            );
        }
        let header = ManifestRecord::Header(ManifestHeader {
            format: MANIFEST_FORMAT.to_string(),
            source: SourceSpec::Directory {
                path: "/src".into(),
            },
            dest: "/dest".into(),
            damage: None,
        });
        let mut text = serde_json::to_string(&header).expect("json");
        text.push_str("\n{\"record\":\"entry\",\"pa");
        std::fs::write(&path, &text).expect("write");
        let m = Manifest::read_cut_short(&path)
            .expect("read")
            .expect("a header");
        assert!(m.entries.is_empty());
        assert!(
            Manifest::read(&path).is_err(),
            "the strict reader still refuses it"
        );
    }

    #[test]
    fn names_with_newlines_and_invalid_utf8_round_trip() {
        let name = OsString::from_vec(b"a\nb\xff.txt".to_vec());
        let (text, hex_bytes) = encode_name(&name);
        assert!(hex_bytes.is_some());
        let entry = ManifestEntry {
            path: text,
            path_hex: hex_bytes,
            kind: EntryKind::File,
            size: 0,
            blake3: None,
            sha256: None,
            mode: "0644".into(),
            uid: 0,
            gid: 0,
            mtime: 0,
            mtime_nsec: 0,
            target: None,
            target_hex: None,
            status: EntryStatus::Copied,
            note: None,
            damage: Some(DamageState::Damaged),
            damaged: vec![[4096, 512]],
            lost_bytes: Some(512),
            damage_hit: vec!["data".into()],
        };
        let line = serde_json::to_string(&ManifestRecord::Entry(entry.clone())).unwrap_or_default();
        assert!(!line.contains('\n'), "one record per line: {line:?}");
        let back: ManifestRecord = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, ManifestRecord::Entry(entry.clone()));
        assert_eq!(entry.rel_path(), PathBuf::from(name));
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    /// Lines written before damage marks existed (format 1, SHA-256; format 2 without marks)
    /// still read, and a marked line keeps its marks.
    #[test]
    fn format_1_and_2_lines_read_with_or_without_damage_marks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.jsonl");
        let v1 = concat!(
            r#"{"record":"header","format":"salvage-manifest/1","source":{"type":"directory","path":"/s"},"dest":"/d"}"#,
            "\n",
            r#"{"record":"entry","path":"a","kind":"file","size":3,"sha256":"ab","mode":"0644","uid":0,"gid":0,"mtime":0,"mtime_nsec":0,"status":"copied"}"#,
            "\n",
            r#"{"record":"summary","files":1,"dirs":0,"symlinks":0,"bytes":3,"skipped":0,"unreadable":0}"#,
            "\n"
        );
        std::fs::write(&path, v1).expect("write");
        let m = Manifest::read(&path).expect("format 1 reads");
        assert_eq!(m.entries[0].damage, None);
        assert_eq!(m.entries[0].damage_lost(), None);
        assert!(m.header.damage.is_none());
        let v2 = concat!(
            r#"{"record":"header","format":"salvage-manifest/2","source":{"type":"directory","path":"/s"},"dest":"/d","damage":{"report":"r.json","filesystem":"partition 1 (ext4)","uuid":"u","headline":"h"}}"#,
            "\n",
            r#"{"record":"entry","path":"a","kind":"file","size":9000,"blake3":"ab","mode":"0644","uid":0,"gid":0,"mtime":0,"mtime_nsec":0,"status":"copied","damage":"damaged","damaged":[[4096,4096]],"lost_bytes":4096,"damage_hit":["data"]}"#,
            "\n",
            r#"{"record":"entry","path":"b","kind":"file","size":3,"blake3":"cd","mode":"0644","uid":0,"gid":0,"mtime":0,"mtime_nsec":0,"status":"copied","damage":"intact"}"#,
            "\n"
        );
        std::fs::write(&path, v2).expect("write");
        let m = Manifest::read(&path).expect("format 2 reads");
        assert_eq!(m.entries[0].damaged, vec![[4096, 4096]]);
        assert_eq!(m.entries[0].damage_lost(), Some(4096));
        assert_eq!(m.entries[1].damage, Some(DamageState::Intact));
        assert_eq!(m.entries[1].damage_lost(), None);
        assert_eq!(
            m.header.damage.as_ref().map(|d| d.filesystem.as_str()),
            Some("partition 1 (ext4)")
        );
    }
}
