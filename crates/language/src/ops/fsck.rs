//! `fsck`: check (or repair a copy of) a filesystem, keeping the checker's exit-code bits.

use super::arg_value;
use super::plan_words::{is_true, loop_attach, partition_desc};
use super::sig_parts::{def, opt, out, pick};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `fsck` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct FsckArgs {
    /// check or repair.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub mode: Option<String>,
    /// Repair the evidence itself.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub in_place: bool,
}

impl FsckArgs {
    /// Whether the mode is repair (else check, which never writes).
    pub fn repair(&self) -> bool {
        self.mode.as_deref() == Some("repair")
    }
}

fn fsck_effect(a: &dyn ArgView) -> Effect {
    match a.known("mode").as_deref() {
        Some("repair") if is_true(a, "in_place") => Effect::Modify,
        Some("repair") => Effect::Create,
        _ => Effect::Read,
    }
}

fn fsck_commands(a: &dyn ArgView) -> Vec<String> {
    let repair = a.known("mode").as_deref() == Some("repair");
    let in_place = is_true(a, "in_place");
    let mut v = Vec::new();
    if repair && !in_place {
        v.push(format!(
            "copy {} to a work copy (FICLONE reflink when the filesystem allows)",
            partition_desc(a)
        ));
    } else {
        v.push(loop_attach(a, !repair));
    }
    // A work copy is a file of its own: the checker runs on it directly, no loop device.
    let target = if repair && !in_place {
        "COPY"
    } else {
        "/dev/loopN"
    };
    let checker = a.known("checker");
    let flags = if repair { "-f -y" } else { "-f -n" };
    match checker.as_deref() {
        Some(c) => v.push(format!("{c} {target}")),
        None => v.push(format!(
            "by filesystem: e2fsck {flags} {target} | xfs_repair {}{target} | btrfs check {}{target}",
            if repair { "" } else { "-n " },
            if repair { "--repair " } else { "--readonly " }
        )),
    }
    v.push(
        "keep the checker's exit-code bits (1 fixed, 2 reboot, 4 uncorrected, 8 operational)"
            .into(),
    );
    v
}

fn detach_loop(_a: &dyn ArgView) -> Vec<String> {
    vec!["ioctl(/dev/loopN, LOOP_CLR_FD) (losetup -d /dev/loopN)".into()]
}

fn fsck_cleanup(a: &dyn ArgView) -> Vec<String> {
    let repair_copy = a.known("mode").as_deref() == Some("repair") && !is_true(a, "in_place");
    if repair_copy { vec![] } else { detach_loop(a) }
}

/// The `fsck` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "fsck",
    about: "Check (or repair a copy of) a filesystem through a loop device, keeping e2fsck's exit-code bits.",
    args: &[
        opt("partition", Type::Partition, "the partition to check"),
        opt(
            "image",
            Type::Device,
            "or: an image or device, with offset and size",
        ),
        opt("offset", Type::Size, "byte offset in image (with image)"),
        opt(
            "size",
            Type::Size,
            "byte size (with image); default: to the end",
        ),
        pick(
            "mode",
            Some("check"),
            &["check", "repair"],
            "check (never writes) or repair (a copy, unless in_place)",
        ),
        def(
            "in_place",
            Type::Bool,
            "false",
            "repair the evidence itself; needs --yes",
        ),
        pick(
            "checker",
            None,
            &["e2fsck", "xfs_repair", "btrfs"],
            "force a checker; default: by filesystem",
        ),
    ],
    one_of: &[&["partition", "image"]],
    outputs: &[
        out(
            "exit_code",
            Type::Int,
            "the checker's exit code (bits kept)",
        ),
        out("clean", Type::Bool, "whether no error is left"),
        out("repaired", Type::Path, "the repaired copy, in repair mode"),
    ],
    value: None,
    effect: Effect::Modify,
    effect_rule: fsck_effect,
    commands: fsck_commands,
    cleanup: fsck_cleanup,
};
