//! The readable table `salvage partitions` prints: like `fdisk -l`, plus byte offsets and the
//! filesystem with its label and UUID.

use std::fmt::Write;

use super::filesystem::{Filesystem, type_list};
use super::table::{GptHeaderUsed, Label, PartitionTable};

/// Renders `t` as text for a person.
pub fn render_text(t: &PartitionTable) -> String {
    let mut s = String::new();
    let sectors = t.device_size / u64::from(t.sector_size);
    let _ = writeln!(
        s,
        "Disk {}: {}, {} bytes, {} sectors of {} bytes",
        t.device,
        human(t.device_size),
        t.device_size,
        sectors,
        t.sector_size
    );
    let _ = write!(s, "Label: {}", t.label.as_str());
    if let Some(id) = &t.id {
        let _ = write!(s, ", identifier: {id}");
    }
    if let Some(h) = t.gpt_header {
        let which = match h {
            GptHeaderUsed::Primary => "primary",
            GptHeaderUsed::Backup => "backup (the primary is damaged)",
        };
        let _ = write!(s, ", GPT header: {which}");
    }
    s.push('\n');
    for b in &t.basis {
        let _ = writeln!(s, "basis: {b}");
    }
    for w in &t.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if t.filesystem.is_some() || !t.ambivalent.is_empty() {
        let _ = writeln!(
            s,
            "Whole image: {}",
            fs_or_ambivalent(t.filesystem.as_ref(), &t.ambivalent)
        );
    }
    if !t.partitions.is_empty() {
        let rows: Vec<[String; 9]> = t
            .partitions
            .iter()
            .map(|p| {
                let end = (p.start + p.size).saturating_sub(1);
                let kind = match &p.name {
                    Some(n) => format!("{} \"{}\"", p.type_name, n),
                    None if t.label == Label::Dos => format!("{} {}", p.type_code, p.type_name),
                    None => p.type_name.clone(),
                };
                [
                    p.number.to_string(),
                    if p.bootable { "*" } else { "" }.to_string(),
                    p.start.to_string(),
                    end.to_string(),
                    p.size.to_string(),
                    human(p.size_bytes),
                    p.offset.to_string(),
                    kind,
                    fs_or_ambivalent(p.filesystem.as_ref(), &p.ambivalent),
                ]
            })
            .collect();
        let head = [
            "#",
            "Boot",
            "Start",
            "End",
            "Sectors",
            "Size",
            "Offset",
            "Type",
            "Filesystem",
        ]
        .map(str::to_string);
        table(&mut s, &head, &rows);
    }
    if let Some(hits) = &t.scan {
        let _ = writeln!(s, "\nScan: {} filesystem signature(s) found", hits.len());
        let rows: Vec<[String; 6]> = hits
            .iter()
            .map(|h| {
                [
                    h.offset.to_string(),
                    h.sector.to_string(),
                    h.size_bytes.map(human).unwrap_or_default(),
                    h.partition.map(|n| n.to_string()).unwrap_or_default(),
                    fs_or_ambivalent(h.filesystem.as_ref(), &h.ambivalent),
                    h.found_by.clone(),
                ]
            })
            .collect();
        let head = [
            "Offset",
            "Sector",
            "Size",
            "Partition",
            "Filesystem",
            "Found by",
        ]
        .map(str::to_string);
        table(&mut s, &head, &rows);
    }
    s
}

fn table<const N: usize>(s: &mut String, head: &[String; N], rows: &[[String; N]]) {
    let mut width = head.each_ref().map(|h| h.chars().count());
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in std::iter::once(head).chain(rows) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(width).enumerate() {
            let numeric = c.chars().next().is_some_and(|ch| ch.is_ascii_digit()) && i < 7;
            if numeric {
                let _ = write!(line, "{c:>w$}  ");
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
}

/// The filesystem, or "ambivalent: ntfs and ext2 (choose with --type)".
fn fs_or_ambivalent(fs: Option<&Filesystem>, ambivalent: &[Filesystem]) -> String {
    if ambivalent.is_empty() {
        fs_text(fs)
    } else {
        format!(
            "ambivalent: {} signatures (choose with --type)",
            type_list(ambivalent)
        )
    }
}

fn fs_text(fs: Option<&Filesystem>) -> String {
    let Some(fs) = fs else {
        return "-".to_string();
    };
    let mut out = fs.fs_type.clone();
    if let Some(l) = &fs.label {
        let _ = write!(out, " LABEL=\"{l}\"");
    }
    if let Some(l) = &fs.label_fatboot {
        let _ = write!(out, " LABEL_FATBOOT=\"{l}\"");
    }
    if let Some(u) = &fs.uuid {
        let _ = write!(out, " UUID={u}");
    }
    out
}

/// Bytes as a binary size: "512M", "1.5G".
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 || v.fract() == 0.0 {
        format!("{:.0}{}", v, UNITS[unit])
    } else {
        format!("{:.1}{}", v, UNITS[unit])
    }
}
