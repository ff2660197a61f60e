//! `load`: reads what a report shows: the log (verified with its key), each image step's map
//! from where the run wrote it, and the runbook's dependencies when the file is still the one
//! the log ran (same sha256).

use std::path::{Path, PathBuf};

use super::{MapView, ReportInput};
use crate::event_log::{VerifyReport, read_lenient, verify_with_key};
use crate::review::{Review, build};
use crate::runbook_file::{file_sha256, load_and_check};

/// A report's inputs, read.
pub struct Loaded {
    /// The review of the log.
    pub review: Review,
    /// Its verification.
    pub verify: VerifyReport,
    /// The image steps' maps.
    pub maps: Vec<MapView>,
    /// The steps' dependencies, or why they are not known.
    pub deps: Result<Vec<(String, Vec<String>)>, String>,
}

impl Loaded {
    /// The inputs of the renderers.
    pub fn input(&self) -> ReportInput<'_> {
        ReportInput {
            review: &self.review,
            verify: &self.verify,
            maps: self
                .maps
                .iter()
                .map(|m| MapView {
                    step: m.step.clone(),
                    path: m.path.clone(),
                    map: m.map.clone(),
                })
                .collect(),
            deps: self.deps.clone(),
        }
    }
}

/// The directory the run's relative paths start from: the log's directory without the state
/// directory's own path (a log at `/srv/x/.salvage/demo/log.jsonl` of a run whose state dir was
/// `.salvage/demo` ran in `/srv/x`); else the current directory.
fn run_dir(log: &Path, state_dir: &str) -> PathBuf {
    let dir = log.parent().unwrap_or(Path::new("."));
    let state = Path::new(state_dir);
    let base = dir
        .ancestors()
        .nth(state.components().count())
        .filter(|b| state.is_relative() && b.join(state) == dir)
        .unwrap_or(Path::new("."));
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base.to_path_buf()
    }
}

/// Reads the log at `log` (with `key` for its anchor) and what the report draws.
pub fn load(log: &Path, key: Option<&[u8; 32]>) -> Result<Loaded, String> {
    let name = log.display().to_string();
    let contents = read_lenient(log).map_err(|e| e.to_string())?;
    let verify = verify_with_key(log, key);
    let review = build(&name, &contents);
    let run = review.runs.last();
    let base = run.map_or_else(|| PathBuf::from("."), |r| run_dir(log, &r.state_dir));
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let mut maps = Vec::new();
    if let Some(run) = run {
        for s in run.steps.iter().filter(|s| s.op == "image") {
            let Some(path) = s.outputs.get("map").and_then(|v| v.as_str()) else {
                continue;
            };
            let full = resolve(path);
            let map = match salvage_imager::Mapfile::load(&full) {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err(format!("the map {} is not there any more", full.display())),
                Err(e) => Err(e.to_string()),
            };
            maps.push(MapView {
                step: s.name.clone(),
                path: path.to_string(),
                map,
            });
        }
    }
    let logged_sha = contents
        .lines
        .iter()
        .rev()
        .find(|l| l.event == "run_started")
        .map(|l| l.str("runbook_sha256").to_string());
    let deps = match (run, logged_sha) {
        (Some(run), Some(sha)) => runbook_deps(&resolve(&run.file), &sha),
        _ => Err("the log names no runbook".to_string()),
    };
    Ok(Loaded {
        review,
        verify,
        maps,
        deps,
    })
}

/// Each step's dependencies (data and `after:`) from the runbook at `file`, if its sha256 is
/// still `sha`.
fn runbook_deps(file: &Path, sha: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let now = file_sha256(file)
        .map_err(|e| format!("the runbook {} cannot be read ({e})", file.display()))?;
    if now != sha {
        return Err(format!(
            "the runbook {} changed since the run (sha256 {} then, {} now)",
            file.display(),
            &sha[..sha.len().min(12)],
            &now[..12]
        ));
    }
    let checked = load_and_check(file, None);
    let plan = checked
        .plans
        .first()
        .ok_or_else(|| format!("the runbook {} has no plan", file.display()))?;
    Ok(plan
        .steps
        .iter()
        .map(|s| {
            let mut d = s.deps.clone();
            d.extend(s.after.iter().cloned());
            (s.id.clone(), d)
        })
        .collect())
}
