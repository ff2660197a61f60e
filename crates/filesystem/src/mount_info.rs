//! `MountInfo`: one line of `/proc/self/mountinfo`, with the kernel's octal escapes undone.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// A mount as the kernel lists it in `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MountInfo {
    /// Where it is mounted.
    pub(crate) target: PathBuf,
    /// The filesystem type.
    pub(crate) fstype: String,
    /// The mount source (for a loop mount, `/dev/loopN`).
    pub(crate) source: PathBuf,
}

impl MountInfo {
    /// All current mounts, in mount order; empty when mountinfo cannot be read.
    pub(crate) fn all() -> Vec<Self> {
        std::fs::read("/proc/self/mountinfo")
            .map(|text| Self::parse(&text))
            .unwrap_or_default()
    }

    /// The most recent mount on `target` (the one a umount would take off), if any.
    pub(crate) fn at(target: &Path) -> Option<Self> {
        Self::all().into_iter().rev().find(|m| m.target == target)
    }

    /// Parses mountinfo text; lines that do not parse are skipped.
    pub(crate) fn parse(text: &[u8]) -> Vec<Self> {
        text.split(|&b| b == b'\n')
            .filter_map(Self::parse_line)
            .collect()
    }

    fn parse_line(line: &[u8]) -> Option<Self> {
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let target = *fields.get(4)?;
        let dash = fields.iter().position(|f| *f == b"-")?;
        let fstype = *fields.get(dash + 1)?;
        let source = *fields.get(dash + 2)?;
        Some(Self {
            target: PathBuf::from(OsString::from_vec(unescape(target))),
            fstype: String::from_utf8_lossy(&unescape(fstype)).into_owned(),
            source: PathBuf::from(OsString::from_vec(unescape(source))),
        })
    }
}

/// Undoes the kernel's `\ooo` escapes (space, tab, newline, backslash).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && let Some(digits) = field.get(i + 1..i + 4)
            && digits.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let value = digits
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            if let Ok(byte) = u8::try_from(value) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(field[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escaped_targets_and_optional_fields() {
        let text = b"36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext4 /dev/loop3 ro,noload\n\
                     37 35 98:0 / /x rw - xfs /dev/loop4 ro\n";
        let mounts = MountInfo::parse(text);
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].target, Path::new("/mnt/a b"));
        assert_eq!(mounts[0].fstype, "ext4");
        assert_eq!(mounts[0].source, Path::new("/dev/loop3"));
        assert_eq!(mounts[1].fstype, "xfs");
    }

    #[test]
    fn a_newline_in_a_target_is_unescaped() {
        let mounts = MountInfo::parse(b"1 2 3:4 / /t/a\\012b rw - ext4 /dev/loop0 ro\n");
        assert_eq!(mounts[0].target, Path::new("/t/a\nb"));
    }
}
