//! The params a state directory was run with, kept as keyed hashes (`STATE/params.json`), so
//! a rerun with other params is refused instead of mixing two incidents in one journal and
//! log. Each value is hashed with the state key: the file names which params differ but never
//! holds or reveals a value (a secret included).

use crate::state::exec_error::{ExecError, ExecErrorKind};
use crate::state::state_dir::StateDir;
use salvage_language::plan::{Expr, Plan};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// The file in the state directory.
pub const FILE: &str = "params.json";

/// Param name → keyed sha256 of its value, for every param with a value.
pub fn stamp(key: &[u8; 32], plan: &Plan) -> BTreeMap<String, String> {
    plan.params
        .iter()
        .filter_map(|p| {
            let value = stamp_text(p.value.as_ref()?)?;
            let mut h = Sha256::new();
            h.update(key);
            h.update(b"salvage param\0");
            h.update(p.name.as_bytes());
            h.update([0]);
            h.update(value.as_bytes());
            Some((p.name.clone(), hex::encode(h.finalize())))
        })
        .collect()
}

/// The text a param's value is stamped by: its text; for a list, the JSON array of its
/// elements' texts (so `["a", "b"]` and `["b", "a"]` differ, and a secret element is hashed
/// like any secret).
fn stamp_text(value: &Expr) -> Option<String> {
    match value {
        Expr::List(items) => {
            let texts: Vec<String> = items.iter().map(Expr::known_text).collect::<Option<_>>()?;
            serde_json::to_string(&texts).ok()
        }
        other => other.known_text(),
    }
}

/// Compares the plan's params with those the state was run with: a difference is refused
/// unless `accept_new`; then (or the first time) the new stamp is recorded.
pub fn check_and_record(state: &StateDir, plan: &Plan, accept_new: bool) -> Result<(), ExecError> {
    let path = state.path().join(FILE);
    let now = stamp(state.key(), plan);
    let err = |kind| ExecError::new(kind).with_path(state.path());
    let before: Option<BTreeMap<String, String>> = match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| {
            err(ExecErrorKind::StateIo(format!(
                "{FILE} is damaged ({e}); move the state directory aside to start over"
            )))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err(ExecErrorKind::StateIo(format!("{FILE}: {e}")))),
    };
    if let Some(before) = &before {
        if *before == now {
            return Ok(());
        }
        let mut names: Vec<String> = before
            .keys()
            .chain(now.keys())
            .filter(|n| before.get(*n) != now.get(*n))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        if !accept_new {
            return Err(err(ExecErrorKind::ParamsDiffer { names }));
        }
    }
    let tmp = state.path().join(format!("{FILE}.tmp"));
    let text = serde_json::to_string_pretty(&now).unwrap_or_default();
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| err(ExecErrorKind::StateIo(format!("{FILE}: {e}"))))
}
