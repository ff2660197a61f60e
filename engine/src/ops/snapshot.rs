//! `snapshot`: freeze a volume or image before touching it. LVM (`lvcreate -s`, undone with
//! `lvremove -f`), btrfs (read-only subvolume snapshot, undone with `subvolume delete`),
//! reflink copy (FICLONE, a plain copy only when asked), qcow2 overlay (`qemu-img create -b`).

use super::{OpContext, OpError, op_args};
use crate::state::journal::Scope;
use crate::state::undo::Undo;
use salvage_language::ops::snapshot::{
    SnapshotArgs, btrfs_default_dest, btrfs_delete_argv, btrfs_snapshot_argv, lvcreate_argv,
    lvremove_argv, not_a_volume, qemu_img_create_argv, volume_group,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args = args.clone();
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || snapshot(&args, &ctx))
        .await
        .unwrap_or_else(|e| Err(OpError::new(format!("snapshot stopped unexpectedly: {e}"))))
}

fn snapshot(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: SnapshotArgs = op_args("snapshot", args)?;
    let backend = args.backend.clone().unwrap_or_default();
    let source = args
        .source
        .clone()
        .ok_or_else(|| OpError::new("snapshot: `source` is missing"))?;
    let name = args.name();
    let keep = args.keep;
    match backend.as_str() {
        "lvm" => lvm(ctx, &source, name, args.size, keep),
        "btrfs" => {
            let dest = args
                .dest
                .clone()
                .map(PathBuf::from)
                .unwrap_or_else(|| btrfs_default_dest(&source, name));
            let dest = dest.display().to_string();
            run_cmd(ctx, &btrfs_snapshot_argv(&source, &dest))?;
            if !keep {
                let undo = Undo::Command {
                    argv: btrfs_delete_argv(&dest),
                };
                ctx.attach(&format!("btrfs snapshot {dest}"), undo, Scope::Run)?;
            }
            Ok(json!({ "path": dest }))
        }
        "reflink" => {
            let dest = PathBuf::from(
                args.dest
                    .clone()
                    .ok_or_else(|| OpError::new("snapshot reflink: give `dest:`"))?,
            );
            let how = reflink(Path::new(&source), &dest, args.allow_copy)?;
            // A fallback to a plain copy is named as one: a copy takes the space and time of
            // the whole source, and a reviewer must not read it as a reflink.
            let (argv, what) = if how == "reflink" {
                (
                    format!("ioctl(FICLONE) {source} -> {}", dest.display()),
                    "reflink snapshot",
                )
            } else {
                (
                    format!("copy {source} -> {} (no reflink here)", dest.display()),
                    "snapshot copy (reflink not possible)",
                )
            };
            ctx.log(
                "command",
                crate::fields! {"argv" => [argv], "exit_code" => 0, "stdout" => how},
            );
            if !keep {
                remove_at_end(ctx, what, &dest)?;
            }
            Ok(json!({ "path": dest.display().to_string(), "method": how }))
        }
        "qcow2" => {
            let dest = args
                .dest
                .clone()
                .ok_or_else(|| OpError::new("snapshot qcow2: give `dest:`"))?;
            let base = std::fs::canonicalize(&source)
                .map_err(|e| OpError::new(format!("{source}: {e}")))?;
            if Path::new(&dest).exists() {
                return Err(OpError::new(format!(
                    "{dest} exists; a snapshot never overwrites a file"
                )));
            }
            run_cmd(
                ctx,
                &qemu_img_create_argv(&base.display().to_string(), image_format(&base), &dest),
            )?;
            if !keep {
                remove_at_end(ctx, "qcow2 overlay", Path::new(&dest))?;
            }
            Ok(json!({ "path": dest }))
        }
        other => Err(OpError::new(format!("unknown snapshot backend `{other}`"))),
    }
}

/// Registers the removal of a snapshot file salvage just made, undone at the end of the run.
fn remove_at_end(ctx: &OpContext, what: &str, path: &Path) -> Result<(), OpError> {
    let undo =
        Undo::remove_file(path).map_err(|e| OpError::new(format!("{}: {e}", path.display())))?;
    ctx.attach(&format!("{what} {}", path.display()), undo, Scope::Run)?;
    Ok(())
}

/// The format of a base image for `qemu-img create -F`: `qcow2` by its magic, else `raw`.
fn image_format(base: &Path) -> &'static str {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let is_qcow2 = salvage_sys::open_source::open_source(base)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"QFI\xfb";
    if is_qcow2 { "qcow2" } else { "raw" }
}

/// Whether the kernel has device-mapper (a `/dev/mapper/control` node can exist without it).
fn has_device_mapper() -> bool {
    Path::new("/sys/class/misc/device-mapper").exists()
        || std::fs::read_to_string("/proc/misc").is_ok_and(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(1) == Some("device-mapper"))
        })
}

fn lvm(
    ctx: &OpContext,
    source: &str,
    name: &str,
    size: Option<u64>,
    keep: bool,
) -> Result<Value, OpError> {
    if !has_device_mapper() {
        return Err(OpError::new(
            "LVM snapshots need device-mapper, which this kernel does not have (no device-mapper in /proc/misc); `salvage plan` shows the exact lvcreate/lvremove commands",
        ));
    }
    let vg = volume_group(source).ok_or_else(|| OpError::new(not_a_volume(source)))?;
    let size = size
        .ok_or_else(|| OpError::new("snapshot lvm: give `size:` (copy-on-write space, e.g. 5G)"))?;
    run_cmd(ctx, &lvcreate_argv(source, name, &size.to_string()))?;
    if !keep {
        let undo = Undo::Command {
            argv: lvremove_argv(&vg, name),
        };
        ctx.attach(&format!("LVM snapshot {vg}/{name}"), undo, Scope::Run)?;
    }
    Ok(json!({ "path": format!("/dev/{vg}/{name}") }))
}

fn run_cmd(ctx: &OpContext, argv: &[String]) -> Result<(), OpError> {
    let started = std::time::Instant::now();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| OpError::new(format!("cannot run {}: {e}", argv[0])))?;
    ctx.log(
        "command",
        crate::fields! {
            "argv" => argv,
            "exit_code" => out.status.code(),
            "duration_ms" => started.elapsed().as_millis() as u64,
            "stdout" => super::bounded(&out.stdout, 16 * 1024),
            "stderr" => super::bounded(&out.stderr, 16 * 1024),
        },
    );
    if !out.status.success() {
        return Err(OpError::new(format!(
            "{} failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Clones `source` into a new `dest` sharing its blocks; a plain copy only when allowed.
pub(crate) fn reflink(source: &Path, dest: &Path, allow_copy: bool) -> Result<String, OpError> {
    let src = salvage_sys::open_source::open_source(source)
        .map_err(|e| OpError::new(format!("{}: {e}", source.display())))?;
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| {
            OpError::new(format!(
                "{}: {e} (a snapshot never overwrites a file)",
                dest.display()
            ))
        })?;
    let cloned = salvage_sys::reflink::clone_file(&src, &out);
    match cloned {
        Ok(_) => {
            out.sync_all()
                .map_err(|e| OpError::new(format!("{}: {e}", dest.display())))?;
            Ok("reflink".into())
        }
        Err(e) if allow_copy => {
            drop(out);
            std::fs::copy(source, dest)
                .map_err(|c| OpError::new(format!("plain copy to {}: {c}", dest.display())))?;
            Ok(format!("plain copy (reflink not possible here: {e})"))
        }
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(dest);
            Err(OpError::new(format!(
                "reflink {} -> {} is not possible here ({e}); the filesystem must support it (btrfs, xfs) and both must be on it, or say allow_copy: true",
                source.display(),
                dest.display()
            )))
        }
    }
}
