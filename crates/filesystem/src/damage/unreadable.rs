//! `Unreadable`: the byte ranges of an image its map does not mark rescued, sorted and merged,
//! with the overlap queries the damage mapping asks of every extent, block and inode.

/// Sorted, merged, non-empty byte ranges `(start, end)` of an image, end exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unreadable {
    ranges: Vec<(u64, u64)>,
}

impl Unreadable {
    /// From `(start, end)` ranges in any order; empty ones are dropped, overlaps merged.
    pub fn new(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut v: Vec<(u64, u64)> = ranges.into_iter().filter(|&(s, e)| e > s).collect();
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

    /// The ranges, sorted and merged.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// The number of bytes in all ranges.
    pub fn total(&self) -> u64 {
        self.ranges.iter().map(|&(s, e)| e - s).sum()
    }

    /// True when no byte is unreadable.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when any byte of `[start, end)` is unreadable.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, e)| e <= start);
        self.ranges.get(i).is_some_and(|&(s, _)| s < end)
    }

    /// The unreadable parts of `[start, end)`, in order.
    pub fn within(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let i = self.ranges.partition_point(|&(_, e)| e <= start);
        self.ranges[i..]
            .iter()
            .take_while(move |&&(s, _)| s < end)
            .map(move |&(s, e)| (s.max(start), e.min(end)))
    }

    /// These ranges minus `other`'s.
    pub fn minus(&self, other: &Unreadable) -> Unreadable {
        let mut out = Vec::new();
        for &(s, e) in &self.ranges {
            let mut pos = s;
            for (cs, ce) in other.within(s, e) {
                if cs > pos {
                    out.push((pos, cs));
                }
                pos = ce;
            }
            if pos < e {
                out.push((pos, e));
            }
        }
        Unreadable { ranges: out }
    }
}

#[cfg(test)]
mod tests {
    use super::Unreadable;

    #[test]
    fn merges_and_answers_overlap_queries() {
        let u = Unreadable::new([(100, 200), (150, 250), (300, 310), (5, 5)]);
        assert_eq!(u.ranges(), &[(100, 250), (300, 310)]);
        assert_eq!(u.total(), 160);
        assert!(!u.overlaps(0, 100));
        assert!(u.overlaps(0, 101));
        assert!(!u.overlaps(250, 300));
        assert!(u.overlaps(305, 306));
        let parts: Vec<_> = u.within(120, 305).collect();
        assert_eq!(parts, vec![(120, 250), (300, 305)]);
        let rest = u.minus(&Unreadable::new([(110, 120), (240, 305)]));
        assert_eq!(rest.ranges(), &[(100, 110), (120, 240), (305, 310)]);
    }
}
