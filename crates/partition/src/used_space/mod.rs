//! `used_space`: which bytes of a disk matter: the partition table, each filesystem's metadata
//! and the blocks its allocation maps mark in use (ext2/3/4 block bitmaps, FAT tables), read
//! from an image that is still being rescued, so that imaging can rescue them first.
//!
//! The reading is done in rounds: [`used_space`] reads through a [`Recorder`] that answers
//! reads of bytes not yet tried with zeros and notes them; if it needed any, the answer is
//! [`Step::Need`] (rescue those, then call again), else [`Step::Done`]. What could not be read
//! (bad sectors in a table, a superblock, a bitmap) never counts as free: the area it describes
//! counts as used, and a note says so.

mod ext;
mod fat;
mod ranges;
mod recorder;

pub use ranges::Ranges;
pub use recorder::Known;

use crate::read::{ReadOptions, read_table_from};
use crate::source::ByteSource;
use crate::table::Role;
use recorder::Recorder;

/// The bytes that matter, in the order to rescue them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UsedSpace {
    /// The partition table and each filesystem's own structures (superblocks, group
    /// descriptors, bitmaps, inode tables, FATs, root directories).
    pub metadata: Ranges,
    /// Blocks in use, and every area whose use could not be read (counted used).
    pub used: Ranges,
    /// The size of the disk.
    pub size: u64,
    /// One line per partition or decision: how its use was read.
    pub notes: Vec<String>,
}

impl UsedSpace {
    /// Metadata and used data together: the domain `--domain used` rescues.
    pub fn domain(&self) -> Ranges {
        let mut all = self.metadata.clone();
        all.add_all(&self.used);
        all
    }
}

/// The result of one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// These byte ranges `(start, len)` must be tried before the reading can go on.
    Need(Ranges),
    /// Everything needed was tried.
    Done(UsedSpace),
}

/// Reads what of `src` is in use. `known` says, for a byte range, whether it was rescued,
/// tried and not (all of it) readable, or not tried yet.
pub fn used_space(src: &dyn ByteSource, known: &dyn Fn(u64, u64) -> Known) -> Step {
    let rec = Recorder::new(src, known);
    let size = src.size_bytes();
    let mut out = UsedSpace {
        size,
        ..UsedSpace::default()
    };
    // The table alone first: an unreadable byte of it makes the whole disk count as used.
    // Filesystems are probed after, each on its own (an unreadable superblock then makes only
    // its partition count as used).
    let opts = ReadOptions {
        no_probe: true,
        ..ReadOptions::default()
    };
    let table = read_table_from(&rec, std::path::Path::new("source"), &opts);
    // Every byte the table reader looked at (table sectors, EBRs, GPT headers and entries,
    // superblocks it probed) is metadata.
    out.metadata.add_all(&rec.take_read());
    // The MBR, the GPT header and entries (at 512- or 4096-byte sectors) and the backup GPT
    // lie in the first and last 64 KiB: unreadable bytes there may hide partitions. (Reads
    // elsewhere during the table's reading are filesystem probes for the sector size.)
    let unreadable = rec.take_unreadable_reads();
    rec.take_unreadable();
    let edge = 64 * 1024;
    let table_unreadable =
        unreadable.overlaps(0, edge) || unreadable.overlaps(size.saturating_sub(edge), edge);
    match table {
        Ok(table) if !table_unreadable => {
            let parts: Vec<_> = table
                .partitions
                .iter()
                .filter(|p| p.role != Some(Role::Extended))
                .collect();
            // Inside an extended partition, what no logical partition covers counts as used:
            // an unreadable EBR would end the chain early and hide the partitions after it.
            for ext in table
                .partitions
                .iter()
                .filter(|p| p.role == Some(Role::Extended))
            {
                let area = Ranges::from_iter([(ext.offset, ext.size_bytes)]).clipped(size);
                let logical: Ranges = parts.iter().map(|p| (p.offset, p.size_bytes)).collect();
                let uncovered = area.minus(&logical);
                if !uncovered.is_empty() {
                    out.notes.push(format!(
                        "extended partition {}: {} bytes outside its logical partitions count as used",
                        ext.number,
                        uncovered.bytes()
                    ));
                    out.used.add_all(&uncovered);
                }
            }
            if parts.is_empty() {
                filesystem(&rec, 0, size, "the disk", &mut out);
            }
            for p in parts {
                let name = format!("partition {}", p.number);
                let end = p.offset.saturating_add(p.size_bytes).min(size);
                filesystem(
                    &rec,
                    p.offset,
                    end.saturating_sub(p.offset),
                    &name,
                    &mut out,
                );
            }
        }
        _ => {
            out.used.add(0, size);
            out.notes.push(
                "the partition table could not be read whole: the whole disk counts as used"
                    .to_string(),
            );
        }
    }
    let needed = rec.take_needed();
    if needed.is_empty() {
        Step::Done(out)
    } else {
        Step::Need(needed)
    }
}

/// Adds what of the filesystem in `[offset, offset + size)` is in use.
fn filesystem(rec: &Recorder, offset: u64, size: u64, name: &str, out: &mut UsedSpace) {
    if size == 0 {
        return;
    }
    let fs = crate::probe_filesystem(rec, offset, size);
    out.metadata.add_all(&rec.take_read());
    rec.take_unreadable();
    let kind = fs.as_ref().map_or("", |f| f.fs_type.as_str());
    let read = match kind {
        "ext2" | "ext3" | "ext4" => ext::used(rec, offset, size, out),
        "vfat" => fat::used(rec, offset, size, out),
        _ => Err(if kind.is_empty() {
            "no filesystem recognised".to_string()
        } else {
            format!("{kind}: its allocation is not read")
        }),
    };
    match read {
        Ok(note) => out.notes.push(format!("{name} at byte {offset}: {note}")),
        Err(why) => {
            out.used.add(offset, size);
            out.notes.push(format!(
                "{name} at byte {offset}: {why}; all {size} bytes count as used"
            ));
        }
    }
}
