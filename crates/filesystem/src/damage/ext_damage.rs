//! `map_ext`: one pass over an ext2/3/4 filesystem's metadata for the whole map. The
//! superblock (or a backup), the group descriptors (a readable copy of each block), every
//! in-use inode of every initialised inode table in disk order, each inode's extent tree or
//! indirect blocks, then the directory blocks (for names). Every unreadable byte is matched
//! against what lies there as it is met; what nothing claims is looked up in the block bitmap.
//! Bytes the map calls unreadable are never parsed: the image holds fill there, not data.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::block_walk::{BlockSink, walk_blocks};
use super::dir_entries::dir_entries;
use super::ext_inline_data::{system_data_in_block, system_data_in_inode};
use super::ext_inode::ExtInode;
use super::ext_layout::{
    BG_BLOCK_UNINIT, BG_INODE_UNINIT, COMPAT_HAS_JOURNAL, ExtSuper, GroupDesc, INCOMPAT_FILETYPE,
};
use super::ext_volume::ExtVolume;
use super::image_reader::ImageReader;
use super::report::{
    Area, ByteRange, DamageReport, DamagedFile, LostInode, MappedFilesystem, MetadataHit,
};
use super::unreadable::Unreadable;
use crate::error::FsError;

/// Largest single read of an inode table or a directory run.
const CHUNK: u64 = 1 << 20;

/// Where a filesystem to map lies.
#[derive(Debug, Clone)]
pub(crate) struct ExtTarget {
    pub(crate) partition: Option<u32>,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    /// "partition 1", "the image".
    pub(crate) name: String,
}

/// What one inode's blocks lost.
#[derive(Debug, Default)]
struct FileHits {
    kind: &'static str,
    size: u64,
    ranges: Vec<(u64, u64)>,
    hit: BTreeSet<&'static str>,
    no_data: BTreeSet<&'static str>,
}

/// What the pass over one filesystem found.
struct Pass<'a> {
    vol: ExtVolume<'a>,
    target: &'a ExtTarget,
    fs_type: String,
    groups: Vec<GroupDesc>,
    covered: Vec<(u64, u64)>,
    metadata: Vec<MetadataHit>,
    files: BTreeMap<u32, FileHits>,
    xattr: BTreeMap<u64, Vec<u32>>,
    unreadable_slots: Vec<u32>,
    dirs: Vec<u32>,
    dir_runs: Vec<(u64, u64, u32)>,
    /// Inline directories: their entries in `i_block` (after the parent) and in `system.data`.
    inline_dirs: Vec<(u32, Vec<Vec<u8>>)>,
    no_file: Vec<Area>,
    unknown: Vec<Area>,
    warnings: Vec<String>,
}

/// Maps the unreadable bytes inside `target`, an ext filesystem, into `report`. Returns
/// `Ok(false)`, having added nothing, when no readable ext superblock is there.
pub(crate) fn map_ext(
    reader: &ImageReader,
    target: &ExtTarget,
    bad: &Unreadable,
    fs_type: &str,
    report: &mut DamageReport,
) -> Result<bool, FsError> {
    let end = target.offset.saturating_add(target.size);
    let local = Unreadable::new(bad.within(target.offset, end));
    let Some((sb, note)) = find_superblock(reader, target, &local)? else {
        return Ok(false);
    };
    if let Some(note) = note {
        report.warnings.push(note);
    }
    let vol = ExtVolume {
        reader,
        offset: target.offset,
        sb: &sb,
        bad: &local,
    };
    let mut pass = Pass {
        vol,
        target,
        fs_type: fs_type.to_string(),
        groups: Vec::new(),
        covered: Vec::new(),
        metadata: Vec::new(),
        files: BTreeMap::new(),
        xattr: BTreeMap::new(),
        unreadable_slots: Vec::new(),
        dirs: Vec::new(),
        dir_runs: Vec::new(),
        inline_dirs: Vec::new(),
        no_file: Vec::new(),
        unknown: Vec::new(),
        warnings: Vec::new(),
    };
    pass.read_groups()?;
    pass.fixed_metadata();
    pass.scan_inodes()?;
    let names = pass.read_names()?;
    pass.finish(&names, report)?;
    Ok(true)
}

/// The primary superblock, or a backup in group 1 when the primary's bytes are unreadable.
fn find_superblock(
    reader: &ImageReader,
    target: &ExtTarget,
    bad: &Unreadable,
) -> Result<Option<(ExtSuper, Option<String>)>, FsError> {
    let at = target.offset + 1024;
    if !bad.overlaps(at, at + 1024) {
        return Ok(ExtSuper::parse(&reader.read(at, 1024)?)
            .ok()
            .map(|sb| (sb, None)));
    }
    for log in 0..7u32 {
        let bs = 1024u64 << log;
        let block = 8 * bs + u64::from(bs == 1024);
        let at = target.offset + block * bs;
        if at + 1024 > target.offset + target.size || bad.overlaps(at, at + 1024) {
            continue;
        }
        let bytes = reader.read(at, 1024)?;
        if let Ok(sb) = ExtSuper::parse(&bytes) {
            if sb.block_size == bs && u16::from_le_bytes([bytes[0x5A], bytes[0x5B]]) == 1 {
                let note = format!(
                    "{}: the primary ext superblock is unreadable; read the backup at block {block}",
                    target.name
                );
                return Ok(Some((sb, Some(note))));
            }
        }
    }
    Ok(None)
}

fn special_inode(sb: &ExtSuper, ino: u32) -> Option<&'static str> {
    if ino == sb.journal_inum && sb.compat & COMPAT_HAS_JOURNAL != 0 {
        return Some("journal");
    }
    if let Some(&(_, name)) = sb.named_inodes.iter().find(|(i, _)| *i == ino) {
        return Some(name);
    }
    if ino >= sb.first_ino || ino == 2 {
        return None;
    }
    Some(match ino {
        1 => "bad blocks inode",
        3 => "user quota",
        4 => "group quota",
        5 => "boot loader inode",
        6 => "undelete directory inode",
        7 => "resize inode",
        8 => "journal",
        _ => "reserved inode",
    })
}

/// A name's bytes as text; bytes that are not UTF-8, and control characters, as `\xHH`.
fn name_text(name: &[u8]) -> String {
    let mut s = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                s.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Collects one inode's hits as its blocks are walked.
struct InodeSink<'p, 'a> {
    pass: &'p mut Pass<'a>,
    ino: u32,
    inode: &'p ExtInode,
    special: Option<&'static str>,
    hits: Option<FileHits>,
}

impl InodeSink<'_, '_> {
    fn hits(&mut self) -> &mut FileHits {
        let (kind, size) = (self.inode.kind(), self.inode.size);
        self.hits.get_or_insert_with(|| FileHits {
            kind,
            size,
            ..FileHits::default()
        })
    }

    fn meta(&mut self, what: &'static str, a: u64, b: u64) {
        self.pass.covered.push((a, b));
        self.pass.metadata.push(MetadataHit {
            partition: self.pass.target.partition,
            what: what.to_string(),
            group: None,
            inodes: vec![self.ino],
            paths: Vec::new(),
            bytes: ByteRange { start: a, end: b },
        });
    }
}

impl BlockSink for InodeSink<'_, '_> {
    fn data(&mut self, logical: u64, physical: u64, len: u64, unwritten: bool) {
        if self.inode.is_dir() {
            self.pass.dir_runs.push((physical, len, self.ino));
        }
        let (s, e) = self.pass.vol.bytes_of(physical, len);
        if !self.pass.vol.bad.overlaps(s, e) {
            return;
        }
        let bs = self.pass.vol.sb.block_size;
        let parts: Vec<(u64, u64)> = self.pass.vol.bad.within(s, e).collect();
        for (a, b) in parts {
            if let Some(what) = self.special {
                self.meta(what, a, b);
                continue;
            }
            self.pass.covered.push((a, b));
            let size = self.inode.size;
            let fs = logical * bs + (a - s);
            let fe = fs + (b - a);
            let h = self.hits();
            if unwritten {
                h.no_data.insert("preallocated (unwritten) extent");
            } else if fs >= size {
                h.no_data.insert("past the end of the file");
            } else {
                h.ranges.push((fs, fe.min(size)));
                h.hit.insert("data");
                if fe > size {
                    h.no_data.insert("past the end of the file");
                }
            }
        }
    }

    fn tree(&mut self, physical: u64, first: u64, end: u64, what: &'static str) {
        let (s, e) = self.pass.vol.bytes_of(physical, 1);
        if !self.pass.vol.bad.overlaps(s, e) {
            return;
        }
        let parts: Vec<(u64, u64)> = self.pass.vol.bad.within(s, e).collect();
        for (a, b) in parts {
            self.meta(self.special.unwrap_or(what), a, b);
        }
        if self.special.is_some() {
            return;
        }
        let bs = self.pass.vol.sb.block_size;
        let size = self.inode.size;
        let (fs, fe) = (first.saturating_mul(bs), end.saturating_mul(bs).min(size));
        let h = self.hits();
        if fs < fe {
            h.ranges.push((fs, fe));
            h.hit.insert(what);
        } else {
            h.no_data.insert("past the end of the file");
        }
    }

    /// The bytes the broken part maps are lost to a copy as surely as unreadable ones: the
    /// file counts as damaged there ("block map unreadable"), never as intact.
    fn broken(&mut self, first: u64, end: u64, why: String) {
        let bs = self.pass.vol.sb.block_size;
        let (fs, fe) = (
            first.saturating_mul(bs),
            end.saturating_mul(bs).min(self.inode.size),
        );
        self.pass.warnings.push(format!(
            "{}: inode {}: {why}; its bytes {fs}..{} could not be mapped (the filesystem is damaged there, not only the disk)",
            self.pass.target.name,
            self.ino,
            fe.max(fs),
        ));
        if self.special.is_some() {
            return;
        }
        if fs < fe {
            let h = self.hits();
            h.ranges.push((fs, fe));
            h.hit.insert("block map unreadable");
        }
    }
}

impl Pass<'_> {
    fn name(&self) -> String {
        format!("{} ({})", self.target.name, self.fs_type)
    }

    fn record_meta(&mut self, first: u64, count: u64, what: &str, group: Option<u32>) {
        let (s, e) = self.vol.bytes_of(first, count);
        self.record_meta_bytes(s, e, what, group);
    }

    fn record_meta_bytes(&mut self, s: u64, e: u64, what: &str, group: Option<u32>) {
        let parts: Vec<(u64, u64)> = self.vol.bad.within(s, e).collect();
        for (a, b) in parts {
            self.covered.push((a, b));
            self.metadata.push(MetadataHit {
                partition: self.target.partition,
                what: what.to_string(),
                group,
                inodes: Vec::new(),
                paths: Vec::new(),
                bytes: ByteRange { start: a, end: b },
            });
        }
    }

    /// Reads every group descriptor from a readable copy of its block.
    fn read_groups(&mut self) -> Result<(), FsError> {
        let sb = &self.vol.sb;
        let dpb = sb.descs_per_block();
        let ds = sb.desc_size as usize;
        let mut groups = vec![GroupDesc::default(); sb.groups as usize];
        for i in 0..sb.gdt_blocks() {
            let found = sb
                .desc_block_locations(i)
                .into_iter()
                .find(|&b| self.vol.in_bounds(b, 1) && !self.vol.unreadable(b, 1));
            let Some(block) = found else {
                self.warnings.push(format!(
                    "{}: every copy of group descriptor block {i} is unreadable: groups {}..{} are not mapped",
                    self.name(),
                    i * dpb,
                    ((i + 1) * dpb).min(u64::from(sb.groups)) - 1
                ));
                continue;
            };
            if i == 0 && block != sb.first_data_block + 1 {
                self.warnings.push(format!(
                    "{}: the primary group descriptors are unreadable; read a backup",
                    self.name()
                ));
            }
            let data = self.vol.read_block(block)?;
            for j in 0..dpb {
                let g = (i * dpb + j) as usize;
                if g >= groups.len() {
                    break;
                }
                groups[g] =
                    GroupDesc::parse(&data[j as usize * ds..(j as usize + 1) * ds], sb.desc_size);
            }
        }
        self.groups = groups;
        Ok(())
    }

    fn inode_table_blocks(&self) -> u64 {
        let sb = &self.vol.sb;
        (u64::from(sb.inodes_per_group) * u64::from(sb.inode_size)).div_ceil(sb.block_size)
    }

    /// Superblocks, descriptors, bitmaps, inode tables, the MMP block, the boot area.
    fn fixed_metadata(&mut self) {
        let bs = self.vol.sb.block_size;
        let off = self.vol.offset;
        let boot = (off, off + 1024);
        let parts: Vec<(u64, u64)> = self.vol.bad.within(boot.0, boot.1).collect();
        for (a, b) in parts {
            self.covered.push((a, b));
            self.no_file.push(Area {
                bytes: ByteRange { start: a, end: b },
                place: format!("boot sector area of {} (ext does not use it)", self.name()),
            });
        }
        if bs == 1024 {
            self.record_meta_bytes(off + 1024, off + 2048, "superblock", Some(0));
        } else {
            self.record_meta_bytes(off + 1024, off + bs, "superblock", Some(0));
        }
        let itb = self.inode_table_blocks();
        for g in 0..self.vol.sb.groups {
            for (first, count, what) in self.vol.sb.fixed_metadata(g) {
                if g == 0 && what == "superblock" {
                    continue;
                }
                self.record_meta(first, count, what, Some(g));
            }
            let d = self.groups[g as usize];
            if d.known {
                self.record_meta(d.block_bitmap, 1, "block bitmap", Some(g));
                self.record_meta(d.inode_bitmap, 1, "inode bitmap", Some(g));
                self.record_meta(d.inode_table, itb, "inode table", Some(g));
            }
        }
        if self.vol.sb.mmp_block != 0 {
            self.record_meta(self.vol.sb.mmp_block, 1, "MMP block", None);
        }
    }

    /// Every in-use inode of every initialised inode table, in disk order.
    fn scan_inodes(&mut self) -> Result<(), FsError> {
        let isz = u64::from(self.vol.sb.inode_size);
        let ipg = self.vol.sb.inodes_per_group;
        let csum = self.vol.sb.has_group_csum();
        for g in 0..self.vol.sb.groups {
            let d = self.groups[g as usize];
            if !d.known || (csum && d.flags & BG_INODE_UNINIT != 0) {
                continue;
            }
            let used = if csum {
                ipg.saturating_sub(d.itable_unused)
            } else {
                ipg
            };
            let first_ino = g * ipg + 1;
            let used = used.min(self.vol.sb.inodes_count.saturating_sub(first_ino - 1));
            let (table, _) = self.vol.bytes_of(d.inode_table, 0);
            let per_chunk = (CHUNK / isz).max(1) as u32;
            let mut i = 0u32;
            while i < used {
                let n = per_chunk.min(used - i);
                let start = table + u64::from(i) * isz;
                let len = u64::from(n) * isz;
                let buf = self.vol.reader.read(start, len as usize)?;
                let any_bad = self.vol.bad.overlaps(start, start + len);
                for k in 0..n {
                    let ino = first_ino + i + k;
                    let s = start + u64::from(k) * isz;
                    if any_bad && self.vol.bad.overlaps(s, s + isz) {
                        self.unreadable_slots.push(ino);
                        continue;
                    }
                    let off = k as usize * isz as usize;
                    let raw = &buf[off..off + isz as usize];
                    let inode = ExtInode::parse(raw);
                    if inode.in_use() {
                        self.inode(ino, &inode, raw)?;
                    }
                }
                i += n;
            }
        }
        Ok(())
    }

    fn inode(&mut self, ino: u32, inode: &ExtInode, raw: &[u8]) -> Result<(), FsError> {
        if inode.is_dir() {
            self.dirs.push(ino);
        }
        if inode.file_acl != 0
            && self.vol.in_bounds(inode.file_acl, 1)
            && self.vol.unreadable(inode.file_acl, 1)
        {
            let owners = self.xattr.entry(inode.file_acl).or_default();
            if owners.is_empty() {
                // Claimed now: what nothing claims is looked up in the bitmap before the
                // xattr hits are written out.
                let (s, e) = self.vol.bytes_of(inode.file_acl, 1);
                self.covered.extend(self.vol.bad.within(s, e));
            }
            owners.push(ino);
        }
        if inode.has_inline_data() {
            return self.inline_inode(ino, inode, raw);
        }
        if !inode.has_blocks() {
            return Ok(());
        }
        let special = special_inode(self.vol.sb, ino);
        let vol = self.vol;
        let mut sink = InodeSink {
            pass: self,
            ino,
            inode,
            special,
            hits: None,
        };
        walk_blocks(&vol, inode, &mut sink)?;
        if let Some(h) = sink.hits.take() {
            self.files.insert(ino, h);
        }
        Ok(())
    }

    /// An inode whose data is inline: `i_block`, then `system.data` (in the inode, or else in
    /// its xattr block). `i_block` holds bytes, never block numbers. What of its size cannot be
    /// read (an unreadable xattr block holding the rest, an attribute area that does not
    /// parse) is lost; a directory's entries are kept for names.
    fn inline_inode(&mut self, ino: u32, inode: &ExtInode, raw: &[u8]) -> Result<(), FsError> {
        let acl = inode.file_acl;
        let mut lost_why = "inline data unreadable";
        let tail = match system_data_in_inode(raw) {
            Ok(None) if acl != 0 && self.vol.in_bounds(acl, 1) => {
                if self.vol.unreadable(acl, 1) {
                    lost_why = "extended attribute block";
                    Err(None)
                } else {
                    system_data_in_block(&self.vol.read_block(acl)?).map_err(Some)
                }
            }
            other => other.map_err(Some),
        };
        let tail = match tail {
            Ok(t) => t.unwrap_or_default(),
            Err(why) => {
                if let Some(why) = why {
                    self.warnings.push(format!(
                        "{}: inode {ino} keeps its data inline, but {why} (the filesystem is damaged there, not only the disk)",
                        self.target.name
                    ));
                }
                Vec::new()
            }
        };
        let held = 60 + tail.len() as u64;
        if inode.size > held {
            self.lose(ino, inode, held, inode.size, lost_why);
        }
        if inode.is_dir() {
            let mut pieces = vec![inode.block[4..].to_vec()];
            if !tail.is_empty() {
                pieces.push(tail);
            }
            self.inline_dirs.push((ino, pieces));
        }
        Ok(())
    }

    /// Bytes `[start, end)` of inode `ino` are lost for `why`, though no unreadable byte of
    /// the image says so (its map cannot be read).
    fn lose(&mut self, ino: u32, inode: &ExtInode, start: u64, end: u64, why: &'static str) {
        let h = self.files.entry(ino).or_insert_with(|| FileHits {
            kind: inode.kind(),
            size: inode.size,
            ..FileHits::default()
        });
        h.ranges.push((start, end));
        h.hit.insert(why);
    }

    /// Reads every directory block once, in disk order, keeping the names of directories and
    /// of the inodes the report names.
    fn read_names(&mut self) -> Result<Names, FsError> {
        let mut wanted: HashSet<u32> = self.files.keys().copied().collect();
        wanted.extend(self.unreadable_slots.iter().copied());
        wanted.extend(self.xattr.values().flatten().copied());
        let filetype = self.vol.sb.incompat & INCOMPAT_FILETYPE != 0;
        let mut names = Names::default();
        let dirs = std::mem::take(&mut self.dirs);
        let keep = |names: &mut Names, parent: u32, child: u32, name: &[u8], ftype: u8| {
            if dirs.binary_search(&child).is_ok() || wanted.contains(&child) {
                names.add(parent, child, name, filetype.then_some(ftype));
            }
        };
        let mut runs = std::mem::take(&mut self.dir_runs);
        runs.sort_unstable();
        let bs = self.vol.sb.block_size;
        let mut broken = 0usize;
        for &(physical, len, ino) in &runs {
            let mut b = 0u64;
            while b < len {
                let n = (CHUNK / bs).max(1).min(len - b);
                let (s, _) = self.vol.bytes_of(physical + b, 0);
                let buf = self.vol.reader.read(s, (n * bs) as usize)?;
                for k in 0..n {
                    if self.vol.unreadable(physical + b + k, 1) {
                        continue;
                    }
                    let block = &buf[(k * bs) as usize..((k + 1) * bs) as usize];
                    let ok = dir_entries(block, filetype, |child, name, ft| {
                        keep(&mut names, ino, child, name, ft)
                    });
                    broken += usize::from(!ok);
                }
                b += n;
            }
        }
        for (ino, pieces) in std::mem::take(&mut self.inline_dirs) {
            for piece in pieces {
                let ok = dir_entries(&piece, filetype, |child, name, ft| {
                    keep(&mut names, ino, child, name, ft)
                });
                broken += usize::from(!ok);
            }
        }
        if broken > 0 {
            self.warnings.push(format!(
                "{}: {broken} readable directory blocks do not parse to their end (the filesystem is damaged there): names after the damage are missing",
                self.name()
            ));
        }
        self.dirs = dirs;
        Ok(names)
    }

    fn inode_in_bitmap(
        &self,
        ino: u32,
        cache: &mut HashMap<u32, Option<Vec<u8>>>,
    ) -> Result<Option<bool>, FsError> {
        let ipg = self.vol.sb.inodes_per_group;
        let g = (ino - 1) / ipg;
        let idx = ((ino - 1) % ipg) as usize;
        let d = self.groups[g as usize];
        let bm = match cache.entry(g) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(if d.known && !self.vol.unreadable(d.inode_bitmap, 1) {
                Some(self.vol.read_block(d.inode_bitmap)?)
            } else {
                None
            }),
        };
        Ok(bm.as_ref().map(|bm| bm[idx / 8] & (1 << (idx % 8)) != 0))
    }

    /// The unreadable bytes nothing claimed: free space, an allocated block with no owner
    /// found, or past the filesystem's end.
    fn unclaimed(&mut self) -> Result<(), FsError> {
        let claimed = Unreadable::new(self.covered.iter().copied());
        let rest = self.vol.bad.minus(&claimed);
        let sb = self.vol.sb;
        let bs = sb.block_size;
        let fs_end = self.vol.offset + sb.blocks_count * bs;
        let ratio = sb.cluster_ratio;
        let csum = sb.has_group_csum();
        let mut bitmaps: HashMap<u32, Option<Vec<u8>>> = HashMap::new();
        let name = self.name();
        for &(a, b) in rest.ranges() {
            if a >= fs_end {
                self.no_file.push(Area {
                    bytes: ByteRange { start: a, end: b },
                    place: format!("{} after the end of its filesystem", self.target.name),
                });
                continue;
            }
            let (a, tail) = (a, b.min(fs_end));
            if b > fs_end {
                self.no_file.push(Area {
                    bytes: ByteRange {
                        start: fs_end,
                        end: b,
                    },
                    place: format!("{} after the end of its filesystem", self.target.name),
                });
            }
            let mut pos = a;
            while pos < tail {
                let block = (pos - self.vol.offset) / bs;
                let block_end = (self.vol.offset + (block + 1) * bs).min(tail);
                let state = if block < sb.first_data_block {
                    Some(false)
                } else {
                    let g = ((block - sb.first_data_block) / sb.blocks_per_group) as u32;
                    let d = self.groups[g as usize];
                    if !d.known {
                        None
                    } else if csum && d.flags & BG_BLOCK_UNINIT != 0 {
                        Some(false)
                    } else {
                        let bm = match bitmaps.entry(g) {
                            Entry::Occupied(e) => e.into_mut(),
                            Entry::Vacant(e) => {
                                e.insert(if self.vol.unreadable(d.block_bitmap, 1) {
                                    None
                                } else {
                                    Some(self.vol.read_block(d.block_bitmap)?)
                                })
                            }
                        };
                        let bit = (block - sb.group_first_block(g)) / ratio;
                        bm.as_ref()
                            .map(|bm| bm[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
                    }
                };
                let (list, place) = match state {
                    Some(false) => (&mut self.no_file, format!("free space of {name}")),
                    Some(true) => (
                        &mut self.unknown,
                        format!(
                            "allocated in {name}, but no inode read claims it (its inode may be in an unreadable inode-table block)"
                        ),
                    ),
                    None => (
                        &mut self.unknown,
                        format!("{name}: its block bitmap or group descriptor is unreadable"),
                    ),
                };
                match list.last_mut() {
                    Some(last) if last.bytes.end == pos && last.place == place => {
                        last.bytes.end = block_end;
                    }
                    _ => list.push(Area {
                        bytes: ByteRange {
                            start: pos,
                            end: block_end,
                        },
                        place,
                    }),
                }
                pos = block_end;
            }
        }
        Ok(())
    }

    fn finish(mut self, names: &Names, report: &mut DamageReport) -> Result<(), FsError> {
        self.unclaimed()?;
        let part = self.target.partition;
        let mut paths = Paths::new(names);
        // Inodes lost with their inode-table bytes.
        let mut cache = HashMap::new();
        for ino in std::mem::take(&mut self.unreadable_slots) {
            let mut evidence = Vec::new();
            if self.inode_in_bitmap(ino, &mut cache)? == Some(true) {
                evidence.push("inode bitmap".to_string());
            }
            if names.by_child.contains_key(&ino) {
                evidence.push("directory entry".to_string());
            }
            if evidence.is_empty() {
                continue;
            }
            report.inodes.push(LostInode {
                partition: part,
                inode: ino,
                kind: names.kind.get(&ino).map(|k| k.to_string()),
                paths: paths.all(ino),
                evidence,
            });
        }
        for (block, inodes) in std::mem::take(&mut self.xattr) {
            let (s, e) = self.vol.bytes_of(block, 1);
            let parts: Vec<(u64, u64)> = self.vol.bad.within(s, e).collect();
            let p: Vec<String> = inodes.iter().flat_map(|&i| paths.all(i)).collect();
            for (a, b) in parts {
                self.covered.push((a, b));
                self.metadata.push(MetadataHit {
                    partition: part,
                    what: "extended attribute block".into(),
                    group: None,
                    inodes: inodes.clone(),
                    paths: p.clone(),
                    bytes: ByteRange { start: a, end: b },
                });
            }
        }
        // Keep the first of hits on the same bytes, with the inodes of all (the resize inode's
        // blocks are the reserved descriptor blocks already named).
        let mut kept: Vec<MetadataHit> = Vec::with_capacity(self.metadata.len());
        let mut at: HashMap<(u64, u64), usize> = HashMap::new();
        for m in std::mem::take(&mut self.metadata) {
            match at.get(&(m.bytes.start, m.bytes.end)) {
                Some(&i) => {
                    for ino in m.inodes {
                        if !kept[i].inodes.contains(&ino) {
                            kept[i].inodes.push(ino);
                        }
                    }
                }
                None => {
                    at.insert((m.bytes.start, m.bytes.end), kept.len());
                    kept.push(m);
                }
            }
        }
        for m in &mut kept {
            m.paths = m.inodes.iter().flat_map(|&i| paths.all(i)).collect();
        }
        self.metadata = kept;
        for (ino, h) in std::mem::take(&mut self.files) {
            let ranges = merge(h.ranges);
            let lost: u64 = ranges.iter().map(|r| r.end - r.start).sum();
            let file = DamagedFile {
                partition: part,
                inode: ino,
                kind: h.kind.to_string(),
                paths: paths.all(ino),
                size: h.size,
                ranges,
                lost_bytes: lost,
                hit: if h.hit.is_empty() {
                    h.no_data.iter().map(|s| s.to_string()).collect()
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
            fs_type: self.fs_type.clone(),
            block_size: self.vol.sb.block_size,
            unreadable_bytes: self.vol.bad.total(),
            uuid: uuid_text(&self.vol.sb.uuid),
        });
        report.metadata.append(&mut self.metadata);
        report.no_file.append(&mut self.no_file);
        report.unknown.append(&mut self.unknown);
        report.warnings.append(&mut self.warnings);
        Ok(())
    }
}

fn merge(mut v: Vec<(u64, u64)>) -> Vec<ByteRange> {
    v.sort_unstable();
    let mut out: Vec<ByteRange> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.end => last.end = last.end.max(e),
            _ => out.push(ByteRange { start: s, end: e }),
        }
    }
    out
}

/// The directory entries kept: who names whom.
#[derive(Debug, Default)]
struct Names {
    by_child: HashMap<u32, Vec<(u32, String)>>,
    kind: HashMap<u32, &'static str>,
}

impl Names {
    fn add(&mut self, parent: u32, child: u32, name: &[u8], ftype: Option<u8>) {
        self.by_child
            .entry(child)
            .or_default()
            .push((parent, name_text(name)));
        if let Some(t) = ftype {
            let k = match t {
                1 => "file",
                2 => "directory",
                3 => "character device",
                4 => "block device",
                5 => "fifo",
                6 => "socket",
                7 => "symlink",
                _ => return,
            };
            self.kind.insert(child, k);
        }
    }
}

/// Paths from the root, memoised per directory.
struct Paths<'n> {
    names: &'n Names,
    dirs: HashMap<u32, Option<String>>,
}

impl<'n> Paths<'n> {
    fn new(names: &'n Names) -> Self {
        Self {
            names,
            dirs: HashMap::new(),
        }
    }

    /// The path of directory `ino` ("" for the root), following its first name.
    fn dir(&mut self, ino: u32) -> Option<String> {
        if ino == 2 {
            return Some(String::new());
        }
        let mut chain = Vec::new();
        let mut cur = ino;
        let prefix = loop {
            if cur == 2 {
                break Some(String::new());
            }
            if let Some(known) = self.dirs.get(&cur) {
                break known.clone();
            }
            if chain.contains(&cur) || chain.len() > 65_536 {
                break None;
            }
            let Some((parent, _)) = self.names.by_child.get(&cur).and_then(|v| v.first()) else {
                break None;
            };
            chain.push(cur);
            cur = *parent;
        };
        let mut path = prefix;
        for &d in chain.iter().rev() {
            path = path.map(|p| {
                let name = &self.names.by_child[&d][0].1;
                format!("{p}/{name}")
            });
            self.dirs.insert(d, path.clone());
        }
        self.dirs.get(&ino).cloned().flatten()
    }

    /// Every path naming `ino`, sorted.
    fn all(&mut self, ino: u32) -> Vec<String> {
        if ino == 2 {
            return vec!["/".into()];
        }
        let Some(entries) = self.names.by_child.get(&ino) else {
            return Vec::new();
        };
        let mut v: Vec<String> = entries
            .clone()
            .into_iter()
            .filter_map(|(parent, name)| self.dir(parent).map(|p| format!("{p}/{name}")))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// A UUID as `blkid` prints it: `8-4-4-4-12` lowercase hex.
pub(crate) fn uuid_text(u: &[u8; 16]) -> String {
    let h = hex::encode(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
