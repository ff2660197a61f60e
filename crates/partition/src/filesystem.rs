//! `Filesystem`: what a signature probe found at an offset (type, label and UUID as blkid
//! reports them, and what the reading rests on); `Probe`, which also says when two signatures
//! compete; `probe_filesystem` and `probe_signatures`, which try every known signature there.

use serde::Serialize;

/// A filesystem (or container: LUKS, LVM2 PV, md RAID member, swap) found by its superblock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filesystem {
    /// blkid's TYPE: ext2, ext3, ext4, xfs, btrfs, vfat, exfat, ntfs, swap, swsuspend,
    /// LVM2_member, crypto_LUKS, linux_raid_member; recognised but not read: hpfs, befs, ufs,
    /// BitLocker.
    #[serde(rename = "type")]
    pub fs_type: String,
    /// blkid's LABEL. Bytes that are not UTF-8 are written `\xHH`.
    pub label: Option<String>,
    /// vfat only: blkid's LABEL_FATBOOT, the boot sector's copy of the label (LABEL is the root
    /// directory's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_fatboot: Option<String>,
    /// blkid's UUID.
    pub uuid: Option<String>,
    /// blkid's VERSION where it has one (FAT32, 1.0, LVM2 001, ...).
    pub version: Option<String>,
    /// The size the superblock records, in bytes, where it records one.
    pub size_bytes: Option<u64>,
    /// What the reading rests on: which signature was found where, and what salvage does not
    /// read of it.
    pub basis: String,
}

impl Filesystem {
    pub(crate) fn new(fs_type: &str) -> Filesystem {
        Filesystem {
            fs_type: fs_type.to_string(),
            label: None,
            label_fatboot: None,
            uuid: None,
            version: None,
            size_bytes: None,
            basis: String::new(),
        }
    }
}

/// What the signatures at an offset say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No known signature.
    Nothing,
    /// One filesystem (or a RAID/crypto container, which wins as in blkid).
    Found(Filesystem),
    /// Two or more filesystem signatures compete (say, an ext2 superblock planted inside an
    /// NTFS volume): blkid refuses to choose, and so does salvage; the person picks with
    /// `--type`.
    Ambivalent(Vec<Filesystem>),
}

impl Probe {
    /// The filesystem, when exactly one was found.
    pub fn found(self) -> Option<Filesystem> {
        match self {
            Probe::Found(fs) => Some(fs),
            _ => None,
        }
    }

    /// The competing types, when ambivalent ("ntfs and ext2").
    pub fn ambivalent_types(&self) -> Option<String> {
        match self {
            Probe::Ambivalent(all) => Some(type_list(all)),
            _ => None,
        }
    }
}

/// "ntfs and ext2", "ntfs, ext2 and ufs".
pub(crate) fn type_list(all: &[Filesystem]) -> String {
    let names: Vec<&str> = all.iter().map(|f| f.fs_type.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}
