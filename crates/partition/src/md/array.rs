//! What a set of md members says about their arrays: members grouped by array UUID, the
//! freshest superblock (most events) taken as the array's own record, each member's status
//! against it (in sync, being rebuilt, stale, failed, spare), each slot's, the array's state,
//! and for a RAID1 which members hold the whole array's data and where.
//!
//! Nothing here picks silently: a member whose superblock is older than the array's is never
//! offered as the data, two readable mirrors of an array that was not stopped cleanly are both
//! named (they may differ in the last blocks written), and a member that disagrees with the
//! array's record about the array is listed with what it says.

use super::member::MdMember;
use super::superblock::{MdSuperblock, MemberRole};
use serde::Serialize;

/// One member as the array's record sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Fresh and in sync in its slot.
    InSync,
    /// Being rebuilt into its slot: only the first `rebuilt_bytes` of its data are the array's.
    Rebuilding { rebuilt_bytes: u64 },
    /// A spare: holds no data of the array.
    Spare,
    /// The array marked it faulty and went on without it.
    Failed,
    /// Its superblock is older than the array's (fewer events): the array went on without it
    /// (removed, or kicked out) and its data is older than the array's.
    Stale { events_behind: u64 },
    /// A write journal.
    Journal,
    /// Not part of the array any more.
    Removed,
}

impl MemberStatus {
    /// A short word for tables: `in sync`, `rebuilding 40%`, ...
    pub fn describe(&self, data_bytes: u64) -> String {
        match self {
            MemberStatus::InSync => "in sync".into(),
            MemberStatus::Rebuilding { rebuilt_bytes } => {
                let pct = if data_bytes == 0 {
                    0.0
                } else {
                    *rebuilt_bytes as f64 * 100.0 / data_bytes as f64
                };
                format!("rebuilding ({pct:.1}% done)")
            }
            MemberStatus::Spare => "spare".into(),
            MemberStatus::Failed => "failed (marked faulty by the array)".into(),
            MemberStatus::Stale { events_behind } => {
                format!("stale ({events_behind} events behind the array: its data is older)")
            }
            MemberStatus::Journal => "journal".into(),
            MemberStatus::Removed => "removed".into(),
        }
    }
}

/// One given member and its status.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    /// The image or device it was read from.
    pub source: String,
    /// Where the member starts in `source` (a partition's offset, or 0).
    pub offset: u64,
    /// The member's partition number in `source`, when it is a partition.
    pub partition: Option<u32>,
    pub version: String,
    pub dev_number: u32,
    /// Its slot, when its own superblock gives it one.
    pub slot: Option<u32>,
    pub events: u64,
    pub status: MemberStatus,
    /// The member's data area in `source`: `[offset, length]` in bytes.
    pub data: [u64; 2],
    /// Sectors this member's bad-block log lists (md reads them from another mirror).
    pub bad_sectors: u64,
    /// Why this member's data cannot be offered even when it is in sync: its data area runs
    /// past its end (a truncated image), or its superblock's checksum is wrong.
    pub problem: Option<String>,
}

/// One slot of the array.
#[derive(Clone, Debug, Serialize)]
pub struct SlotView {
    pub slot: u32,
    /// `active`, `rebuilding`, `not given` (the array has a member there, not among those
    /// read), or `empty` (the array runs without it: a failed or removed member).
    pub state: String,
    /// The given member holding it (its source), when one does.
    pub member: Option<String>,
}

/// An array's state, from its freshest record and the members given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrayState {
    /// Every slot held by a given, fresh, in-sync member.
    Clean,
    /// As clean, but the array was not stopped cleanly (mdadm's "active"): a resync was due.
    Active,
    /// Slots are empty in the array's own record, or held by members that are being rebuilt,
    /// yet enough are in sync for the array to run.
    Degraded,
    /// Every slot the record fills is accounted for except members not given here: their
    /// state is not known.
    Incomplete,
    /// Too few slots in sync for the array to run (md would not start it).
    Failed,
    /// A reshape was under way: the data is laid out two ways; salvage does not read it.
    Reshaping,
}

impl ArrayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ArrayState::Clean => "clean",
            ArrayState::Active => "active",
            ArrayState::Degraded => "degraded",
            ArrayState::Incomplete => "incomplete",
            ArrayState::Failed => "failed",
            ArrayState::Reshaping => "reshaping",
        }
    }
}

/// Where the array's whole data can be read without md: one member's data area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrayData {
    pub source: String,
    /// Byte offset of the data in `source`.
    pub offset: u64,
    /// The array's size in bytes.
    pub size: u64,
}

/// One array as the given members describe it.
#[derive(Clone, Debug, Serialize)]
pub struct ArrayView {
    pub uuid: String,
    pub name: Option<String>,
    pub level: String,
    pub version: String,
    pub raid_disks: u32,
    /// The array's size in bytes, when one member holds it whole (RAID1); else each member's
    /// used size.
    pub size: u64,
    /// The array's update count (the freshest member's).
    pub events: u64,
    pub state: ArrayState,
    /// The array's record has empty slots, or members that failed or are rebuilding.
    pub degraded: bool,
    /// The array was not stopped cleanly (a resync was pending): mirrors may differ in the
    /// blocks written last.
    pub unclean: bool,
    pub members: Vec<MemberView>,
    pub slots: Vec<SlotView>,
    /// Each given member that holds the whole array's data and is fresh and in sync, best
    /// first (RAID1; empty for levels whose data is spread over members).
    pub readable: Vec<ArrayData>,
    /// What the reader noticed and the person should know, in sentences.
    pub notes: Vec<String>,
}

impl ArrayView {
    /// The data to read: the first readable member's, when there is one.
    pub fn data(&self) -> Option<&ArrayData> {
        self.readable.first()
    }

    /// The data area of the given member read from `source`, whatever its status (a person
    /// choosing a stale or rebuilding member knowingly); `None` when no such member is given or
    /// the level spreads data over members.
    pub fn data_of(&self, source: &str) -> Option<ArrayData> {
        let level_whole = !self.readable.is_empty()
            || self.level == "raid1"
            || (matches!(self.level.as_str(), "linear" | "raid0") && self.raid_disks == 1);
        if !level_whole || self.state == ArrayState::Reshaping {
            return None;
        }
        self.members
            .iter()
            .find(|m| m.source == source && m.slot.is_some())
            .map(|m| ArrayData {
                source: m.source.clone(),
                offset: m.data[0],
                size: self.size,
            })
    }

    /// Counts of slots: (in sync, empty or failed, not given).
    pub fn slot_counts(&self) -> (usize, usize, usize) {
        let count = |s: &str| self.slots.iter().filter(|v| v.state == s).count();
        (count("active"), count("empty"), count("not given"))
    }
}

/// Groups members by array and assesses each array, in the order the arrays' first members
/// were given.
pub fn assess(members: &[MdMember]) -> Vec<ArrayView> {
    let mut uuids: Vec<&str> = Vec::new();
    for m in members {
        if !uuids.contains(&m.superblock.array_uuid.as_str()) {
            uuids.push(&m.superblock.array_uuid);
        }
    }
    uuids
        .into_iter()
        .map(|uuid| {
            let group: Vec<&MdMember> = members
                .iter()
                .filter(|m| m.superblock.array_uuid == uuid)
                .collect();
            assess_array(&group)
        })
        .collect()
}

fn assess_array(group: &[&MdMember]) -> ArrayView {
    // The record: the first member with the most events.
    let record: &MdSuperblock = group
        .iter()
        .map(|m| &m.superblock)
        .fold(None::<&MdSuperblock>, |best, sb| match best {
            Some(b) if b.events >= sb.events => Some(b),
            _ => Some(sb),
        })
        .expect("a group has a member");
    let mut notes = Vec::new();
    let members: Vec<MemberView> = group.iter().map(|m| member_view(m, record)).collect();
    for m in group {
        disagreement(m, record, &mut notes);
    }
    let slots = slot_views(record, &members);
    let not_given = slots.iter().any(|s| s.state == "not given");
    let empty = slots.iter().any(|s| s.state == "empty");
    let degraded = empty
        || members
            .iter()
            .any(|m| matches!(m.status, MemberStatus::Rebuilding { .. }));
    // Could md run it with the members given (and, generously, the ones not given)?
    let up: Vec<bool> = slots
        .iter()
        .map(|s| matches!(s.state.as_str(), "active" | "not given"))
        .collect();
    let unclean = !record.clean;
    let state = if record.reshaping {
        ArrayState::Reshaping
    } else if !enough(record, &up) {
        ArrayState::Failed
    } else if not_given {
        ArrayState::Incomplete
    } else if degraded {
        ArrayState::Degraded
    } else if unclean {
        ArrayState::Active
    } else {
        ArrayState::Clean
    };
    let readable = readable_members(group, &members, record);
    explain(record, &members, &readable, state, unclean, &mut notes);
    ArrayView {
        uuid: record.array_uuid.clone(),
        name: record.name.clone(),
        level: record.level_name(),
        version: record.version.clone(),
        raid_disks: record.raid_disks,
        size: array_size(record),
        events: record.events,
        state,
        degraded,
        unclean,
        members,
        slots,
        readable,
        notes,
    }
}

fn member_view(m: &MdMember, record: &MdSuperblock) -> MemberView {
    let sb = &m.superblock;
    // One event behind is current: md and mdadm allow that margin (the last superblock
    // write of a clean stop may reach one member and not the other).
    let status = if sb.events.saturating_add(1) < record.events {
        match record.roles.get(sb.dev_number as usize) {
            Some(MemberRole::Faulty) => MemberStatus::Failed,
            _ => MemberStatus::Stale {
                events_behind: record.events - sb.events,
            },
        }
    } else {
        match (sb.role, record.roles.get(sb.dev_number as usize)) {
            // The record says faulty, whatever this member last wrote of itself.
            (_, Some(MemberRole::Faulty)) => MemberStatus::Failed,
            // md never counts a member with a recovery offset in sync, nor a replacement.
            (MemberRole::Active(_), _) if sb.recovery_offset.is_some() || sb.replacement => {
                MemberStatus::Rebuilding {
                    rebuilt_bytes: sb.recovery_offset.unwrap_or(0),
                }
            }
            (MemberRole::Active(_), _) => MemberStatus::InSync,
            (MemberRole::Spare, _) => MemberStatus::Spare,
            (MemberRole::Faulty, _) => MemberStatus::Failed,
            (MemberRole::Journal, _) => MemberStatus::Journal,
            (MemberRole::Removed, _) => MemberStatus::Removed,
        }
    };
    let data_end = sb.data_offset.checked_add(sb.data_bytes);
    let problem = if !sb.checksum_ok {
        Some("its superblock's checksum is wrong (the kernel would not load it)".to_string())
    } else if data_end.is_none_or(|end| end > m.size) {
        Some(format!(
            "its data area (byte {} + {} bytes) runs past its end ({} bytes): a truncated image?",
            sb.data_offset, sb.data_bytes, m.size
        ))
    } else {
        None
    };
    MemberView {
        source: m.source.clone(),
        offset: m.offset,
        partition: m.partition,
        version: sb.version.clone(),
        dev_number: sb.dev_number,
        slot: match sb.role {
            MemberRole::Active(s) => Some(s),
            _ => None,
        },
        events: sb.events,
        status,
        data: [m.offset.saturating_add(sb.data_offset), sb.data_bytes],
        bad_sectors: sb.bad_block_log.as_ref().map_or(0, |l| l.sectors),
        problem,
    }
}

/// Each slot, from the record's roles and the members given: a slot is active when any given
/// member holding it is in sync (a replacement being built beside the original counts only
/// when the original is not there).
fn slot_views(record: &MdSuperblock, members: &[MemberView]) -> Vec<SlotView> {
    (0..record.raid_disks)
        .map(|slot| {
            let holders: Vec<u32> = record
                .roles
                .iter()
                .enumerate()
                .filter(|(_, r)| **r == MemberRole::Active(slot))
                .map(|(n, _)| n as u32)
                .collect();
            let given: Vec<&MemberView> = members
                .iter()
                .filter(|m| holders.contains(&m.dev_number) && m.slot == Some(slot))
                .collect();
            let in_sync = given.iter().find(|m| m.status == MemberStatus::InSync);
            let rebuilding = given
                .iter()
                .find(|m| matches!(m.status, MemberStatus::Rebuilding { .. }));
            let (state, member) = match (holders.is_empty(), in_sync, rebuilding) {
                (true, _, _) => ("empty", None),
                (false, Some(m), _) => ("active", Some(m.source.clone())),
                (false, None, Some(m)) => ("rebuilding", Some(m.source.clone())),
                (false, None, None) => ("not given", None),
            };
            SlotView {
                slot,
                state: state.into(),
                member,
            }
        })
        .collect()
}

/// Whether md could run the array with the slots `up` (mdadm's `enough`): RAID1 one, RAID4/5
/// all but one, RAID6 all but two, RAID10 one copy of every block (each set of `near x far`
/// neighbouring slots, stepping by `near`), linear and RAID0 all.
fn enough(record: &MdSuperblock, up: &[bool]) -> bool {
    let n = up.len();
    let count = up.iter().filter(|u| **u).count();
    match record.level {
        1 | -4 => count >= 1,
        4 | 5 => count + 1 >= n,
        6 => count + 2 >= n,
        10 => {
            let near = (record.layout & 0xff) as usize;
            let far = ((record.layout >> 8) & 0xff) as usize;
            let copies = near.max(1) * far.max(1);
            if n == 0 || near == 0 {
                return count == n;
            }
            let mut first = 0;
            loop {
                if !(0..copies).any(|k| up[(first + k) % n]) {
                    return false;
                }
                first = (first + near) % n;
                if first == 0 {
                    return true;
                }
            }
        }
        _ => count == n,
    }
}

/// The given members that hold the whole array's data, fresh and in sync, in given order.
fn readable_members(
    group: &[&MdMember],
    members: &[MemberView],
    record: &MdSuperblock,
) -> Vec<ArrayData> {
    if !record.holds_whole_array() || record.reshaping {
        return Vec::new();
    }
    let mut readable: Vec<(u64, ArrayData)> = group
        .iter()
        .zip(members)
        .filter(|(_, v)| v.status == MemberStatus::InSync && v.problem.is_none())
        .map(|(_, v)| {
            (
                v.bad_sectors,
                ArrayData {
                    source: v.source.clone(),
                    offset: v.data[0],
                    size: array_size(record),
                },
            )
        })
        .collect();
    // A mirror with no known-bad sectors first (stable: given order otherwise).
    readable.sort_by_key(|(bad, _)| u64::from(*bad > 0));
    readable.into_iter().map(|(_, d)| d).collect()
}

/// The array's size in bytes (RAID1: one member's used size).
fn array_size(record: &MdSuperblock) -> u64 {
    record.data_bytes
}

/// A member whose superblock disagrees with the record about the array's shape.
fn disagreement(m: &MdMember, record: &MdSuperblock, notes: &mut Vec<String>) {
    let sb = &m.superblock;
    if sb.events != record.events {
        return; // a stale member may well remember an older shape
    }
    if sb.level != record.level || sb.raid_disks != record.raid_disks {
        notes.push(format!(
            "{} says the array is {} with {} slots, another member of the same events says {} with {}: the superblocks disagree; check each with `mdadm --examine`",
            m.label(),
            sb.level_name(),
            sb.raid_disks,
            record.level_name(),
            record.raid_disks
        ));
    }
    if sb.data_bytes != record.data_bytes {
        notes.push(format!(
            "{} uses {} bytes of data, the record {}: the array size is taken from the record",
            m.label(),
            sb.data_bytes,
            record.data_bytes
        ));
    }
}

/// The notes a person needs to read the answer right.
fn explain(
    record: &MdSuperblock,
    members: &[MemberView],
    readable: &[ArrayData],
    state: ArrayState,
    unclean: bool,
    notes: &mut Vec<String>,
) {
    for m in members {
        if let Some(p) = &m.problem {
            notes.push(format!("{}: {p}; it is not offered as the data", m.source));
        }
        if m.bad_sectors > 0 {
            notes.push(format!(
                "{}: its bad-block log lists {} sectors md could not read on it (and read from another mirror); those areas of its data are not the array's",
                m.source, m.bad_sectors
            ));
        }
        if let MemberStatus::Stale { events_behind } = m.status {
            notes.push(format!(
                "{} is {events_behind} events behind the array (it left the array earlier): its data is older than the array's and is not offered as the data",
                m.source
            ));
        }
    }
    if state == ArrayState::Reshaping {
        notes.push(
            "a reshape was under way when the array stopped: its data is laid out two ways; salvage does not read it (assemble it with mdadm on a machine with md)".into(),
        );
    } else if !record.holds_whole_array() {
        notes.push(format!(
            "a {} array spreads its data over its members: no member holds a readable copy on its own (salvage reads RAID1 members; assemble {} with mdadm where md exists)",
            record.level_name(),
            record.level_name()
        ));
    } else if readable.is_empty() {
        notes.push(
            "no given member is fresh and in sync: none holds the array's current data (give the other members, or read a stale one knowingly with `member:` / `--member`)".into(),
        );
    }
    if unclean && readable.len() > 1 {
        notes.push(format!(
            "the array was not stopped cleanly (a resync was pending): its {} in-sync mirrors may differ in the blocks written last; the first given is read: {}",
            readable.len(),
            readable[0].source
        ));
    } else if unclean && record.holds_whole_array() {
        notes.push(
            "the array was not stopped cleanly (a resync was pending): the blocks written last may not be on every mirror".into(),
        );
    }
}
