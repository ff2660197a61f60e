//! `Mapfile`: GNU ddrescue's mapfile, read (all versions, including the 2-field status line
//! of ddrescue ≤ 1.19) and written, with the block-status operations the rescuer needs.

use std::fmt::Write as _;
use std::path::Path;

use super::error::{ImageError, ImageErrorKind};
use super::unsynced::Unsynced;

/// The status of a block, as written in a mapfile's block lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum BlockStatus {
    /// `?`: not tried yet.
    NonTried,
    /// `*`: a read failed somewhere in it; its edges are not trimmed yet.
    NonTrimmed,
    /// `/`: trimmed; the rest is to be scraped sector by sector.
    NonScraped,
    /// `-`: a bad sector (or a run of them).
    BadSector,
    /// `+`: rescued.
    Finished,
}

impl BlockStatus {
    /// The mapfile character.
    pub fn as_char(self) -> char {
        match self {
            Self::NonTried => '?',
            Self::NonTrimmed => '*',
            Self::NonScraped => '/',
            Self::BadSector => '-',
            Self::Finished => '+',
        }
    }

    /// The status of a mapfile character.
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '?' => Self::NonTried,
            '*' => Self::NonTrimmed,
            '/' => Self::NonScraped,
            '-' => Self::BadSector,
            '+' => Self::Finished,
            _ => return None,
        })
    }
}

/// The phase recorded in the status line (`current_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Phase {
    /// `?`: copying non-tried blocks.
    Copying,
    /// `*`: trimming non-trimmed blocks.
    Trimming,
    /// `/`: scraping non-scraped blocks.
    Scraping,
    /// `-`: retrying bad sectors.
    Retrying,
    /// `F`: filling (ddrescue's fill mode; read, never produced by salvage).
    Filling,
    /// `G`: generating (ddrescue's generate mode; read, never produced by salvage).
    Generating,
    /// `%`: sweeping (ddrescue 1.30; read, never produced by salvage).
    Sweeping,
    /// `+`: finished.
    Finished,
}

impl Phase {
    /// The status-line character.
    pub fn as_char(self) -> char {
        match self {
            Self::Copying => '?',
            Self::Trimming => '*',
            Self::Scraping => '/',
            Self::Retrying => '-',
            Self::Filling => 'F',
            Self::Generating => 'G',
            Self::Sweeping => '%',
            Self::Finished => '+',
        }
    }

    fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '?' => Self::Copying,
            '*' => Self::Trimming,
            '/' => Self::Scraping,
            '-' => Self::Retrying,
            'F' => Self::Filling,
            'G' => Self::Generating,
            '%' => Self::Sweeping,
            '+' => Self::Finished,
            _ => return None,
        })
    }

    /// A human description, as written in the mapfile's header comment.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Copying => "Copying non-tried blocks...",
            Self::Trimming => "Trimming non-trimmed blocks...",
            Self::Scraping => "Scraping non-scraped blocks...",
            Self::Retrying => "Retrying bad sectors...",
            Self::Filling => "Filling blocks...",
            Self::Generating => "Generating approximate mapfile...",
            Self::Sweeping => "Sweeping skipped blocks...",
            Self::Finished => "Finished",
        }
    }
}

/// One block line: `pos size status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Block {
    /// First byte.
    pub pos: u64,
    /// Length in bytes.
    pub size: u64,
    /// What is known about these bytes.
    pub status: BlockStatus,
}

impl Block {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.pos + self.size
    }
}

/// A mapfile: the status line and the contiguous, non-overlapping blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapfile {
    /// `current_pos` of the status line.
    pub current_pos: u64,
    /// `current_status` of the status line.
    pub phase: Phase,
    /// `current_pass` (1 when an old 2-field status line was read).
    pub pass: u32,
    /// What the map was made from, from salvage's `# Source:` header comment (a map written
    /// by GNU ddrescue has none): a resume from another source is refused.
    pub source: Option<String>,
    /// What the map claims but was not yet on disk when it was saved (salvage's `# Unsynced:`
    /// header comment; GNU ddrescue fsyncs before every save and writes none).
    pub unsynced: Option<Unsynced>,
    blocks: Vec<Block>,
}

/// Parses a C integer: decimal, `0x` hexadecimal or leading-`0` octal.
fn parse_c_integer(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

impl Mapfile {
    /// A new map: `size` bytes from `pos`, all non-tried.
    pub fn new(pos: u64, size: u64) -> Self {
        let blocks = if size == 0 {
            Vec::new()
        } else {
            vec![Block {
                pos,
                size,
                status: BlockStatus::NonTried,
            }]
        };
        Self {
            current_pos: pos,
            phase: Phase::Copying,
            pass: 1,
            source: None,
            unsynced: None,
            blocks,
        }
    }

    /// The blocks, in order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// One past the last byte the map covers (0 when empty).
    pub fn end(&self) -> u64 {
        self.blocks.last().map_or(0, Block::end)
    }

    /// Parses a mapfile's text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ImageError> {
        let err = |line: usize, reason: String| {
            ImageError::new(ImageErrorKind::MapSyntax {
                path: path.to_path_buf(),
                line,
                reason,
            })
        };
        let mut status: Option<(u64, Phase, u32)> = None;
        let mut source: Option<String> = None;
        let mut unsynced: Option<Unsynced> = None;
        let mut blocks: Vec<Block> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim();
            if let Some(id) = line.strip_prefix("# Source:") {
                source.get_or_insert_with(|| id.trim().to_string());
                continue;
            }
            if let Some(rest) = line.strip_prefix("# Unsynced:") {
                // A ledger that does not parse is treated as covering the whole map: reading
                // again is safe, trusting bytes that may not be on disk is not.
                let parsed = Unsynced::parse(rest).unwrap_or_else(|| Unsynced {
                    boot: "unknown".to_string(),
                    ranges: vec![(0, u64::MAX / 2)],
                });
                unsynced.get_or_insert(parsed);
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if status.is_none() {
                if !(2..=3).contains(&fields.len()) {
                    return Err(err(
                        line_no,
                        format!(
                            "the status line needs `current_pos current_status [current_pass]`, found {} fields",
                            fields.len()
                        ),
                    ));
                }
                let pos = parse_c_integer(fields[0])
                    .ok_or_else(|| err(line_no, format!("bad position `{}`", fields[0])))?;
                let mut chars = fields[1].chars();
                let phase = match (chars.next(), chars.next()) {
                    (Some(c), None) => Phase::from_char(c),
                    _ => None,
                }
                .ok_or_else(|| {
                    err(
                        line_no,
                        format!(
                            "bad current_status `{}` (one of ? * / - F G % +)",
                            fields[1]
                        ),
                    )
                })?;
                let pass = match fields.get(2) {
                    Some(p) => parse_c_integer(p)
                        .and_then(|p| u32::try_from(p).ok())
                        .filter(|&p| p >= 1)
                        .ok_or_else(|| err(line_no, format!("bad current_pass `{p}`")))?,
                    None => 1,
                };
                status = Some((pos, phase, pass));
                continue;
            }
            if fields.len() != 3 {
                return Err(err(
                    line_no,
                    format!(
                        "a block line needs `pos size status`, found {} fields",
                        fields.len()
                    ),
                ));
            }
            let pos = parse_c_integer(fields[0])
                .ok_or_else(|| err(line_no, format!("bad position `{}`", fields[0])))?;
            let size = parse_c_integer(fields[1])
                .ok_or_else(|| err(line_no, format!("bad size `{}`", fields[1])))?;
            let mut chars = fields[2].chars();
            let block_status = match (chars.next(), chars.next()) {
                (Some(c), None) => BlockStatus::from_char(c),
                _ => None,
            }
            .ok_or_else(|| {
                err(
                    line_no,
                    format!("bad block status `{}` (one of ? * / - +)", fields[2]),
                )
            })?;
            if pos.checked_add(size).is_none() {
                return Err(err(
                    line_no,
                    "block runs past the largest position".to_string(),
                ));
            }
            if size == 0 {
                // Only the empty map `0 0 ?` may have a size-0 block.
                if pos == 0 && block_status == BlockStatus::NonTried && blocks.is_empty() {
                    continue;
                }
                return Err(err(line_no, "a block of size 0".to_string()));
            }
            if let Some(last) = blocks.last() {
                if pos != last.end() {
                    return Err(err(
                        line_no,
                        format!(
                            "block at {pos:#x} does not follow the previous one, which ends at {:#x}",
                            last.end()
                        ),
                    ));
                }
            }
            blocks.push(Block {
                pos,
                size,
                status: block_status,
            });
        }
        let (current_pos, phase, pass) =
            status.ok_or_else(|| err(text.lines().count().max(1), "no status line".to_string()))?;
        let mut map = Self {
            current_pos,
            phase,
            pass,
            source,
            unsynced,
            blocks: Vec::new(),
        };
        for b in blocks {
            map.push_merge(b);
        }
        Ok(map)
    }

    /// Reads a mapfile; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, ImageError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                Self::parse(&text, path).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ImageError::io(
                ImageErrorKind::ReadMap(path.to_path_buf()),
                e,
            )),
        }
    }

    fn push_merge(&mut self, b: Block) {
        match self.blocks.last_mut() {
            Some(last) if last.status == b.status && last.end() == b.pos => last.size += b.size,
            _ => self.blocks.push(b),
        }
    }

    /// Makes the map cover exactly `[start, end)`: blocks outside are dropped or cut, and
    /// uncovered parts are added as non-tried.
    pub fn fit_domain(&mut self, start: u64, end: u64) {
        let old = std::mem::take(&mut self.blocks);
        let mut cursor = start;
        let mut out = Self {
            current_pos: self.current_pos,
            phase: self.phase,
            pass: self.pass,
            source: None,
            unsynced: None,
            blocks: Vec::new(),
        };
        for b in old {
            let s = b.pos.max(start);
            let e = b.end().min(end);
            if s >= e {
                continue;
            }
            if s > cursor {
                out.push_merge(Block {
                    pos: cursor,
                    size: s - cursor,
                    status: BlockStatus::NonTried,
                });
            }
            out.push_merge(Block {
                pos: s,
                size: e - s,
                status: b.status,
            });
            cursor = e;
        }
        if end > cursor {
            out.push_merge(Block {
                pos: cursor,
                size: end - cursor,
                status: BlockStatus::NonTried,
            });
        }
        self.blocks = out.blocks;
    }

    /// Marks the rescued bytes inside `ranges` non-tried again, so they are read again;
    /// returns how many bytes that was.
    pub fn forget_rescued(&mut self, ranges: &[(u64, u64)]) -> u64 {
        let mut forget = Vec::new();
        for &(rs, rl) in ranges {
            let re = rs.saturating_add(rl);
            for b in self
                .blocks
                .iter()
                .filter(|b| b.status == BlockStatus::Finished)
            {
                let (s, e) = (b.pos.max(rs), b.end().min(re));
                if s < e {
                    forget.push((s, e - s));
                }
            }
        }
        for &(s, l) in &forget {
            self.set_status(s, l, BlockStatus::NonTried);
        }
        forget.iter().map(|f| f.1).sum()
    }

    /// The index of the block holding `pos`, if the map covers it.
    pub fn find(&self, pos: u64) -> Option<usize> {
        let i = self.blocks.partition_point(|b| b.end() <= pos);
        (i < self.blocks.len() && self.blocks[i].pos <= pos).then_some(i)
    }

    /// Sets `[pos, pos + size)` to `status`, splitting and merging blocks as needed. The range
    /// must lie inside the map.
    pub fn set_status(&mut self, pos: u64, size: u64, status: BlockStatus) {
        if size == 0 {
            return;
        }
        let end = pos + size;
        let Some(first) = self.find(pos) else { return };
        // Fast path: the range sits at the start of one block and the previous block already
        // has the new status (the common case while copying forwards).
        let b = self.blocks[first];
        if b.status == status && end <= b.end() {
            return;
        }
        if b.pos == pos && end < b.end() && first > 0 && self.blocks[first - 1].status == status {
            self.blocks[first - 1].size += size;
            self.blocks[first].pos += size;
            self.blocks[first].size -= size;
            return;
        }
        // Same, at the end of a block with the next one already of the new status (reverse).
        if b.end() == end
            && pos > b.pos
            && first + 1 < self.blocks.len()
            && self.blocks[first + 1].status == status
        {
            self.blocks[first].size -= size;
            self.blocks[first + 1].pos -= size;
            self.blocks[first + 1].size += size;
            return;
        }
        // General case: rebuild the affected run of blocks.
        let last = self.find(end - 1).unwrap_or(self.blocks.len() - 1);
        let mut repl: Vec<Block> = Vec::with_capacity(3);
        let head = self.blocks[first];
        if head.pos < pos {
            repl.push(Block {
                pos: head.pos,
                size: pos - head.pos,
                status: head.status,
            });
        }
        repl.push(Block { pos, size, status });
        let tail = self.blocks[last];
        if tail.end() > end {
            repl.push(Block {
                pos: end,
                size: tail.end() - end,
                status: tail.status,
            });
        }
        // Merge with the neighbours outside the run and within it.
        let lo = first.saturating_sub(1);
        let hi = (last + 2).min(self.blocks.len());
        let mut merged: Vec<Block> = Vec::with_capacity(5);
        let before = self.blocks[lo..first].iter().copied();
        let after = self.blocks[last + 1..hi].iter().copied();
        for blk in before.chain(repl).chain(after) {
            match merged.last_mut() {
                Some(m) if m.status == blk.status && m.end() == blk.pos => m.size += blk.size,
                _ => merged.push(blk),
            }
        }
        let repl = merged;
        self.blocks.splice(lo..hi, repl);
    }

    /// Total bytes per status, in the order `? * / - +`.
    pub fn totals(&self) -> [u64; 5] {
        let mut t = [0u64; 5];
        for b in &self.blocks {
            t[b.status as usize] += b.size;
        }
        t
    }

    /// Bytes with `status`.
    pub fn bytes(&self, status: BlockStatus) -> u64 {
        self.totals()[status as usize]
    }

    /// The number of bad areas: maximal runs of blocks that are neither finished nor non-tried.
    pub fn error_areas(&self) -> Vec<(u64, u64)> {
        let mut areas: Vec<(u64, u64)> = Vec::new();
        for b in &self.blocks {
            if matches!(b.status, BlockStatus::Finished | BlockStatus::NonTried) {
                continue;
            }
            match areas.last_mut() {
                Some((s, len)) if *s + *len == b.pos => *len += b.size,
                _ => areas.push((b.pos, b.size)),
            }
        }
        areas
    }

    /// Renders the mapfile text: header comments, status line, block lines.
    pub fn render(&self, command_line: &str, start_time: &str, now: &str) -> String {
        let mut s = String::with_capacity(256 + self.blocks.len() * 32);
        let _ = writeln!(
            s,
            "# Mapfile. Created by salvage version {}",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(s, "# Command line: {command_line}");
        if let Some(source) = &self.source {
            let _ = writeln!(s, "# Source: {source}");
        }
        if let Some(unsynced) = &self.unsynced {
            let _ = writeln!(s, "{}", unsynced.render());
        }
        let _ = writeln!(s, "# Start time:   {start_time}");
        let _ = writeln!(s, "# Current time: {now}");
        let _ = writeln!(s, "# {}", self.phase.describe());
        let _ = writeln!(s, "# current_pos  current_status  current_pass");
        let _ = writeln!(
            s,
            "0x{:08X}     {}               {}",
            self.current_pos,
            self.phase.as_char(),
            self.pass
        );
        let _ = writeln!(s, "#      pos        size  status");
        if self.blocks.is_empty() {
            let _ = writeln!(s, "0x00000000  0x00000000  ?");
        }
        for b in &self.blocks {
            let _ = writeln!(
                s,
                "0x{:08X}  0x{:08X}  {}",
                b.pos,
                b.size,
                b.status.as_char()
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t.map")
    }

    const GNU_MAP: &str = "# Mapfile. Created by GNU ddrescue version 1.27\n\
# Command line: ddrescue -b 512 -r1 /dev/sdb disk.img disk.map\n\
# Start time:   2026-11-22 04:12:28\n\
# Current time: 2026-11-22 04:12:28\n\
# Finished\n\
# current_pos  current_status  current_pass\n\
0x00C00E00     +               1\n\
#      pos        size  status\n\
0x00000000  0x004E2000  +\n\
0x004E2000  0x00025800  -\n\
0x00507800  0x006F9600  +\n";

    #[test]
    fn parses_gnu_ddrescue_map() {
        let m = Mapfile::parse(GNU_MAP, p()).expect("parses");
        assert_eq!(m.current_pos, 0xC00E00);
        assert_eq!(m.phase, Phase::Finished);
        assert_eq!(m.pass, 1);
        assert_eq!(m.blocks().len(), 3);
        assert_eq!(
            m.blocks()[1],
            Block {
                pos: 0x4E2000,
                size: 0x25800,
                status: BlockStatus::BadSector
            }
        );
        assert_eq!(m.end(), 0x507800 + 0x6F9600);
    }

    #[test]
    fn parses_two_field_status_line_and_c_integers() {
        let text = "# old ddrescue 1.19\n0x200 *\n0 512 +\n01000 0x200 *\n1024 1024 ?\n";
        let m = Mapfile::parse(text, p()).expect("parses");
        assert_eq!(m.pass, 1);
        assert_eq!(m.phase, Phase::Trimming);
        assert_eq!(m.blocks()[1].pos, 512); // octal 01000
        assert_eq!(m.end(), 2048);
    }

    #[test]
    fn round_trips_render_and_parse() {
        let m = Mapfile::parse(GNU_MAP, p()).expect("parses");
        let text = m.render("salvage image a b --map c", "t0", "t1");
        assert!(text.contains("0x004E2000  0x00025800  -\n"), "{text}");
        assert!(
            text.contains("0x00C00E00     +               1\n"),
            "{text}"
        );
        let again = Mapfile::parse(&text, p()).expect("reparses");
        assert_eq!(again, m);
    }

    #[test]
    fn reports_line_numbers_for_bad_input() {
        let cases = [
            ("0 ?\n0 10 +\n10 10 x\n", 3, "bad block status"),
            ("0 ?\n0 10 +\n20 10 +\n", 3, "does not follow"),
            ("# c\nzz ?\n", 2, "bad position"),
            ("0 ? 1\n0 10\n", 2, "pos size status"),
            ("0 Q 1\n", 1, "current_status"),
            ("0 ? 1\n0 0 +\n", 2, "size 0"),
            ("# only comments\n", 1, "no status line"),
            ("0 ? 1\n0xffffffffffffffff 2 +\n", 2, "past"),
        ];
        for (text, line, what) in cases {
            let e = Mapfile::parse(text, p()).expect_err(text);
            match &e.kind {
                ImageErrorKind::MapSyntax {
                    line: l, reason, ..
                } => {
                    assert_eq!(*l, line, "{text}: {reason}");
                    assert!(reason.contains(what), "{text}: {reason}");
                }
                other => panic!("{text}: unexpected {other:?}"),
            }
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().starts_with(&format!("t.map:{line}:")), "{e}");
        }
    }

    #[test]
    fn accepts_the_empty_map() {
        let m = Mapfile::parse("0 ? 1\n0 0 ?\n", p()).expect("parses");
        assert!(m.blocks().is_empty());
    }

    #[test]
    fn set_status_splits_and_merges() {
        let mut m = Mapfile::new(0, 100);
        m.set_status(0, 10, BlockStatus::Finished);
        m.set_status(10, 10, BlockStatus::Finished);
        m.set_status(50, 5, BlockStatus::BadSector);
        m.set_status(90, 10, BlockStatus::Finished);
        m.set_status(80, 10, BlockStatus::Finished);
        let got: Vec<(u64, u64, char)> = m
            .blocks()
            .iter()
            .map(|b| (b.pos, b.size, b.status.as_char()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 20, '+'),
                (20, 30, '?'),
                (50, 5, '-'),
                (55, 25, '?'),
                (80, 20, '+')
            ]
        );
        m.set_status(15, 80, BlockStatus::Finished);
        assert_eq!(m.blocks().len(), 1);
        assert_eq!(m.totals()[BlockStatus::Finished as usize], 100);
    }

    #[test]
    fn set_status_matches_a_byte_model() {
        // A deterministic pseudo-random sequence of changes against a byte-per-position model.
        let mut model = vec![BlockStatus::NonTried; 300];
        let mut m = Mapfile::new(0, 300);
        let all = [
            BlockStatus::NonTried,
            BlockStatus::NonTrimmed,
            BlockStatus::NonScraped,
            BlockStatus::BadSector,
            BlockStatus::Finished,
        ];
        let mut x: u64 = 0x2545F4914F6CDD1D;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pos = x % 300;
            let size = 1 + (x >> 20) % (300 - pos).min(40);
            let st = all[((x >> 40) % 5) as usize];
            m.set_status(pos, size, st);
            for s in &mut model[pos as usize..(pos + size) as usize] {
                *s = st;
            }
            let mut cursor = 0;
            for w in m.blocks().windows(2) {
                assert_ne!(w[0].status, w[1].status, "unmerged neighbours");
            }
            for b in m.blocks() {
                assert_eq!(b.pos, cursor);
                for i in b.pos..b.end() {
                    assert_eq!(model[i as usize], b.status);
                }
                cursor = b.end();
            }
            assert_eq!(cursor, 300);
        }
    }

    #[test]
    fn fit_domain_cuts_and_extends() {
        let mut m = Mapfile::parse("0 ? 1\n0 100 +\n100 100 -\n", p()).expect("parses");
        m.fit_domain(50, 300);
        let got: Vec<(u64, u64, char)> = m
            .blocks()
            .iter()
            .map(|b| (b.pos, b.size, b.status.as_char()))
            .collect();
        assert_eq!(got, vec![(50, 50, '+'), (100, 100, '-'), (200, 100, '?')]);
    }
}
