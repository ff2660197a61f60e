//! [`resource_keys`]: the paths and devices a step touches, and when two of them
//! [`overlaps`]: steps sharing one never run at once.

use salvage_language::plan::PlanStep;
use salvage_language::value_type::Type;
use serde_json::Value;
use std::collections::BTreeMap;

/// The paths and devices a step touches: two steps sharing one never run at once.
pub(super) fn resource_keys(step: &PlanStep, args: &BTreeMap<String, Value>) -> Vec<String> {
    let Some(op) = step.op() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for a in op.args {
        if !matches!(a.ty, Type::Path | Type::Device | Type::Partition) {
            continue;
        }
        match args.get(a.name) {
            Some(Value::String(s)) => keys.push(s.clone()),
            Some(Value::Object(o)) => {
                if let Some(Value::String(s)) = o.get("source") {
                    keys.push(s.clone());
                }
            }
            Some(Value::Array(items)) => {
                keys.extend(items.iter().filter_map(|v| v.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    keys
}

/// Whether two paths are the same or one contains the other.
pub(super) fn overlaps(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}
