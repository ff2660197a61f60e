//! What a new user meets first, as a person types it: `plan` warns about what it can see on
//! this machine, `ops NAME` knows the stdlib's definitions, and the command line speaks the
//! runbook's words (`image` defaults its map, `--cluster-size` takes sizes, `rescued_bytes`,
//! `verify --json` carries `ok`). No root and no external program is needed.

use std::path::Path;
use std::process::Output;

use crate::common::output as salvage;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write");
}

#[test]
fn plan_warns_about_missing_inputs_a_dest_on_its_source_and_missing_programs() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().display().to_string();
    let disk = dir.path().join("disk.img");
    std::fs::File::create(&disk)
        .and_then(|f| f.set_len(1 << 20))
        .expect("disk");
    let rb = dir.path().join("w.salvage");
    write(
        &rb,
        &format!(
            r#"runbook "w" {{
  step gone   = image(source: "{d}/no-such-disk", dest: "{d}/a.img")
  step self   = image(source: "{d}/disk.img", dest: "{d}/./disk.img", map: "{d}/self.map")
  step dump   = pipe(from: "{d}/no-such-dump.sql", into: ["cat"], effect: "read")
  step tool   = exec(argv: ["no-such-program-for-salvage"], effect: "read")
  step made   = exec(argv: ["dd", "if=/dev/zero", "of={d}/made.img", "count=1"], effect: "create")
  step reuse  = partitions(source: "{d}/made.img", after: [made])
}}
"#
        ),
    );
    let o = salvage(&["plan", rb.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    // Diagnostics wrap long lines; read them as one.
    let stderr = stderr.replace("\n  │ ", " ");
    assert!(o.status.success(), "warnings only: {stderr}");
    assert!(!stdout.is_empty(), "the plan is still shown");
    assert!(
        stderr.contains("step `gone` reads source") && stderr.contains("no-such-disk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("w.salvage:2:"),
        "the warning names where the step is: {stderr}"
    );
    assert!(
        stderr.contains("step `self` would write onto its own source"),
        "{stderr}"
    );
    assert!(
        stderr.contains("step `dump` reads from") && stderr.contains("no-such-dump.sql"),
        "{stderr}"
    );
    assert!(
        stderr.contains("step `tool` runs `no-such-program-for-salvage`, which is not installed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("step `reuse`"),
        "a file an earlier step makes is no news: {stderr}"
    );
    assert!(!stderr.contains("runs `cat`"), "cat is installed: {stderr}");
}

#[test]
fn a_destination_that_is_literally_its_source_is_a_check_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let rb = dir.path().join("s.salvage");
    write(
        &rb,
        "runbook \"s\" {\n  param disk: device\n  step img = image(source: disk, dest: \"/dev/sdq\")\n}\n",
    );
    let o = salvage(&["plan", rb.to_str().unwrap(), "-p", "disk=/dev/sdq"]);
    let stderr = text(&o).1.replace("\n  │ ", " ");
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`dest` is `source` itself"), "{stderr}");
    assert!(stderr.contains("s.salvage:3:"), "{stderr}");
}

#[test]
fn plan_warns_when_the_image_cannot_fit() {
    let dir = tempfile::tempdir().expect("tmp");
    let big = dir.path().join("big.img");
    let file = std::fs::File::create(&big).expect("create");
    // A sparse source larger than any free space a test machine has (8 TiB, or 1 TiB where
    // the filesystem caps file sizes lower).
    let size = [1u64 << 43, 1 << 40]
        .into_iter()
        .find(|s| file.set_len(*s).is_ok())
        .expect("a sparse file of 1 TiB");
    let stat = nix::sys::statvfs::statvfs(dir.path()).expect("statvfs");
    let free = stat.blocks_available() * stat.fragment_size();
    let rb = dir.path().join("big.salvage");
    let d = dir.path().display();
    write(
        &rb,
        &format!(
            "runbook \"big\" {{\n  step img = image(source: \"{d}/big.img\", dest: \"{d}/out/big-copy.img\")\n}}\n"
        ),
    );
    let o = salvage(&["plan", rb.to_str().unwrap()]);
    let stderr = text(&o).1.replace("\n  │ ", " ");
    assert!(o.status.success(), "{stderr}");
    assert_eq!(
        stderr.contains("step `img` needs"),
        free < size,
        "free {free}, need {size}: {stderr}"
    );
    if free < size {
        assert!(
            stderr.contains("free space or choose another destination"),
            "{stderr}"
        );
    }
}

#[test]
fn ops_lists_stdlib_definitions_by_name() {
    let o = salvage(&["ops", "mount_partition"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("stdlib definition: use \"stdlib/mount.salvage\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("number") && stdout.contains("= 1"),
        "{stdout}"
    );
    assert!(stdout.contains("check (fsck)"), "{stdout}");
    assert!(
        stdout.contains("outputs: path, offset, fsck_exit"),
        "{stdout}"
    );
    let all = text(&salvage(&["ops"])).0;
    for name in [
        "mount_partition",
        "mount_at_offset",
        "rescue_disk",
        "restore_dump",
        "snapshot_backup",
    ] {
        assert!(
            all.contains(&format!("{name}  [stdlib definition")),
            "{name} missing"
        );
    }
    let o = salvage(&["ops", "no_such_thing"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o)
            .1
            .contains("no op or stdlib definition named `no_such_thing`")
    );
}

#[test]
fn image_defaults_its_map_and_takes_cluster_sizes_with_units() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src.img");
    std::fs::write(&src, vec![7u8; 256 * 1024]).expect("src");
    let dest = dir.path().join("dest.img");
    let o = salvage(&[
        "image",
        src.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--cluster-size",
        "16KiB",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let map = dir.path().join("dest.img.map");
    assert!(map.exists(), "the map defaults to DEST.map, as the op's");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(report["rescued_bytes"], 256 * 1024, "{stdout}");
    assert_eq!(std::fs::read(&dest).expect("dest"), vec![7u8; 256 * 1024]);
    let o = salvage(&[
        "image",
        src.to_str().unwrap(),
        dir.path().join("x.img").to_str().unwrap(),
        "--cluster-size",
        "12 parsecs",
    ]);
    assert_eq!(o.status.code(), Some(2), "a bad size is bad input");
    assert!(text(&o).1.contains("unknown multiplier"), "{}", text(&o).1);
}

#[test]
fn the_image_op_outputs_rescued_bytes_and_keeps_rescued() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src.img");
    std::fs::write(&src, vec![1u8; 64 * 1024]).expect("src");
    let rb = dir.path().join("r.salvage");
    let d = dir.path().display();
    write(
        &rb,
        &format!(
            "runbook \"r\" {{\n  step img = image(source: \"{d}/src.img\", dest: \"{d}/out.img\")\n  output a = img.rescued_bytes\n  output b = img.rescued\n}}\n"
        ),
    );
    let state = dir.path().join("state");
    let o = salvage(&[
        "run",
        rb.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "-q",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("a = 65536") && stdout.contains("b = 65536"),
        "{stdout}"
    );
}

#[test]
fn verify_json_says_ok() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir(&src).expect("src");
    std::fs::write(src.join("f"), b"data").expect("f");
    let copy = dir.path().join("copy");
    let o = salvage(&["copy", src.to_str().unwrap(), copy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    let manifest = dir.path().join("copy.manifest.jsonl");
    let o = salvage(&["verify", manifest.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).expect("json");
    assert_eq!(v["ok"], true, "{v}");
    std::fs::write(copy.join("f"), b"DATA").expect("spoil");
    let o = salvage(&["verify", manifest.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).expect("json");
    assert_eq!(v["ok"], false, "{v}");
}
