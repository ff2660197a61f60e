//! `salvage plan --probe`: runs the read-only steps a plan can already run (`partitions` of an
//! image that exists; `raid` of members that exist; `inspect` of ext filesystems, in userspace) so the reviewer sees real
//! offsets and the chosen root instead of `(known after ...)`. It never writes or attaches
//! anything: no state directory, no loop device, no mount, no report file.

use crate::resolve::resolve_step;
use salvage_filesystem::{ExtTree, InspectReport, PartitionRef, inspect_tree};
use salvage_language::plan::{Expr, PathElem, Piece, Plan, StepKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Probes what it can; fills the plan's references with what it found. Returns one note per
/// step probed (or skipped, with why).
pub fn probe(plan: &mut Plan) -> Vec<String> {
    let mut outputs: BTreeMap<String, Value> = BTreeMap::new();
    let mut notes = Vec::new();
    for i in 0..plan.steps.len() {
        let step = plan.steps[i].clone();
        let Some(op) = step.op() else { continue };
        if !matches!(op.name, "partitions" | "inspect" | "raid") {
            continue;
        }
        let Ok(resolved) = resolve_step(&step, &outputs) else {
            continue;
        };
        let result = match op.name {
            "partitions" => probe_partitions(&resolved.args),
            "raid" => probe_raid(&resolved.args),
            _ => probe_inspect(&resolved.args),
        };
        match result {
            Ok(v) => {
                notes.push(format!("probed {} ({}): read only", step.id, op.name));
                outputs.insert(step.id.clone(), v);
            }
            Err(e) => notes.push(format!("could not probe {}: {e}", step.id)),
        }
    }
    for s in &mut plan.steps {
        for a in &mut s.args {
            fill(&mut a.value, &outputs);
        }
        if let StepKind::Manual { text } = &mut s.kind {
            fill(text, &outputs);
        }
    }
    for (_, e) in &mut plan.outputs {
        fill(e, &outputs);
    }
    notes
}

fn probe_partitions(args: &BTreeMap<String, Value>) -> Result<Value, String> {
    let source = args
        .get("source")
        .and_then(Value::as_str)
        .ok_or("no source")?;
    if !Path::new(source).exists() {
        return Err(format!("{source} does not exist yet"));
    }
    let opts = salvage_partition::ReadOptions {
        sector_size: args
            .get("sector_size")
            .and_then(Value::as_u64)
            .and_then(|s| u32::try_from(s).ok()),
        no_probe: false,
        scan: args.get("scan").and_then(Value::as_bool).unwrap_or(false),
    };
    let t = salvage_partition::read_table(Path::new(source), &opts).map_err(|e| e.to_string())?;
    let table = crate::ops::table_json(source, &t);
    let parts = table["partition"].clone();
    let count = parts.as_array().map_or(0, Vec::len);
    Ok(json!({ "table": table, "partition": parts, "count": count }))
}

fn probe_raid(args: &BTreeMap<String, Value>) -> Result<Value, String> {
    let args: salvage_language::ops::raid::RaidArgs =
        salvage_language::ops::arg_value::from_args(args).map_err(|e| format!("raid: {e}"))?;
    if let Some(absent) = args.members.iter().find(|m| !Path::new(m).exists()) {
        return Err(format!("{absent} does not exist yet"));
    }
    crate::raid_array::op_outputs(&args)
}

fn probe_inspect(args: &BTreeMap<String, Value>) -> Result<Value, String> {
    let parts = args
        .get("table")
        .and_then(|t| t.get("partition"))
        .and_then(Value::as_array)
        .ok_or("no table")?;
    let mut candidates = Vec::new();
    let mut objs = Vec::new();
    for p in parts {
        let fstype = p.get("fstype").and_then(Value::as_str).unwrap_or("");
        if !matches!(fstype, "ext2" | "ext3" | "ext4") {
            continue;
        }
        let source = p.get("source").and_then(Value::as_str).unwrap_or("");
        let r = PartitionRef::new(
            source,
            p["offset"].as_u64().unwrap_or(0),
            p["size"].as_u64(),
        );
        let Ok(tree) = ExtTree::open(&r) else {
            continue;
        };
        if let Ok(i) = inspect_tree(&tree, &format!("partition {}", p["number"]), None) {
            candidates.push(i);
            objs.push(p.clone());
        }
    }
    let report = InspectReport::new(candidates);
    let newest = report
        .newest_root
        .and_then(|i| objs.get(i).cloned())
        .ok_or("no ext OS root found in userspace")?;
    Ok(json!({ "newest": newest, "roots": [], "report": "(written by the run)" }))
}

fn fill(e: &mut Expr, outputs: &BTreeMap<String, Value>) {
    match e {
        Expr::Ref(r) if r.known.is_none() => {
            if let Some(v) = outputs.get(&r.step).and_then(|base| walk(base, &r.path)) {
                r.known = Some(Box::new(to_expr(&v)));
            }
        }
        Expr::List(items) => items.iter_mut().for_each(|i| fill(i, outputs)),
        Expr::Interp(pieces) => {
            for p in pieces {
                if let Piece::Value(v) = p {
                    fill(v, outputs);
                }
            }
        }
        Expr::Secret { value, .. } => fill(value, outputs),
        _ => {}
    }
}

fn walk(base: &Value, path: &[PathElem]) -> Option<Value> {
    let mut cur = base.clone();
    for p in path {
        cur = match p {
            PathElem::Field(f) => cur.get(f)?.clone(),
            PathElem::Index(n) => cur
                .as_array()?
                .iter()
                .find(|i| i.get("number").and_then(Value::as_u64) == Some(*n))
                .cloned()?,
            PathElem::Var(_) => return None,
        };
    }
    Some(cur)
}

/// A probed value as the plan shows it.
fn to_expr(v: &Value) -> Expr {
    match v {
        Value::String(s) => Expr::Str(s.clone()),
        Value::Bool(b) => Expr::Bool(*b),
        Value::Number(n) => n
            .as_u64()
            .map(Expr::Size)
            .or_else(|| n.as_i64().map(Expr::Int))
            .unwrap_or(Expr::Str(n.to_string())),
        Value::Object(o) if o.contains_key("offset") && o.contains_key("number") => {
            // An md member's data area (the raid op), or a partition of a table.
            let what = match o.get("type").and_then(Value::as_str) {
                Some("md") => o
                    .get("type_name")
                    .and_then(Value::as_str)
                    .unwrap_or("md data")
                    .to_string(),
                _ => format!("partition {}", o["number"]),
            };
            let within = if o.get("type").and_then(Value::as_str) == Some("md") {
                "in"
            } else {
                "of"
            };
            Expr::Str(format!(
                "{what} {within} {} ({} at byte offset {}, {} bytes)",
                o.get("source").and_then(Value::as_str).unwrap_or("?"),
                o.get("fstype")
                    .and_then(Value::as_str)
                    .unwrap_or("no filesystem"),
                o["offset"],
                o.get("size").map(|s| s.to_string()).unwrap_or_default()
            ))
        }
        Value::Object(o) if o.contains_key("partition") => Expr::Str(format!(
            "{} table of {} with {} partition(s)",
            o.get("label").and_then(Value::as_str).unwrap_or("?"),
            o.get("source").and_then(Value::as_str).unwrap_or("?"),
            o["partition"].as_array().map_or(0, Vec::len)
        )),
        other => Expr::Str(other.to_string()),
    }
}
