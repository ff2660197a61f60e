//! `damage_report`: which files, directories, inodes and metadata an image's unreadable areas
//! hit. The areas are mapped through the partition table to each filesystem; each ext2/3/4
//! (`ext_damage`) or FAT12/16/32 (`fat_damage`) filesystem is read once for the whole map, from
//! the image, without root.
//! Filesystems salvage does not read yet are reported as not mapped, never as unharmed.

mod block_walk;
mod dir_entries;
mod ext_damage;
mod ext_inline_data;
mod ext_inode;
mod ext_layout;
mod ext_volume;
mod fat_damage;
mod image_reader;
mod le_bytes;
mod report;
mod report_text;
mod unreadable;

use std::path::Path;

use salvage_partition::{Label, ReadOptions, Role, read_table};

pub use report::{
    Area, ByteRange, DamageCounts, DamageReport, DamagedFile, LostInode, MappedFilesystem,
    MetadataHit,
};
pub use report_text::render_damage_text;
pub use unreadable::Unreadable;

use crate::error::{FsError, FsErrorKind};
use ext_damage::{ExtTarget, map_ext};
use fat_damage::map_fat;
use image_reader::ImageReader;

/// A stretch of the image to map: a partition, or the whole image.
struct Region {
    target: ExtTarget,
    fs_type: Option<String>,
    ambivalent: Option<String>,
}

/// The UUID (as `blkid` prints it) of the ext filesystem whose primary superblock is at
/// `offset + 1024` in `image`, when one is there.
pub fn ext_uuid_at(image: &Path, offset: u64) -> Result<Option<String>, FsError> {
    let reader = ImageReader::open(image)?;
    let bytes = reader.read(offset.saturating_add(1024), 1024)?;
    Ok(ext_layout::ExtSuper::parse(&bytes)
        .ok()
        .map(|sb| ext_damage::uuid_text(&sb.uuid)))
}

/// Maps the image's unreadable byte ranges `(start, end)` to what they hit.
pub fn damage_report(image: &Path, unreadable: &Unreadable) -> Result<DamageReport, FsError> {
    let reader = ImageReader::open(image)?;
    let table = read_table(image, &ReadOptions::default()).map_err(|e| {
        FsError::new(FsErrorKind::PartitionTable {
            path: image.to_path_buf(),
            message: e.to_string(),
        })
    })?;
    let mut report = DamageReport {
        image: image.display().to_string(),
        unreadable_bytes: unreadable.total(),
        unreadable_areas: unreadable.ranges().len(),
        ..DamageReport::default()
    };
    let ss = u64::from(table.sector_size);
    let mut regions = Vec::new();
    if table.label.is_read() {
        for p in &table.partitions {
            if p.role == Some(Role::Extended) {
                continue;
            }
            regions.push(Region {
                target: ExtTarget {
                    partition: Some(p.number),
                    offset: p.offset,
                    size: p.size_bytes,
                    name: format!("partition {}", p.number),
                },
                fs_type: p.filesystem.as_ref().map(|f| f.fs_type.clone()),
                ambivalent: (!p.ambivalent.is_empty()).then(|| {
                    let v: Vec<&str> = p.ambivalent.iter().map(|f| f.fs_type.as_str()).collect();
                    v.join(" and ")
                }),
            });
        }
        // The table's own sectors.
        let mut table_areas = vec![(0, ss, "partition table (MBR)")];
        if table.label == Label::Gpt {
            let first = table.first_lba.unwrap_or(34);
            table_areas.push((ss, first * ss, "partition table (GPT header and entries)"));
            if let Some(last) = table.last_lba {
                table_areas.push((
                    (last + 1) * ss,
                    table.device_size,
                    "partition table (backup GPT)",
                ));
            }
        }
        for (s, e, what) in table_areas {
            for (a, b) in unreadable.within(s, e) {
                report.metadata.push(MetadataHit {
                    partition: None,
                    what: what.into(),
                    group: None,
                    inodes: Vec::new(),
                    paths: Vec::new(),
                    bytes: ByteRange { start: a, end: b },
                });
            }
        }
    } else if table.label == Label::None {
        if unreadable.overlaps(0, 4096) && table.filesystem.is_none() {
            report.warnings.push(
                "the image's first sectors are unreadable and no partition table or filesystem \
                 was found there: the table may be lost with them (partitions are then missing \
                 from this report)"
                    .into(),
            );
        }
        regions.push(Region {
            target: ExtTarget {
                partition: None,
                offset: 0,
                size: reader.size(),
                name: "the image".into(),
            },
            fs_type: table.filesystem.as_ref().map(|f| f.fs_type.clone()),
            ambivalent: (!table.ambivalent.is_empty()).then(|| {
                let v: Vec<&str> = table
                    .ambivalent
                    .iter()
                    .map(|f| f.fs_type.as_str())
                    .collect();
                v.join(" and ")
            }),
        });
    } else {
        report.warnings.push(format!(
            "the image holds a {} disklabel, which salvage names but does not read: nothing \
             was mapped to files",
            table.label.as_str()
        ));
    }
    let mut claimed: Vec<(u64, u64)> = report
        .metadata
        .iter()
        .map(|m| (m.bytes.start, m.bytes.end))
        .collect();
    for r in &regions {
        let t = &r.target;
        let end = t.offset.saturating_add(t.size);
        if !unreadable.overlaps(t.offset, end) {
            claimed.push((t.offset, end));
            continue;
        }
        claimed.push((t.offset, end));
        let unknown = |report: &mut DamageReport, place: String| {
            for (a, b) in unreadable.within(t.offset, end) {
                report.unknown.push(Area {
                    bytes: ByteRange { start: a, end: b },
                    place: place.clone(),
                });
            }
        };
        if let Some(types) = &r.ambivalent {
            unknown(
                &mut report,
                format!("{}: ambivalent ({types}): salvage does not choose", t.name),
            );
            continue;
        }
        match r.fs_type.as_deref() {
            Some(ty @ ("ext2" | "ext3" | "ext4")) => {
                if !map_ext(&reader, t, unreadable, ty, &mut report)? {
                    unknown(
                        &mut report,
                        format!("{} ({ty}): its superblock does not read", t.name),
                    );
                }
            }
            Some("vfat") => {
                if !map_fat(&reader, t, unreadable, &mut report)? {
                    unknown(
                        &mut report,
                        format!(
                            "{} (vfat): its boot sector (and backup) does not read as FAT geometry that fits",
                            t.name
                        ),
                    );
                }
            }
            Some("swap") => {
                for (a, b) in unreadable.within(t.offset, end) {
                    report.no_file.push(Area {
                        bytes: ByteRange { start: a, end: b },
                        place: format!("swap space of {}", t.name),
                    });
                }
            }
            Some(ty) => unknown(
                &mut report,
                format!(
                    "{} ({ty}): salvage does not map {ty} to files yet; files there may be damaged",
                    t.name
                ),
            ),
            None => {
                // The superblock may be what is unreadable: try ext's backups.
                if !map_ext(&reader, t, unreadable, "ext", &mut report)? {
                    unknown(
                        &mut report,
                        format!(
                            "{}: no filesystem signature found (it may be in the unreadable bytes)",
                            t.name
                        ),
                    );
                }
            }
        }
    }
    let claimed = Unreadable::new(claimed);
    for &(a, b) in unreadable.minus(&claimed).ranges() {
        report.no_file.push(Area {
            bytes: ByteRange { start: a, end: b },
            place: if a >= reader.size() {
                "past the end of the image".into()
            } else {
                "outside every partition".into()
            },
        });
    }
    report
        .metadata
        .sort_by_key(|m| (m.bytes.start, m.bytes.end));
    report.no_file.sort_by_key(|a| a.bytes.start);
    report.unknown.sort_by_key(|a| a.bytes.start);
    report.count();
    Ok(report)
}
