//! `salvage approve FILE --as NAME [--comment TEXT]`: a partner's sign-off on a saved plan,
//! recorded in the file with who, when and which plan id; `salvage run --plan FILE
//! --require-approvals N` counts them, and the run's log carries them.

use std::path::PathBuf;

use clap::Args;
use salvage_engine::saved_plan::{PlanApproval, SavedPlan};

/// `salvage approve FILE --as NAME`.
#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The saved plan (`salvage plan ... --out FILE`).
    pub file: PathBuf,
    /// Who approves (a name the review will show). Not the person who saved the plan.
    #[arg(long = "as", value_name = "NAME")]
    pub by: String,
    /// What the approver says (logged with the approval).
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

/// The account part of `alice via sudo as root`.
fn person(user: &str) -> &str {
    user.split(" via sudo").next().unwrap_or(user).trim()
}

/// Runs `salvage approve`: 0 recorded, 2 refused (bad file, own plan, empty name).
pub(crate) fn command(args: &ApproveArgs) -> i32 {
    let by = args.by.trim();
    if by.is_empty() {
        eprintln!("salvage approve: --as needs a name");
        return 2;
    }
    let mut plan = match SavedPlan::load(&args.file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("salvage approve: {e}");
            return 2;
        }
    };
    if person(&plan.created_by) == by {
        eprintln!(
            "salvage approve: {by} saved this plan; a partner approves it (four eyes): ask someone else to run salvage approve {} --as THEIR-NAME",
            args.file.display()
        );
        return 2;
    }
    println!(
        "plan {} saved by {} at {}",
        plan.id, plan.created_by, plan.created_at
    );
    println!(
        "runbook {}",
        plan.body["runbook"]["path"].as_str().unwrap_or("?")
    );
    if let Some(steps) = plan.body["steps"].as_array() {
        for s in steps {
            println!(
                "  {:<20} {} ({})",
                s["id"].as_str().unwrap_or(""),
                s["op"].as_str().unwrap_or(""),
                s["effect"].as_str().unwrap_or("")
            );
        }
    }
    if plan.approvers().contains(&by) {
        println!("{by} has already approved plan {}", plan.id);
        return 0;
    }
    plan.approvals.push(PlanApproval {
        plan_id: plan.id.clone(),
        by: by.to_string(),
        at: salvage_engine::event_log::format_time(std::time::SystemTime::now()),
        comment: args.comment.clone(),
    });
    if let Err(e) = plan.save(&args.file) {
        eprintln!("salvage approve: {e}");
        return 2;
    }
    println!(
        "approved plan {} as {by} ({} approval(s) now)",
        plan.id,
        plan.approvers().len()
    );
    0
}
