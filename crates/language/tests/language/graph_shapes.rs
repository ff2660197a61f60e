//! The graph of every dependency shape (chain, fan-out, fan-in, diamond): one edge per distinct
//! dependency, data edges winning over `after`, and the streamed JSON plan equal to its value.

use salvage_language::checker::check;
use salvage_language::plan::Plan;
use salvage_language::source_file::SourceFile;
use salvage_language::stdlib::EmbeddedLoader;

fn plan_of(src: &str) -> Plan {
    let checked = check(SourceFile::new("t.salvage", src), None, &EmbeddedLoader);
    let errors: Vec<String> = checked.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    checked.plans.into_iter().next().expect("a plan")
}

fn step(i: usize, reads: Option<usize>) -> String {
    match reads {
        Some(r) => format!(
            "  step s{i} = exec(argv: [\"echo\", \"${{s{r}.exit_code}}\"], effect: \"read\")\n"
        ),
        None => format!("  step s{i} = exec(argv: [\"true\"], effect: \"read\")\n"),
    }
}

/// `(edges, data edges)` of the plan's graph.
fn edges(plan: &Plan) -> (usize, usize) {
    let g = salvage_language::graph::build(&plan.steps);
    let data = g.edge_weights().filter(|w| **w).count();
    (g.edge_count(), data)
}

#[test]
fn each_shape_has_one_edge_per_distinct_dependency() {
    let n = 300;
    let chain: String = (0..n).map(|i| step(i, i.checked_sub(1))).collect();
    let fanout: String = (0..n).map(|i| step(i, (i > 0).then_some(0))).collect();
    let mut fanin: String = (0..n - 1).map(|i| step(i, None)).collect();
    let all: Vec<String> = (0..n - 1).map(|i| format!("s{i}")).collect();
    fanin.push_str(&format!(
        "  step s{} = exec(argv: [\"true\"], effect: \"read\", after: [{}])\n",
        n - 1,
        all.join(", ")
    ));
    let mut diamond: String = (0..n - 1).map(|i| step(i, (i > 0).then_some(0))).collect();
    diamond.push_str(&format!(
        "  step s{} = exec(argv: [\"true\"], effect: \"read\", after: [{}])\n",
        n - 1,
        all.join(", ")
    ));
    for (shape, body, want) in [
        ("chain", chain, (n - 1, n - 1)),
        ("fanout", fanout, (n - 1, n - 1)),
        ("fanin", fanin, (n - 1, 0)),
        ("diamond", diamond, (2 * n - 3, n - 2)),
    ] {
        let plan = plan_of(&format!("runbook \"{shape}\" {{\n{body}}}\n"));
        assert_eq!(plan.steps.len(), n, "{shape}");
        assert_eq!(edges(&plan), want, "{shape}");
    }
}

#[test]
fn a_repeated_dependency_is_one_edge_and_data_wins_over_after() {
    let plan = plan_of(
        r#"runbook "x" {
  step a = exec(argv: ["true"], effect: "read")
  step b = exec(argv: ["echo", "${a.exit_code}", "${a.exit_code}"], effect: "read", after: [a, a])
}"#,
    );
    assert_eq!(edges(&plan), (1, 1));
}

#[test]
fn the_streamed_json_plan_is_its_value() {
    let plan = plan_of(
        r#"runbook "x" {
  param p: path = "/img"
  step a = mount(image: p, offset: 32256)
  step b = copy(from: a.path, to: "/out", after: [a])
  output where = b.dest
}"#,
    );
    let value = salvage_language::plan_json::render(&plan);
    let mut streamed = Vec::new();
    let json = salvage_language::plan_json::PlanJson::new(&plan);
    salvage_language::plan_json::write_pretty(&[json], &mut streamed).expect("write");
    let text = String::from_utf8(streamed).expect("utf-8");
    assert_eq!(text, serde_json::to_string_pretty(&value).expect("pretty"));
    assert_eq!(value["steps"][1]["deps"][0], "a");
    assert!(
        value["cleanup_order"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
}
