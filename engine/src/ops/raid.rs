//! `raid(members: [...])`: reads the members' md superblocks (no md driver, no mdadm), logs
//! the array's state, and hands back its outputs; for a RAID1 the `partition` output is a
//! fresh, in-sync member's data area, which `fsck`, `mount` and `copy` read like a partition.

use super::{OpContext, OpError, op_args};
use crate::raid_array;
use salvage_language::ops::raid::RaidArgs;
use serde_json::Value;
use std::collections::BTreeMap;

/// Reads the members; returns the op's outputs.
pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: RaidArgs = op_args("raid", args)?;
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || read(&args, &ctx))
        .await
        .unwrap_or_else(|e| Err(OpError::new(format!("the op stopped unexpectedly: {e}"))))
}

fn read(args: &RaidArgs, ctx: &OpContext) -> Result<Value, OpError> {
    let out = raid_array::op_outputs(args).map_err(OpError::new)?;
    let summary = out["summary"].as_str().unwrap_or_default().to_string();
    ctx.progress.println(&format!("[{}] {summary}", ctx.step));
    for note in out["notes"].as_array().into_iter().flatten() {
        if let Some(n) = note.as_str() {
            ctx.progress.println(&format!("[{}] note: {n}", ctx.step));
        }
    }
    ctx.log(
        "raid",
        crate::fields! {
            "summary" => summary,
            "state" => out["state"].clone(),
            "members" => out["members"].clone(),
            "notes" => out["notes"].clone(),
            "data" => out.get("partition").cloned(),
            "chosen_member" => args.member.clone(),
        },
    );
    Ok(out)
}
