//! `inspect`: look inside each filesystem of a table for OS roots.

use super::plan_words::show;
use super::sig_parts::{arg, out, outs, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;

fn inspect_commands(a: &dyn ArgView) -> Vec<String> {
    vec![
        format!(
            "for each filesystem in {}: read it (userspace for ext2/3/4, else a read-only loop mount)",
            show(a, "table")
        ),
        "look for /etc/os-release, /etc/fstab; find the newest modification time".into(),
    ]
}

fn inspect_cleanup(_a: &dyn ArgView) -> Vec<String> {
    vec!["umount and detach any read-only mount made to look inside (done within the step)".into()]
}

/// The `inspect` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "inspect",
    about: "Look inside each filesystem of a table: is it an OS root, which OS, and its newest modification time.",
    args: &[arg(
        "table",
        Type::Table,
        "the partition table to look through",
    )],
    one_of: &[],
    outputs: &[
        out(
            "newest",
            Type::Partition,
            "the OS root with the newest files",
        ),
        outs(
            "roots",
            Type::Partition,
            "every partition that looks like an OS root",
        ),
        outs(
            "candidates",
            Type::Partition,
            "every partition whose filesystem was looked inside, root or not",
        ),
        out("report", Type::Path, "a JSON report of what was found"),
    ],
    value: Some("newest"),
    effect: Effect::Read,
    effect_rule: read,
    commands: inspect_commands,
    cleanup: inspect_cleanup,
};
