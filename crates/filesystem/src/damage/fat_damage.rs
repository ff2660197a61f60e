//! `map_fat`: one pass over a FAT12/16/32 filesystem for the whole map. The boot sector (or
//! FAT32's backup), the FAT (each sector from the first copy where it is readable), then every
//! directory from the root, each entry's cluster chain followed in memory. Unreadable bytes
//! are matched against the boot and reserved sectors, the FAT copies, the FAT12/16 root
//! directory, directory clusters and file clusters as they are met; what nothing claims is
//! looked up in the FAT (free, marked bad, or allocated to a file no readable directory names).
//! FAT has no inodes: a report's `inode` for a FAT entry is its first cluster (0 when empty).

use std::collections::{BTreeMap, HashSet};

use salvage_partition::FatGeometry;

use super::ext_damage::ExtTarget;
use super::image_reader::ImageReader;
use super::report::{Area, ByteRange, DamageReport, DamagedFile, MappedFilesystem, MetadataHit};
use super::unreadable::Unreadable;
use crate::error::FsError;

const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
const ATTR_LFN: u8 = 0x0F;

/// A directory to read: where its entries are, and its path.
enum DirAt {
    /// The FAT12/16 root directory, in its fixed region.
    FixedRoot,
    /// A cluster chain from its first cluster.
    Chain(u64),
}

/// What one file or directory lost.
struct Hit {
    kind: &'static str,
    path: String,
    first: u64,
    size: u64,
    ranges: Vec<(u64, u64)>,
    hit: Vec<&'static str>,
    past_end: bool,
}

/// A cluster chain as far as it could be followed.
struct Chain {
    clusters: Vec<u64>,
    /// Why it stopped before its end mark.
    broken: Option<String>,
}

struct FatPass<'a> {
    reader: &'a ImageReader,
    target: &'a ExtTarget,
    bad: &'a Unreadable,
    g: FatGeometry,
    fat: Vec<u8>,
    /// Per FAT sector: readable in some copy.
    fat_known: Vec<bool>,
    covered: Vec<(u64, u64)>,
    hits: Vec<Hit>,
    metadata: Vec<MetadataHit>,
    no_file: Vec<Area>,
    unknown: Vec<Area>,
    warnings: Vec<String>,
}

/// Maps the unreadable bytes inside `target`, a FAT filesystem, into `report`. Returns
/// `Ok(false)`, having added nothing, when no readable boot sector is there.
pub(crate) fn map_fat(
    reader: &ImageReader,
    target: &ExtTarget,
    bad: &Unreadable,
    report: &mut DamageReport,
) -> Result<bool, FsError> {
    let end = target.offset.saturating_add(target.size);
    let local = Unreadable::new(bad.within(target.offset, end));
    let mut note = None;
    let mut found = None;
    // The boot sector, or FAT32's backup in sector 6.
    for (at, backup) in [(0u64, false), (6 * 512, true)] {
        let s = target.offset + at;
        if local.overlaps(s, s + 512) {
            continue;
        }
        if let Ok(g) = FatGeometry::parse(&reader.read(s, 512)?, target.size) {
            if backup {
                note = Some(format!(
                    "{}: the FAT boot sector is unreadable; read its backup in sector 6",
                    target.name
                ));
            }
            found = Some((g, reader.read(s, 512)?));
            break;
        }
    }
    let Some((g, boot)) = found else {
        return Ok(false);
    };
    let serial_at = if g.bits == 32 { 67 } else { 39 };
    let serial = u32::from_le_bytes([
        boot[serial_at],
        boot[serial_at + 1],
        boot[serial_at + 2],
        boot[serial_at + 3],
    ]);
    let mut pass = FatPass {
        reader,
        target,
        bad: &local,
        g,
        fat: Vec::new(),
        fat_known: Vec::new(),
        covered: Vec::new(),
        hits: Vec::new(),
        metadata: Vec::new(),
        no_file: Vec::new(),
        unknown: Vec::new(),
        warnings: note.into_iter().collect(),
    };
    pass.fixed_metadata();
    pass.read_fat()?;
    pass.walk()?;
    pass.unclaimed();
    pass.finish(
        report,
        format!("{:04X}-{:04X}", serial >> 16, serial & 0xFFFF),
    );
    Ok(true)
}

/// The checksum of an 8.3 name that its long-name entries carry.
fn short_checksum(name: &[u8]) -> u8 {
    name.iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

/// An 8.3 name as Linux and mtools show it (lowercase flags of byte 12 applied); bytes
/// outside ASCII as `\xHH`.
fn short_name(e: &[u8]) -> String {
    let text = |bytes: &[u8], lower: bool| {
        let mut s = String::new();
        for &b in bytes {
            let b = if b == 0x05 { 0xE5 } else { b };
            if b.is_ascii() && !b.is_ascii_control() {
                let c = b as char;
                s.push(if lower { c.to_ascii_lowercase() } else { c });
            } else {
                s.push_str(&format!("\\x{b:02x}"));
            }
        }
        s.trim_end_matches(' ').to_string()
    };
    let base = text(&e[0..8], e[12] & 0x08 != 0);
    let ext = text(&e[8..11], e[12] & 0x10 != 0);
    if ext.is_empty() {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// Long-name pieces gathered before a short entry.
#[derive(Default)]
struct LongName {
    parts: BTreeMap<u8, [u16; 13]>,
    checksum: Option<u8>,
    count: u8,
}

impl LongName {
    fn add(&mut self, e: &[u8]) {
        let seq = e[0] & 0x1F;
        if e[0] & 0x40 != 0 {
            *self = LongName {
                count: seq,
                checksum: Some(e[13]),
                ..LongName::default()
            };
        } else if self.checksum != Some(e[13]) {
            *self = LongName::default();
            return;
        }
        let mut units = [0u16; 13];
        let spots = (1..11)
            .step_by(2)
            .chain((14..26).step_by(2))
            .chain((28..32).step_by(2));
        for (u, at) in units.iter_mut().zip(spots) {
            *u = u16::from_le_bytes([e[at], e[at + 1]]);
        }
        self.parts.insert(seq, units);
    }

    /// The long name, when its pieces are whole and belong to `short` (an 11-byte 8.3 name).
    fn take(&mut self, short: &[u8]) -> Option<String> {
        let me = std::mem::take(self);
        let whole = me.count > 0
            && me.parts.len() == usize::from(me.count)
            && me.parts.keys().copied().eq(1..=me.count)
            && me.checksum == Some(short_checksum(short));
        if !whole {
            return None;
        }
        let units: Vec<u16> = me
            .parts
            .values()
            .flatten()
            .copied()
            .take_while(|&u| u != 0)
            .collect();
        let name = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>();
        (!name.is_empty()).then_some(name)
    }
}

impl FatPass<'_> {
    fn name(&self) -> String {
        format!("{} (vfat)", self.target.name)
    }

    /// Image bytes of `[start, end)` counted from the filesystem's start.
    fn abs(&self, start: u64, end: u64) -> (u64, u64) {
        (self.target.offset + start, self.target.offset + end)
    }

    fn meta(&mut self, start: u64, end: u64, what: &str) {
        let (s, e) = self.abs(start, end);
        let parts: Vec<(u64, u64)> = self.bad.within(s, e).collect();
        for (a, b) in parts {
            self.covered.push((a, b));
            self.metadata.push(MetadataHit {
                partition: self.target.partition,
                what: what.to_string(),
                group: None,
                inodes: Vec::new(),
                paths: Vec::new(),
                bytes: ByteRange { start: a, end: b },
            });
        }
    }

    /// The boot sector, the other reserved sectors and each FAT copy.
    fn fixed_metadata(&mut self) {
        let g = self.g;
        self.meta(0, g.sector, "boot sector");
        self.meta(g.sector, g.reserved * g.sector, "reserved sectors");
        for i in 0..g.fats {
            let what = if i == 0 { "FAT" } else { "backup FAT" };
            self.meta(g.fat_offset(i), g.fat_offset(i) + g.fat_bytes(), what);
        }
    }

    /// The FAT, each sector from the first copy where it is readable.
    fn read_fat(&mut self) -> Result<(), FsError> {
        let g = self.g;
        let ss = g.sector;
        let len = usize::try_from(g.fat_bytes()).unwrap_or(usize::MAX);
        self.fat = self
            .reader
            .read(self.target.offset + g.fat_offset(0), len)?;
        self.fat_known = vec![true; g.fat_sectors as usize];
        let mut lost = 0u64;
        for s in 0..g.fat_sectors {
            let at = |i: u64| self.target.offset + g.fat_offset(i) + s * ss;
            if !self.bad.overlaps(at(0), at(0) + ss) {
                continue;
            }
            match (1..g.fats).find(|&i| !self.bad.overlaps(at(i), at(i) + ss)) {
                Some(i) => {
                    let bytes = self.reader.read(at(i), ss as usize)?;
                    let o = (s * ss) as usize;
                    self.fat[o..o + ss as usize].copy_from_slice(&bytes);
                }
                None => {
                    self.fat_known[s as usize] = false;
                    lost += 1;
                }
            }
        }
        if lost > 0 {
            self.warnings.push(format!(
                "{}: {lost} FAT sector{} unreadable in every copy: files whose chains pass there are lost from that point",
                self.name(),
                if lost == 1 { " is" } else { "s are" }
            ));
        }
        Ok(())
    }

    /// Cluster `c`'s FAT entry; `None` when its bytes are unreadable in every copy.
    fn entry(&self, c: u64) -> Option<u64> {
        let at = self.g.entry_offset(c);
        let width = if self.g.bits == 32 { 4 } else { 2 };
        let ss = self.g.sector;
        let known = |b: u64| {
            self.fat_known
                .get((b / ss) as usize)
                .copied()
                .unwrap_or(false)
        };
        if !known(at) || !known(at + width - 1) {
            return None;
        }
        self.g.entry(&self.fat, c)
    }

    fn valid_cluster(&self, c: u64) -> bool {
        c >= 2 && c < self.g.clusters + 2
    }

    /// The chain from `first`, to its end mark.
    fn chain(&self, first: u64) -> Chain {
        let mut clusters = Vec::new();
        let mut c = first;
        let broken = loop {
            if !self.valid_cluster(c) {
                break Some(format!(
                    "its chain points at cluster {c}, outside the filesystem"
                ));
            }
            if clusters.len() as u64 > self.g.clusters {
                break Some("its chain loops".to_string());
            }
            clusters.push(c);
            match self.entry(c) {
                None => {
                    break Some(format!(
                        "the FAT entry of its cluster {c} is unreadable in every copy"
                    ));
                }
                Some(v) if self.g.is_end(v) => break None,
                Some(0) => break Some(format!("its chain reaches free cluster {c}")),
                Some(v) if v == self.g.bad_mark() => {
                    break Some(format!("its chain reaches cluster {c}, marked bad"));
                }
                Some(v) => c = v,
            }
        };
        Chain { clusters, broken }
    }

    /// Matches `clusters` (in file order) against the unreadable bytes: lost ranges inside
    /// the file up to `size`, what lies past it.
    fn chain_hits(&mut self, h: &mut Hit, clusters: &[u64], size: u64) {
        let cb = self.g.cluster_bytes();
        for (i, &c) in clusters.iter().enumerate() {
            let start = self.g.cluster_offset(c);
            let (s, e) = self.abs(start, start + cb);
            if !self.bad.overlaps(s, e) {
                continue;
            }
            let parts: Vec<(u64, u64)> = self.bad.within(s, e).collect();
            for (a, b) in parts {
                self.covered.push((a, b));
                let fs = i as u64 * cb + (a - s);
                let fe = fs + (b - a);
                if fs >= size {
                    h.past_end = true;
                } else {
                    h.ranges.push((fs, fe.min(size)));
                    if !h.hit.contains(&"data") {
                        h.hit.push("data");
                    }
                }
            }
        }
    }

    /// Reads every directory from the root, following each entry's chain.
    fn walk(&mut self) -> Result<(), FsError> {
        let root = if self.g.bits == 32 {
            DirAt::Chain(self.g.root_cluster)
        } else {
            DirAt::FixedRoot
        };
        let mut queue = vec![(root, "/".to_string())];
        let mut seen: HashSet<u64> = HashSet::new();
        let mut unparsed = 0usize;
        while let Some((at, path)) = queue.pop() {
            let cb = self.g.cluster_bytes();
            // The directory's bytes, as (offset in the filesystem, length) pieces.
            let (pieces, first, broken): (Vec<(u64, u64)>, u64, Option<String>) = match at {
                DirAt::FixedRoot => (
                    vec![(self.g.root_offset(), self.g.root_sectors * self.g.sector)],
                    0,
                    None,
                ),
                DirAt::Chain(first) => {
                    if !seen.insert(first) {
                        continue;
                    }
                    let chain = self.chain(first);
                    let pieces = chain
                        .clusters
                        .iter()
                        .map(|&c| (self.g.cluster_offset(c), cb))
                        .collect();
                    (pieces, first, chain.broken)
                }
            };
            let size: u64 = pieces.iter().map(|p| p.1).sum();
            let mut hit = Hit {
                kind: "directory",
                path: path.clone(),
                first,
                size,
                ranges: Vec::new(),
                hit: Vec::new(),
                past_end: false,
            };
            let mut long = LongName::default();
            let mut pos_in_dir = 0u64;
            // After an entry starting with 0 the rest of the directory is free: bytes lost
            // there held no entry.
            let mut ended = false;
            for (start, len) in pieces {
                let (s, e) = self.abs(start, start + len);
                let bad_parts: Vec<(u64, u64)> = self.bad.within(s, e).collect();
                // Where the entries end in this piece (`e`: they go on).
                let mut end_at = if ended { s } else { e };
                if !ended {
                    let data = self.reader.read(s, len as usize)?;
                    for k in 0..(len / 32) {
                        let es = s + k * 32;
                        if !bad_parts.is_empty() && self.bad.overlaps(es, es + 32) {
                            long = LongName::default();
                            continue;
                        }
                        let e = &data[(k * 32) as usize..(k * 32 + 32) as usize];
                        match e[0] {
                            0 => {
                                ended = true;
                                end_at = es;
                                break;
                            }
                            0xE5 => {
                                long = LongName::default();
                                continue;
                            }
                            _ => {}
                        }
                        self.entry_of_dir(e, &path, &mut long, &mut queue, &mut unparsed);
                    }
                }
                for &(a, b) in &bad_parts {
                    self.covered.push((a, b));
                    if a < end_at {
                        let b = b.min(end_at);
                        hit.ranges
                            .push((pos_in_dir + (a - s), pos_in_dir + (b - s)));
                        if !hit.hit.contains(&"directory block") {
                            hit.hit.push("directory block");
                        }
                    }
                    if b > end_at {
                        hit.past_end = true;
                    }
                }
                pos_in_dir += len;
            }
            // A chain that stops before its end mark loses entries only when the ones read
            // did not end.
            if let (Some(why), false) = (&broken, ended) {
                self.warnings.push(format!(
                    "{}: directory {path}: {why} (the filesystem is damaged there, not only the disk): its entries after byte {size} are missing",
                    self.name()
                ));
                hit.ranges.push((size, size + cb));
                hit.hit.push("cluster chain unreadable");
                hit.size = size + cb;
            }
            if !hit.ranges.is_empty() || hit.past_end {
                self.hits.push(hit);
            }
        }
        if unparsed > 0 {
            self.warnings.push(format!(
                "{}: {unparsed} directory entries have names salvage cannot use",
                self.name()
            ));
        }
        Ok(())
    }

    /// One live 32-byte entry of directory `path`: a long-name piece, a subdirectory (queued)
    /// or a file (its chain followed).
    fn entry_of_dir(
        &mut self,
        e: &[u8],
        path: &str,
        long: &mut LongName,
        queue: &mut Vec<(DirAt, String)>,
        unparsed: &mut usize,
    ) {
        let attr = e[11];
        if attr & 0x3F == ATTR_LFN {
            long.add(e);
            return;
        }
        let long_name = long.take(&e[0..11]);
        if attr & ATTR_VOLUME != 0 || &e[0..11] == b".          " || &e[0..11] == b"..         " {
            return;
        }
        let name = long_name.unwrap_or_else(|| short_name(e));
        if name.contains('/') || name.is_empty() {
            *unparsed += 1;
            return;
        }
        let child = if path == "/" {
            format!("/{name}")
        } else {
            format!("{path}/{name}")
        };
        let mut first = u64::from(u16::from_le_bytes([e[26], e[27]]));
        if self.g.bits == 32 {
            first |= u64::from(u16::from_le_bytes([e[20], e[21]])) << 16;
        }
        if attr & ATTR_DIR != 0 {
            if first != 0 {
                queue.push((DirAt::Chain(first), child));
            }
        } else {
            let size = u64::from(u32::from_le_bytes([e[28], e[29], e[30], e[31]]));
            self.file(child, first, size);
        }
    }

    fn file(&mut self, path: String, first: u64, size: u64) {
        if first == 0 {
            return;
        }
        let chain = self.chain(first);
        let mut h = Hit {
            kind: "file",
            path,
            first,
            size,
            ranges: Vec::new(),
            hit: Vec::new(),
            past_end: false,
        };
        let clusters = chain.clusters;
        self.chain_hits(&mut h, &clusters, size);
        let held = clusters.len() as u64 * self.g.cluster_bytes();
        if held < size {
            let why = chain
                .broken
                .unwrap_or_else(|| "its chain ends before its size".to_string());
            self.warnings.push(format!(
                "{}: {}: {why}; its bytes {held}..{size} could not be mapped (the filesystem is damaged there, not only the disk)",
                self.name(),
                h.path
            ));
            h.ranges.push((held, size));
            h.hit.push("cluster chain unreadable");
        }
        if !h.ranges.is_empty() || h.past_end {
            self.hits.push(h);
        }
    }

    /// The unreadable bytes nothing claimed: the FAT says free, bad or allocated.
    fn unclaimed(&mut self) {
        let claimed = Unreadable::new(self.covered.iter().copied());
        let rest = self.bad.minus(&claimed);
        let g = self.g;
        let name = self.name();
        let data = self.target.offset + g.data_offset();
        let data_end = data + g.clusters * g.cluster_bytes();
        let fs_end = self.target.offset + g.total * g.sector;
        for &(a, b) in rest.ranges() {
            let mut pos = a;
            while pos < b {
                let (end, list_unknown, place) = if pos >= fs_end {
                    (
                        b,
                        false,
                        format!("{} after the end of its filesystem", self.target.name),
                    )
                } else if pos >= data_end {
                    (
                        b.min(fs_end),
                        false,
                        format!("unused sectors after the last cluster of {name}"),
                    )
                } else if pos < data {
                    // The FAT12/16 root directory is walked; nothing else lies before data.
                    (b.min(data), true, format!("{name}: not mapped"))
                } else {
                    let c = (pos - data) / g.cluster_bytes() + 2;
                    let end = (data + (c - 1) * g.cluster_bytes()).min(b);
                    match self.entry(c) {
                        Some(0) => (end, false, format!("free space of {name}")),
                        Some(v) if v == g.bad_mark() => (
                            end,
                            false,
                            format!("a cluster of {name} marked bad in its FAT"),
                        ),
                        None => (
                            end,
                            true,
                            format!("{name}: its FAT entry is unreadable in every copy"),
                        ),
                        Some(_) => (
                            end,
                            true,
                            format!(
                                "allocated in {name}, but no directory entry read claims it (it may be named in an unreadable directory cluster)"
                            ),
                        ),
                    }
                };
                let list = if list_unknown {
                    &mut self.unknown
                } else {
                    &mut self.no_file
                };
                match list.last_mut() {
                    Some(last) if last.bytes.end == pos && last.place == place => {
                        last.bytes.end = end
                    }
                    _ => list.push(Area {
                        bytes: ByteRange { start: pos, end },
                        place,
                    }),
                }
                pos = end;
            }
        }
    }

    fn finish(mut self, report: &mut DamageReport, uuid: String) {
        let part = self.target.partition;
        for h in std::mem::take(&mut self.hits) {
            let mut v = h.ranges;
            v.sort_unstable();
            let mut ranges: Vec<ByteRange> = Vec::new();
            for (s, e) in v {
                match ranges.last_mut() {
                    Some(last) if s <= last.end => last.end = last.end.max(e),
                    _ => ranges.push(ByteRange { start: s, end: e }),
                }
            }
            let lost: u64 = ranges.iter().map(|r| r.end - r.start).sum();
            let file = DamagedFile {
                partition: part,
                inode: u32::try_from(h.first).unwrap_or(u32::MAX),
                kind: h.kind.to_string(),
                paths: vec![h.path],
                size: h.size,
                ranges,
                lost_bytes: lost,
                hit: if h.hit.is_empty() {
                    vec![if h.kind == "directory" {
                        "past the directory's last entry".to_string()
                    } else {
                        "past the end of the file".to_string()
                    }]
                } else {
                    h.hit.iter().map(|s| s.to_string()).collect()
                },
            };
            report.add_file(file);
        }
        report.filesystems.push(MappedFilesystem {
            partition: part,
            offset: self.target.offset,
            size: self.target.size,
            fs_type: "vfat".into(),
            block_size: self.g.cluster_bytes(),
            unreadable_bytes: self.bad.total(),
            uuid,
        });
        report.metadata.append(&mut self.metadata);
        report.no_file.append(&mut self.no_file);
        report.unknown.append(&mut self.unknown);
        report.warnings.append(&mut self.warnings);
    }
}
