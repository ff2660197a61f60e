//! `partitions`: read the partition table of an image or device.

use super::arg_value;
use super::plan_words::{is_true, show};
use super::sig_parts::{arg, def, none, opt, out, outs, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `partitions` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct PartitionsArgs {
    /// The image or device.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub source: Option<String>,
    /// The logical sector size; probed when absent.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub sector_size: Option<u64>,
    /// Also scan for filesystems.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub scan: bool,
}

fn partitions_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let mut v = vec![
        format!("open {src} O_RDONLY; read the MBR at byte 0, EBR chain, GPT at LBA 1 and its backup"),
        "probe each partition's filesystem signature (ext, xfs, btrfs, vfat, exfat, ntfs, swap, LVM2, LUKS, md)".to_string(),
    ];
    if is_true(a, "scan") {
        v.push("scan for filesystem signatures at every 1 MiB and at sector 63".into());
    }
    v
}

/// The `partitions` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "partitions",
    about: "Read the partition table (MBR with EBR chain, GPT with CRCs and backup) of an image or device, with byte offsets and probed filesystems.",
    args: &[
        arg(
            "source",
            Type::Device,
            "the image or device; opened read-only",
        ),
        opt(
            "sector_size",
            Type::Size,
            "logical sector size; default: probed (512 or 4096)",
        ),
        def(
            "scan",
            Type::Bool,
            "false",
            "also scan for filesystems when the table is missing or damaged",
        ),
    ],
    one_of: &[],
    outputs: &[
        out("table", Type::Table, "the partition table"),
        outs(
            "partition",
            Type::Partition,
            "partitions by number: partition[2] is the second",
        ),
        outs(
            "partitions",
            Type::Partition,
            "every partition, in table order: the list a `for` loops over",
        ),
        out("count", Type::Int, "how many partitions"),
    ],
    value: Some("table"),
    effect: Effect::Read,
    effect_rule: read,
    commands: partitions_commands,
    cleanup: none,
};
