//! `SavedPlan`: a reviewed plan, saved (`salvage plan --out FILE`), approved by partners
//! (`salvage approve FILE --as NAME`) and then run exactly (`salvage run --plan FILE`). What it
//! binds: the runbook and the files it uses, by sha256; the params (secrets by name only); the
//! facts the plan rests on (each input's size and identity); every step with its arguments and
//! commands. Its id is the sha256 of all of that, so an approval names exactly one plan, and a
//! run refuses, naming what changed, when any of it differs.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use salvage_language::plan::{ParamSource, Plan};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The file format's name.
pub const FORMAT: &str = "salvage-saved-plan/1";

/// A saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`FORMAT`].
    pub format: String,
    /// The plan's id: the first 16 hex digits of the sha256 of `body`.
    pub id: String,
    /// Who saved it, and when (RFC 3339).
    pub created_by: String,
    /// When it was saved.
    pub created_at: String,
    /// What the plan binds (see the module docs).
    pub body: Value,
    /// Partners' sign-offs.
    #[serde(default)]
    pub approvals: Vec<PlanApproval>,
}

/// One partner's sign-off.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanApproval {
    /// The plan id approved.
    pub plan_id: String,
    /// Who.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// What they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The id of a body.
pub fn id_of(body: &Value) -> String {
    let text = serde_json::to_string(body).unwrap_or_default();
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// Arguments that name what a step reads: their paths' size and identity are facts.
const INPUT_ARGS: &[&str] = &["source", "image", "disk", "device", "partition", "from"];

/// The size and identity of `path` now, if it exists.
fn fact(path: &str) -> Option<Value> {
    let meta = std::fs::metadata(path).ok()?;
    let kind = if meta.file_type().is_block_device() {
        "block device"
    } else if meta.is_file() {
        "file"
    } else {
        return None;
    };
    let size = if meta.file_type().is_block_device() {
        std::fs::File::open(path)
            .ok()
            .and_then(|f| salvage_sys::block_device::size_bytes(&f).ok())
            .unwrap_or(0)
    } else {
        meta.len()
    };
    Some(json!({
        "path": path,
        "kind": kind,
        "size": size,
        "identity": if kind == "file" {
            format!("dev {} inode {}", meta.dev(), meta.ino())
        } else {
            format!("device {}:{}", libc::major(meta.rdev()), libc::minor(meta.rdev()))
        },
    }))
}

/// What `plan` (of the runbook at `runbook`, probed or not) binds.
pub fn body(plan: &Plan, runbook: &Path, probed: bool) -> Value {
    let runbook_path = std::fs::canonicalize(runbook).unwrap_or_else(|_| runbook.to_path_buf());
    let file_hash = |p: &Path| {
        crate::runbook_file::file_sha256(p).unwrap_or_else(|e| format!("unreadable: {e}"))
    };
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for s in &plan.steps {
        let f = PathBuf::from(&s.file);
        let canon = std::fs::canonicalize(&f).unwrap_or(f.clone());
        if canon != runbook_path && f.exists() {
            sources.insert(canon.display().to_string(), file_hash(&f));
        }
    }
    let params: BTreeMap<String, Value> = plan
        .params
        .iter()
        .map(|p| {
            let secret = p.value.as_ref().is_some_and(|v| v.is_secret());
            let value = match &p.value {
                _ if secret => json!({"secret": true}),
                Some(v) => {
                    json!({"value": v.shown(), "given": !matches!(p.source, ParamSource::Default)})
                }
                None => json!({"value": null}),
            };
            (p.name.clone(), value)
        })
        .collect();
    let rendered = salvage_language::plan_json::render(plan);
    let steps: Vec<Value> = rendered["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    json!({
                        "id": s["id"], "op": s["op"], "args": s["args"],
                        "commands": s["commands"], "effect": s["effect"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut facts: BTreeMap<String, Value> = BTreeMap::new();
    for s in &plan.steps {
        for a in &s.args {
            if !INPUT_ARGS.contains(&a.name.as_str()) {
                continue;
            }
            // What an earlier step makes (an image the run writes) is the run's own work,
            // not a fact the plan rests on.
            if matches!(a.value, salvage_language::plan::Expr::Ref(_)) {
                continue;
            }
            if let Some(text) = a.value.known_text().filter(|_| !a.value.is_secret()) {
                if let Some(f) = fact(&text) {
                    facts.insert(text, f);
                }
            }
        }
    }
    json!({
        "runbook": {"path": runbook_path.display().to_string(), "sha256": file_hash(runbook)},
        "sources": sources,
        "salvage_version": env!("CARGO_PKG_VERSION"),
        "probed": probed,
        "params": params,
        "facts": facts,
        "steps": steps,
    })
}

/// Every difference between the `then` body and the `now` one, in words.
pub fn differences(then: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (a, b) = (&then["runbook"], &now["runbook"]);
    if a["path"] != b["path"] {
        out.push(format!(
            "the runbook is {} now, {} then",
            b["path"], a["path"]
        ));
    } else if a["sha256"] != b["sha256"] {
        out.push(format!(
            "the runbook {} changed since the plan (sha256 {} then, {} now)",
            a["path"].as_str().unwrap_or("?"),
            short(&a["sha256"]),
            short(&b["sha256"])
        ));
    }
    if then["salvage_version"] != now["salvage_version"] {
        out.push(format!(
            "salvage is version {} now, {} then (its embedded stdlib may differ)",
            now["salvage_version"], then["salvage_version"]
        ));
    }
    map_diff(
        &then["sources"],
        &now["sources"],
        "the file",
        "it uses",
        &mut out,
        |_, _| "changed since the plan".to_string(),
    );
    map_diff(
        &then["params"],
        &now["params"],
        "param",
        "",
        &mut out,
        |x, y| format!("was {} then, {} now", shown(x), shown(y)),
    );
    map_diff(
        &then["facts"],
        &now["facts"],
        "input",
        "",
        &mut out,
        |x, y| {
            let mut what = Vec::new();
            for k in ["kind", "size", "identity"] {
                if x[k] != y[k] {
                    what.push(format!("{k} {} then, {} now", x[k], y[k]));
                }
            }
            what.join(", ")
        },
    );
    let steps = |v: &Value| -> BTreeMap<String, Value> {
        v["steps"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| (s["id"].as_str().unwrap_or("").to_string(), s.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (sa, sb) = (steps(then), steps(now));
    for (id, s) in &sa {
        match sb.get(id) {
            None => out.push(format!("step {id} is no longer in the plan")),
            Some(t) => {
                if s["op"] != t["op"] {
                    out.push(format!("step {id} calls {} now, {} then", t["op"], s["op"]));
                }
                let (aa, ab) = (&s["args"], &t["args"]);
                let names: std::collections::BTreeSet<&String> = aa
                    .as_object()
                    .into_iter()
                    .chain(ab.as_object())
                    .flat_map(|m| m.keys())
                    .collect();
                for n in names {
                    if aa[n] != ab[n] {
                        out.push(format!(
                            "step {id}: argument {n} was {} then, {} now",
                            aa[n], ab[n]
                        ));
                    }
                }
                if s["commands"] != t["commands"] && aa == ab {
                    out.push(format!("step {id}: its commands differ"));
                }
            }
        }
    }
    for id in sb.keys().filter(|id| !sa.contains_key(*id)) {
        out.push(format!("step {id} is new in the plan"));
    }
    out
}

fn short(v: &Value) -> String {
    v.as_str()
        .map_or_else(|| v.to_string(), |s| s[..s.len().min(12)].to_string())
}

fn shown(v: &Value) -> String {
    if v.is_null() {
        return "absent".to_string();
    }
    if v["secret"] == true {
        return "(secret)".to_string();
    }
    v.get("value")
        .map_or_else(|| v.to_string(), |x| x.to_string())
}

fn map_diff(
    a: &Value,
    b: &Value,
    what: &str,
    suffix: &str,
    out: &mut Vec<String>,
    changed: impl Fn(&Value, &Value) -> String,
) {
    let empty = serde_json::Map::new();
    let (ma, mb) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    let suffix = if suffix.is_empty() {
        String::new()
    } else {
        format!(" {suffix}")
    };
    for (k, v) in ma {
        match mb.get(k) {
            None => out.push(format!("{what} {k}{suffix} is gone")),
            Some(w) if v != w => out.push(format!("{what} {k}{suffix} {}", changed(v, w))),
            Some(_) => {}
        }
    }
    for k in mb.keys().filter(|k| !ma.contains_key(*k)) {
        out.push(format!("{what} {k}{suffix} is new"));
    }
}

impl SavedPlan {
    /// A new saved plan of `body`.
    pub fn new(body: Value, created_by: &str) -> Self {
        Self {
            format: FORMAT.to_string(),
            id: id_of(&body),
            created_by: created_by.to_string(),
            created_at: crate::event_log::format_time(std::time::SystemTime::now()),
            body,
            approvals: Vec::new(),
        }
    }

    /// Reads a saved plan, checking its format and that its id is its body's.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the saved plan: {e}", path.display()))?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a salvage saved plan: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if plan.format != FORMAT {
            return Err(format!(
                "{}: format {:?}, expected {FORMAT:?}",
                path.display(),
                plan.format
            ));
        }
        if id_of(&plan.body) != plan.id {
            return Err(format!(
                "{}: its id {} is not its content's ({}): the file was edited after it was saved; make a new one with salvage plan --out",
                path.display(),
                plan.id,
                id_of(&plan.body)
            ));
        }
        Ok(plan)
    }

    /// Writes it to `path` atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())? + "\n";
        let tmp = path.with_extension("plan-tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("{}: cannot write the saved plan: {e}", path.display())
            })
    }

    /// The distinct people who approved this plan's id.
    pub fn approvers(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .approvals
            .iter()
            .filter(|a| a.plan_id == self.id)
            .map(|a| a.by.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}
