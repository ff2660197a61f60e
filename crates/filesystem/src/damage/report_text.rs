//! `render_damage_text`: a [`DamageReport`] as people read it: the headline, then each file
//! with its paths and lost byte ranges, the directories, lost inodes, metadata, and the areas
//! that hit no file or could not be mapped.

use std::fmt::Write as _;

use salvage_text::size_text::binary_size;

use super::report::{Area, ByteRange, DamageReport, DamagedFile};

fn ranges_text(ranges: &[ByteRange]) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = ranges
        .iter()
        .take(SHOWN)
        .map(|r| format!("{}-{}", r.start, r.end - 1))
        .collect();
    if ranges.len() > SHOWN {
        parts.push(format!("and {} more", ranges.len() - SHOWN));
    }
    parts.join(", ")
}

fn where_text(partition: Option<u32>, inode: u32) -> String {
    match partition {
        Some(p) => format!("partition {p}, inode {inode}"),
        None => format!("inode {inode}"),
    }
}

fn file_lines(s: &mut String, f: &DamagedFile) {
    let name = f.paths.first().map_or("(no name found)", String::as_str);
    let _ = writeln!(
        s,
        "  {name}  ({}; {} {}): {} of {} lost ({}), bytes {}",
        where_text(f.partition, f.inode),
        f.kind,
        f.size,
        binary_size(f.lost_bytes, 1),
        binary_size(f.size, 1),
        f.hit.join(", "),
        ranges_text(&f.ranges)
    );
    for other in f.paths.iter().skip(1) {
        let _ = writeln!(s, "    also named {other}");
    }
}

fn area_lines(s: &mut String, areas: &[Area]) {
    for a in areas {
        let _ = writeln!(
            s,
            "  bytes {}-{} ({}): {}",
            a.bytes.start,
            a.bytes.end - 1,
            binary_size(a.bytes.end - a.bytes.start, 1),
            a.place
        );
    }
}

/// The report as text.
pub fn render_damage_text(r: &DamageReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} unreadable in {} area{}",
        r.image,
        binary_size(r.unreadable_bytes, 1),
        r.unreadable_areas,
        if r.unreadable_areas == 1 { "" } else { "s" }
    );
    let _ = writeln!(s, "{}", r.headline());
    if !r.files.is_empty() {
        let _ = writeln!(s, "\nfiles damaged:");
        for f in &r.files {
            file_lines(&mut s, f);
        }
    }
    if !r.directories.is_empty() {
        let _ = writeln!(
            s,
            "\ndirectories hit (their entries may be missing from a copy):"
        );
        for f in &r.directories {
            file_lines(&mut s, f);
        }
    }
    if !r.inodes.is_empty() {
        let _ = writeln!(
            s,
            "\ninodes lost with their inode-table bytes (the whole file is lost from the image):"
        );
        for i in &r.inodes {
            let name = if i.paths.is_empty() {
                "(no name found)".to_string()
            } else {
                i.paths.join(", ")
            };
            let _ = writeln!(
                s,
                "  {name}  ({}; {}; in use per {})",
                where_text(i.partition, i.inode),
                i.kind.as_deref().unwrap_or("kind unknown"),
                i.evidence.join(" and ")
            );
        }
    }
    if !r.metadata.is_empty() {
        let _ = writeln!(s, "\nmetadata hit:");
        for m in &r.metadata {
            let mut what = m.what.clone();
            if let Some(g) = m.group {
                let _ = write!(what, " of group {g}");
            }
            if !m.inodes.is_empty() {
                let list: Vec<String> = m.inodes.iter().map(u32::to_string).collect();
                let _ = write!(what, " (inode {})", list.join(", "));
            }
            if !m.paths.is_empty() {
                let _ = write!(what, " {}", m.paths.join(", "));
            }
            let part = m
                .partition
                .map(|p| format!("partition {p}: "))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  bytes {}-{}: {part}{what}",
                m.bytes.start,
                m.bytes.end - 1
            );
        }
    }
    if !r.no_data_lost.is_empty() {
        let _ = writeln!(s, "\nfiles hit where they hold no data (nothing lost):");
        for f in &r.no_data_lost {
            let name = f.paths.first().map_or("(no name found)", String::as_str);
            let _ = writeln!(
                s,
                "  {name}  ({}): {}",
                where_text(f.partition, f.inode),
                f.hit.join(", ")
            );
        }
    }
    if !r.no_file.is_empty() {
        let _ = writeln!(s, "\nno file affected:");
        area_lines(&mut s, &r.no_file);
    }
    if !r.unknown.is_empty() {
        let _ = writeln!(s, "\nnot mapped to files (files there may be damaged):");
        area_lines(&mut s, &r.unknown);
    }
    for w in &r.warnings {
        let _ = writeln!(s, "\nwarning: {w}");
    }
    s
}
