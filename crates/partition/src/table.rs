//! `PartitionTable` and `Partition`: what `salvage partitions` reports, in the documented JSON
//! form (`docs/partitions-json.md`).

use serde::Serialize;

use super::filesystem::Filesystem;
use super::scan_hit::ScanHit;

/// The kind of table found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// An MBR (msdos) table, with an EBR chain of logical partitions.
    Dos,
    /// A GUID partition table.
    Gpt,
    /// A BSD disklabel on the whole disk.
    Bsd,
    /// A Sun (SPARC/Solaris) disklabel: named, not read.
    Sun,
    /// An SGI (IRIX) volume header: named, not read.
    Sgi,
    /// An Apple partition map: named, not read.
    Mac,
    /// An AIX disk: named, not read.
    Aix,
    /// An Atari (AHDI) root sector: named, not read.
    Atari,
    /// An IBM DASD (s390) volume label: named, not read.
    Dasd,
    /// No table found.
    None,
}

impl Label {
    /// The name blkid's PTTYPE and sfdisk use ("dos", "gpt", "sun", ...; "none" when there is
    /// no table).
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Dos => "dos",
            Label::Gpt => "gpt",
            Label::Bsd => "bsd",
            Label::Sun => "sun",
            Label::Sgi => "sgi",
            Label::Mac => "mac",
            Label::Aix => "aix",
            Label::Atari => "atari",
            Label::Dasd => "dasd",
            Label::None => "none",
        }
    }

    /// True for the labels salvage reads partitions from.
    pub fn is_read(self) -> bool {
        matches!(self, Label::Dos | Label::Gpt | Label::Bsd)
    }
}

/// Which GPT header the partitions were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GptHeaderUsed {
    /// The primary header at LBA 1.
    Primary,
    /// The backup header (the primary was damaged).
    Backup,
}

/// What the MBR of a GPT disk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtectiveMbr {
    /// One 0xEE entry.
    Protective,
    /// A 0xEE entry plus MBR entries that mirror GPT partitions.
    Hybrid,
    /// No 0xEE entry (or no MBR signature): the GPT was read anyway.
    Missing,
}

/// The role of an MBR partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// One of the four entries of the MBR.
    Primary,
    /// A primary entry holding the EBR chain.
    Extended,
    /// A partition in the EBR chain (numbered 5 and up).
    Logical,
    /// A partition of a BSD disklabel inside a dos partition (numbered after the logical
    /// ones, as the kernel and partx number them).
    Nested,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// The number the kernel gives it: 1-4 primary and 5+ logical (dos), entry index + 1 (gpt).
    pub number: u32,
    /// First sector.
    pub start: u64,
    /// Size in sectors.
    pub size: u64,
    /// Byte offset of the first sector: what `losetup --offset` and `mount -o offset=` want.
    pub offset: u64,
    /// Size in bytes: what `losetup --sizelimit` wants.
    pub size_bytes: u64,
    /// The type as sfdisk prints it: hex without leading zeros ("83") for dos, the type GUID
    /// for gpt.
    #[serde(rename = "type")]
    pub type_code: String,
    /// The type's human name ("Linux", "Linux filesystem").
    pub type_name: String,
    /// dos only: primary, extended or logical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The boot flag (dos 0x80; gpt attribute bit 2, legacy BIOS bootable).
    pub bootable: bool,
    /// gpt only: the partition name.
    pub name: Option<String>,
    /// gpt only: the unique partition GUID.
    pub uuid: Option<String>,
    /// gpt only: the attribute bits as sfdisk names them ("RequiredPartition
    /// LegacyBIOSBootable GUID:60,63"); absent when none is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attrs: Option<String>,
    /// The filesystem found at `offset`, if exactly one was.
    pub filesystem: Option<Filesystem>,
    /// Two or more competing filesystem signatures at `offset` (blkid's "ambivalent result"):
    /// salvage does not choose; `--type` does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ambivalent: Vec<Filesystem>,
}

/// A partition table read from an image or device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionTable {
    /// The image or device path, as given.
    pub device: String,
    /// dos, gpt or none.
    pub label: Label,
    /// The disk identifier: "0x0007a1d5" (dos) or the disk GUID (gpt).
    pub id: Option<String>,
    /// The logical sector size the table was read with.
    pub sector_size: u32,
    /// The size of the image or device in bytes.
    pub device_size: u64,
    /// gpt: the first usable LBA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_lba: Option<u64>,
    /// gpt: the last usable LBA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_lba: Option<u64>,
    /// gpt: which header the partitions come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpt_header: Option<GptHeaderUsed>,
    /// gpt: the kind of MBR in front of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbr: Option<ProtectiveMbr>,
    /// What the reading rests on, one line a decision: where the table was found (or why the
    /// 0x55AA at byte 510 is not one), which GPT header was used, the sector size, a filesystem
    /// at byte 0, an ambivalent probe.
    pub basis: Vec<String>,
    /// A disk-image container (qcow2, VHD, VHDX, VMDK, VDI) found instead of raw bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Problems found (damaged headers, truncated image, overlaps, ...), in the order found.
    pub warnings: Vec<String>,
    /// The partitions in kernel order (dos: primaries then logicals; gpt: by entry index).
    pub partitions: Vec<Partition>,
    /// label none: a filesystem found on the whole image (a partition imaged on its own).
    pub filesystem: Option<Filesystem>,
    /// label none: competing filesystem signatures on the whole image (none is chosen).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ambivalent: Vec<Filesystem>,
    /// With `--scan`: filesystems found by their signatures, by offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<Vec<ScanHit>>,
}
