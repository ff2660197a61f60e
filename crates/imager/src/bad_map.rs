//! `BadMap`: the simulated bad sectors of test mode (like GNU ddrescue's `-H`): reads that
//! touch a bad byte fail with EIO, so demos and tests run without a failing disk or root.
//!
//! Two text formats are read:
//! - a list of ranges, one per line: `START+SIZE` or `START-END` (end exclusive), numbers as C
//!   integers (`4096`, `0x1000`, `010000`); `#` starts a comment;
//! - a GNU ddrescue mapfile: as with `ddrescue -H`, every block that is not finished (`+`) is
//!   bad; bytes the map does not cover read fine.

use std::path::Path;

use super::error::{ImageError, ImageErrorKind};
use super::mapfile::{BlockStatus, Mapfile};

/// Sorted, merged, non-empty bad byte ranges `(start, end)`, end exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadMap {
    ranges: Vec<(u64, u64)>,
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

impl BadMap {
    /// Bad ranges given as `(start, size)`; empty ones are ignored, overlaps merged.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut v: Vec<(u64, u64)> = ranges
            .into_iter()
            .filter(|&(_, size)| size > 0)
            .map(|(start, size)| (start, start.saturating_add(size)))
            .collect();
        v.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Self { ranges: merged }
    }

    /// The bad ranges as `(start, end)`, sorted and merged.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// Parses either format (see the module documentation); `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ImageError> {
        let is_mapfile = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_some_and(|l| l.split_whitespace().count() >= 2);
        if is_mapfile {
            let map = Mapfile::parse(text, path).map_err(|e| match e.kind {
                ImageErrorKind::MapSyntax { path, line, reason } => {
                    ImageError::new(ImageErrorKind::BadMapSyntax { path, line, reason })
                }
                _ => e,
            })?;
            return Ok(Self::from_ranges(
                map.blocks()
                    .iter()
                    .filter(|b| b.status != BlockStatus::Finished)
                    .map(|b| (b.pos, b.size)),
            ));
        }
        let mut ranges = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: &str| {
                ImageError::new(ImageErrorKind::BadMapSyntax {
                    path: path.to_path_buf(),
                    line: index + 1,
                    reason: format!("{reason} in `{line}`"),
                })
            };
            let range = if let Some((a, b)) = line.split_once('+') {
                let start = parse_num(a).ok_or_else(|| bad("bad start"))?;
                let size = parse_num(b).ok_or_else(|| bad("bad size"))?;
                (start, size)
            } else if let Some((a, b)) = line.split_once('-') {
                let start = parse_num(a).ok_or_else(|| bad("bad start"))?;
                let end = parse_num(b).ok_or_else(|| bad("bad end"))?;
                if end < start {
                    return Err(bad("end before start"));
                }
                (start, end - start)
            } else {
                return Err(bad("expected START+SIZE or START-END"));
            };
            ranges.push(range);
        }
        Ok(Self::from_ranges(ranges))
    }

    /// Reads a bad map file.
    pub fn load(path: &Path) -> Result<Self, ImageError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ImageError::io(ImageErrorKind::ReadBadMap(path.to_path_buf()), e))?;
        Self::parse(&text, path)
    }

    /// The first bad byte in `[pos, pos + len)`, if any.
    pub fn first_bad(&self, pos: u64, len: u64) -> Option<u64> {
        let end = pos.saturating_add(len);
        let i = self.ranges.partition_point(|&(_, e)| e <= pos);
        let &(s, _) = self.ranges.get(i)?;
        (s < end).then_some(s.max(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_answers_queries() {
        let m = BadMap::parse(
            "# bad\n4096+512\n0x3000-0x3400  # end exclusive\n4608+512\n",
            Path::new("b"),
        )
        .expect("parses");
        assert_eq!(m.ranges(), &[(4096, 5120), (0x3000, 0x3400)]);
        assert_eq!(m.first_bad(0, 4096), None);
        assert_eq!(m.first_bad(0, 4097), Some(4096));
        assert_eq!(m.first_bad(5000, 10), Some(5000));
        assert_eq!(m.first_bad(5120, 0x3000 - 5120), None);
        assert_eq!(m.first_bad(5120, 0x3000), Some(0x3000));
    }

    #[test]
    fn parses_a_ddrescue_map_like_dash_h() {
        let m = BadMap::parse(
            "0 + 1\n0 1024 +\n1024 512 -\n1536 512 /\n2048 1024 +\n",
            Path::new("b"),
        )
        .expect("parses");
        assert_eq!(m.ranges(), &[(1024, 2048)]);
    }

    #[test]
    fn reports_line_numbers() {
        let e = BadMap::parse("1+1\n\nzz+1\n", Path::new("b")).expect_err("bad");
        assert!(
            matches!(e.kind, ImageErrorKind::BadMapSyntax { line: 3, .. }),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        let e = BadMap::parse("10-5\n", Path::new("b")).expect_err("bad");
        assert!(e.to_string().contains("end before start"), "{e}");
    }
}
