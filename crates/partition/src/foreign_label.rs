//! Partition tables salvage names but does not read (Sun, SGI, Apple, AIX, Atari, IBM DASD),
//! and disk-image containers handed to it by mistake (qcow2, QED, VHD, VHDX, VMDK, VDI), each
//! found by its magic and its checksum where it has one, with what to do instead.

use super::bytes::{be16, be32, has, le32};
use super::source::{ByteSource, read_zero_padded};
use super::table::Label;

/// A table found by its magic that salvage does not read.
pub(crate) struct ForeignLabel {
    pub(crate) label: Label,
    pub(crate) what: String,
}

/// A container format instead of raw disk bytes.
pub(crate) struct Container {
    /// "qcow2", "vhd", ...
    pub(crate) name: &'static str,
    /// What it is and what to do.
    pub(crate) advice: String,
    /// True when the raw disk is not readable through it at all (everything but a fixed VHD).
    pub(crate) opaque: bool,
}

/// The labels libblkid probes before dos (AIX, SGI, Sun), checked the same way.
pub(crate) fn before_dos(sector0: &[u8]) -> Option<ForeignLabel> {
    if has(sector0, 0, b"\xC9\xC2\xD4\xC1") {
        return Some(ForeignLabel {
            label: Label::Aix,
            what: "an AIX disk (magic 0xC9C2D4C1 at byte 0)".to_string(),
        });
    }
    if be32(sector0, 0) == 0x0BE5_A941 && checksum_be32(&sector0[..512]) == 0 {
        return Some(ForeignLabel {
            label: Label::Sgi,
            what: "an SGI volume header (magic 0x0BE5A941 at byte 0, checksum valid)".to_string(),
        });
    }
    if be16(sector0, 508) == 0xDABE && xor_be16(&sector0[..512]) == 0 {
        return Some(ForeignLabel {
            label: Label::Sun,
            what: "a Sun disklabel (magic 0xDABE at byte 508, checksum valid)".to_string(),
        });
    }
    None
}

/// The labels libblkid probes after dos and gpt (Apple, Atari), and IBM DASD volume labels.
pub(crate) fn after_dos<S: ByteSource + ?Sized>(src: &S, sector0: &[u8]) -> Option<ForeignLabel> {
    let sector1 = read_zero_padded(src, 512, 512).ok()?;
    if has(sector0, 0, b"ER") && has(&sector1, 0, b"PM") {
        return Some(ForeignLabel {
            label: Label::Mac,
            what: "an Apple partition map (\"ER\" at byte 0, \"PM\" at byte 512)".to_string(),
        });
    }
    for block in [512u64, 1024, 2048, 4096] {
        let rec = read_zero_padded(src, 2 * block, 4).ok()?;
        // "VOL1", "LNX1", "CMS1" in EBCDIC.
        if [
            b"\xE5\xD6\xD3\xF1",
            b"\xD3\xD5\xE7\xF1",
            b"\xC3\xD4\xE2\xF1",
        ]
        .contains(&&rec[..4].try_into().ok()?)
        {
            return Some(ForeignLabel {
                label: Label::Dasd,
                what: format!(
                    "an IBM DASD volume label (EBCDIC \"VOL1\"/\"LNX1\"/\"CMS1\" at byte {})",
                    2 * block
                ),
            });
        }
    }
    atari(src, sector0)
}

/// An Atari AHDI root sector: a partition entry marked in use with a known id, inside the
/// disk size the root sector records.
fn atari<S: ByteSource + ?Sized>(src: &S, sector0: &[u8]) -> Option<ForeignLabel> {
    const IDS: [&[u8]; 8] = [
        b"GEM", b"BGM", b"LNX", b"SWP", b"RAW", b"XGM", b"MIX", b"UNX",
    ];
    let disk = u64::from(be32(sector0, 0x1C2));
    let sectors = src.size_bytes() / 512;
    if disk == 0 || disk > sectors {
        return None;
    }
    let ok = (0..4).any(|i| {
        let e = &sector0[0x1C6 + 12 * i..0x1C6 + 12 * (i + 1)];
        let start = u64::from(be32(e, 4));
        let size = u64::from(be32(e, 8));
        e[0] & 1 != 0 && IDS.contains(&&e[1..4]) && start > 0 && size > 0 && start + size <= disk
    });
    ok.then(|| ForeignLabel {
        label: Label::Atari,
        what: "an Atari AHDI root sector (partition entries with GEM/BGM/LNX ids)".to_string(),
    })
}

/// A container format at the start (or, for a fixed VHD, the end) of the file.
pub(crate) fn container<S: ByteSource + ?Sized>(src: &S, sector0: &[u8]) -> Option<Container> {
    let convert = "qemu-img convert -O raw IMAGE IMAGE.raw (then read IMAGE.raw), or attach it read-only with qemu-nbd --read-only --connect=/dev/nbd0 IMAGE";
    let opaque = |name: &'static str, what: String| Container {
        name,
        advice: format!("{what}, not raw disk bytes: {convert}"),
        opaque: true,
    };
    if has(sector0, 0, b"QFI\xFB") {
        return Some(opaque(
            "qcow2",
            format!("a qcow{} image (\"QFI\\xfb\" at byte 0)", be32(sector0, 4)),
        ));
    }
    if has(sector0, 0, b"QED\0") {
        return Some(opaque("qed", "a QED image (\"QED\" at byte 0)".to_string()));
    }
    if has(sector0, 0, b"vhdxfile") {
        return Some(opaque(
            "vhdx",
            "a VHDX image (\"vhdxfile\" at byte 0)".to_string(),
        ));
    }
    if has(sector0, 0, b"conectix") {
        return Some(opaque(
            "vhd",
            "a dynamic VHD image (\"conectix\" at byte 0)".to_string(),
        ));
    }
    if has(sector0, 0, b"KDMV") || has(sector0, 0, b"# Disk DescriptorFile") {
        return Some(opaque("vmdk", "a VMDK image".to_string()));
    }
    if le32(sector0, 0x40) == 0xBEDA_107F {
        return Some(opaque(
            "vdi",
            "a VirtualBox VDI image (magic 0xbeda107f at byte 64)".to_string(),
        ));
    }
    let size = src.size_bytes();
    if size >= 1024 {
        let footer = read_zero_padded(src, size - 512, 8).ok()?;
        if footer == b"conectix" {
            return Some(Container {
                name: "vhd",
                advice: format!(
                    "a fixed VHD image: raw disk bytes followed by a 512-byte footer at byte {}; the table is read from the raw bytes (qemu-img convert -O raw gives a plain image)",
                    size - 512
                ),
                opaque: false,
            });
        }
    }
    None
}

fn checksum_be32(b: &[u8]) -> u32 {
    b.chunks_exact(4).fold(0u32, |s, w| {
        s.wrapping_add(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    })
}

fn xor_be16(b: &[u8]) -> u16 {
    b.chunks_exact(2)
        .fold(0u16, |s, w| s ^ u16::from_be_bytes([w[0], w[1]]))
}
