//! md RAID arrays as `salvage raid` and the `raid` op read them: members found in the images
//! and devices given (salvage-partition's `md`), arrays assessed, the kernel's `/proc/mdstat`
//! when there is one, and the answer as text, as JSON, and as the op's outputs (the RAID1 data
//! area as a `partition` value).

use salvage_partition::md::{
    ArrayData, ArrayState, ArrayView, MdMember, MdstatArray, MemberStatus, assess, find_members,
    parse_mdstat,
};
use salvage_partition::{Disk, probe_filesystem};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::Path;

/// What was read.
#[derive(Debug, Clone, Serialize)]
pub struct RaidReading {
    /// Each array the members belong to, in the order given.
    pub arrays: Vec<ArrayView>,
    /// The members found, as given.
    pub members: Vec<MdMember>,
    /// How the members were found (old superblocks, whole-disk ones).
    pub notes: Vec<String>,
    /// The kernel's arrays; `None` when the mdstat file does not exist (no md driver).
    pub mdstat: Option<Vec<MdstatArray>>,
    /// The mdstat file read.
    pub mdstat_path: String,
}

impl RaidReading {
    /// True when every array read is clean with all its members given, and no member failed,
    /// fell behind or is being rebuilt (one member of a mirror alone is not "well": the others
    /// were not seen).
    pub fn all_well(&self) -> bool {
        let arrays_ok = self.arrays.iter().all(|a| {
            a.state == ArrayState::Clean
                && !a.degraded
                && a.members
                    .iter()
                    .all(|m| matches!(m.status, MemberStatus::InSync | MemberStatus::Spare))
        });
        let kernel_ok = self
            .mdstat
            .iter()
            .flatten()
            .all(|a| !a.degraded() && a.state != "inactive");
        arrays_ok && kernel_ok
    }
}

/// Reads the members at `paths` and the mdstat file at `mdstat` (when it exists). An error
/// names a path that cannot be opened or holds no md superblock.
pub fn read(paths: &[String], mdstat: &str) -> Result<RaidReading, String> {
    let mut members = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        let found = find_members(Path::new(p)).map_err(|e| e.to_string())?;
        if found.members.is_empty() {
            return Err(format!(
                "{p}: no md superblock, neither in the whole of it nor in a partition of its table (looked for v0.90 and v1.0 near the end, v1.1 at byte 0, v1.2 at 4 KiB): not an md RAID member; `salvage partitions {p}` shows what it holds"
            ));
        }
        members.extend(found.members);
        notes.extend(found.notes);
    }
    let kernel = match std::fs::read_to_string(mdstat) {
        Ok(text) => Some(parse_mdstat(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{mdstat}: cannot read: {e}")),
    };
    Ok(RaidReading {
        arrays: assess(&members),
        members,
        notes,
        mdstat: kernel,
        mdstat_path: mdstat.to_string(),
    })
}

/// The one array a runbook step reports: the only one, or the one `which` names (UUID or
/// name); an error lists them when there is a choice to make.
pub fn pick_array<'a>(
    reading: &'a RaidReading,
    which: Option<&str>,
) -> Result<&'a ArrayView, String> {
    let list = || {
        reading
            .arrays
            .iter()
            .map(|a| format!("{} ({})", a.uuid, a.name.as_deref().unwrap_or("no name")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match which {
        Some(w) => reading
            .arrays
            .iter()
            .find(|a| a.uuid == w || a.name.as_deref() == Some(w))
            .ok_or_else(|| format!("no array `{w}` among the members: they hold {}", list())),
        None if reading.arrays.len() == 1 => Ok(&reading.arrays[0]),
        None => Err(format!(
            "the members belong to {} arrays: {}; give `array:` (a UUID or name) to say which",
            reading.arrays.len(),
            list()
        )),
    }
}

/// The data area to read: the member `member` names (knowingly, whatever its state), else the
/// first fresh, in-sync one; an error when `member` is not a member of the array that holds it.
pub fn chosen_data(array: &ArrayView, member: Option<&str>) -> Result<Option<ArrayData>, String> {
    match member {
        None => Ok(array.data().cloned()),
        Some(m) => array.data_of(m).map(Some).ok_or_else(|| {
            format!(
                "`{m}` is not a member of array {} that holds a slot's data (its members: {})",
                array.uuid,
                array
                    .members
                    .iter()
                    .map(|v| v.source.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
    }
}

/// The `partition` value of a data area: what `partitions` gives for a partition, with the
/// filesystem probed in the area.
pub fn partition_value(data: &ArrayData, array: &ArrayView) -> Value {
    let fs = Disk::open(Path::new(&data.source))
        .ok()
        .and_then(|d| probe_filesystem(&d, data.offset, data.size));
    // The member's own partition number in its source (0: a whole-disk member).
    let number = array
        .members
        .iter()
        .find(|m| m.source == data.source && m.data[0] == data.offset)
        .and_then(|m| m.partition)
        .unwrap_or(0);
    json!({
        "source": data.source,
        "number": number,
        "offset": data.offset,
        "size": data.size,
        "start": data.offset / 512,
        "sectors": data.size / 512,
        "type": "md",
        "type_name": format!("md {} data (array {})", array.level, array.uuid),
        "fstype": fs.as_ref().map(|f| f.fs_type.clone()),
        "label": fs.as_ref().and_then(|f| f.label.clone()),
        "uuid": fs.as_ref().and_then(|f| f.uuid.clone()),
    })
}

/// One member as a line: `b.img partition 1 (slot 1, v1.2, events 20): failed (...); data at byte N`.
pub fn member_line(array: &ArrayView, i: usize) -> String {
    let m = &array.members[i];
    let slot = m
        .slot
        .map_or("no slot".to_string(), |s| format!("slot {s}"));
    format!(
        "{} at byte {} ({slot}, device {}, v{}, events {}): {}; data at byte {}, {} bytes",
        m.source,
        m.offset,
        m.dev_number,
        m.version,
        m.events,
        m.status.describe(m.data[1]),
        m.data[0],
        m.data[1]
    )
}

/// The one-line answer: `raid1 rescue:0: degraded, 1 of 2 slots in sync`.
pub fn summary(array: &ArrayView) -> String {
    let (in_sync, _, _) = array.slot_counts();
    let mut s = format!(
        "{} {}: {}, {in_sync} of {} slots in sync",
        array.level,
        array.name.as_deref().unwrap_or(&array.uuid),
        array.state.as_str(),
        array.raid_disks
    );
    if array.degraded && array.state != ArrayState::Degraded {
        s.push_str(" (degraded)");
    }
    if array.unclean {
        s.push_str(", not stopped cleanly");
    }
    s
}

/// The `raid` op's outputs for `array`.
pub fn outputs(reading: &RaidReading, array: &ArrayView, data: Option<&ArrayData>) -> Value {
    let (in_sync, _, _) = array.slot_counts();
    let failed = array
        .members
        .iter()
        .filter(|m| matches!(m.status, MemberStatus::Failed | MemberStatus::Stale { .. }))
        .count();
    let mut notes = reading.notes.clone();
    notes.extend(array.notes.iter().cloned());
    let mut out = json!({
        "readable": data.is_some(),
        "state": array.state.as_str(),
        "degraded": array.degraded,
        "unclean": array.unclean,
        "level": array.level,
        "uuid": array.uuid,
        "name": array.name.clone().unwrap_or_default(),
        "raid_disks": array.raid_disks,
        "in_sync": in_sync,
        "failed": failed,
        "missing": array.raid_disks as usize - in_sync,
        "members": (0..array.members.len()).map(|i| member_line(array, i)).collect::<Vec<_>>(),
        "notes": notes,
        "mdstat": reading.mdstat.iter().flatten().map(MdstatArray::summary).collect::<Vec<_>>(),
        "summary": summary(array),
    });
    if let (Some(d), Some(o)) = (data, out.as_object_mut()) {
        o.insert("partition".into(), partition_value(d, array));
    }
    out
}

/// The `raid` op's outputs from its arguments: read, pick the array and the member, answer.
/// The op's run and `plan --probe` both go through it.
pub fn op_outputs(args: &salvage_language::ops::raid::RaidArgs) -> Result<Value, String> {
    if args.members.is_empty() {
        return Err("raid: give `members:`, the member images or devices".into());
    }
    let mdstat = args
        .mdstat
        .as_deref()
        .unwrap_or(salvage_language::ops::raid::DEFAULT_MDSTAT);
    let reading = read(&args.members, mdstat)?;
    let array = pick_array(&reading, args.array.as_deref())?;
    let data = chosen_data(array, args.member.as_deref())?;
    Ok(outputs(&reading, array, data.as_ref()))
}

/// The reading as text for a person.
pub fn render_text(reading: &RaidReading) -> String {
    let mut s = String::new();
    for array in &reading.arrays {
        s.push_str(&format!(
            "md array {} (UUID {}): {}, {} slots, metadata v{}, events {}\n",
            array.name.as_deref().unwrap_or("(no name)"),
            array.uuid,
            array.level,
            array.raid_disks,
            array.version,
            array.events
        ));
        s.push_str(&format!(
            "  state: {}\n",
            summary(array).split_once(": ").map_or("", |(_, rest)| rest)
        ));
        for slot in &array.slots {
            s.push_str(&format!(
                "  slot {}: {}{}\n",
                slot.slot,
                slot.state,
                slot.member
                    .as_ref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ));
        }
        s.push_str("  members:\n");
        for i in 0..array.members.len() {
            s.push_str(&format!("    {}\n", member_line(array, i)));
        }
        match array.data() {
            Some(d) => {
                let fs = partition_value(d, array);
                let fstype = fs["fstype"].as_str().unwrap_or("no filesystem recognised");
                s.push_str(&format!(
                    "  data: {} at byte {}, {} bytes ({fstype}): read it without md, e.g. `salvage copy {} DEST --offset {} --size {}`\n",
                    d.source, d.offset, d.size,
                    salvage_text::shell_quote::quote_word(&d.source), d.offset, d.size
                ));
                for other in array.readable.iter().skip(1) {
                    s.push_str(&format!(
                        "  also in sync: {} at byte {}\n",
                        other.source, other.offset
                    ));
                }
            }
            None => {
                s.push_str("  data: no given member holds it whole and current (see the notes)\n")
            }
        }
        for n in &array.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s.push('\n');
    }
    for n in &reading.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    match &reading.mdstat {
        None if reading.arrays.is_empty() => s.push_str(&format!(
            "kernel: {} does not exist (no md driver here): give the members' images or devices to read their superblocks, e.g. `salvage raid sda.img sdb.img`\n",
            reading.mdstat_path
        )),
        None => s.push_str(&format!(
            "kernel: {} does not exist (no md driver here): the superblocks above are all there is to read\n",
            reading.mdstat_path
        )),
        Some(k) if k.is_empty() => s.push_str(&format!(
            "kernel: no md arrays running ({})\n",
            reading.mdstat_path
        )),
        Some(k) => {
            s.push_str(&format!("kernel ({}):\n", reading.mdstat_path));
            for a in k {
                s.push_str(&format!("  {}\n", a.summary()));
            }
        }
    }
    s
}
