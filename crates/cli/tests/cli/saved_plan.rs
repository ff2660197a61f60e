//! Saved plans: `salvage plan --out FILE` binds the runbook, params, inputs and steps;
//! `salvage run --plan FILE` runs exactly that plan and refuses, naming what changed, when the
//! runbook, a param or an input differs; `salvage approve` records partners' sign-offs, and
//! `--require-approvals N` refuses a plan with fewer; the log and the review carry them.

use std::path::Path;
use std::process::Output;

const RUNBOOK: &str = r#"runbook "saved" {
  param disk: device
  param work: path
  step img = image(source: disk, dest: "${work}/disk.img", map: "${work}/disk.map")
  step table = partitions(source: img)
}
"#;

fn salvage(dir: &Path, args: &[&str]) -> Output {
    crate::common::salvage()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("salvage runs")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn a_saved_plan_runs_only_as_planned_and_approved() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(d.join("saved.salvage"), RUNBOOK).expect("runbook");
    std::fs::write(d.join("src.raw"), salvage_testkit::pattern(1 << 20, 3)).expect("disk");
    let plan = salvage(
        d,
        &[
            "plan",
            "saved.salvage",
            "-p",
            "disk=src.raw",
            "-p",
            "work=out",
            "--out",
            "p.plan",
        ],
    );
    assert!(plan.status.success(), "{}", err(&plan));
    assert!(err(&plan).contains("saved plan "), "{}", err(&plan));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p.plan")).expect("plan file")).expect("json");
    let id = saved["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 16);
    assert_eq!(
        saved["body"]["facts"]["src.raw"]["size"],
        1 << 20,
        "{saved}"
    );

    // Approvals: one wanted, none given; the plan's own author cannot approve it.
    let refused = salvage(
        d,
        &[
            "run",
            "--plan",
            "p.plan",
            "--require-approvals",
            "1",
            "--yes",
        ],
    );
    assert_eq!(refused.status.code(), Some(5), "{}", err(&refused));
    assert!(err(&refused).contains("0 approval(s)"), "{}", err(&refused));
    let me = saved["created_by"]
        .as_str()
        .expect("author")
        .split(" via")
        .next()
        .unwrap_or("")
        .to_string();
    let own = salvage(d, &["approve", "p.plan", "--as", &me]);
    assert_eq!(own.status.code(), Some(2), "{}", err(&own));
    assert!(err(&own).contains("four eyes"));
    let ok = salvage(
        d,
        &[
            "approve",
            "p.plan",
            "--as",
            "bob",
            "--comment",
            "offsets checked",
        ],
    );
    assert!(ok.status.success(), "{}", err(&ok));

    // A changed param: refused, naming it.
    let other = salvage(
        d,
        &["run", "--plan", "p.plan", "-p", "work=elsewhere", "--yes"],
    );
    assert_eq!(other.status.code(), Some(5), "{}", err(&other));
    assert!(err(&other).contains("param work"), "{}", err(&other));

    // A changed runbook: refused, naming it.
    std::fs::write(d.join("saved.salvage"), format!("{RUNBOOK}# edited\n")).expect("edit");
    let edited = salvage(d, &["run", "--plan", "p.plan", "--yes"]);
    assert_eq!(edited.status.code(), Some(5), "{}", err(&edited));
    assert!(
        err(&edited).contains("changed since the plan"),
        "{}",
        err(&edited)
    );
    std::fs::write(d.join("saved.salvage"), RUNBOOK).expect("restore");

    // A changed input: refused, naming its size.
    std::fs::write(d.join("src.raw"), salvage_testkit::pattern(2 << 20, 3)).expect("disk");
    let grown = salvage(d, &["run", "--plan", "p.plan", "--yes"]);
    assert_eq!(grown.status.code(), Some(5), "{}", err(&grown));
    assert!(
        err(&grown).contains("input src.raw size"),
        "{}",
        err(&grown)
    );
    std::fs::write(d.join("src.raw"), salvage_testkit::pattern(1 << 20, 3)).expect("disk");

    // As planned and approved: it runs, and the log and review carry the plan and bob.
    let run = salvage(
        d,
        &[
            "run",
            "--plan",
            "p.plan",
            "--require-approvals",
            "1",
            "--yes",
        ],
    );
    assert!(run.status.success(), "{}", err(&run));
    let log = std::fs::read_to_string(d.join(".salvage/saved/log.jsonl")).expect("log");
    let started: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("first line")).expect("event");
    assert_eq!(started["plan"]["id"], id.as_str());
    assert_eq!(started["plan"]["approvals"][0]["by"], "bob");
    let review = salvage(d, &["review", ".salvage/saved/log.jsonl"]);
    let text = String::from_utf8_lossy(&review.stdout);
    assert!(
        text.contains(&format!("saved plan {id}")) && text.contains("bob at"),
        "{text}"
    );

    // An edited plan file is refused whole.
    let edited_plan = std::fs::read_to_string(d.join("p.plan"))
        .expect("plan")
        .replace("out/disk.img", "out/other.img");
    assert!(
        edited_plan.contains("out/other.img"),
        "the edit changed the plan's body"
    );
    std::fs::write(d.join("p.plan"), edited_plan).expect("tamper");
    let tampered = salvage(d, &["run", "--plan", "p.plan", "--yes"]);
    assert_eq!(tampered.status.code(), Some(2), "{}", err(&tampered));
    assert!(
        err(&tampered).contains("edited after it was saved"),
        "{}",
        err(&tampered)
    );
}
