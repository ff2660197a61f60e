//! `salvage run FILE`: executes a runbook; rerunning the same command resumes. And
//! `salvage cleanup --state DIR`: undoes what a crashed run left attached.

use super::{load_and_check, parse_param, print_diagnostics};
use clap::Args;
use salvage_engine::executor::{self, RunOptions, RunStatus, Shared};
use salvage_engine::progress::{Progress, ProgressMode};
use salvage_engine::prompter::TerminalPrompter;
use salvage_engine::session::{Session, open_log, run_session};
use salvage_engine::state::journal::Journal;
use salvage_engine::state::state_dir::StateDir;
use salvage_language::plan::Plan;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::Notify;

/// `salvage run FILE [--param k=v]... [--state DIR] [--log FILE] [--jobs N] [--yes]`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The runbook (with --plan: optional; the saved plan names it).
    #[arg(required_unless_present = "plan")]
    pub file: Option<PathBuf>,
    /// Run exactly this saved plan (`salvage plan ... --out FILE`): refused, naming what
    /// changed, when the runbook, a file it uses, a param, an input's size or identity, or a
    /// step's arguments differ from what was planned and approved.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Refuse to run a saved plan with fewer than N partners' approvals (`salvage approve`).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "plan")]
    pub require_approvals: usize,
    /// A param value, NAME=VALUE; repeat for each param.
    #[arg(long = "param", short = 'p', value_parser = parse_param, value_name = "NAME=VALUE")]
    pub params: Vec<(String, String)>,
    /// A param value read from a file, NAME=PATH (one trailing newline dropped): the way to
    /// give a secret, which --param shows to every process. SALVAGE_PARAM_<NAME> in the
    /// environment works too.
    #[arg(long = "param-file", value_parser = super::param_sources::parse_param_file, value_name = "NAME=PATH")]
    pub param_files: Vec<(String, PathBuf)>,
    /// The state directory: journal (checkpoints), lock, mounts. Rerun with the same one to
    /// resume. Default: .salvage/RUNBOOK-NAME
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The JSON-lines log (hash-chained; `salvage review` reads it). Default: STATE/log.jsonl
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Independent steps run at once, up to this many.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub jobs: usize,
    /// Let steps that modify existing data run (they are listed by `salvage plan`).
    #[arg(long)]
    pub yes: bool,
    /// Approve a manual step by name (logged with who and when); repeat for each.
    #[arg(long, value_name = "STEP")]
    pub approve: Vec<String>,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Go on in a state directory that was run with other param values (the steps they reach
    /// run again). Without it such a run is refused (exit 4), so two incidents never share a
    /// journal and log.
    #[arg(long)]
    pub new_params: bool,
}

/// `salvage cleanup --state DIR`.
#[derive(Debug, Args)]
pub(crate) struct CleanupArgs {
    /// The state directory of the run to clean up after.
    #[arg(long)]
    pub state: PathBuf,
    /// The log to record the cleanup in. Default: STATE/log.jsonl
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// The default state directory of a runbook.
pub(crate) fn default_state(plan: &Plan) -> PathBuf {
    let safe: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(".salvage").join(safe)
}

/// Who runs salvage, for approvals and the log: the account of the real uid (from the
/// password database, not from the environment), and the sudo user's name when run through
/// sudo (`alice via sudo as root`).
pub(crate) fn user() -> String {
    let uid = nix::unistd::getuid();
    let account = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name);
    match std::env::var("SUDO_USER") {
        Ok(sudo) if uid.is_root() && !sudo.is_empty() && sudo != account => {
            format!("{sudo} via sudo as {account}")
        }
        _ => account,
    }
}

/// What `run` starts from: the saved plan of `--plan` (if any), the runbook file, the params.
type Start = (
    Option<salvage_engine::saved_plan::SavedPlan>,
    PathBuf,
    Vec<(String, String)>,
);

/// The saved plan of `--plan`, the runbook it names (or FILE), and the params it fixes.
fn saved_plan(args: &RunArgs) -> Result<Start, i32> {
    let saved = match &args.plan {
        None => None,
        Some(p) => match salvage_engine::saved_plan::SavedPlan::load(p) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("salvage run: {e}");
                return Err(2);
            }
        },
    };
    let file = match (&args.file, &saved) {
        (Some(f), _) => f.clone(),
        (None, Some(s)) => PathBuf::from(s.body["runbook"]["path"].as_str().unwrap_or("")),
        (None, None) => {
            eprintln!("salvage run: give the runbook, or --plan FILE");
            return Err(2);
        }
    };
    let mut params = args.params.clone();
    if let Some(s) = &saved
        && let Some(fixed) = s.body["params"].as_object()
    {
        for (name, v) in fixed {
            if v["given"] == true
                && let Some(text) = v["value"].as_str()
                && !params.iter().any(|(n, _)| n == name)
            {
                params.push((name.clone(), text.to_string()));
            }
        }
    }
    Ok((saved, file, params))
}

/// Refuses a run whose plan is not the saved one, or lacks approvals; else what the log
/// records of the saved plan.
fn check_saved(
    args: &RunArgs,
    saved: &salvage_engine::saved_plan::SavedPlan,
    plan: &Plan,
    file: &Path,
) -> Result<Value, i32> {
    let probed = saved.body["probed"] == true;
    let mut now_plan = plan.clone();
    if probed {
        let _ = salvage_engine::probe::probe(&mut now_plan);
    }
    let now = salvage_engine::saved_plan::body(&now_plan, file, probed);
    let diffs = salvage_engine::saved_plan::differences(&saved.body, &now);
    let shown = args.plan.as_deref().map(Path::display);
    if !diffs.is_empty() {
        eprintln!(
            "salvage run: refused: the plan that would run now is not the saved plan {} ({}):",
            saved.id,
            shown.map(|p| p.to_string()).unwrap_or_default()
        );
        for d in &diffs {
            eprintln!("  {d}");
        }
        eprintln!("make, review and approve a new plan: salvage plan ... --out FILE");
        return Err(5);
    }
    let approvers = saved.approvers();
    if approvers.len() < args.require_approvals {
        eprintln!(
            "salvage run: refused: plan {} has {} approval(s){}; --require-approvals {} wants more: a partner runs salvage approve {} --as NAME",
            saved.id,
            approvers.len(),
            if approvers.is_empty() {
                String::new()
            } else {
                format!(" ({})", approvers.join(", "))
            },
            args.require_approvals,
            shown.map(|p| p.to_string()).unwrap_or_default()
        );
        return Err(5);
    }
    let approvals: Vec<&salvage_engine::saved_plan::PlanApproval> = saved
        .approvals
        .iter()
        .filter(|a| a.plan_id == saved.id)
        .collect();
    Ok(serde_json::json!({
        "id": saved.id,
        "file": shown.map(|p| p.to_string()),
        "created_by": saved.created_by,
        "created_at": saved.created_at,
        "approvals": approvals,
    }))
}

/// Runs `salvage run`.
pub(crate) fn command(args: &RunArgs) -> i32 {
    let (saved, file, given) = match saved_plan(args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let params = match super::param_sources::gather(&file, &given, &args.param_files, true) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("salvage run: {}", e.message);
            return e.exit;
        }
    };
    super::param_sources::forget_env();
    let checked = load_and_check(&file, Some(&params));
    print_diagnostics(&checked.diagnostics);
    if checked.has_errors() {
        return 2;
    }
    let Some(plan) = checked.plans.into_iter().next().filter(|p| !p.is_define) else {
        eprintln!(
            "salvage run: {} holds definitions only; run a runbook that uses them",
            file.display()
        );
        return 2;
    };
    let saved_value = match &saved {
        None => None,
        Some(s) => match check_saved(args, s, &plan, &file) {
            Ok(v) => Some(v),
            Err(code) => return code,
        },
    };
    let manuals: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.kind, salvage_language::plan::StepKind::Manual { .. }))
        .map(|s| s.id.as_str())
        .collect();
    for name in &args.approve {
        if !manuals.contains(&name.as_str()) {
            let hint = if manuals.is_empty() {
                "the runbook has no manual steps".to_string()
            } else {
                format!("its manual steps are {}", manuals.join(", "))
            };
            eprintln!("salvage run: --approve {name}: no manual step of that name; {hint}");
            return 2;
        }
    }
    if let Some(code) = refuse_missing_programs(&plan) {
        return code;
    }
    let state = args.state.clone().unwrap_or_else(|| default_state(&plan));
    let progress = if args.quiet {
        ProgressMode::Quiet
    } else if std::io::stderr().is_terminal() {
        ProgressMode::Bars
    } else {
        ProgressMode::Lines
    };
    let interrupts = crate::signals::Interrupt::interrupts();
    let session = Session {
        file: &file,
        state: state.clone(),
        log: args.log.clone(),
        opts: RunOptions {
            jobs: args.jobs,
            yes: args.yes,
            approve: args.approve.iter().cloned().collect(),
            user: user(),
            saved_plan: saved_value,
        },
        progress,
        prompter: Arc::new(TerminalPrompter::new(interrupts.clone())),
        interrupts,
        new_params: args.new_params,
    };
    match run_session(&plan, session) {
        Ok(f) => {
            summary(&plan, &f.outcome, &f.outputs, &f.log, &state);
            f.outcome.status.exit_code()
        }
        Err(e) => {
            eprintln!("salvage run: {e}");
            4
        }
    }
}

fn summary(
    plan: &Plan,
    o: &executor::RunOutcome,
    outputs: &serde_json::Map<String, Value>,
    log: &Path,
    state: &Path,
) {
    let mut lines = Vec::new();
    let ids: Vec<&String> = if o.order.is_empty() {
        plan.steps.iter().map(|s| &s.id).collect()
    } else {
        o.order.iter().collect()
    };
    let mut found_lost = Vec::new();
    for step in ids {
        let outs = o.outputs.get(step.as_str());
        let damage = outs.and_then(|v| damage_of(plan, step, v));
        if let Some(d) = &damage {
            found_lost.push(d.clone());
        }
        let lost = o.partial.iter().find(|(id, _)| id == step).map(|(_, n)| {
            match outs.and_then(copy_damage_of) {
                Some(line) => {
                    let unread = outs.map_or(0, |v| int(v, "losses"));
                    let unread = if unread > 0 {
                        format!("{unread} entries lost, ")
                    } else {
                        String::new()
                    };
                    format!("PARTIAL: {unread}{line} (see its manifest)")
                }
                None => format!("PARTIAL: {n} entries lost (see its manifest)"),
            }
        });
        let skipped_when = o.skipped_when.iter().find(|(id, _)| id == step);
        let asserted = o.assertion.as_ref().filter(|(id, _)| id == step);
        let word = if let Some((_, why)) = skipped_when {
            format!("skipped ({why})")
        } else if let Some((_, message)) = asserted {
            format!("ASSERT FAILED: {message}")
        } else if o.ok.contains(step) {
            lost.unwrap_or_else(|| match &damage {
                Some(d) => format!("ok: {d}"),
                None => "ok".to_string(),
            })
        } else if o.skipped.contains(step) {
            match lost {
                Some(l) => format!("skipped (done in an earlier run; {l})"),
                None => "skipped (done in an earlier run)".to_string(),
            }
        } else if o.interrupted.contains(step) {
            "INTERRUPTED (stopped halfway; rerun the same command to resume)".to_string()
        } else if let Some((_, why)) = o.failed.iter().find(|(id, _)| id == step) {
            format!("FAILED: {why}")
        } else if o.status == RunStatus::Waiting(step.clone()) {
            "WAITING for approval".to_string()
        } else {
            "not run".to_string()
        };
        lines.push(format!("  {:<24} {word}", step));
    }
    let mut headline = match o.status {
        RunStatus::Partial => {
            let lost: u64 = o.partial.iter().map(|(_, n)| n).sum();
            let damaged: u64 = o
                .partial
                .iter()
                .filter_map(|(id, _)| o.outputs.get(id.as_str()))
                .filter(|v| copy_damage_of(v).is_some())
                .map(|v| int(v, "damaged"))
                .sum();
            let what = if damaged > 0 {
                format!(
                    "{} entries lost, {damaged} files damaged",
                    lost.saturating_sub(damaged)
                )
            } else {
                format!("{lost} entries lost")
            };
            format!(
                "PARTIAL: completed with losses ({what} in {} step(s))",
                o.partial.len()
            )
        }
        _ => o.status.word().to_string(),
    };
    if !found_lost.is_empty() {
        headline.push_str(" — ");
        headline.push_str(&found_lost.join("; "));
    }
    eprintln!("\nrunbook {:?}: {headline}", plan.name);
    for l in lines {
        eprintln!("{l}");
    }
    for (k, v) in outputs {
        let shown = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        println!("{k} = {shown}");
    }
    for f in &o.cleanup_failures {
        eprintln!("salvage: CLEANUP FAILED, something may be left attached: {f}");
    }
    match &o.status {
        RunStatus::Waiting(step) => {
            if let Some(q) = &o.question {
                eprintln!("\n{step} asks: {q}");
            }
            eprintln!(
                "\nwaiting for a person: rerun the same command with --approve {step} (logged with your name) to continue"
            )
        }
        RunStatus::Refused(why) => eprintln!("\nnothing was run: {why}"),
        RunStatus::Failed => {
            eprintln!("\nfix the failure and rerun the same command: finished steps are skipped")
        }
        RunStatus::Interrupted => eprintln!("\ninterrupted; rerun the same command to resume"),
        RunStatus::Partial => eprintln!(
            "\ncompleted with losses (exit code 6): the entries marked unreadable in the manifest were not recovered, and those marked damaged hold zeros where the image was unreadable"
        ),
        RunStatus::AssertFailed(message) => eprintln!(
            "\nstopped by an assert (exit code 7): {message}\nnothing after it was started; cleanup ran"
        ),
        RunStatus::Ok => {}
    }
    eprintln!(
        "log: {}   (salvage review {})\nstate: {}",
        log.display(),
        log.display(),
        state.display()
    );
}

fn int(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// The op of a step (`copy[2]`, an instance of a loop's step, is the op of `copy`).
fn op_of<'a>(plan: &'a Plan, id: &str) -> Option<&'a str> {
    let base = id.split('[').next().unwrap_or(id);
    plan.steps
        .iter()
        .find(|s| s.id == id || s.id == base)
        .and_then(|s| match s.kind {
            salvage_language::plan::StepKind::Op(sig) => Some(sig.name),
            _ => None,
        })
}

/// A `damage` step's answer: "3 files damaged (12.0 KiB lost), 1 directory, no metadata".
fn damage_of(plan: &Plan, id: &str, outputs: &Value) -> Option<String> {
    if op_of(plan, id) != Some("damage") {
        return None;
    }
    outputs
        .get("summary")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A copy's damaged files, when it was given a damage report and marked some.
fn copy_damage_of(outputs: &Value) -> Option<String> {
    let n = int(outputs, "damaged");
    if outputs.get("manifest").is_none() || n == 0 {
        return None;
    }
    let lost = salvage_text::size_text::binary_size(int(outputs, "lost_bytes"), 1);
    Some(match n {
        1 => format!("1 file damaged ({lost} lost)"),
        n => format!("{n} files damaged ({lost} lost)"),
    })
}

/// Runs `salvage cleanup`.
pub(crate) fn cleanup_command(args: &CleanupArgs) -> i32 {
    if !args.state.join("journal.jsonl").exists() {
        eprintln!(
            "salvage cleanup: {} has no journal: not a salvage state directory",
            args.state.display()
        );
        return 2;
    }
    let state = match StateDir::open_waiting(&args.state, std::time::Duration::from_secs(3)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let log_path = args.log.clone().unwrap_or_else(|| state.default_log_path());
    let log = match open_log(&log_path, state.key()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let (journal, _replay) = match Journal::open(&state.journal_path()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("salvage cleanup: {e}");
            return 4;
        }
    };
    let shared = Shared {
        state,
        journal: Arc::new(journal),
        log,
        progress: Arc::new(Progress::new(ProgressMode::Quiet)),
        cancel: Arc::new(AtomicBool::new(false)),
        cancel_notify: Arc::new(Notify::new()),
        prompter: Arc::new(salvage_engine::prompter::NoPrompter),
        // Cleanup installs no handler: Ctrl-C ends it at once, as it always has.
        interrupts: salvage_engine::interrupts::Interrupts::new(),
    };
    let r = executor::recover(&shared);
    for u in &r.undone {
        println!("undone: {u}");
    }
    for g in &r.already_gone {
        println!("already gone: {g}");
    }
    for f in &r.left_alone {
        println!("left alone (used by something else now): {f}");
    }
    for f in &r.failures {
        eprintln!("salvage cleanup: FAILED: {f}");
    }
    if r.undone.is_empty()
        && r.already_gone.is_empty()
        && r.left_alone.is_empty()
        && r.failures.is_empty()
    {
        println!("nothing was left attached: nothing to undo");
    } else {
        println!(
            "{} undone, {} already gone, {} left alone, {} failed",
            r.undone.len(),
            r.already_gone.len(),
            r.left_alone.len(),
            r.failures.len()
        );
    }
    i32::from(!r.failures.is_empty())
}

/// The preflight, before anything is touched (no state directory, no log, no step): a
/// program a step needs unconditionally that is missing or does not run refuses the run
/// (exit 2), naming it, the steps and the fix. One needed only when a `when:` holds is
/// warned about.
fn refuse_missing_programs(plan: &Plan) -> Option<i32> {
    use salvage_engine::preflight::{Found, Need, preflight};
    let pre = preflight(plan);
    for (p, f) in &pre.programs {
        // A checker for a filesystem the run may never meet is listed by `plan`, not here.
        if f.usable() || !matches!(p.need(), Need::Depends(_)) {
            continue;
        }
        let steps: Vec<String> = p.uses.iter().map(|u| format!("`{}`", u.step)).collect();
        let why = match f {
            Found::Broken(_, why) => format!("does not run here ({why})"),
            _ => "is not installed here".to_string(),
        };
        let without = p.uses.first().map(|u| u.without.as_str()).unwrap_or("");
        eprintln!(
            "salvage run: warning: `{}` {why}; {} may need it ({})",
            p.name,
            steps.join(", "),
            without
        );
    }
    let blocking = pre.blocking();
    if blocking.is_empty() {
        return None;
    }
    for (p, f) in blocking {
        let steps: Vec<String> = p
            .uses
            .iter()
            .filter(|u| u.need == Need::Required)
            .map(|u| format!("`{}`", u.step))
            .collect();
        let why = match f {
            Found::Broken(path, why) => {
                format!("is at {} but does not run here: {why}", path.display())
            }
            _ => "is not installed here (not on PATH)".to_string(),
        };
        eprintln!(
            "salvage run: step {} runs `{}`, which {why}\n  fix: {}",
            steps.join(", "),
            p.name,
            p.fix
        );
    }
    eprintln!(
        "salvage run: refused before anything was started or written (`salvage plan` lists every program the runbook needs)"
    );
    Some(2)
}
