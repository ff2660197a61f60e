//! `damage(image: ..., map: ...)`: which files, directories, inodes and metadata the image's
//! unreadable areas hit (`salvage_filesystem::damage_report`); writes the JSON report into the
//! step's work directory and logs the headline, which the review shows.

use super::{OpContext, OpError, op_args};
use salvage_filesystem::{DamageReport, Unreadable, damage_report};
use salvage_imager::BadMap;
use salvage_language::ops::damage::DamageArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads the map, maps its unreadable areas, writes the report; returns the op's outputs.
pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: DamageArgs = op_args("damage", args)?;
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || run_blocking(&args, &ctx))
        .await
        .unwrap_or_else(|e| Err(OpError::new(format!("the op stopped unexpectedly: {e}"))))
}

fn first_paths(list: &[salvage_filesystem::DamagedFile]) -> Vec<String> {
    list.iter()
        .map(|f| {
            f.paths
                .first()
                .cloned()
                .unwrap_or_else(|| format!("<inode {}>", f.inode))
        })
        .collect()
}

/// The op's outputs from a report written at `path`.
fn outputs(report: &DamageReport, path: &Path) -> Value {
    let mut metadata: Vec<String> = report
        .metadata
        .iter()
        .map(|m| match m.partition {
            Some(p) => format!("{} (partition {p})", m.what),
            None => m.what.clone(),
        })
        .collect();
    metadata.dedup();
    json!({
        "files": first_paths(&report.files),
        "directories": first_paths(&report.directories),
        "metadata": metadata,
        "damaged": report.counts.files,
        "lost_bytes": report.counts.file_bytes_lost,
        "inodes": report.counts.inodes,
        "summary": report.headline(),
        "report": path.display().to_string(),
    })
}

fn run_blocking(args: &DamageArgs, ctx: &OpContext) -> Result<Value, OpError> {
    let (Some(image), Some(map)) = (&args.image, &args.map) else {
        return Err(OpError::new("damage: give `image:` and `map:`"));
    };
    let map = BadMap::load(Path::new(map)).map_err(|e| OpError::new(e.to_string()))?;
    let unreadable = Unreadable::new(map.ranges().iter().copied());
    let report =
        damage_report(Path::new(image), &unreadable).map_err(|e| OpError::new(e.to_string()))?;
    let dir = ctx.state.work_dir(&ctx.step);
    std::fs::create_dir_all(&dir)
        .map_err(|e| OpError::new(format!("mkdir {}: {e}", dir.display())))?;
    let path = dir.join("damage.json");
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| OpError::new(format!("damage report: {e}")))?;
    std::fs::write(&path, text)
        .map_err(|e| OpError::new(format!("write {}: {e}", path.display())))?;
    let headline = report.headline();
    ctx.progress.println(&format!("[{}] {headline}", ctx.step));
    ctx.log(
        "damage",
        crate::fields! {
            "summary" => headline,
            "files" => report.counts.files,
            "lost_bytes" => report.counts.file_bytes_lost,
            "directories" => report.counts.directories,
            "inodes" => report.counts.inodes,
            "metadata" => report.counts.metadata,
            "unknown_bytes" => report.counts.unknown_bytes,
            "report" => path.display().to_string(),
        },
    );
    Ok(outputs(&report, &path))
}
