//! What a signature scan need not read: the holes of a sparse image ([`data_ranges`]) and the
//! candidates just after a read error ([`Unreadable`], which also says what was skipped).

/// One mebibyte: the first span skipped after an unreadable candidate.
const MIB: u64 = 1 << 20;
use super::source::ByteSource;

/// The bytes a probe at a candidate offset reads: the first 8 KiB and btrfs's magic at
/// 64 KiB + 0x40. A candidate whose window is all hole reads zeros and finds nothing.
const WINDOW: u64 = 65536 + 0x40 + 8;

/// The longest run of candidates skipped after unreadable ones.
const MAX_SKIP: u64 = 1 << 30;

/// The ranges of candidate offsets whose probe window touches data, merged and in order: for
/// each data area `[start, end)`, the candidates from `start - WINDOW + 1` to `end`. A source
/// that cannot tell holes from data is one range, everything.
pub(crate) fn data_ranges(src: &dyn ByteSource, size: u64) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut from = 0;
    while from < size {
        let Some((start, end)) = src.data_area(from) else {
            break;
        };
        let end = end.min(size).max(start.saturating_add(1));
        let lo = start.saturating_sub(WINDOW - 1);
        match ranges.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(end),
            _ => ranges.push((lo, end)),
        }
        from = end;
    }
    ranges
}

/// Read errors met by the scan: after an unreadable candidate, the candidates within the next
/// span are skipped, the span doubling (1 MiB, 2, 4, ... 1 GiB) while candidates keep failing
/// and starting again at 1 MiB after a readable one.
#[derive(Debug, Default)]
pub(crate) struct Unreadable {
    span: u64,
    /// The areas not probed, `[start, end)`, merged, and the first error's text.
    areas: Vec<(u64, u64)>,
    skipped: u64,
    first_error: Option<String>,
}

impl Unreadable {
    /// Whether the candidate at `offset` falls in a span being skipped (counted).
    pub(crate) fn skips(&mut self, offset: u64) -> bool {
        let skip = self.areas.iter().any(|&(s, e)| (s..e).contains(&offset));
        if skip {
            self.skipped += 1;
        }
        skip
    }

    /// The candidate at `offset` could not be read.
    pub(crate) fn failed(&mut self, offset: u64, error: &std::io::Error) {
        self.first_error
            .get_or_insert_with(|| format!("at byte {offset}: {error}"));
        self.span = (self.span * 2).clamp(MIB, MAX_SKIP);
        let end = offset.saturating_add(self.span);
        match self.areas.last_mut() {
            Some(last) if offset <= last.1 && offset >= last.0 => last.1 = last.1.max(end),
            _ => self.areas.push((offset, end)),
        }
    }

    /// A candidate was read: the next error starts with a short skip again.
    pub(crate) fn readable(&mut self) {
        self.span = 0;
    }

    /// What the scan did not probe, for the table's warnings.
    pub(crate) fn warning(&self) -> Option<String> {
        let first = self.first_error.as_ref()?;
        let areas: Vec<String> = self
            .areas
            .iter()
            .map(|(s, e)| format!("bytes {s}..{e}"))
            .collect();
        Some(format!(
            "scan: unreadable areas not probed ({}; first error {first}; {} more candidate \
             offsets skipped after it): a filesystem starting there would not be found; image \
             the disk and scan the image",
            areas.join(", "),
            self.skipped
        ))
    }
}
