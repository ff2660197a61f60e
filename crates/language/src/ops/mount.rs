//! `mount`: mount a partition read-only through a loop device.

use super::arg_value;
use super::plan_words::loop_attach;
use super::sig_parts::{attach, opt, out};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::quote_word;
use serde::Deserialize;

/// The `mount` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct MountArgs {
    /// Where to mount; `STATE/mnt/STEP` when absent.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub dir: Option<String>,
}

fn mount_commands(a: &dyn ArgView) -> Vec<String> {
    let dir = a
        .shown("dir")
        .unwrap_or_else(|| "<state>/mnt/<step>".into());
    let fstype = a.known("fstype").unwrap_or_else(|| "(probed)".into());
    vec![
        loop_attach(a, true),
        format!("mkdir {}", quote_word(&dir)),
        format!(
            "mount(/dev/loopN, {dir}, {fstype}, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, \"noload\" for ext3/4, \"norecovery\" for xfs)"
        ),
        "without root, ext2/3/4 is read in userspace instead (no loop device, no mount)".into(),
    ]
}

fn mount_cleanup(a: &dyn ArgView) -> Vec<String> {
    let dir = a
        .shown("dir")
        .unwrap_or_else(|| "<state>/mnt/<step>".into());
    vec![
        format!("umount {}", quote_word(&dir)),
        "ioctl(/dev/loopN, LOOP_CLR_FD) (losetup -d /dev/loopN)".into(),
        format!("rmdir {}", quote_word(&dir)),
    ]
}

/// The `mount` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "mount",
    about: "Mount a partition read-only (ro,noload,nosuid,nodev,noexec) through a loop device into a directory salvage creates.",
    args: &[
        opt("partition", Type::Partition, "the partition to mount"),
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
        opt("dir", Type::Path, "where to mount; default: STATE/mnt/STEP"),
        opt(
            "fstype",
            Type::String,
            "the filesystem type; default: probed",
        ),
    ],
    one_of: &[&["partition", "image"]],
    outputs: &[out(
        "path",
        Type::Path,
        "the mount point (or userspace view) to read from",
    )],
    value: Some("path"),
    effect: Effect::Attach,
    effect_rule: attach,
    commands: mount_commands,
    cleanup: mount_cleanup,
};
