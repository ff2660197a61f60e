//! `snapshot`: freeze a volume or image before touching it (LVM, btrfs, reflink, qcow2). The
//! commands are written once here: the plan prints these argvs and the run executes them, so
//! what a partner reviewed is what runs.

use super::arg_value;
use super::plan_words::{is_true, show};
use super::sig_parts::{arg, def, opt, out};
use crate::effect::Effect;
use crate::op_sig::{ArgSig, ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::{quote_argv, quote_word};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The snapshot's name when `name:` is not given (lvm, btrfs).
pub const DEFAULT_SNAPSHOT_NAME: &str = "salvage-snap";

/// The `snapshot` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct SnapshotArgs {
    /// lvm, btrfs, reflink or qcow2.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub backend: Option<String>,
    /// The logical volume, subvolume or image file.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub source: Option<String>,
    /// The snapshot's name; see [`SnapshotArgs::name`].
    #[serde(default, deserialize_with = "arg_value::text")]
    pub name: Option<String>,
    /// Copy-on-write space in bytes (lvm).
    #[serde(default, deserialize_with = "arg_value::count")]
    pub size: Option<u64>,
    /// Where the snapshot goes (btrfs, reflink, qcow2).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub dest: Option<String>,
    /// reflink: fall back to a plain copy.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub allow_copy: bool,
    /// Keep the snapshot at the end instead of removing it.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub keep: bool,
}

impl SnapshotArgs {
    /// The snapshot's name, [`DEFAULT_SNAPSHOT_NAME`] unless given.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(DEFAULT_SNAPSHOT_NAME)
    }
}

/// Where a btrfs snapshot goes without `dest:`: beside the source subvolume, under `name`.
pub fn btrfs_default_dest(source: &str, name: &str) -> PathBuf {
    let p = Path::new(source.trim_end_matches('/'));
    p.parent().unwrap_or(Path::new("/")).join(name)
}

/// The read-only btrfs snapshot of subvolume `source` at `dest`.
pub fn btrfs_snapshot_argv(source: &str, dest: &str) -> Vec<String> {
    ["btrfs", "subvolume", "snapshot", "-r", source, dest]
        .map(String::from)
        .to_vec()
}

/// The `btrfs subvolume delete` that undoes a snapshot at `dest`.
pub fn btrfs_delete_argv(dest: &str) -> Vec<String> {
    ["btrfs", "subvolume", "delete", dest]
        .map(String::from)
        .to_vec()
}

/// The `qemu-img create` of a qcow2 overlay `dest` over `base`, whose format is `base_format`
/// (`raw` or `qcow2`, known only when the base can be read).
pub fn qemu_img_create_argv(base: &str, base_format: &str, dest: &str) -> Vec<String> {
    [
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        base,
        "-F",
        base_format,
        dest,
    ]
    .map(String::from)
    .to_vec()
}

fn snapshot_effect(a: &dyn ArgView) -> Effect {
    match a.known("backend").as_deref() {
        Some("reflink") | Some("qcow2") => Effect::Create,
        _ => Effect::Attach,
    }
}

fn snapshot_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let name = a
        .shown("name")
        .unwrap_or_else(|| DEFAULT_SNAPSHOT_NAME.into());
    match a.known("backend").as_deref() {
        Some("lvm") => {
            let size = a.known("size").unwrap_or_else(|| "<size>".into());
            let argv = lvcreate_argv(&src, &name, &size);
            let mut line = quote_argv(&argv);
            if let Some(shown) = a.shown("size") {
                line.push_str(&format!("  ({shown})"));
            }
            if let Some(source) = a.known("source")
                && volume_group(&source).is_none()
            {
                line.push_str(&format!("  (refused at run: {})", not_a_volume(&source)));
            }
            vec![line]
        }
        Some("btrfs") => vec![quote_argv(&btrfs_snapshot_argv(
            &src,
            &a.shown("dest")
                .unwrap_or_else(|| format!("<dir of {src}>/{name}")),
        ))],
        Some("reflink") => vec![format!(
            "ioctl(FICLONE) {src} -> {}{}",
            show(a, "dest"),
            if is_true(a, "allow_copy") {
                " (plain copy if reflink is not supported)"
            } else {
                ""
            }
        )],
        Some("qcow2") => vec![format!(
            "{}  (-F qcow2 when the base is qcow2)",
            quote_argv(&qemu_img_create_argv(&src, "raw", &show(a, "dest")))
        )],
        _ => vec![format!(
            "snapshot {src} with backend {}",
            show(a, "backend")
        )],
    }
}

fn snapshot_cleanup(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let name = a
        .shown("name")
        .unwrap_or_else(|| DEFAULT_SNAPSHOT_NAME.into());
    if is_true(a, "keep") {
        return vec![];
    }
    match a.known("backend").as_deref() {
        Some("lvm") => {
            let vg = a
                .known("source")
                .and_then(|s| volume_group(&s))
                .unwrap_or_else(|| format!("<vg of {src}>"));
            let argv = lvremove_argv(&vg, &name);
            vec![quote_argv(&argv)]
        }
        Some("btrfs") => vec![quote_argv(&btrfs_delete_argv(
            &a.shown("dest")
                .unwrap_or_else(|| format!("<dir of {src}>/{name}")),
        ))],
        Some("reflink") | Some("qcow2") => vec![format!(
            "rm {}  (only while it is the file salvage made)",
            quote_word(&show(a, "dest"))
        )],
        _ => vec![],
    }
}

/// The `snapshot` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "snapshot",
    about: "Snapshot a volume or image before touching it: LVM, btrfs, reflink copy, or qcow2 overlay.",
    args: &[
        ArgSig {
            name: "backend",
            ty: Type::String,
            list: false,
            required: true,
            default: None,
            about: "lvm, btrfs, reflink or qcow2",
            choices: &["lvm", "btrfs", "reflink", "qcow2"],
        },
        arg(
            "source",
            Type::Device,
            "the logical volume, subvolume or image file",
        ),
        opt("name", Type::String, "the snapshot's name (lvm, btrfs)"),
        opt(
            "size",
            Type::Size,
            "copy-on-write space for an LVM snapshot (-L)",
        ),
        opt(
            "dest",
            Type::Path,
            "where the snapshot goes (btrfs, reflink, qcow2)",
        ),
        def(
            "allow_copy",
            Type::Bool,
            "false",
            "reflink: fall back to a plain copy",
        ),
        def(
            "keep",
            Type::Bool,
            "false",
            "keep the snapshot at the end instead of removing it",
        ),
    ],
    one_of: &[],
    outputs: &[out(
        "path",
        Type::Device,
        "the snapshot (a device or a file)",
    )],
    value: Some("path"),
    effect: Effect::Attach,
    effect_rule: snapshot_effect,
    commands: snapshot_commands,
    cleanup: snapshot_cleanup,
};

/// `/dev/VG/LV` or `/dev/mapper/VG-LV` → VG.
pub fn volume_group(source: &str) -> Option<String> {
    let rest = source.strip_prefix("/dev/")?;
    if let Some(m) = rest.strip_prefix("mapper/") {
        // Hyphens inside names are doubled by device-mapper.
        let mut vg = String::new();
        let mut chars = m.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '-' {
                if chars.peek() == Some(&'-') {
                    chars.next();
                    vg.push('-');
                    continue;
                }
                return Some(vg);
            }
            vg.push(c);
        }
        return None;
    }
    let (vg, _) = rest.split_once('/')?;
    Some(vg.to_string())
}

/// Why an LVM snapshot of `source` is refused.
pub fn not_a_volume(source: &str) -> String {
    format!("{source}: not a logical volume path (/dev/VG/LV or /dev/mapper/VG-LV)")
}

/// The `lvcreate` a snapshot runs; `size_bytes` is the copy-on-write space in bytes (the
/// plan passes a placeholder while the size is unknown). The plan prints this very argv.
pub fn lvcreate_argv(source: &str, name: &str, size_bytes: &str) -> Vec<String> {
    [
        "lvcreate",
        "-s",
        "-L",
        &format!("{size_bytes}b"),
        "-n",
        name,
        source,
    ]
    .map(String::from)
    .to_vec()
}

/// The `lvremove` that undoes a snapshot `name` in volume group `vg`.
pub fn lvremove_argv(vg: &str, name: &str) -> Vec<String> {
    vec!["lvremove".into(), "-f".into(), format!("{vg}/{name}")]
}

#[cfg(test)]
mod tests {
    use super::volume_group;

    #[test]
    fn volume_groups() {
        assert_eq!(
            volume_group("/dev/vg_i7tiny/vm_zoneminder").as_deref(),
            Some("vg_i7tiny")
        );
        assert_eq!(
            volume_group("/dev/mapper/vg--a-lv").as_deref(),
            Some("vg-a")
        );
        assert_eq!(volume_group("/srv/disk.img"), None);
    }
}
