//! Parser tests: the DESIGN sketch parses, and hostile inputs give errors, never panics.

use salvage_grammar::ast::{Stmt, ValueKind};
use salvage_grammar::{ParseErrorKind, parse};

const SKETCH: &str = r#"
# rescue-failing-root-disk.salvage
runbook "rescue-failing-root-disk" {
  about "Image a failing root disk, pick the real root filesystem, copy it out and verify."

  param disk: device                         # required: --param disk=/dev/sdb
  param work: path = "/srv/rescue"           # default
  param retries: int = 2

  step img   = image(source: disk, dest: "${work}/root.img", map: "${work}/root.map", retries: retries)
  step table = partitions(source: img.dest)
  step roots = inspect(table: table)                     # OS roots, newest mtime per filesystem
  step check = fsck(partition: roots.newest, mode: "check")
  step mnt   = mount(partition: roots.newest, after: [check])
  manual confirm_root "Check ${roots.report} before copying: is this the right root?"
  step files = copy(from: mnt.path, to: "${work}/files", after: [confirm_root])
  step proof = verify(manifest: files.manifest)
}
"#;

#[test]
fn design_sketch_parses() {
    let file = parse(SKETCH).expect("the DESIGN sketch must parse");
    assert_eq!(file.blocks.len(), 1);
    let block = &file.blocks[0];
    assert_eq!(block.name.name, "rescue-failing-root-disk");
    let steps = block
        .body
        .iter()
        .filter(|s| matches!(s, Stmt::Step(_)))
        .count();
    assert_eq!(steps, 7);
    assert!(
        block
            .body
            .iter()
            .any(|s| matches!(s, Stmt::Manual(m) if m.name.name == "confirm_root"))
    );
}

#[test]
fn sizes_and_durations() {
    let src = r#"runbook "x" { step a = exec(argv: ["x"], n: [512, 4KiB, 5G, 5GB, 1_000, 30s, 5min, 100ms, true]) }"#;
    let file = parse(src).expect("parses");
    let Stmt::Step(step) = &file.blocks[0].body[0] else {
        panic!("not a step")
    };
    let ValueKind::List(items) = &step.args[1].value.kind else {
        panic!("not a list")
    };
    let kinds: Vec<_> = items.iter().map(|v| v.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            ValueKind::Int(512),
            ValueKind::Size(4096),
            ValueKind::Size(5 << 30),
            ValueKind::Size(5_000_000_000),
            ValueKind::Int(1000),
            ValueKind::Duration(30_000),
            ValueKind::Duration(300_000),
            ValueKind::Duration(100),
            ValueKind::Bool(true),
        ]
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let src = format!(
        "runbook \"x\" {{ step a = exec(argv: {}) }}",
        "[".repeat(10_000)
    );
    let err = parse(&src).expect_err("must fail");
    assert!(
        matches!(err.kind, ParseErrorKind::TooDeep { .. }),
        "{err:?}"
    );
}

#[test]
fn garbage_gives_an_error_with_a_position() {
    for src in [
        "",
        "}}}",
        "runbook",
        "runbook \"x\" {",
        "step a = b(",
        "\u{0}\u{1}\u{2}",
        "runbook \"x\" { param : }",
    ] {
        let result = parse(src);
        if src.is_empty() {
            assert!(
                result.is_ok(),
                "an empty file is an empty AST; the checker complains"
            );
            continue;
        }
        let err = result.expect_err(src);
        assert!(err.span.start <= src.len(), "{src:?}: {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn missing_equals_names_the_token() {
    let err = parse("runbook \"x\" {\n  step a image()\n}").expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains("`=`"), "{msg}");
    assert!(msg.contains("found `image`"), "{msg}");
}

#[test]
fn long_single_line_is_linear_and_errors() {
    let src = format!("runbook \"x\" {{ about \"{}\" ", "a".repeat(10 << 20));
    let err = parse(&src).expect_err("unclosed brace");
    assert!(
        matches!(err.kind, ParseErrorKind::Unclosed { open: '{' }),
        "{err:?}"
    );
}

#[test]
fn expressions_bind_comparisons_before_not_before_and_before_or() {
    use salvage_grammar::ast::{BinOp, Stmt, ValueKind};
    let src = r#"runbook "x" { assert not a == 1 and b or c "m" }"#;
    let file = salvage_grammar::parse(src).expect("parses");
    let Stmt::Assert(a) = &file.blocks[0].body[0] else {
        panic!("not an assert: {:?}", file.blocks[0].body[0]);
    };
    // ((not (a == 1)) and b) or c
    let ValueKind::Binary {
        op: BinOp::Or,
        left,
        ..
    } = &a.cond.kind
    else {
        panic!("{:?}", a.cond.kind)
    };
    let ValueKind::Binary {
        op: BinOp::And,
        left,
        ..
    } = &left.kind
    else {
        panic!("{:?}", left.kind)
    };
    let ValueKind::Not(inner) = &left.kind else {
        panic!("{:?}", left.kind)
    };
    assert!(matches!(
        inner.kind,
        ValueKind::Binary { op: BinOp::Eq, .. }
    ));
    assert!(a.message.is_some());
}

#[test]
fn for_holds_steps_asserts_and_nested_loops() {
    use salvage_grammar::ast::Stmt;
    let src = r#"runbook "x" {
  for part in t.partitions {
    step m = mount(partition: part, when: part.fstype == "ext4")
    assert part.size > 1MiB "small"
    for d in ["a", "b"] { manual ok "look at ${d}" }
  }
}"#;
    let file = salvage_grammar::parse(src).expect("parses");
    let Stmt::For(f) = &file.blocks[0].body[0] else {
        panic!("not a for")
    };
    assert_eq!(f.var.name, "part");
    assert_eq!(f.body.len(), 3);
    assert!(matches!(f.body[2], Stmt::For(_)));
    // A param inside a loop is not a loop statement: a syntax error on its line.
    let bad = r#"runbook "x" {
  for p in [1, 2] {
    param x: int
  }
}"#;
    let e = salvage_grammar::parse(bad).expect_err("refused");
    assert_eq!(&bad[e.span.start..e.span.start + 5], "param");
}
