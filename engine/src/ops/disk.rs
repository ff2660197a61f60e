//! The disk ops at run time: `partitions`, `inspect`, `fsck`, `mount`, `copy`, `verify`, each
//! a thin adapter from resolved arguments to the partition and filesystem modules, run on a
//! blocking thread.

use super::partition_value::{is_root, parse_userspace, partition_arg, table_json, userspace_path};
use super::{OpContext, OpError, op_args};
use crate::state::journal::Scope;
use crate::state::undo::Undo;
use salvage_filesystem::{
    ExtTree, FsckMode, FsckRequest, HostTree, LoopDevice, MountRequest, PartitionRef, SourceSpec,
    SourceTree,
};
use salvage_language::ops::copy::CopyArgs;
use salvage_language::ops::fsck::FsckArgs;
use salvage_language::ops::mount::MountArgs;
use salvage_language::ops::partitions::PartitionsArgs;
use salvage_language::ops::verify::VerifyArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs a blocking op body on the blocking pool.
async fn blocking<F>(ctx: &OpContext, f: F) -> Result<Value, OpError>
where
    F: FnOnce(OpContext) -> Result<Value, OpError> + Send + 'static,
{
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || f(ctx))
        .await
        .unwrap_or_else(|e| Err(OpError::new(format!("the op stopped unexpectedly: {e}"))))
}

pub(super) async fn partitions(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let args: PartitionsArgs = op_args("partitions", args)?;
    let source = args
        .source
        .ok_or_else(|| OpError::new("partitions: `source` is missing"))?;
    let opts = salvage_partition::ReadOptions {
        sector_size: args.sector_size.and_then(|s| u32::try_from(s).ok()),
        no_probe: false,
        scan: args.scan,
    };
    blocking(ctx, move |ctx| {
        let t = salvage_partition::read_table(Path::new(&source), &opts)
            .map_err(|e| OpError::new(e.to_string()))?;
        for w in &t.warnings {
            ctx.progress
                .println(&format!("[{}] warning: {w}", ctx.step));
        }
        let table = table_json(&source, &t);
        let parts = table["partition"].clone();
        let count = parts.as_array().map_or(0, Vec::len);
        Ok(json!({ "table": table, "partition": parts.clone(), "partitions": parts, "count": count }))
    })
    .await
}

/// Opens a filesystem for reading: userspace for ext, else a read-only loop mount (root),
/// journaled as step-scoped attachments. Returns the tree and, for a mount, its directory.
fn open_tree(
    ctx: &OpContext,
    part: &PartitionRef,
    name: &str,
) -> Result<Box<dyn SourceTree>, OpError> {
    let fs = part
        .resolve_fs_type()
        .map_err(|e| OpError::new(e.to_string()))?;
    if fs.is_ext() {
        return Ok(Box::new(
            ExtTree::open(part).map_err(|e| OpError::new(e.to_string()))?,
        ));
    }
    if !is_root() {
        return Err(OpError::new(format!(
            "reading {} at offset {} needs root (a loop device and a mount)",
            fs.name(),
            part.offset
        )));
    }
    let target = ctx.state.work_dir(&ctx.step).join(name);
    let dir = mount_kernel(ctx, part, &target, Scope::Step)?;
    Ok(Box::new(
        HostTree::open(&dir).map_err(|e| OpError::new(e.to_string()))?,
    ))
}

/// Attaches a read-only loop device and mounts it read-only at `target`, both journaled first.
fn mount_kernel(
    ctx: &OpContext,
    part: &PartitionRef,
    target: &Path,
    scope: Scope,
) -> Result<PathBuf, OpError> {
    let fs = part
        .resolve_fs_type()
        .map_err(|e| OpError::new(e.to_string()))?;
    let size = part
        .resolved_size()
        .map_err(|e| OpError::new(e.to_string()))?;
    let dev = LoopDevice::attach(part.image(), part.offset, size, true)
        .map_err(|e| OpError::new(e.to_string()))?;
    let loop_att = dev.attachment();
    ctx.attach(
        &loop_att.describe(),
        Undo::Fs {
            attachment: loop_att,
        },
        scope,
    )?;
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| OpError::new(format!("mkdir {}: {e}", parent.display())))?;
    }
    let req = MountRequest::new(dev.path(), target, fs).map_err(|e| OpError::new(e.to_string()))?;
    let att = req.attachment();
    ctx.log(
        "command",
        crate::fields! {"argv" => ["mount(2)".to_string(), req.command_line()], "exit_code" => 0},
    );
    ctx.attach(&att.describe(), Undo::Fs { attachment: att }, scope)?;
    let mounted = req.mount().map_err(|e| OpError::new(e.to_string()))?;
    Ok(mounted.path().to_path_buf())
}

pub(super) async fn inspect(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let table = args
        .get("table")
        .cloned()
        .ok_or_else(|| OpError::new("inspect: `table` is missing"))?;
    blocking(ctx, move |ctx| {
        let parts: Vec<Value> = table
            .get("partition")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut candidates = Vec::new();
        let mut objs = Vec::new();
        for p in parts {
            let fstype = p.get("fstype").and_then(Value::as_str).unwrap_or("");
            if super::partition_value::fs_type_named(fstype).is_none() {
                continue;
            }
            let args = BTreeMap::from([("partition".to_string(), p.clone())]);
            let part = partition_arg(&args)?;
            let label = format!(
                "partition {} ({fstype} at byte {})",
                p["number"], part.offset
            );
            let tree = match open_tree(&ctx, &part, &format!("inspect-{}", p["number"])) {
                Ok(t) => t,
                Err(e) => {
                    ctx.progress
                        .println(&format!("[{}] cannot look inside {label}: {e}", ctx.step));
                    continue;
                }
            };
            match salvage_filesystem::inspect_tree(tree.as_ref(), &label, Some(&ctx.cancel)) {
                Ok(i) => {
                    candidates.push(i);
                    objs.push(p);
                }
                Err(e) => ctx
                    .progress
                    .println(&format!("[{}] cannot look inside {label}: {e}", ctx.step)),
            }
            drop(tree);
            super::undo_step_now(&ctx);
        }
        let report = salvage_filesystem::InspectReport::new(candidates);
        let dir = ctx.state.work_dir(&ctx.step);
        std::fs::create_dir_all(&dir)
            .map_err(|e| OpError::new(format!("mkdir {}: {e}", dir.display())))?;
        let path = dir.join("inspect.json");
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| OpError::new(e.to_string()))?;
        std::fs::write(&path, text)
            .map_err(|e| OpError::new(format!("write {}: {e}", path.display())))?;
        let roots: Vec<Value> = report
            .candidates
            .iter()
            .zip(&objs)
            .filter(|(c, _)| c.is_os_root)
            .map(|(_, o)| o.clone())
            .collect();
        let newest = report.newest_root.and_then(|i| objs.get(i).cloned());
        if newest.is_none() {
            return Err(OpError::new(format!(
                "no filesystem looks like an OS root (/etc with os-release or fstab); see {}",
                path.display()
            )));
        }
        Ok(json!({
            "newest": newest,
            "roots": roots,
            "candidates": objs,
            "report": path.display().to_string(),
        }))
    })
    .await
}

pub(super) async fn fsck(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let part = partition_arg(args)?;
    let args: FsckArgs = op_args("fsck", args)?;
    let repair = args.repair();
    let in_place = args.in_place;
    blocking(ctx, move |ctx| {
        let req = FsckRequest {
            partition: part,
            mode: if repair { FsckMode::Repair } else { FsckMode::Check },
            in_place,
            // The executor only runs a modify step after --yes or a yes at the terminal.
            confirmed: in_place,
            work_dir: Some(ctx.state.work_dir(&ctx.step)),
            cancel: Some(ctx.cancel.clone()),
        };
        let mut journal_err = None;
        let report = salvage_filesystem::fsck(&req, &mut |att| {
            if let Err(e) = ctx.attach(&att.describe(), Undo::Fs { attachment: att.clone() }, Scope::Step) {
                journal_err = Some(e);
            }
        })
        .map_err(|e| OpError::new(e.to_string()))?;
        if let Some(e) = journal_err {
            return Err(e);
        }
        ctx.log(
            "command",
            crate::fields! {"argv" => report.argv, "exit_code" => report.exit_code, "stdout" => super::bounded(report.output.as_bytes(), 16 * 1024)},
        );
        if report.exit_code >= 8 {
            return Err(OpError::new(format!(
                "{} could not check the filesystem (exit {}: {})",
                report.checker,
                report.exit_code,
                report.bits.join("; ")
            )));
        }
        Ok(json!({
            "exit_code": report.exit_code,
            "clean": report.clean,
            "bits": report.bits,
            "checker": report.checker,
            "repaired": report.repair_copy.as_ref().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)),
        }))
    })
    .await
}

pub(super) async fn mount(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let part = partition_arg(args)?;
    let dir = op_args::<MountArgs>("mount", args)?.dir.map(PathBuf::from);
    blocking(ctx, move |ctx| {
        let fs = part
            .resolve_fs_type()
            .map_err(|e| OpError::new(e.to_string()))?;
        if !is_root() {
            if fs.is_ext() {
                // No root: the userspace reader stands in for the mount.
                let view = userspace_path(&part);
                ctx.progress.println(&format!(
                    "[{}] not root: reading {} in userspace instead of mounting",
                    ctx.step,
                    fs.name()
                ));
                return Ok(json!({ "path": view, "userspace": true }));
            }
            return Err(OpError::new(format!(
                "mounting {} needs root; run salvage as root",
                fs.name()
            )));
        }
        let target = dir.unwrap_or_else(|| ctx.state.mount_dir(&ctx.step));
        let path = mount_kernel(&ctx, &part, &target, Scope::Run)?;
        Ok(json!({ "path": path.display().to_string(), "userspace": false }))
    })
    .await
}

fn source_of(from: &str) -> Result<(Box<dyn SourceTree>, SourceSpec), OpError> {
    if let Some(part) = parse_userspace(from) {
        let tree = ExtTree::open(&part).map_err(|e| OpError::new(e.to_string()))?;
        let spec = SourceSpec::ExtImage {
            image: part.image.clone(),
            offset: part.offset,
            size: part.size,
        };
        return Ok((Box::new(tree), spec));
    }
    let tree = HostTree::open(Path::new(from)).map_err(|e| OpError::new(e.to_string()))?;
    Ok((
        Box::new(tree),
        SourceSpec::Directory {
            path: PathBuf::from(from),
        },
    ))
}

pub(super) async fn copy(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let args: CopyArgs = op_args("copy", args)?;
    let from = args
        .from
        .ok_or_else(|| OpError::new("copy: `from` is missing"))?;
    let to = PathBuf::from(
        args.to
            .ok_or_else(|| OpError::new("copy: `to` is missing"))?,
    );
    let paths: Vec<PathBuf> = args
        .paths
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    let damage = args.damage.filter(|d| !d.is_empty());
    blocking(ctx, move |ctx| {
        let (tree, spec) = source_of(&from)?;
        let manifest = PathBuf::from(format!("{}.manifest.jsonl", to.display()));
        // A path asked for that is not there is a mistake in the runbook, not a bad sector.
        for p in &paths {
            if let Err(e) = tree.metadata(p) {
                return Err(OpError::new(format!(
                    "copy: `{}` is not in {from}: {e}; check the path (relative to the filesystem's root)",
                    p.display()
                )));
            }
        }
        // An earlier run of this step was cut short (out of space, killed): go on with its
        // copy in place when its manifest says what it finished; else move it aside.
        let resume = ctx.partial_before && salvage_filesystem::resumable(&manifest);
        if resume {
            ctx.progress.println(&format!(
                "[{}] resuming the interrupted copy in {} in place: files it finished are kept",
                ctx.step,
                to.display()
            ));
        } else if ctx.partial_before {
            set_aside_partial(&ctx, &to, &manifest)?;
        }
        let damage = match &damage {
            Some(report) => Some(std::sync::Arc::new(
                salvage_filesystem::CopyDamage::from_report_file(Path::new(report), &spec)
                    .map_err(|e| OpError::new(format!("copy: {e}")))?,
            )),
            None => None,
        };
        let options = salvage_filesystem::CopyOptions {
            paths,
            preserve_owner: None,
            cancel: Some(ctx.cancel.clone()),
            resume,
            damage,
        };
        let mut progress = match ctx.progress.mode() {
            crate::progress::ProgressMode::Quiet => salvage_filesystem::Progress::hidden(),
            _ => salvage_filesystem::Progress::console(),
        };
        let report =
            salvage_filesystem::copy_tree(tree.as_ref(), spec, &to, &manifest, &options, &mut progress)
                .map_err(|e| OpError::new(e.to_string()))?;
        if ctx.cancelled() {
            return Err(OpError::interrupted());
        }
        for p in report.problems.iter().take(20) {
            ctx.progress.println(&format!("[{}] {p}", ctx.step));
        }
        if let Some(line) = report.damage_line() {
            ctx.progress.println(&format!("[{}] damage: {line}", ctx.step));
            ctx.log(
                "copy_damage",
                crate::fields! {
                    "summary" => line,
                    "files" => report.summary.damaged_files.unwrap_or(0),
                    "directories" => report.summary.damaged_dirs.unwrap_or(0),
                    "lost_bytes" => report.summary.lost_bytes.unwrap_or(0),
                    "manifest" => report.manifest.display().to_string(),
                },
            );
        }
        if report.recovered_nothing() {
            return Err(OpError::new(format!(
                "copy: {}",
                report.nothing_recovered_message()
            )));
        }
        let s = serde_json::to_value(&report.summary).unwrap_or(Value::Null);
        Ok(json!({
            "dest": report.dest.display().to_string(),
            "manifest": report.manifest.display().to_string(),
            "files": s.get("files").cloned().unwrap_or(Value::Null),
            "bytes": s.get("bytes").cloned().unwrap_or(Value::Null),
            "unreadable": s.get("unreadable").cloned().unwrap_or(Value::Null),
            "losses": report.losses(),
            "damaged": report.summary.damaged_files.unwrap_or(0),
            "lost_bytes": report.summary.lost_bytes.unwrap_or(0),
            "summary": s,
        }))
    })
    .await
}

/// An earlier run of this step was cut short: its partial copy is moved aside (never
/// deleted), so the copy starts clean.
fn set_aside_partial(ctx: &OpContext, to: &Path, manifest: &Path) -> Result<(), OpError> {
    if !to.exists() && !manifest.exists() {
        return Ok(());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for p in [to, manifest] {
        if p.exists() {
            let aside = PathBuf::from(format!("{}.partial-{stamp}", p.display()));
            std::fs::rename(p, &aside).map_err(|e| {
                OpError::new(format!(
                    "moving the partial copy {} aside: {e}",
                    p.display()
                ))
            })?;
            ctx.progress.println(&format!(
                "[{}] an interrupted copy was moved aside to {}",
                ctx.step,
                aside.display()
            ));
            ctx.log("command", crate::fields! {"argv" => ["rename".to_string(), p.display().to_string(), aside.display().to_string()], "exit_code" => 0});
        }
    }
    Ok(())
}

pub(super) async fn verify(
    args: &BTreeMap<String, Value>,
    ctx: &OpContext,
) -> Result<Value, OpError> {
    let args: VerifyArgs = op_args("verify", args)?;
    let source = args.source;
    if let Some(map) = args.map {
        let image = args
            .image
            .ok_or_else(|| OpError::new("verify: with `map:`, give `image:`"))?;
        return blocking(ctx, move |ctx| {
            super::verify_image::verify_image(
                &ctx,
                Path::new(&map),
                Path::new(&image),
                source.as_deref().map(Path::new),
            )
        })
        .await;
    }
    let manifest = PathBuf::from(
        args.manifest
            .ok_or_else(|| OpError::new("verify: `manifest` is missing"))?,
    );
    blocking(ctx, move |ctx| {
        let tree = match &source {
            Some(s) => Some(source_of(s)?.0),
            None => None,
        };
        let report = salvage_filesystem::verify(&manifest, None, tree.as_deref())
            .map_err(|e| OpError::new(e.to_string()))?;
        let dir = ctx.state.work_dir(&ctx.step);
        std::fs::create_dir_all(&dir)
            .map_err(|e| OpError::new(format!("mkdir {}: {e}", dir.display())))?;
        let path = dir.join("verify.json");
        let v = serde_json::to_value(&report).unwrap_or(Value::Null);
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap_or_default())
            .map_err(|e| OpError::new(format!("write {}: {e}", path.display())))?;
        let count = |k: &str| v.get(k).and_then(Value::as_array).map_or(0, Vec::len);
        let out = json!({
            "ok": report.ok(),
            "matched": v.get("matched").cloned().unwrap_or(Value::Null),
            "differed": count("differed"),
            "unreadable": count("unreadable"),
            "report": path.display().to_string(),
        });
        if !report.ok() {
            return Err(OpError::new(format!(
                "the copy does not match its manifest; see {}",
                path.display()
            )));
        }
        Ok(out)
    })
    .await
}
