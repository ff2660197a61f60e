//! `Ranges`: a set of byte ranges `(start, len)`, sorted and merged.

/// Sorted, non-overlapping, non-adjacent byte ranges `(start, len)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ranges, in order.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes in all.
    pub fn bytes(&self) -> u64 {
        self.0.iter().map(|r| r.1).sum()
    }

    /// True when `[pos, pos + len)` lies inside one range.
    pub fn contains(&self, pos: u64, len: u64) -> bool {
        let i = self.0.partition_point(|r| r.0 + r.1 <= pos);
        self.0
            .get(i)
            .is_some_and(|&(s, n)| s <= pos && pos.saturating_add(len) <= s + n)
    }

    /// True when some byte of `[pos, pos + len)` lies in a range.
    pub fn overlaps(&self, pos: u64, len: u64) -> bool {
        let i = self.0.partition_point(|r| r.0 + r.1 <= pos);
        self.0
            .get(i)
            .is_some_and(|&(s, _)| s < pos.saturating_add(len))
    }

    /// Adds `[start, start + len)`.
    pub fn add(&mut self, start: u64, len: u64) {
        if len == 0 {
            return;
        }
        let end = start.saturating_add(len);
        // The first range that ends at or after `start` (touching ranges merge).
        let i = self.0.partition_point(|r| r.0 + r.1 < start);
        let mut j = i;
        let (mut s, mut e) = (start, end);
        while j < self.0.len() && self.0[j].0 <= e {
            s = s.min(self.0[j].0);
            e = e.max(self.0[j].0 + self.0[j].1);
            j += 1;
        }
        self.0.splice(i..j, [(s, e - s)]);
    }

    /// Adds every range of `other`.
    pub fn add_all(&mut self, other: &Ranges) {
        for &(s, n) in &other.0 {
            self.add(s, n);
        }
    }

    /// The parts of `self` not in `other`.
    pub fn minus(&self, other: &Ranges) -> Ranges {
        let mut out = Ranges::new();
        for &(s, n) in &self.0 {
            let mut pos = s;
            let end = s + n;
            let i = other.0.partition_point(|r| r.0 + r.1 <= s);
            for &(os, on) in &other.0[i..] {
                if os >= end {
                    break;
                }
                if os > pos {
                    out.0.push((pos, os - pos));
                }
                pos = pos.max(os + on);
            }
            if pos < end {
                out.0.push((pos, end - pos));
            }
        }
        out
    }

    /// The ranges clipped to `[0, end)`.
    pub fn clipped(&self, end: u64) -> Ranges {
        Ranges(
            self.0
                .iter()
                .filter(|r| r.0 < end)
                .map(|&(s, n)| (s, n.min(end - s)))
                .collect(),
        )
    }
}

impl FromIterator<(u64, u64)> for Ranges {
    fn from_iter<I: IntoIterator<Item = (u64, u64)>>(iter: I) -> Self {
        let mut r = Ranges::new();
        for (s, n) in iter {
            r.add(s, n);
        }
        r
    }
}
