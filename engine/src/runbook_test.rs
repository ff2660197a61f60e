//! Runbook tests: a runbook run against a synthetic disk (built by `synth`, no root) with
//! params, then its outcome checked against expectations: the run's status, each step's
//! status, the runbook's outputs, log events, the files recovered (against the hashes of the
//! files the fixture generated), and text the plan must contain.
//!
//! A test is a TOML file, `NAME.test.toml`:
//!
//! ```toml
//! runbook = "../dd-image-offset.salvage"       # relative to this file
//! approve = ["confirm_root"]                   # manual steps approved
//! yes = false                                  # allow modify steps
//! plan_only = false                            # only plan (e.g. LVM without device-mapper)
//!
//! [fixture]                                    # a synthetic disk, made before the run
//! size = "64MiB"
//! partitions = ["32256+40MiB ext3 data"]      # START+SIZE FSTYPE [root|oldroot|data]
//! files = 40
//! bad = ["20MiB+4KiB"]                         # simulated unreadable areas
//!
//! [files]                                      # extra files to create: path = contents
//! "{work}/dump.sql" = "CREATE TABLE t(x);"
//!
//! [params]                                     # {fixture} {fixture_bad} {work} {dir}
//! image = "{fixture}"
//!
//! [expect]
//! status = "ok"
//! steps = { table = "ok", "files[2]" = "skipped" }  # a loop's instances by [n]
//! outputs = { offset = 32256 }
//! log_events = ["cleanup"]
//! log_events_as_root = ["attached"]            # only as root (kernel mounts, loop devices)
//! plan_contains = ["offset 32256"]
//! recovered = { partition = 1, manifest = "{work}/out.manifest.jsonl", under = "home" }
//! absent = ["{work}/out"]                       # paths that must not exist afterwards
//! ```

use crate::executor::RunOptions;
use crate::progress::ProgressMode;
use crate::prompter::NoPrompter;
use crate::runbook_file::load_and_check;
use crate::session::{Session, run_session};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// The runbook under test, relative to the test file.
    pub runbook: String,
    /// Manual steps to approve.
    #[serde(default)]
    pub approve: Vec<String>,
    /// Let modify steps run.
    #[serde(default)]
    pub yes: bool,
    /// Only plan, do not run.
    #[serde(default)]
    pub plan_only: bool,
    /// The synthetic disk.
    pub fixture: Option<Fixture>,
    /// Extra files to create before the run.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Runbook params (placeholders substituted).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// A synthetic disk.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Its size, e.g. "64MiB".
    pub size: String,
    /// `START+SIZE FSTYPE [ROLE]` each.
    pub partitions: Vec<String>,
    /// Data files per partition.
    #[serde(default = "default_files")]
    pub files: u64,
    /// Simulated bad areas, `OFFSET+SIZE`.
    #[serde(default)]
    pub bad: Vec<String>,
    /// Seed of the contents.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_files() -> u64 {
    30
}

fn default_seed() -> u64 {
    1
}

/// Expectations.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// ok, failed, waiting, refused.
    pub status: Option<String>,
    /// Step id → ok, failed, skipped, not_run.
    #[serde(default)]
    pub steps: BTreeMap<String, String>,
    /// Runbook output → value.
    #[serde(default)]
    pub outputs: BTreeMap<String, toml::Value>,
    /// Events that must appear in the log.
    #[serde(default)]
    pub log_events: Vec<String>,
    /// Events that must appear in the log of a run as root (loop devices and mounts; without
    /// root, ext filesystems are read in userspace and nothing is attached).
    #[serde(default)]
    pub log_events_as_root: Vec<String>,
    /// Text the plan must contain.
    #[serde(default)]
    pub plan_contains: Vec<String>,
    /// Paths that must not exist after the run (nothing was copied there).
    #[serde(default)]
    pub absent: Vec<String>,
    /// Files that must have been recovered, by hash, from the fixture.
    pub recovered: Option<Recovered>,
}

/// The fixture's files of one partition must be in a copy's manifest with the same hashes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovered {
    /// The fixture partition whose files are expected.
    pub partition: u64,
    /// The copy's manifest (placeholders substituted).
    pub manifest: String,
    /// Only files under this directory.
    #[serde(default)]
    pub under: String,
}

/// The result of one test: failures, empty when it passed.
pub struct TestResult {
    /// The test's name (the file name without `.test.toml`).
    pub name: String,
    /// Why it failed.
    pub failures: Vec<String>,
    /// How long it took.
    pub seconds: f64,
}

/// Runs one test file.
pub fn run_test(path: &Path) -> TestResult {
    let name = path
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".test.toml")
                .to_string()
        })
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let failures = match run_inner(path) {
        Ok(f) => f,
        Err(e) => vec![e],
    };
    TestResult {
        name,
        failures,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn run_inner(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec: TestSpec = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let tmp = tempdir()?;
    let work = tmp.0.clone();
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("work", work.display().to_string());
    vars.insert("dir", dir.display().to_string());
    if let Some(fx) = &spec.fixture {
        let image = work.join("fixture.img");
        build_fixture(fx, &image, &work)?;
        vars.insert("fixture", image.display().to_string());
        vars.insert("fixture_bad", format!("{}.bad", image.display()));
    }
    let subst = |s: &str| {
        let mut out = s.to_string();
        for (k, v) in &vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    };
    for (p, contents) in &spec.files {
        let p = PathBuf::from(subst(p));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&p, subst(contents)).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let runbook = dir.join(&spec.runbook);
    let params: Vec<(String, String)> = spec
        .params
        .iter()
        .map(|(k, v)| (k.clone(), subst(v)))
        .collect();
    let checked = load_and_check(&runbook, Some(&params));
    if checked.has_errors() {
        let msgs: Vec<String> = checked.diagnostics.iter().map(|d| d.to_string()).collect();
        return Err(format!(
            "{} does not check: {}",
            runbook.display(),
            msgs.join("; ")
        ));
    }
    let plan = checked.plans.into_iter().next().ok_or("no plan")?;
    let mut failures = Vec::new();
    let plan_text = salvage_language::plan_text::render(&plan);
    for want in &spec.expect.plan_contains {
        if !plan_text.contains(&subst(want)) {
            failures.push(format!("the plan does not contain {want:?}"));
        }
    }
    if spec.plan_only {
        return Ok(failures);
    }
    let session = Session {
        file: &runbook,
        state: work.join("state"),
        log: None,
        opts: RunOptions {
            jobs: 2,
            yes: spec.yes,
            approve: spec.approve.iter().cloned().collect(),
            user: "salvage-test".into(),
            saved_plan: None,
        },
        progress: ProgressMode::Quiet,
        prompter: Arc::new(NoPrompter),
        new_params: false,
        interrupts: crate::interrupts::Interrupts::new(),
    };
    let finished = run_session(&plan, session)?;
    let o = &finished.outcome;
    let want_status = spec.expect.status.clone().unwrap_or_else(|| "ok".into());
    if o.status.word() != want_status {
        failures.push(format!(
            "status {} (want {want_status}); failed steps: {:?}",
            o.status.word(),
            o.failed
        ));
    }
    for (step, want) in &spec.expect.steps {
        let got = if o.ok.contains(step) {
            "ok"
        } else if o.skipped.contains(step) || o.skipped_when.iter().any(|(s, _)| s == step) {
            "skipped"
        } else if o.failed.iter().any(|(s, _)| s == step)
            || o.assertion.as_ref().is_some_and(|(s, _)| s == step)
        {
            "failed"
        } else if o.not_run.contains(step) {
            "not_run"
        } else {
            "absent"
        };
        if got != want {
            failures.push(format!("step {step}: {got} (want {want})"));
        }
    }
    for (k, want) in &spec.expect.outputs {
        let want = subst_json(&toml_to_json(want), &subst);
        match finished.outputs.get(k) {
            Some(got) if *got == want => {}
            got => failures.push(format!(
                "output {k}: {} (want {want})",
                got.map_or_else(|| "missing".to_string(), |v| v.to_string())
            )),
        }
    }
    let log = std::fs::read_to_string(&finished.log).unwrap_or_default();
    let as_root = nix::unistd::geteuid().is_root();
    let root_events = spec.expect.log_events_as_root.iter().filter(|_| as_root);
    for ev in spec.expect.log_events.iter().chain(root_events) {
        if !log
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["event"] == *ev.as_str()))
        {
            failures.push(format!("the log has no {ev} event"));
        }
    }
    let verify = crate::event_log::verify(&finished.log);
    if !verify.is_valid() {
        failures.push(format!("the log does not verify: {verify}"));
    }
    for p in &spec.expect.absent {
        let p = subst(p);
        if Path::new(&p).exists() {
            failures.push(format!("{p} exists (want absent)"));
        }
    }
    if let Some(r) = &spec.expect.recovered {
        failures.extend(check_recovered(
            r,
            &subst(&r.manifest),
            &work.join("fixture.img.files.jsonl"),
        ));
    }
    Ok(failures)
}

fn check_recovered(r: &Recovered, manifest: &str, fixture_files: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let Ok(made) = std::fs::read_to_string(fixture_files) else {
        return vec![format!(
            "no fixture file list at {}",
            fixture_files.display()
        )];
    };
    let Ok(copied) = std::fs::read_to_string(manifest) else {
        return vec![format!("no copy manifest at {manifest}")];
    };
    // Path → the sha256 the manifest gives (manifest/1), or none (manifest/2 hashes with
    // blake3: the copy on disk is hashed with sha256 below, against the fixture's).
    let copied: BTreeMap<String, Option<String>> = copied
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["record"] == "entry" && v["status"] == "copied")
        .filter_map(|v| {
            Some((
                v["path"].as_str()?.trim_start_matches('/').to_string(),
                v["sha256"].as_str().map(str::to_string),
            ))
        })
        .collect();
    // The copy's root, from the manifest's header: every expected file is hashed again there,
    // so a copy changed after its manifest was written fails the test.
    let dest = copied_dest(manifest);
    let mut expected = 0;
    for v in made
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        if v["partition"].as_u64() != Some(r.partition) {
            continue;
        }
        let path = v["path"].as_str().unwrap_or("");
        if !path.starts_with(&r.under) {
            continue;
        }
        expected += 1;
        match copied.get(path) {
            Some(None) => {}
            Some(Some(h)) if Some(h.as_str()) == v["sha256"].as_str() => {}
            Some(Some(_)) => failures.push(format!("{path}: recovered with a different hash")),
            None => failures.push(format!("{path}: not recovered")),
        }
        match &dest {
            None => failures.push(format!("{manifest}: no header naming the copy's directory")),
            Some(d) => match sha256_of(&d.join(path)) {
                Ok(h) if Some(h.as_str()) == v["sha256"].as_str() => {}
                Ok(h) => failures.push(format!(
                    "{path}: the recovered file's sha256 is {h}, the fixture's {}",
                    v["sha256"].as_str().unwrap_or("?")
                )),
                Err(e) => failures.push(format!("{path}: cannot read the recovered file: {e}")),
            },
        }
    }
    if expected == 0 {
        failures.push("the fixture has no files to expect (check partition and under)".into());
    }
    failures.truncate(20);
    failures
}

/// The copy's root directory, from a manifest's header line.
fn copied_dest(manifest: &str) -> Option<std::path::PathBuf> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let header: Value = serde_json::from_str(text.lines().next()?).ok()?;
    (header["record"] == "header").then(|| header["dest"].as_str().map(Into::into))?
}

/// The sha256 of a file's contents, in hex.
fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// `subst` applied to every string inside a value (lists of paths, say).
fn subst_json(v: &Value, subst: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(subst(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| subst_json(x, subst)).collect()),
        other => other.clone(),
    }
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
    }
}

/// Builds the fixture by running a one-step runbook through the engine itself.
fn build_fixture(fx: &Fixture, image: &Path, work: &Path) -> Result<(), String> {
    let quote = |s: &str| format!("{s:?}");
    let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let src = format!(
        "runbook \"fixture\" {{\n  step disk = synth(dest: {}, size: {}, partitions: [{}], files: {}, bad: [{}], seed: {})\n}}\n",
        quote(&image.display().to_string()),
        fx.size,
        list(&fx.partitions),
        fx.files,
        list(&fx.bad),
        fx.seed
    );
    let rb = work.join("fixture.salvage");
    std::fs::write(&rb, &src).map_err(|e| format!("{}: {e}", rb.display()))?;
    let checked = load_and_check(&rb, Some(&[]));
    if checked.has_errors() {
        return Err(format!(
            "the fixture does not check: {:?}",
            checked
                .diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
        ));
    }
    let plan = checked.plans.into_iter().next().ok_or("no fixture plan")?;
    let f = run_session(
        &plan,
        Session {
            file: &rb,
            state: work.join("fixture-state"),
            log: None,
            opts: RunOptions {
                jobs: 1,
                yes: false,
                approve: Default::default(),
                user: "salvage-test".into(),
                saved_plan: None,
            },
            progress: ProgressMode::Quiet,
            prompter: Arc::new(NoPrompter),
            new_params: false,
            interrupts: crate::interrupts::Interrupts::new(),
        },
    )?;
    if !f.outcome.failed.is_empty() {
        return Err(format!(
            "building the fixture failed: {:?}",
            f.outcome.failed
        ));
    }
    Ok(())
}

/// A temporary directory removed on drop (after unmounting nothing: runs clean up their own).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir, String> {
    let base = std::env::temp_dir();
    for i in 0..1000u32 {
        let p = base.join(format!("salvage-test-{}-{i}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(TempDir(p));
        }
    }
    Err("cannot create a temporary directory".into())
}
