//! `machine_warnings`: what `salvage plan` can see on this machine without running anything
//! (the command layer may `stat`; the checker never does): an input file or device that is
//! missing, a destination that is its own source, too little free space for an image, and
//! external programs the plan will run that are not installed. Warnings only: a reviewer may
//! plan on another machine than the one the run happens on.

use salvage_language::diagnostic::{Diagnostic, DiagnosticKind, Severity};
use salvage_language::plan::{Expr, Plan, PlanStep};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The arguments steps read from (files or devices that must exist when the step runs).
const INPUTS: &[(&str, &str)] = &[
    ("image", "source"),
    ("image", "simulate_bad"),
    ("partitions", "source"),
    ("fsck", "image"),
    ("mount", "image"),
    ("copy", "from"),
    ("pipe", "from"),
    ("verify", "manifest"),
    ("verify", "map"),
    ("verify", "image"),
    ("snapshot", "source"),
];

/// The (source, destination) argument pairs that must not name the same file.
const SOURCE_DEST: &[(&str, &str, &str)] = &[("image", "source", "dest"), ("copy", "from", "to")];

/// Every warning for `plans` on this machine, in step order.
pub(crate) fn machine_warnings(plans: &[Plan]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for plan in plans {
        if plan.is_define {
            continue;
        }
        let mut made = made_by_steps(plan);
        // A device param's absence is already said once, by the param's own warning.
        made.extend(
            plan.params
                .iter()
                .filter(|p| p.ty == salvage_language::value_type::Type::Device)
                .filter_map(|p| p.value.as_ref()?.known_text()),
        );
        for step in &plan.steps {
            input_warnings(step, &made, &mut out);
            dest_is_source(step, &mut out);
            low_space(step, &mut out);
            missing_programs(step, &mut out);
        }
    }
    out
}

fn warn(kind: DiagnosticKind) -> Diagnostic {
    let mut d = Diagnostic::bare(kind);
    d.severity = Severity::Warning;
    d
}

/// A known, non-secret text value of a step's argument.
fn known(step: &PlanStep, arg: &str) -> Option<String> {
    let value = step.arg(arg)?;
    if value.is_secret() {
        return None;
    }
    value.known_text().filter(|t| !t.is_empty())
}

/// Every known text a step's arguments hold: a path named there may be made by that step,
/// so its absence now is no news (a synth's dest, an exec's `of=...`). Paths in this set get
/// no "missing input" warning.
fn made_by_steps(plan: &Plan) -> BTreeSet<String> {
    fn collect(e: &Expr, out: &mut BTreeSet<String>) {
        match e {
            Expr::List(items) => items.iter().for_each(|i| collect(i, out)),
            other => {
                if let Some(t) = other.known_text() {
                    out.insert(t.clone());
                    // `of=/path` and `--output=/path` style arguments.
                    if let Some((_, rest)) = t.split_once('=') {
                        out.insert(rest.to_string());
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for step in &plan.steps {
        for arg in &step.args {
            let is_input = INPUTS
                .iter()
                .any(|(op, a)| *op == step.op_name() && *a == arg.name);
            if !is_input {
                collect(&arg.value, &mut out);
            }
        }
    }
    out
}

fn input_warnings(step: &PlanStep, made: &BTreeSet<String>, out: &mut Vec<Diagnostic>) {
    for (op, arg) in INPUTS {
        if *op != step.op_name() {
            continue;
        }
        let Some(path) = known(step, arg) else {
            continue;
        };
        if made.contains(&path) || Path::new(&path).symlink_metadata().is_ok() {
            continue;
        }
        out.push(warn(DiagnosticKind::PlanInputMissing {
            at: step.location.clone(),
            step: step.id.clone(),
            arg: (*arg).to_string(),
            path,
        }));
    }
}

fn same_file(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn dest_is_source(step: &PlanStep, out: &mut Vec<Diagnostic>) {
    for (op, src, dest) in SOURCE_DEST {
        if *op != step.op_name() {
            continue;
        }
        if let (Some(s), Some(d)) = (known(step, src), known(step, dest))
            && same_file(&s, &d)
        {
            out.push(warn(DiagnosticKind::PlanDestIsSource {
                at: step.location.clone(),
                step: step.id.clone(),
                path: d,
            }));
        }
    }
}

/// The nearest existing directory at or above `path`'s parent.
fn existing_parent(path: &Path) -> Option<PathBuf> {
    let mut dir = path.parent()?.to_path_buf();
    loop {
        if dir.as_os_str().is_empty() {
            dir = PathBuf::from(".");
        }
        if dir.is_dir() {
            return Some(dir);
        }
        dir = dir.parent()?.to_path_buf();
    }
}

/// The size of an image file or block device (opened without blocking; a FIFO says nothing).
fn source_size(path: &str) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = salvage_sys::open_source::open_source(Path::new(path)).ok()?;
    file.seek(SeekFrom::End(0)).ok()
}

fn low_space(step: &PlanStep, out: &mut Vec<Diagnostic>) {
    if step.op_name() != "image" {
        return;
    }
    let (Some(source), Some(dest)) = (known(step, "source"), known(step, "dest")) else {
        return;
    };
    let Some(mut need) = source_size(&source) else {
        return;
    };
    if let Some(size) = known(step, "size").and_then(|s| s.parse::<u64>().ok()) {
        need = need.min(size);
    }
    // A resumed image already holds its bytes.
    let have = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    need = need.saturating_sub(have);
    let Some(dir) = existing_parent(Path::new(&dest)) else {
        return;
    };
    let Ok(stat) = nix::sys::statvfs::statvfs(&dir) else {
        return;
    };
    let free = stat.blocks_available().saturating_mul(stat.fragment_size());
    if free < need {
        out.push(warn(DiagnosticKind::PlanLowSpace {
            at: step.location.clone(),
            step: step.id.clone(),
            dest,
            need,
            free,
        }));
    }
}

fn missing_programs(step: &PlanStep, out: &mut Vec<Diagnostic>) {
    use salvage_engine::preflight::{Need, locate, step_programs};
    for (program, need, _) in step_programs(step) {
        if need == Need::Required && locate(&program).is_none() {
            out.push(warn(DiagnosticKind::PlanProgramMissing {
                at: step.location.clone(),
                step: step.id.clone(),
                program,
            }));
        }
    }
}
