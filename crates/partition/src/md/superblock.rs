//! An md RAID member's superblock read whole (v0.90 and v1.0/1.1/1.2, as the kernel's
//! `md_p.h` lays them out): the array it belongs to, where this member's data lies, this
//! member's role, and the roles of every member as this one last recorded them.

use super::super::bytes::{array, le16, le32, le32_u64, le64};
use super::super::source::ByteSource;
use serde::Serialize;

/// The md magic, first word of every superblock.
pub(crate) const MD_MAGIC: u32 = 0xa92b_4efc;

/// v1 `dev_roles` values that are not a slot.
const ROLE_SPARE: u16 = 0xffff;
const ROLE_FAULTY: u16 = 0xfffe;
const ROLE_JOURNAL: u16 = 0xfffd;

/// v1 feature bits (`MD_FEATURE_*`).
const FEATURE_BITMAP: u32 = 1;
const FEATURE_RECOVERY_OFFSET: u32 = 2;
const FEATURE_RESHAPE_ACTIVE: u32 = 4;
const FEATURE_BAD_BLOCKS: u32 = 8;
const FEATURE_REPLACEMENT: u32 = 16;

/// Most roles a v1 superblock's 4 KiB holds.
const MAX_V1_DEVICES: usize = (4096 - 256) / 2;
/// Most disks a v0.90 superblock describes (`MD_SB_DISKS`).
const MAX_V090_DEVICES: u32 = 27;

/// v0.90 disk descriptor state bits (`MD_DISK_*`).
const DISK_FAULTY: u32 = 0;
const DISK_ACTIVE: u32 = 1;
const DISK_SYNC: u32 = 2;
const DISK_REMOVED: u32 = 3;

/// What one member is, in one superblock's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role", content = "slot")]
pub enum MemberRole {
    /// Holds slot N of the array (in sync, or being rebuilt: see `recovery_offset`).
    Active(u32),
    /// A spare: holds no slot.
    Spare,
    /// Marked faulty: the array stopped using it.
    Faulty,
    /// A write journal (RAID4/5/6), not data.
    Journal,
    /// Not in the array any more (v0.90 "removed"), or a role this reader does not know.
    Removed,
}

/// One md superblock, as read from a member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MdSuperblock {
    /// "0.90", "1.0", "1.1" or "1.2".
    pub version: String,
    /// Byte offset of the superblock in the member.
    pub superblock_at: u64,
    /// The array's UUID as mdadm prints it (`xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx`).
    pub array_uuid: String,
    /// This member's own UUID (v1 only), as mdadm prints it.
    pub device_uuid: Option<String>,
    /// The array's name (v1: `host:name`); `None` for v0.90.
    pub name: Option<String>,
    /// The level number: -1 linear, 0, 1, 4, 5, 6, 10, -4 multipath.
    pub level: i32,
    /// Slots in the array.
    pub raid_disks: u32,
    /// The chunk size in bytes (0 for RAID1).
    pub chunk_bytes: u64,
    /// The layout number (RAID5/6/10).
    pub layout: u32,
    /// Where this member's share of the array starts, in bytes from the member's start.
    pub data_offset: u64,
    /// How many bytes of this member the array uses from `data_offset` on.
    pub data_bytes: u64,
    /// The superblock's update count: the member with the most events is the freshest.
    pub events: u64,
    /// When the superblock was last written (seconds since 1970).
    pub update_time: u64,
    /// When the array was made (seconds since 1970).
    pub creation_time: u64,
    /// The array was stopped cleanly (no resync pending) when this superblock was written.
    pub clean: bool,
    /// This member's number in the roles table.
    pub dev_number: u32,
    /// This member's role.
    pub role: MemberRole,
    /// Bytes of the data area that were rebuilt, when the member was being rebuilt (its data
    /// after that is not the array's).
    pub recovery_offset: Option<u64>,
    /// A reshape was under way (the data is laid out two ways).
    pub reshaping: bool,
    /// This member replaces another in its slot.
    pub replacement: bool,
    /// A write-intent bitmap is kept.
    pub bitmap: bool,
    /// The member's bad-block log (v1), when it has one: the sectors md knows it cannot read
    /// on this member (and reads from another mirror instead).
    pub bad_block_log: Option<BadBlockLog>,
    /// The role of every member number this superblock records (`[dev_number] = role`).
    pub roles: Vec<MemberRole>,
    /// The v1 checksum matched (v0.90: its sum matched).
    pub checksum_ok: bool,
}

/// A v1 member's bad-block log: where it is and what it lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadBlockLog {
    /// Byte offset of the log in the member.
    pub at: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Entries count blocks of 2^shift sectors.
    pub shift: u32,
    /// Bad areas listed (0 when the log could not be read).
    pub areas: u64,
    /// Sectors they cover, counted from the data offset.
    pub sectors: u64,
}

impl MdSuperblock {
    /// Reads the bad-block log this superblock points to (member at `offset` of `src`), as
    /// the kernel's `super_1_load` does: each entry a little-endian u64, `(sector << 10) |
    /// count` in units of 2^shift sectors, all ones ending the list.
    fn read_bad_blocks(&mut self, src: &dyn ByteSource, offset: u64) {
        let Some(log) = self.bad_block_log.as_mut() else {
            return;
        };
        let len = usize::try_from(log.bytes.min(64 * 1024)).unwrap_or(0);
        let Some(bytes) = offset
            .checked_add(log.at)
            .and_then(|at| read_at(src, at, len))
        else {
            return;
        };
        for entry in bytes.chunks_exact(8) {
            let v = u64::from_le_bytes(entry.try_into().unwrap_or([0xff; 8]));
            if v == u64::MAX {
                break;
            }
            let count = v & 0x3ff;
            if count == 0 {
                continue;
            }
            log.areas += 1;
            log.sectors = log.sectors.saturating_add(count << log.shift.min(32));
        }
    }

    /// The level as mdadm names it: `raid1`, `linear`, ...
    pub fn level_name(&self) -> String {
        level_name(self.level)
    }

    /// Whether this member, on its own, holds the whole array's data (RAID1, or a one-slot
    /// linear or RAID0 array).
    pub fn holds_whole_array(&self) -> bool {
        self.level == 1 || (matches!(self.level, -1 | 0) && self.raid_disks == 1)
    }
}

/// The level as mdadm names it.
pub fn level_name(level: i32) -> String {
    match level {
        -4 => "multipath".into(),
        -1 => "linear".into(),
        -5 => "faulty".into(),
        n if n >= 0 => format!("raid{n}"),
        n => format!("level {n}"),
    }
}

/// Finds the md superblock of the `size` bytes at `offset` of `src`: v0.90 and v1.0 near the
/// end, v1.1 at 0, v1.2 at 4 KiB, as mdadm and libblkid look for them. Where several are
/// found (an old superblock left under a new one), the newest array's wins and the others are
/// returned apart, so a caller can say so.
pub fn read_superblock(
    src: &dyn ByteSource,
    offset: u64,
    size: u64,
) -> (Option<MdSuperblock>, Vec<MdSuperblock>) {
    let size = size.min(src.size_bytes().saturating_sub(offset));
    let mut found = Vec::new();
    if size < 8192 {
        return (None, found);
    }
    let read_4k = |at: u64| read_at(src, offset.checked_add(at)?, 4096);
    if size >= 0x20000 {
        let at = (size & !0xFFFF) - 0x10000;
        if let Some(sb) = read_4k(at).and_then(|b| v090(&b, at)) {
            found.push(sb);
        }
    }
    let sectors = size >> 9;
    let mut v1_places = vec![(0u64, "1.1"), (4096, "1.2")];
    if sectors >= 16 {
        v1_places.insert(0, (((sectors - 16) & !7) << 9, "1.0"));
    }
    for (at, version) in v1_places {
        if let Some(sb) = read_4k(at).and_then(|b| v1(&b, at, version)) {
            found.push(sb);
        }
    }
    for sb in &mut found {
        sb.read_bad_blocks(src, offset);
    }
    // The newest array first (latest creation time, as mdadm's guess_super picks: an old
    // array's superblock left under a new one may have many more events), then the most
    // events; on a tie, the order above (mdadm's probe order).
    found.sort_by_key(|sb| std::cmp::Reverse((sb.creation_time, sb.events)));
    let mut found = found.into_iter();
    let best = found.next();
    (best, found.collect())
}

fn read_at(src: &dyn ByteSource, at: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let n = src.read_at(&mut buf, at).ok()?;
    (n == len).then_some(buf)
}

/// The v1 checksum over `256 + 2 * max_dev` bytes, the checksum field counted as zero.
pub(crate) fn v1_checksum(sb: &[u8]) -> Option<u32> {
    let len = 256 + le32(sb, 220) as usize * 2;
    if len > sb.len() {
        return None;
    }
    let mut sum: u64 = 0;
    for (i, w) in sb[..len].chunks(4).enumerate() {
        let mut word = [0u8; 4];
        word[..w.len()].copy_from_slice(w);
        if i * 4 != 216 {
            sum += u64::from(u32::from_le_bytes(word));
        }
    }
    Some(((sum & 0xFFFF_FFFF) + (sum >> 32)) as u32)
}

/// A v1 superblock at byte `at` of its member, when magic, major version, `super_offset` and
/// checksum agree (as libblkid and mdadm require).
pub(crate) fn v1(sb: &[u8], at: u64, version: &str) -> Option<MdSuperblock> {
    if le32(sb, 0) != MD_MAGIC || le32(sb, 4) != 1 || le64(sb, 144) != at >> 9 {
        return None;
    }
    if v1_checksum(sb)? != le32(sb, 216) {
        return None;
    }
    let features = le32(sb, 8);
    let max_dev = le32(sb, 220) as usize;
    let raid_disks = le32(sb, 92);
    // The roles table fills the rest of a 4 KiB superblock at most (1920 entries), and no
    // array has more slots than roles: anything larger is not a superblock md would load.
    if raid_disks as usize > MAX_V1_DEVICES {
        return None;
    }
    let roles: Vec<MemberRole> = (0..max_dev)
        .map(|i| v1_role(le16(sb, 256 + 2 * i)))
        .collect();
    let dev_number = le32(sb, 160);
    let role = roles
        .get(dev_number as usize)
        .copied()
        .unwrap_or(MemberRole::Removed);
    let time = |at: usize| le64(sb, at) & 0xFF_FFFF_FFFF; // the high bits hold microseconds
    Some(MdSuperblock {
        version: version.to_string(),
        superblock_at: at,
        array_uuid: mdadm_uuid(&array::<16>(sb, 16)?),
        device_uuid: array::<16>(sb, 168).map(|u| mdadm_uuid(&u)),
        name: super::super::bytes::label8(&sb[32..64]),
        level: le32(sb, 72) as i32,
        layout: le32(sb, 76),
        // A linear or RAID0 member uses its whole data area (`data_size`); the others the
        // array's per-member size (`size`), as mdadm's getinfo_super1 reads them.
        data_bytes: if (le32(sb, 72) as i32) <= 0 {
            le64(sb, 136)
        } else {
            le64(sb, 80)
        }
        .saturating_mul(512),
        chunk_bytes: le32_u64(sb, 88) * 512,
        raid_disks,
        data_offset: le64(sb, 128).saturating_mul(512),
        events: le64(sb, 200),
        update_time: time(192),
        creation_time: time(64),
        clean: le64(sb, 208) == u64::MAX,
        dev_number,
        role,
        recovery_offset: (features & FEATURE_RECOVERY_OFFSET != 0)
            .then(|| le64(sb, 152).saturating_mul(512)),
        reshaping: features & FEATURE_RESHAPE_ACTIVE != 0,
        replacement: features & FEATURE_REPLACEMENT != 0,
        bitmap: features & FEATURE_BITMAP != 0,
        bad_block_log: (features & FEATURE_BAD_BLOCKS != 0 && le16(sb, 186) != 0).then(|| {
            BadBlockLog {
                at: at.saturating_add_signed(i64::from(le32(sb, 188) as i32) * 512),
                bytes: u64::from(le16(sb, 186)) * 512,
                shift: u32::from(sb[185]),
                areas: 0,
                sectors: 0,
            }
        }),
        roles,
        checksum_ok: true,
    })
}

fn v1_role(raw: u16) -> MemberRole {
    match raw {
        ROLE_SPARE => MemberRole::Spare,
        ROLE_FAULTY => MemberRole::Faulty,
        ROLE_JOURNAL => MemberRole::Journal,
        n if n < 0xff00 => MemberRole::Active(u32::from(n)),
        _ => MemberRole::Removed,
    }
}

/// A v0.90 superblock (host-endian: read as little-endian, as on the x86 machines that wrote
/// nearly all of them) at byte `at` of its member.
pub(crate) fn v090(sb: &[u8], at: u64) -> Option<MdSuperblock> {
    let word = |i: usize| le32(sb, i * 4);
    // Minor 91: a reshape was under way (mdadm and the kernel accept 90 and 91).
    if word(0) != MD_MAGIC || word(1) != 0 || !(90..=91).contains(&word(2)) {
        return None;
    }
    let raid_disks = word(10);
    if raid_disks > MAX_V090_DEVICES {
        return None;
    }
    // 27 disk descriptors of 32 words from word 128; this member's own at word 992.
    let descriptor = |base: usize| (word(base), word(base + 3), word(base + 4));
    let role_of = |(_, raid_disk, state): (u32, u32, u32)| -> MemberRole {
        let bit = |b: u32| state & (1 << b) != 0;
        if bit(DISK_FAULTY) {
            MemberRole::Faulty
        } else if bit(DISK_REMOVED) {
            MemberRole::Removed
        } else if bit(DISK_ACTIVE) && bit(DISK_SYNC) && raid_disk < raid_disks {
            MemberRole::Active(raid_disk)
        } else if raid_disk < raid_disks && bit(DISK_ACTIVE) {
            // Active but not in sync: being rebuilt into its slot.
            MemberRole::Active(raid_disk)
        } else {
            MemberRole::Spare
        }
    };
    // Descriptor i describes disk number i; one whose number is not i is an unused slot of
    // the table (a removed disk's hole), not disk 0.
    let roles: Vec<MemberRole> = (0..MAX_V090_DEVICES as usize)
        .map(|i| {
            let d = descriptor(128 + 32 * i);
            if d.0 as usize == i && (d != (0, 0, 0) || i == 0) {
                role_of(d)
            } else {
                MemberRole::Removed
            }
        })
        .collect();
    let me = descriptor(992);
    let role = role_of(me);
    let in_sync = me.2 & (1 << DISK_SYNC) != 0;
    let uuid_words = [word(5), word(13), word(14), word(15)];
    let sum = sb[..4096]
        .chunks(4)
        .enumerate()
        .filter(|(i, _)| *i != 38)
        .map(|(_, w)| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .sum::<u64>();
    let folded = ((sum & 0xFFFF_FFFF) + (sum >> 32)) as u32;
    // The kernel compares both sums folded to 16 bits (md_csum_fold).
    let fold16 = |c: u32| (c & 0xffff) + (c >> 16);
    Some(MdSuperblock {
        version: "0.90".into(),
        superblock_at: at,
        array_uuid: uuid_words
            .iter()
            .map(|w| format!("{w:08x}"))
            .collect::<Vec<_>>()
            .join(":"),
        device_uuid: None,
        name: None,
        level: word(7) as i32,
        layout: word(64),
        data_bytes: u64::from(word(8)) * 1024,
        chunk_bytes: u64::from(word(65)),
        raid_disks,
        data_offset: 0,
        events: (u64::from(word(40)) << 32) | u64::from(word(39)),
        update_time: u64::from(word(32)),
        creation_time: u64::from(word(6)),
        clean: word(33) & 1 != 0,
        dev_number: me.0,
        role,
        recovery_offset: (matches!(role, MemberRole::Active(_)) && !in_sync).then_some(0),
        reshaping: word(2) == 91,
        replacement: false,
        bitmap: false,
        bad_block_log: None,
        roles,
        checksum_ok: fold16(folded) == fold16(word(38)),
    })
}

/// 16 UUID bytes as mdadm prints them: four groups of eight hex digits, in byte order.
fn mdadm_uuid(b: &[u8; 16]) -> String {
    b.chunks(4)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(":")
}
