//! `Unsynced`: the parts of the image a map claims as rescued that were not yet known to be on
//! disk when the map was saved, with the boot they were written in. salvage does not wait for
//! the disk before it saves a map (that wait is the disk's whole write time); it records what
//! is still in the page cache instead, in a `# Unsynced:` header comment that GNU ddrescue
//! ignores. On a resume in the same boot the page cache still holds those bytes, so one
//! fdatasync makes them durable; after a reboot (a crash can lose them) they are read again.

use std::fmt::Write as _;

/// Ranges kept before the list is collapsed into one range covering them all (reading a little
/// more again after a crash is safe; a long header line is not useful).
const MAX_RANGES: usize = 64;

/// Image ranges written but not yet fsynced, and the boot that wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsynced {
    /// `/proc/sys/kernel/random/boot_id` of the writing boot (`unknown` if it could not be
    /// read, which never matches).
    pub boot: String,
    /// `(pos, size)`, sorted, not overlapping, not touching.
    pub ranges: Vec<(u64, u64)>,
}

/// This boot's id, or `unknown`.
pub(crate) fn current_boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Adds `(pos, len)` to a sorted list of disjoint ranges, merging what touches.
pub(crate) fn add_range(ranges: &mut Vec<(u64, u64)>, pos: u64, len: u64) {
    if len == 0 {
        return;
    }
    // The common case: the image grows at its end.
    if let Some(last) = ranges.last_mut() {
        if last.0 + last.1 == pos {
            last.1 += len;
            return;
        }
        if last.0 + last.1 < pos {
            ranges.push((pos, len));
            return;
        }
    } else {
        ranges.push((pos, len));
        return;
    }
    let (mut s, mut e) = (pos, pos + len);
    let mut kept = Vec::with_capacity(ranges.len() + 1);
    for &(rs, rl) in ranges.iter() {
        let re = rs + rl;
        if re < s || rs > e {
            kept.push((rs, rl));
        } else {
            s = s.min(rs);
            e = e.max(re);
        }
    }
    let at = kept.partition_point(|&(rs, _)| rs < s);
    kept.insert(at, (s, e - s));
    *ranges = kept;
}

impl Unsynced {
    /// The ledger for `ranges` written in this boot; `None` when nothing is pending.
    pub(crate) fn of_this_boot(mut ranges: Vec<(u64, u64)>) -> Option<Self> {
        if ranges.is_empty() {
            return None;
        }
        if ranges.len() > MAX_RANGES {
            let start = ranges[0].0;
            let end = ranges.last().map_or(start, |r| r.0 + r.1);
            ranges = vec![(start, end - start)];
        }
        Some(Self {
            boot: current_boot_id(),
            ranges,
        })
    }

    /// Bytes listed.
    pub fn bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.1).sum()
    }

    /// True when this ledger was written in the running boot.
    pub(crate) fn is_this_boot(&self) -> bool {
        self.boot != "unknown" && self.boot == current_boot_id()
    }

    /// The header line, without its newline.
    pub(crate) fn render(&self) -> String {
        let mut s = format!("# Unsynced: boot={}", self.boot);
        for (pos, size) in &self.ranges {
            let _ = write!(s, " 0x{pos:X}+0x{size:X}");
        }
        s
    }

    /// Parses what follows `# Unsynced:`; `None` when it is not a ledger salvage wrote.
    pub(crate) fn parse(rest: &str) -> Option<Self> {
        let mut words = rest.split_whitespace();
        let boot = words.next()?.strip_prefix("boot=")?.to_string();
        let mut ranges = Vec::new();
        for w in words {
            let (pos, size) = w.split_once('+')?;
            let num = |s: &str| u64::from_str_radix(s.strip_prefix("0x")?, 16).ok();
            let (pos, size) = (num(pos)?, num(size)?);
            pos.checked_add(size)?;
            add_range(&mut ranges, pos, size);
        }
        Some(Self { boot, ranges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_in_any_order() {
        let mut r = Vec::new();
        add_range(&mut r, 0, 10);
        add_range(&mut r, 10, 5);
        add_range(&mut r, 30, 5);
        assert_eq!(r, vec![(0, 15), (30, 5)]);
        add_range(&mut r, 20, 2);
        assert_eq!(r, vec![(0, 15), (20, 2), (30, 5)]);
        add_range(&mut r, 14, 17);
        assert_eq!(r, vec![(0, 35)]);
        add_range(&mut r, 40, 0);
        assert_eq!(r, vec![(0, 35)]);
    }

    #[test]
    fn renders_and_parses_back() {
        let u = Unsynced {
            boot: "3f2a-11".into(),
            ranges: vec![(0, 0x1000), (0x20_0000, 0x8000_0000)],
        };
        let line = u.render();
        assert_eq!(
            line,
            "# Unsynced: boot=3f2a-11 0x0+0x1000 0x200000+0x80000000"
        );
        let back = Unsynced::parse(line.strip_prefix("# Unsynced:").unwrap()).unwrap();
        assert_eq!(back, u);
        assert_eq!(back.bytes(), 0x8000_1000);
    }

    #[test]
    fn rejects_what_it_did_not_write() {
        assert_eq!(Unsynced::parse(" nonsense"), None);
        assert_eq!(Unsynced::parse(" boot=x 12+3"), None);
        assert_eq!(Unsynced::parse(" boot=x 0xFFFFFFFFFFFFFFFF+0x2"), None);
    }

    #[test]
    fn many_ranges_collapse_into_one_cover() {
        let ranges: Vec<(u64, u64)> = (0..100).map(|i| (i * 10, 5)).collect();
        let u = Unsynced::of_this_boot(ranges).unwrap();
        assert_eq!(u.ranges, vec![(0, 995)]);
        assert_eq!(Unsynced::of_this_boot(Vec::new()), None);
    }

    #[test]
    fn this_boot_matches_and_unknown_never_does() {
        let u = Unsynced::of_this_boot(vec![(0, 1)]).unwrap();
        assert_eq!(u.is_this_boot(), u.boot != "unknown");
        let other = Unsynced {
            boot: "unknown".into(),
            ranges: vec![(0, 1)],
        };
        assert!(!other.is_this_boot());
    }
}
