//! Checker behaviour, one case per line: what the language accepts and what it refuses.

accepts!(
    minimal,
    r#"runbook "x" { step a = exec(argv: ["true"], effect: "read") }"#
);
accepts!(
    forward_reference,
    r#"runbook "x" {
  step b = copy(from: a.path, to: "/out")
  step a = mount(image: "/img", offset: 32256)
}"#
);
accepts!(
    define_in_file,
    r#"
define twice { param p: path  step one = partitions(source: p)  output n = one.count }
runbook "x" { step t = twice(p: "/img")  step e = exec(argv: ["echo", "${t.n}"], effect: "read") }"#
);
accepts!(
    stdlib_use,
    r#"use "stdlib/mount.salvage"
runbook "x" { step m = mount_partition(image: "/img", number: 2)  step c = copy(from: m.path, to: "/o") }"#
);
accepts!(
    after_on_define_call,
    r#"use "stdlib/mount.salvage"
runbook "x" { manual ok "go?"  step m = mount_partition(image: "/img", after: [ok]) }"#
);
accepts!(
    partition_fields,
    r#"runbook "x" {
  step t = partitions(source: "/img")
  step e = exec(argv: ["losetup", "--offset", "${t.partition[2].offset}", "-f", "/img"], effect: "attach")
}"#
);
accepts!(
    sizes_everywhere,
    r#"runbook "x" { step i = image(source: "/dev/sdb", dest: "/i", start: 4KiB, size: 5GB, cluster: 1M) }"#
);

rejects!(
    unknown_op,
    r#"runbook "x" { step a = imgae(source: "/dev/sdb", dest: "/i") }"#,
    "unknown op `imgae`; did you mean `image`?"
);
rejects!(
    unknown_arg,
    r#"runbook "x" { step a = image(source: "/dev/sdb", dest: "/i", retires: 2) }"#,
    "no argument `retires`; did you mean `retries`?"
);
rejects!(
    missing_arg,
    r#"runbook "x" { step a = image(dest: "/i") }"#,
    "needs the argument `source`"
);
rejects!(
    size_for_path,
    r#"runbook "x" { step a = image(source: "/dev/sdb", dest: 4KiB) }"#,
    "`dest` wants a path, but this is a size"
);
rejects!(
    string_for_int,
    r#"runbook "x" { step a = image(source: "/dev/sdb", dest: "/i", retries: "two") }"#,
    "`retries` wants an int"
);
rejects!(
    unknown_ref_suggests,
    r#"runbook "x" { param disk: device  step a = image(source: dsik, dest: "/i") }"#,
    "`dsik` is not a param or step; did you mean `disk`?"
);
rejects!(
    unknown_output_suggests,
    r#"runbook "x" { step a = image(source: "/d", dest: "/i")  step b = partitions(source: a.dset) }"#,
    "did you mean `dest`?"
);
rejects!(
    duplicate_step,
    r#"runbook "x" { step a = exec(argv: ["a"])  step a = exec(argv: ["b"]) }"#,
    "step `a` is declared twice"
);
rejects!(
    duplicate_param,
    r#"runbook "x" { param p: int  param p: int }"#,
    "param `p` is declared twice"
);
rejects!(
    missing_param_type,
    r#"runbook "x" { param p: number }"#,
    "unknown type `number`"
);
rejects!(
    cycle_path,
    r#"runbook "x" {
  step a = exec(argv: ["${b.stdout}"])
  step b = exec(argv: ["${a.stdout}"])
}"#,
    "dependency cycle: a → b → a"
);
rejects!(
    self_cycle,
    r#"runbook "x" { step a = exec(argv: ["${a.stdout}"]) }"#,
    "dependency cycle: a → a"
);
rejects!(
    after_names_nothing,
    r#"runbook "x" { step a = exec(argv: ["a"], after: [nothing]) }"#,
    "`nothing` is not a param or step"
);
rejects!(
    after_not_list,
    r#"runbook "x" { step a = exec(argv: ["a"])  step b = exec(argv: ["b"], after: a) }"#,
    "`after` takes a list"
);
rejects!(
    all_errors_at_once,
    r#"runbook "x" {
  step a = imgae()
  step b = exec(argv: 5)
  step c = copy(from: nowhere, to: "/o")
}"#,
    "unknown op `imgae`",
    "`argv` wants a list of string",
    "`nowhere` is not a param or step"
);
rejects!(
    bad_mode,
    r#"runbook "x" { step f = fsck(image: "/i", mode: "fix") }"#,
    "`mode` cannot be \"fix\""
);
rejects!(
    one_of_none,
    r#"runbook "x" { step f = fsck(mode: "check") }"#,
    "needs one of `partition` or `image`"
);
rejects!(
    index_zero,
    r#"runbook "x" { step t = partitions(source: "/i")  step m = mount(partition: t.partition[0]) }"#,
    "indexes count from 1"
);
rejects!(
    define_missing_arg,
    r#"use "stdlib/mount.salvage"
runbook "x" { step m = mount_partition(number: 2) }"#,
    "`mount_partition` needs the argument `image`"
);
rejects!(
    define_unknown_arg,
    r#"use "stdlib/mount.salvage"
runbook "x" { step m = mount_partition(image: "/i", numbr: 2) }"#,
    "did you mean `number`?"
);
rejects!(
    define_recursion,
    r#"
define a { step x = b() }
define b { step y = a() }
runbook "x" { step z = a() }"#,
    "definition uses itself"
);
rejects!(
    use_missing,
    r#"use "stdlib/nope.salvage"
runbook "x" { step a = exec(argv: ["a"]) }"#,
    "cannot find `stdlib/nope.salvage`"
);
rejects!(
    two_runbooks,
    r#"runbook "x" { } runbook "y" { }"#,
    "a second `runbook` block"
);
rejects!(
    syntax_error_located,
    "runbook \"x\" {\n  step a image()\n}",
    "expected `=`"
);
rejects!(
    list_in_string,
    r#"runbook "x" { step t = partitions(source: "/i")  step e = exec(argv: ["${t.partition}"]) }"#,
    "cannot be put inside a string"
);
rejects!(
    number_too_large,
    r#"runbook "x" { step a = image(source: "/d", dest: "/i", retries: 99999999999999999999) }"#,
    "does not fit"
);
