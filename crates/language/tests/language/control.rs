//! `when:`, `assert`, `for` and expressions: what the checker accepts and refuses, each refusal
//! located at `file:line:col`.

accepts!(
    sizes_compare_with_sizes,
    r#"runbook "x" {
  step img = image(source: "/dev/sdb", dest: "/i")
  assert img.bad_bytes <= 1MiB and not (img.bad_areas > 3) "lost ${img.bad_bytes} bytes"
  step t = partitions(source: img.dest, when: img.bad_bytes < 512 or img.bad_areas == 0)
}"#
);
accepts!(
    durations_compare_with_durations,
    r#"runbook "x" { param wait: duration = 5min
  step e = exec(argv: ["true"], effect: "read", timeout: wait, when: wait >= 30s) }"#
);
accepts!(
    len_and_contains,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  assert len(t.partitions) == t.count "count and list disagree"
  assert contains(["ext4", "xfs"], t.partition[1].fstype) "not ext4 or xfs"
}"#
);
accepts!(
    loop_over_partitions_with_outputs_as_a_list,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions {
    step m = mount(partition: part, when: part.fstype == "ext4")
    step c = copy(from: m.path, to: "/out/p${part.number}")
    assert part.size > 1MiB "partition ${part.number} is tiny"
    for dir in ["home", "etc"] {
      step d = exec(argv: ["echo", dir, m.path], effect: "read")
    }
  }
  step v = verify(manifest: c.manifest[1])
  output manifests = c.manifest
  output n = len(c.manifest)
}"#
);
accepts!(
    loop_over_inspect_candidates,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  step r = inspect(table: t)
  for fs in r.candidates { step c = fsck(partition: fs, mode: "check") }
}"#
);
accepts!(
    when_on_a_definition_call,
    r#"use "stdlib/mount.salvage"
runbook "x" { param go: bool = true
  step m = mount_partition(image: "/img", when: go) }"#
);
rejects!(
    size_with_string,
    r#"runbook "x" {
  step img = image(source: "/dev/sdb", dest: "/i")
  assert img.bad_bytes > "1MiB" "lost"
}"#,
    "test.salvage:3:10",
    "cannot compare a size with a string"
);
rejects!(
    duration_with_size,
    r#"runbook "x" { param wait: duration = 5min
  step e = exec(argv: ["true"], effect: "read", when: wait > 1MiB) }"#,
    "test.salvage:2:55",
    "cannot compare a duration with a size"
);
rejects!(
    loop_over_a_non_list,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for p in t.count { step c = fsck(partition: p, mode: "check") }
}"#,
    "test.salvage:3:12",
    "loops over a list"
);
rejects!(
    when_not_bool,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  step c = fsck(partition: t.partition[1], mode: "check", when: t.count)
}"#,
    "test.salvage:3:65",
    "`when` wants true or false"
);
rejects!(
    assert_without_message,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  assert t.count == 2
}"#,
    "test.salvage:3:3",
    "needs a message"
);
rejects!(
    loop_output_outside_not_a_list,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions { step m = mount(partition: part) }
  step c = copy(from: m.path, to: "/out")
}"#,
    "test.salvage:4:23",
    "outside the loop it is a list"
);
rejects!(
    loop_variable_shadows_a_step,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for t in t.partitions { step m = mount(partition: t) }
}"#,
    "test.salvage:3:7",
    "has the name of a step"
);
rejects!(
    loop_variable_outside_its_loop,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions { step m = mount(partition: part) }
  step c = fsck(partition: part, mode: "check")
}"#,
    "test.salvage:4:28",
    "known only inside its `for"
);
rejects!(
    unknown_function,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  assert lenn(t.partitions) == 3 "three"
}"#,
    "test.salvage:3:10",
    "did you mean `len`"
);

// List params: `list<T>`, looped over, measured, searched.
accepts!(
    loop_over_a_list_param,
    r#"runbook "x" {
  param labels: list<string>
  param dirs: list<path> = ["/home", "/etc"]
  param sizes: list<size> = [1MiB, 4096]
  step t = partitions(source: "/img")
  assert len(labels) >= 1 and len(sizes) == 2 "give a label"
  for part in t.partitions {
    step m = mount(partition: part, when: contains(labels, part.label))
    for dir in dirs { step c = copy(from: "${m.path}${dir}", to: "/out/${part.number}${dir}") }
  }
  for label in labels { step e = exec(argv: ["echo", label], effect: "read") }
}"#
);
accepts!(
    list_of_secrets_param,
    r#"runbook "x" { param keys: list<secret> = []
  for k in keys { step e = exec(argv: ["sh", "-c", "test -n ${k}"], effect: "read") } }"#
);
rejects!(
    unknown_list_element_type,
    r#"runbook "x" {
  param labels: list<strng>
}"#,
    "test.salvage:2:17",
    "unknown type `list<strng>`",
    "did you mean `list<string>`"
);
rejects!(
    list_param_default_of_another_type,
    r#"runbook "x" {
  param counts: list<int> = ["a", "b"]
  for n in counts { step e = exec(argv: ["true"], effect: "read") }
}"#,
    "test.salvage:2:29",
    "list of int"
);
rejects!(
    list_param_element_used_as_a_partition,
    r#"runbook "x" {
  param names: list<string>
  for n in names { step m = mount(partition: n) }
}"#,
    "test.salvage:3:46",
    "partition"
);
rejects!(
    list_param_where_one_value_is_wanted,
    r#"runbook "x" {
  param dirs: list<path>
  step c = copy(from: dirs, to: "/out")
}"#,
    "test.salvage:3:23",
    "list of path"
);
rejects!(
    list_param_compared_with_a_string,
    r#"runbook "x" {
  param names: list<string>
  assert names == "a" "one name"
}"#,
    "test.salvage:3:10",
    "cannot compare"
);

// Sibling loops may reuse a variable name; a loop inside another may not.
accepts!(
    sibling_loops_reuse_a_name,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions { step c = fsck(partition: part, mode: "check") }
  for part in t.partitions { step m = mount(partition: part, after: [c]) }
  step n = exec(argv: ["true"], effect: "read", after: [m])
}"#
);
rejects!(
    nested_loop_hides_its_outer_variable,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions {
    for part in t.partitions { step m = mount(partition: part) }
  }
}"#,
    "test.salvage:4:9",
    "has the name of a loop variable"
);
rejects!(
    reused_variable_outside_both_loops,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  for part in t.partitions { step c = fsck(partition: part, mode: "check") }
  for part in t.partitions { step m = mount(partition: part) }
  step f = fsck(partition: part, mode: "check")
}"#,
    "test.salvage:5:28",
    "known only inside its `for"
);

/// Checks `src` with `--param` values: the plan, or the error messages.
fn plan_with(
    src: &str,
    params: &[(&str, &str)],
) -> Result<salvage_language::plan::Plan, Vec<String>> {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let checked = salvage_language::checker::check(
        salvage_language::source_file::SourceFile::new("test.salvage", src),
        Some(&params),
        &salvage_language::stdlib::EmbeddedLoader,
    );
    if checked.has_errors() {
        return Err(checked.diagnostics.iter().map(|d| d.to_string()).collect());
    }
    Ok(checked.plans.into_iter().next().expect("a plan"))
}

const LIST_PARAMS: &str = r#"runbook "x" {
  param names: list<string>
  param sizes: list<size> = [1MiB]
  param keys: list<secret> = []
  for n in names { step e = exec(argv: ["echo", n], effect: "read") }
  for n in keys { step k = exec(argv: ["sh", "-c", "test -n ${n}"], effect: "read") }
}"#;

#[test]
fn list_params_from_json_and_repeated_values() {
    use salvage_language::plan::Expr;
    let plan = plan_with(
        LIST_PARAMS,
        &[
            ("names", r#"["a", "b c"]"#),
            ("names", "d"),
            ("sizes", r#"[4096, "2MiB"]"#),
            ("keys", "hunter2"),
        ],
    )
    .expect("plans");
    let value = |name: &str| {
        plan.params
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .expect("a value")
    };
    let strs = |v: &[&str]| Expr::List(v.iter().map(|s| Expr::Str(s.to_string())).collect());
    assert_eq!(value("names"), strs(&["a", "b c", "d"]));
    assert_eq!(
        value("sizes"),
        Expr::List(vec![Expr::Size(4096), Expr::Size(2 << 20)])
    );
    // Each secret element is a secret of its own, never shown.
    assert_eq!(
        value("keys"),
        Expr::List(vec![Expr::Secret {
            name: "keys[1]".into(),
            value: Box::new(Expr::Str("hunter2".into())),
        }])
    );
    let text = salvage_language::plan_text::render(&plan);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("(secret keys[1])"), "{text}");
    assert!(text.contains(r#"["a", "b c", "d"]"#), "{text}");
    // The second loop over `n` has an id of its own, and reads as `n`.
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["n", "e", "n#2", "k"]);
    assert!(text.contains("for each n in keys, 1 element"), "{text}");
    assert!(text.contains("test -n <n>"), "{text}");
}

#[test]
fn list_param_values_refused_with_the_fix() {
    let errs = plan_with(LIST_PARAMS, &[("names", r#"["a", "b""#)]).expect_err("refused");
    assert!(
        errs.iter().any(|e| e.contains("--param names=")
            && e.contains("not a JSON array")
            && e.contains("once per element")),
        "{errs:?}"
    );
    let errs = plan_with(
        LIST_PARAMS,
        &[("names", "a"), ("sizes", r#"[4096, "lots"]"#)],
    )
    .expect_err("refused");
    assert!(
        errs.iter()
            .any(|e| e.contains("element 2 is not size") && e.contains("4KiB")),
        "{errs:?}"
    );
    let errs = plan_with(LIST_PARAMS, &[("names", "a"), ("keys", r#"["x", 3, {}]"#)])
        .expect_err("refused");
    assert!(
        errs.iter()
            .any(|e| e.contains("element 3") && !e.contains("\"x\"")),
        "a secret's text is not repeated: {errs:?}"
    );
    let errs = plan_with(LIST_PARAMS, &[]).expect_err("refused");
    assert!(errs.iter().any(|e| e.contains("names")), "{errs:?}");
}

// `when` on a manual step.
accepts!(
    when_on_a_manual_step,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  step c = fsck(partition: t.partition[1], mode: "check")
  manual look "check failed: ${c.exit_code}" after [c] when c.exit_code != 0
  manual ok "all clean" when: c.exit_code == 0
  for part in t.partitions { manual ask "copy ${part.number}?" when part.fstype == "ext4" }
}"#
);
rejects!(
    manual_when_not_bool,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  step c = fsck(partition: t.partition[1], mode: "check")
  manual look "look" when c.exit_code
}"#,
    "test.salvage:4:27",
    "`when` wants true or false"
);
