//! The BSD disklabel: on a whole disk (sector 1, or byte 64 or 128 of sector 0 on some
//! architectures), or nested in a dos partition of type a5 (FreeBSD), a6 (OpenBSD) or a9
//! (NetBSD) as the kernel and libblkid read it. Its partition offsets are absolute, in 512-byte
//! sectors; unused entries (fstype 0), the entry that repeats the parent partition and entries
//! that do not fit inside it are skipped, as libblkid does.

use super::bytes::{has, le16, le32};
use super::source::{ByteSource, read_zero_padded};
use super::table::{Partition, Role};

/// "WEV\x82": the magic 0x82564557 stored little-endian.
const MAGIC: &[u8] = b"\x57\x45\x56\x82";
/// Where the label may be, in bytes from the start of the disk or slice.
const LABEL_AT: [u64; 3] = [512, 64, 128];
/// The dos partition types that hold a BSD disklabel.
pub(crate) const NESTED_TYPES: [u8; 3] = [0xa5, 0xa6, 0xa9];
const MAX_PARTITIONS: usize = 16;
const PARTITIONS_AT: usize = 148;

/// A BSD disklabel found at `at` bytes.
pub(crate) struct DiskLabel {
    pub(crate) at: u64,
    bytes: Vec<u8>,
}

/// Looks for a disklabel in the first sectors from byte `base`.
pub(crate) fn find<S: ByteSource + ?Sized>(src: &S, base: u64) -> Option<DiskLabel> {
    LABEL_AT.iter().find_map(|&off| {
        let at = base.checked_add(off)?;
        let bytes = read_zero_padded(src, at, PARTITIONS_AT + 16 * MAX_PARTITIONS).ok()?;
        has(&bytes, 0, MAGIC).then_some(DiskLabel { at, bytes })
    })
}

/// BSD fstype names (sys/disklabel.h).
fn fstype_name(t: u8) -> &'static str {
    match t {
        1 => "swap",
        2 => "Version 6",
        3 => "Version 7",
        4 => "System V",
        5 => "4.1BSD",
        6 => "Eighth Edition",
        7 => "4.2BSD",
        8 => "MS-DOS",
        9 => "4.4LFS",
        11 => "HPFS",
        12 => "ISO-9660",
        13 => "boot",
        14 => "ADOS",
        15 => "HFS",
        16 => "AdvFS",
        _ => "unknown",
    }
}

impl DiskLabel {
    /// The partitions, numbered from `first_number`; `parent` is the dos partition holding a
    /// nested label (start and size in 512-byte sectors). `ss` is the table's sector size.
    pub(crate) fn partitions(
        &self,
        parent: Option<(u64, u64)>,
        first_number: u32,
        ss: u64,
        warnings: &mut Vec<String>,
    ) -> Vec<Partition> {
        let declared = usize::from(le16(&self.bytes, 138));
        let count = declared.min(MAX_PARTITIONS);
        if declared > MAX_PARTITIONS {
            warnings.push(format!(
                "the BSD disklabel at byte {} declares {declared} partitions; the first {MAX_PARTITIONS} are read",
                self.at
            ));
        }
        let mut out = Vec::new();
        let mut number = first_number;
        for i in 0..count {
            let e = &self.bytes[PARTITIONS_AT + 16 * i..PARTITIONS_AT + 16 * (i + 1)];
            let fstype = e[12];
            if fstype == 0 {
                continue;
            }
            let size = u64::from(le32(e, 0));
            let start = u64::from(le32(e, 4));
            let letter = char::from(b'a' + i as u8);
            if let Some((p_start, p_size)) = parent {
                if start == p_start && size == p_size {
                    continue;
                }
                if start < p_start || start + size > p_start + p_size {
                    warnings.push(format!(
                        "BSD partition {letter} (sectors {start}+{size}) does not fit in its dos partition (sectors {p_start}+{p_size}): ignored, as libblkid does"
                    ));
                    continue;
                }
            }
            let offset = start * 512;
            out.push(Partition {
                number,
                start: offset / ss,
                size: size * 512 / ss,
                offset,
                size_bytes: size * 512,
                type_code: format!("{fstype:x}"),
                type_name: format!("BSD {} (partition {letter})", fstype_name(fstype)),
                role: parent.map(|_| Role::Nested),
                bootable: false,
                name: None,
                uuid: None,
                attrs: None,
                filesystem: None,
                ambivalent: Vec::new(),
            });
            number += 1;
        }
        out
    }
}
