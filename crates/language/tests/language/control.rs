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
