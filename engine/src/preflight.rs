//! The preflight: every external program a plan will start (the checkers fsck picks, lvcreate,
//! qemu-img, mkfs.ext4, smartctl, the runbook's own `exec`/`pipe` programs), whether each is
//! found on this machine and actually runs, and what salvage does without it. `salvage plan`
//! prints it; `salvage run` refuses, before it touches anything, when a program a step needs
//! unconditionally is missing or does not run.
//!
//! "Runs" means the program was started with its version flag and did not fail to load
//! (exit 126/127, "error while loading shared libraries", a crash): on a machine whose
//! libraries are unreadable a program can be on PATH and still not run. A runbook's own
//! programs are never started by the preflight (nobody knows what `--version` does to them):
//! they are only looked up.

use salvage_language::plan::{Expr, Plan, PlanStep};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a step needs a program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// The step always runs it: the run cannot do that step without it.
    Required,
    /// Only when the step's `when:` holds.
    Depends(String),
    /// Only when the filesystem the step meets is of this type.
    ByFilesystem(&'static str),
    /// The step runs without it and says so (`health`: `available = false`).
    Optional,
}

/// One step's use of one program.
#[derive(Debug, Clone)]
pub struct Use {
    /// The step.
    pub step: String,
    /// How it needs it.
    pub need: Need,
    /// What salvage does without it.
    pub without: String,
}

/// One program and every use the plan makes of it.
#[derive(Debug, Clone)]
pub struct Program {
    /// As the plan names it (a name looked up on PATH, or a path).
    pub name: String,
    /// The uses, in step order.
    pub uses: Vec<Use>,
    /// The flag that makes it print its version and exit; `None` for a runbook's own program,
    /// which the preflight never starts.
    pub version_flag: Option<&'static str>,
    /// How to get it.
    pub fix: String,
}

/// What this machine says of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Not on PATH (or the path names nothing runnable).
    Missing,
    /// Found, and started with its version flag: the first line it printed.
    Runs(PathBuf, String),
    /// Found, but it does not run here: why.
    Broken(PathBuf, String),
    /// Found and executable; not started (a runbook's own program).
    Present(PathBuf),
}

impl Found {
    /// Whether a step can count on it.
    pub fn usable(&self) -> bool {
        matches!(self, Found::Runs(..) | Found::Present(_))
    }
}

/// The preflight of one plan: each program with what this machine says of it.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// By program name.
    pub programs: Vec<(Program, Found)>,
}

/// The package that carries each program salvage itself starts, and its version flag.
const KNOWN: &[(&str, &str, &str)] = &[
    ("e2fsck", "-V", "e2fsprogs"),
    ("mkfs.ext4", "-V", "e2fsprogs"),
    ("xfs_repair", "-V", "xfsprogs"),
    ("btrfs", "--version", "btrfs-progs"),
    ("fsck.vfat", "--help", "dosfstools"),
    ("fsck.exfat", "-V", "exfatprogs"),
    ("lvcreate", "--version", "lvm2"),
    ("lvremove", "--version", "lvm2"),
    ("qemu-img", "--version", "qemu-utils"),
    ("smartctl", "--version", "smartmontools"),
];

/// fsck's checkers by filesystem, as `salvage_filesystem::fsck` picks them.
const CHECKERS: &[(&str, &str)] = &[
    ("e2fsck", "ext2/3/4"),
    ("xfs_repair", "xfs"),
    ("btrfs", "btrfs"),
    ("fsck.vfat", "vfat"),
    ("fsck.exfat", "exfat"),
];

fn known_text(step: &PlanStep, arg: &str) -> Option<String> {
    let v = step.arg(arg)?;
    if v.is_secret() {
        return None;
    }
    v.known_text().filter(|t| !t.is_empty())
}

fn first_word(step: &PlanStep, arg: &str) -> Option<String> {
    match step.arg(arg) {
        Some(Expr::List(items)) => items
            .first()
            .filter(|e| !e.is_secret())
            .and_then(Expr::known_text),
        _ => None,
    }
}

/// Every program `step` starts: (program, need, what salvage does without it).
pub fn step_programs(step: &PlanStep) -> Vec<(String, Need, String)> {
    let fails = |what: &str| format!("step `{}` fails: {what}", step.id);
    let required = |p: &str, without: String| vec![(p.to_string(), Need::Required, without)];
    let mut v = match step.op_name() {
        "exec" => first_word(step, "argv")
            .map(|p| required(&p, fails("nothing else runs it")))
            .unwrap_or_default(),
        "pipe" => first_word(step, "into")
            .map(|p| required(&p, fails("nothing else runs it")))
            .unwrap_or_default(),
        "synth" => required(
            "mkfs.ext4",
            fails("the synthetic disk's filesystems are made by mkfs.ext4"),
        ),
        "health" => vec![(
            "smartctl".to_string(),
            Need::Optional,
            "the step succeeds with available = false and passed = false (an assert on it stops the run); salvage does not read SMART itself".to_string(),
        )],
        "snapshot" => match known_text(step, "backend").as_deref() {
            Some("lvm") => {
                let mut v = required("lvcreate", fails("no LVM snapshot is made"));
                v.extend(required(
                    "lvremove",
                    "the snapshot cannot be removed at cleanup (lvremove -f by hand)".to_string(),
                ));
                v
            }
            Some("btrfs") => required("btrfs", fails("no btrfs snapshot is made")),
            Some("qcow2") => required("qemu-img", fails("no qcow2 overlay is made")),
            _ => Vec::new(),
        },
        "fsck" => match known_text(step, "checker") {
            Some(c) => required(&c, fails("it names this checker")),
            None => CHECKERS
                .iter()
                .map(|(p, fs)| {
                    (
                        p.to_string(),
                        Need::ByFilesystem(fs),
                        format!(
                            "step `{}` fails on {fs}; mount and copy still read ext2/3/4 in userspace and need no checker",
                            step.id
                        ),
                    )
                })
                .collect(),
        },
        _ => Vec::new(),
    };
    if let Some(w) = &step.when {
        for (_, need, _) in &mut v {
            if *need == Need::Required {
                *need = Need::Depends(format!("when {}", w.text));
            }
        }
    }
    v
}

/// Every program the plan will start, grouped by program, in first-use order.
pub fn programs(plan: &Plan) -> Vec<Program> {
    let mut out: Vec<Program> = Vec::new();
    for step in &plan.steps {
        for (name, need, without) in step_programs(step) {
            let known = KNOWN.iter().find(|(p, _, _)| *p == name);
            let u = Use {
                step: step.id.clone(),
                need,
                without,
            };
            match out.iter_mut().find(|p| p.name == name) {
                Some(p) => p.uses.push(u),
                None => out.push(Program {
                    version_flag: known.map(|k| k.1),
                    fix: match known {
                        Some((_, _, pkg)) => format!(
                            "install {pkg} (apt-get install {pkg}), or carry a static {name} and put it on PATH"
                        ),
                        None => format!(
                            "install `{name}`, or write its full path as the step's first argv word"
                        ),
                    },
                    name,
                    uses: vec![u],
                }),
            }
        }
    }
    out
}

impl Program {
    /// The strongest need of any use.
    pub fn need(&self) -> &Need {
        self.uses
            .iter()
            .map(|u| &u.need)
            .min()
            .unwrap_or(&Need::Optional)
    }
}

/// Where `program` would be found the way the executor starts it (`PATH`, or a path).
pub fn locate(program: &str) -> Option<PathBuf> {
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return runnable(&p).then_some(p);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
}

/// How long a version flag may take.
const VERSION_LIMIT: Duration = Duration::from_secs(5);

/// Starts `path flag` (stdin closed), waits up to [`VERSION_LIMIT`], and says whether it ran.
fn try_run(path: &Path, flag: &str) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg(flag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot be started: {e}"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() < VERSION_LIMIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{flag}` gave no answer within {} s",
                    VERSION_LIMIT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        return Err(format!("`{flag}` was killed by signal {sig}"));
    }
    let code = status.code().unwrap_or(-1);
    let first = |s: &str| {
        s.lines()
            .find(|l| !l.trim().is_empty())
            .map(str::trim)
            .map(str::to_string)
    };
    if code == 126 || code == 127 || err.contains("error while loading shared libraries") {
        return Err(format!(
            "`{flag}` failed to load (exit {code}){}",
            first(&err).map(|l| format!(": {l}")).unwrap_or_default()
        ));
    }
    Ok(first(&out)
        .or_else(|| first(&err))
        .unwrap_or_else(|| format!("exit {code}, no output")))
}

/// What this machine says of `program`.
pub fn check(program: &Program) -> Found {
    let Some(path) = locate(&program.name) else {
        return Found::Missing;
    };
    match program.version_flag {
        None => Found::Present(path),
        Some(flag) => match try_run(&path, flag) {
            Ok(line) => Found::Runs(path, line),
            Err(why) => Found::Broken(path, why),
        },
    }
}

/// The preflight of `plan` on this machine.
pub fn preflight(plan: &Plan) -> Preflight {
    let mut seen: BTreeMap<String, Found> = BTreeMap::new();
    let programs = programs(plan)
        .into_iter()
        .map(|p| {
            let found = seen
                .entry(p.name.clone())
                .or_insert_with(|| check(&p))
                .clone();
            (p, found)
        })
        .collect();
    Preflight { programs }
}

impl Preflight {
    /// The programs a step needs unconditionally that are missing or do not run.
    pub fn blocking(&self) -> Vec<&(Program, Found)> {
        self.programs
            .iter()
            .filter(|(p, f)| *p.need() == Need::Required && !f.usable())
            .collect()
    }

    /// The text `salvage plan` prints (empty when the plan starts no program).
    pub fn render_text(&self) -> String {
        if self.programs.is_empty() {
            return String::new();
        }
        let mut out = String::from("programs this plan starts, on this machine:\n");
        let width = self
            .programs
            .iter()
            .map(|(p, _)| p.name.len())
            .max()
            .unwrap_or(0);
        for (p, f) in &self.programs {
            let state = match f {
                Found::Missing => "MISSING (not on PATH)".to_string(),
                Found::Runs(path, line) => format!("{}: runs ({line})", path.display()),
                Found::Broken(path, why) => format!("{}: DOES NOT RUN: {why}", path.display()),
                Found::Present(path) => format!(
                    "{}: found (a runbook's own program: not started by the preflight)",
                    path.display()
                ),
            };
            out.push_str(&format!("  {:<width$}  {state}\n", p.name));
            for u in &p.uses {
                let need = match &u.need {
                    Need::Required => "needed".to_string(),
                    Need::Depends(when) => format!("needed {when}"),
                    Need::ByFilesystem(fs) => format!("needed when the filesystem is {fs}"),
                    Need::Optional => "optional".to_string(),
                };
                out.push_str(&format!(
                    "  {:<width$}    step `{}`: {need}; without it: {}\n",
                    "", u.step, u.without
                ));
            }
            if !f.usable() {
                out.push_str(&format!("  {:<width$}    fix: {}\n", "", p.fix));
            }
        }
        out
    }

    /// The JSON `salvage plan --format json` carries.
    pub fn to_json(&self) -> serde_json::Value {
        let items: Vec<serde_json::Value> = self
            .programs
            .iter()
            .map(|(p, f)| {
                let (found, runs, path, detail) = match f {
                    Found::Missing => (false, Some(false), None, None),
                    Found::Runs(path, l) => (true, Some(true), Some(path), Some(l.clone())),
                    Found::Broken(path, w) => (true, Some(false), Some(path), Some(w.clone())),
                    Found::Present(path) => (true, None, Some(path), None),
                };
                serde_json::json!({
                    "program": p.name,
                    "found": found,
                    "runs": runs,
                    "path": path.map(|p| p.display().to_string()),
                    "detail": detail,
                    "required": *p.need() == Need::Required,
                    "uses": p.uses.iter().map(|u| serde_json::json!({
                        "step": u.step,
                        "need": match &u.need {
                            Need::Required => "required".to_string(),
                            Need::Depends(w) => format!("needed {w}"),
                            Need::ByFilesystem(fs) => format!("needed when the filesystem is {fs}"),
                            Need::Optional => "optional".to_string(),
                        },
                        "without": u.without,
                    })).collect::<Vec<_>>(),
                    "fix": (!f.usable()).then(|| p.fix.clone()),
                })
            })
            .collect();
        serde_json::Value::Array(items)
    }
}
