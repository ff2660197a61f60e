//! `raid`: an md RAID array read from its members' superblocks, with no md driver and no
//! mdadm: its state, each member's, and for a RAID1 the `partition` that is a member's data
//! area, which `fsck`, `mount`, `copy` and `damage` read like any partition.

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{def, list, none, opt, out, outs, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `raid` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct RaidArgs {
    /// Member images or devices (each read whole, or by its partitions).
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub members: Vec<String>,
    /// The array to report when the members belong to several (UUID or name).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub array: Option<String>,
    /// Read this member's data, whatever its state (a stale or rebuilding one, knowingly).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub member: Option<String>,
    /// The kernel's view, read when the file exists.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub mdstat: Option<String>,
}

/// Where the kernel lists its arrays (as [`SIG`] says).
pub const DEFAULT_MDSTAT: &str = "/proc/mdstat";

fn raid_commands(a: &dyn ArgView) -> Vec<String> {
    let members = a.shown_list("members").unwrap_or_default().join(" ");
    let mut v = vec![
        format!(
            "open each member O_RDONLY ({members}); read its partition table and md superblocks (v0.90 and v1.0 near the end, v1.1 at byte 0, v1.2 at 4 KiB)"
        ),
        "group the members by array UUID; the member with the most events is the array's record; say each member's and slot's state".into(),
        "RAID1: the partition output is the first fresh, in-sync member's data area (no md driver, no mdadm)".into(),
        format!("read {} when it exists (the kernel's view)", show(a, "mdstat")),
    ];
    if let Some(m) = a.shown("member") {
        v.push(format!("read the data of member {m}, whatever its state"));
    }
    v
}

/// The `raid` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "raid",
    about: "Read an md RAID array from its members' superblocks without md or mdadm: which members are in sync, failed, stale or missing, the array's state, and for RAID1 a member's data area as a partition that fsck, mount and copy read.",
    args: &[
        list(
            "members",
            Type::Device,
            true,
            "member images or devices: each is read whole, or by its partitions when it has a table",
        ),
        opt(
            "array",
            Type::String,
            "the array (UUID or name) when the members belong to several",
        ),
        opt(
            "member",
            Type::Device,
            "read this member's data whatever its state (a stale or rebuilding member, chosen knowingly)",
        ),
        def(
            "mdstat",
            Type::Path,
            "/proc/mdstat",
            "the kernel's view of running arrays, read when it exists",
        ),
    ],
    one_of: &[],
    outputs: &[
        out(
            "partition",
            Type::Partition,
            "RAID1: the array's data in the first fresh, in-sync member (its source, offset, size, probed filesystem); absent for other levels",
        ),
        out(
            "readable",
            Type::Bool,
            "a given member holds the array's current data whole (RAID1, fresh, in sync)",
        ),
        out(
            "state",
            Type::String,
            "clean, active (all in sync, not stopped cleanly), degraded, incomplete (members not given), failed (too few in sync) or reshaping",
        ),
        out(
            "degraded",
            Type::Bool,
            "the array ran without a member, or one is being rebuilt",
        ),
        out(
            "unclean",
            Type::Bool,
            "the array was not stopped cleanly: mirrors may differ in the blocks written last",
        ),
        out("level", Type::String, "raid1, raid5, linear, ..."),
        out("uuid", Type::String, "the array's UUID, as mdadm prints it"),
        out("name", Type::String, "the array's name (v1), or \"\""),
        out("raid_disks", Type::Int, "the array's slots"),
        out(
            "in_sync",
            Type::Int,
            "slots held by a given, fresh, in-sync member",
        ),
        out(
            "failed",
            Type::Int,
            "given members that failed or fell behind (stale)",
        ),
        out(
            "missing",
            Type::Int,
            "slots with no in-sync member given (empty in the array, rebuilding, or not given)",
        ),
        outs(
            "members",
            Type::String,
            "one line per given member: where, its slot and its state",
        ),
        outs("notes", Type::String, "what the person should know"),
        outs(
            "mdstat",
            Type::String,
            "the kernel's arrays, one line each (empty without md)",
        ),
        out(
            "summary",
            Type::String,
            "the one-line answer: \"raid1 rescue:0: degraded, 1 of 2 slots in sync\"",
        ),
    ],
    value: Some("partition"),
    effect: Effect::Read,
    effect_rule: read,
    commands: raid_commands,
    cleanup: none,
};
