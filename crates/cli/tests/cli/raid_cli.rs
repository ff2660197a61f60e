//! `salvage raid` and the `raid` op on RAID1 members made without md: a degraded mirror whose
//! fresh member is partition 1 of a disk image and whose failed member (a whole-disk member
//! holding older files) fell behind; files copied out of the fresh member with no md driver
//! (in userspace, and by a runbook through fsck and a read-only loop mount as root); the
//! kernel's view from recorded /proc/mdstat texts; what is not a member.

use crate::common::{code_out_err, salvage, text};
use salvage_testkit::md_member::{MdSpec, ROLE_FAULTY, write_member};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The data area of every member: 16 MiB.
const DATA_SECTORS: u64 = 32768;
/// Where partition 1 starts in the disk image.
const PART_START: u64 = 1 << 20;

struct Mirror {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    /// A disk image whose partition 1 is the fresh member.
    sda: PathBuf,
    /// A whole-disk member the array marked faulty, holding older files.
    sdb: PathBuf,
    /// The files the array holds now.
    tree: PathBuf,
}

/// Writes `files` under `root`.
fn tree(root: &Path, files: &[(&str, Vec<u8>)]) {
    for (name, bytes) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
}

/// The mirror: sda partition 1 fresh (events 31, member 1 marked faulty), sdb stale (events 20).
fn mirror() -> Option<Mirror> {
    if !salvage_testkit::require_tool("raid mirror", &["mke2fs", "sfdisk"]) {
        return None;
    }
    let d = tempfile::tempdir().expect("tmp");
    let dir = d.path().to_path_buf();
    let now = dir.join("now");
    tree(
        &now,
        &[
            ("etc/fstab", b"/dev/md0 / ext4 defaults 0 1\n".to_vec()),
            ("home/ann/thesis.tex", salvage_testkit::pattern(300_000, 7)),
            ("srv/db/pages.bin", salvage_testkit::pattern(2_000_000, 8)),
        ],
    );
    let old = dir.join("old");
    tree(&old, &[("home/ann/thesis.tex", b"an old draft\n".to_vec())]);
    let fs_now = dir.join("now.ext4");
    let fs_old = dir.join("old.ext4");
    salvage_testkit::ext4_image(&now, &fs_now, "16M", &[]);
    salvage_testkit::ext4_image(&old, &fs_old, "16M", &[]);

    let fresh = MdSpec {
        roles: vec![0, ROLE_FAULTY],
        events: 31,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let member = dir.join("part1.img");
    write_member(&member, fresh.member_size(), &fresh, Some(&fs_now));
    let sda = dir.join("sda.img");
    let disk_size = PART_START + fresh.member_size() + (1 << 20);
    std::fs::File::create(&sda)
        .and_then(|f| f.set_len(disk_size))
        .expect("sda");
    salvage_testkit::partition::sfdisk(
        &sda,
        &format!(
            "label: dos\nstart={}, size={}, type=fd\n",
            PART_START / 512,
            fresh.member_size() / 512
        ),
    );
    let bytes = std::fs::read(&member).expect("member");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&sda)
        .expect("open sda");
    f.write_all_at(&bytes, PART_START).expect("write member");
    std::fs::remove_file(&member).expect("rm");

    let stale = MdSpec::raid1("1.2", 1, DATA_SECTORS);
    let sdb = dir.join("sdb.img");
    write_member(&sdb, stale.member_size(), &stale, Some(&fs_old));
    Some(Mirror {
        _dir: d,
        sda,
        sdb,
        tree: now,
        dir,
    })
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// Every file under `want` is in `got` with the same bytes.
fn same_files(want: &Path, got: &Path) {
    let mut stack = vec![want.to_path_buf()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(want).expect("under");
            if p.is_dir() {
                stack.push(p);
            } else {
                let copy = std::fs::read(got.join(rel))
                    .unwrap_or_else(|e| panic!("{} not copied: {e}", rel.display()));
                assert!(
                    copy == std::fs::read(&p).expect("read"),
                    "{} differs",
                    rel.display()
                );
                n += 1;
            }
        }
    }
    assert_eq!(n, 3, "the three files compared");
}

#[test]
fn raid_reads_a_degraded_mirror_and_offers_only_the_fresh_member() {
    let Some(m) = mirror() else { return };
    let nowhere = m.dir.join("no-mdstat");
    let (code, out, err) = code_out_err(&[
        "raid",
        s(&m.sdb),
        s(&m.sda),
        "--json",
        "--mdstat",
        s(&nowhere),
    ]);
    assert_eq!(code, 1, "degraded: exit 1\n{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let array = &j["arrays"][0];
    assert_eq!(array["state"], "degraded");
    assert_eq!(array["level"], "raid1");
    assert_eq!(array["members"][0]["source"], s(&m.sdb));
    assert_eq!(array["members"][0]["status"], "failed");
    assert_eq!(array["members"][1]["status"], "in_sync");
    assert_eq!(array["members"][1]["offset"], PART_START);
    let data = &j["data"][0];
    assert_eq!(data["source"], s(&m.sda));
    assert_eq!(data["offset"], PART_START + (1 << 20));
    assert_eq!(data["size"], DATA_SECTORS * 512);
    assert_eq!(data["fstype"], "ext4");
    assert!(j["mdstat"].is_null(), "no mdstat file: null");

    let (code, text, _) = code_out_err(&["raid", s(&m.sdb), s(&m.sda), "--mdstat", s(&nowhere)]);
    assert_eq!(code, 1);
    assert!(
        text.contains("failed (marked faulty by the array)"),
        "{text}"
    );
    assert!(text.contains("slot 1: empty"), "{text}");
    assert!(text.contains("no md driver here"), "{text}");

    // The fresh member alone: its own record says slot 1 is empty (degraded), whatever
    // members are given.
    let (code, text, _) = code_out_err(&["raid", s(&m.sda), "--mdstat", s(&nowhere)]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("state: degraded, 1 of 2 slots in sync"),
        "{text}"
    );
    // The stale member alone cannot know it fell behind: it reads as one member of a pair
    // whose other member was not given, which is not "well" (exit 1), never clean.
    let (code, text, _) = code_out_err(&["raid", s(&m.sdb), "--mdstat", s(&nowhere)]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("state: incomplete"), "{text}");

    // The data area named is the one to copy: in userspace, no md, no root needed.
    let out_dir = m.dir.join("copy");
    let (code, out, err) = code_out_err(&[
        "copy",
        s(&m.sda),
        s(&out_dir),
        "--offset",
        &data["offset"].to_string(),
        "--size",
        &data["size"].to_string(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    same_files(&m.tree, &out_dir);

    // Without --offset, copy finds the member in the disk's one partition and reads its data
    // area (saying so), not the member's first bytes.
    let plain = m.dir.join("plain-copy");
    let (code, out, err) = code_out_err(&["copy", s(&m.sda), s(&plain)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "an md raid1 member (metadata v1.2, array 73616c76:6167652d:6d642d74:65737421): reading the array's data at byte {}",
            PART_START + (1 << 20)
        )),
        "{err}"
    );
    same_files(&m.tree, &plain);

    // The stale member read knowingly: its older files, and its state said.
    let (code, out, err) = code_out_err(&[
        "raid",
        s(&m.sdb),
        s(&m.sda),
        "--member",
        s(&m.sdb),
        "--json",
        "--mdstat",
        s(&nowhere),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(j["chosen"]["source"], s(&m.sdb));
    assert_eq!(j["chosen"]["offset"], 1 << 20);
}

#[test]
fn raid_partitions_names_the_members_data_offset() {
    let Some(m) = mirror() else { return };
    let (code, out, err) = code_out_err(&["partitions", s(&m.sda)]);
    assert_eq!(code, 0, "{out}{err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains(&format!(
            "partition 1: an md RAID member (raid1, metadata v1.2, array 73616c76:6167652d:6d642d74:65737421): its data starts at byte {}",
            PART_START + (1 << 20)
        )),
        "{text}"
    );
}

#[test]
fn raid_reads_the_kernels_view_from_mdstat() {
    let dir = tempfile::tempdir().expect("tmp");
    let degraded = dir.path().join("mdstat-degraded");
    std::fs::write(
        &degraded,
        "Personalities : [raid1] [raid6] [raid5] [raid4]\n\
         md0 : active raid1 sdb1[1](F) sda1[0]\n      \
         1953382464 blocks super 1.2 [2/1] [U_]\n      \
         bitmap: 2/15 pages [8KB], 65536KB chunk\n\n\
         md1 : active raid5 sde1[3] sdd1[1] sdc1[0]\n      \
         2096128 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]\n      \
         [=>...................]  recovery =  5.3% (55680/1048064) finish=0.3min speed=55680K/sec\n\n\
         unused devices: <none>\n",
    )
    .expect("write");
    let (code, out, err) = code_out_err(&["raid", "--json", "--mdstat", s(&degraded)]);
    assert_eq!(code, 1, "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    let md0 = &j["mdstat"][0];
    assert_eq!(md0["name"], "md0");
    assert_eq!(md0["level"], "raid1");
    assert_eq!(md0["raid_disks"], 2);
    assert_eq!(md0["working"], 1);
    assert_eq!(md0["slot_map"], "U_");
    assert_eq!(md0["members"][0]["device"], "sdb1");
    assert_eq!(md0["members"][0]["failed"], true);
    assert_eq!(md0["metadata"], "1.2");
    let md1 = &j["mdstat"][1];
    assert_eq!(md1["action"], serde_json::json!(["recovery", 5.3]));
    let (_, text, _) = code_out_err(&["raid", "--mdstat", s(&degraded)]);
    assert!(
        text.contains("md0: active raid1, 1 of 2 slots working [U_], failed: sdb1"),
        "{text}"
    );

    let healthy = dir.path().join("mdstat-healthy");
    std::fs::write(
        &healthy,
        "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks [2/2] [UU]\n\nunused devices: <none>\n",
    )
    .expect("write");
    let (code, out, err) = code_out_err(&["raid", "--mdstat", s(&healthy)]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn raid_refuses_what_is_not_a_member() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("plain.img");
    std::fs::write(&plain, vec![0u8; 1 << 20]).expect("write");
    let (code, _, err) = code_out_err(&["raid", s(&plain)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no md superblock"), "{err}");
    assert!(err.contains("plain.img"), "{err}");
    let (code, _, err) = code_out_err(&["raid", s(&dir.path().join("absent.img"))]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("absent.img"), "{err}");
}

const RESCUE: &str = r#"
runbook "raid1-rescue" {
  param a: device
  param b: device
  param work: path
  param mdstat: path

  step array = raid(members: [a, b], mdstat: mdstat)
  assert array.readable "no member holds the array's current data: ${array.summary}"
  step check = fsck(partition: array.partition, mode: "check")
  step mnt = mount(partition: array.partition, after: [check])
  step files = copy(from: mnt.path, to: "${work}/out")
  step checked = verify(manifest: files.manifest)
  output summary = array.summary
  output state = array.state
}
"#;

/// A runbook reads the mirror and copies its files through fsck and a read-only loop mount
/// of the fresh member's data area: no md driver, no mdadm.
#[test]
fn raid_runbook_copies_files_out_of_a_raid1_member_without_md() {
    if !salvage_testkit::require_root("raid_runbook_copies_files_out_of_a_raid1_member_without_md")
        || !salvage_testkit::require_tool(
            "raid_runbook_copies_files_out_of_a_raid1_member_without_md",
            &["e2fsck"],
        )
    {
        return;
    }
    let Some(m) = mirror() else { return };
    let runbook = m.dir.join("rescue.salvage");
    std::fs::write(&runbook, RESCUE).expect("runbook");
    let work = m.dir.join("work");
    let out = salvage()
        .arg("run")
        .arg(&runbook)
        .args(["-p", &format!("a={}", s(&m.sdb))])
        .args(["-p", &format!("b={}", s(&m.sda))])
        .args(["-p", &format!("work={}", s(&work))])
        .args(["-p", &format!("mdstat={}", s(&m.dir.join("no-mdstat")))])
        .args(["--state", s(&m.dir.join("state"))])
        .args(["-j", "1", "-q"])
        .output()
        .expect("run");
    let text = text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("raid1 rescue:0: degraded, 1 of 2 slots in sync"),
        "{text}"
    );
    same_files(&m.tree, &work.join("out"));
    // Nothing is left mounted or attached.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(s(&m.dir)), "left mounted:\n{mounts}");
}

/// `plan --probe` runs the raid step (it only reads) so the reviewer sees which member and
/// which bytes the fsck and mount will read.
#[test]
fn raid_plan_probe_shows_the_data_area_the_later_steps_read() {
    let Some(m) = mirror() else { return };
    let runbook = m.dir.join("rescue.salvage");
    std::fs::write(&runbook, RESCUE).expect("runbook");
    let (code, out, err) = code_out_err(&[
        "plan",
        s(&runbook),
        "--probe",
        "-p",
        &format!("a={}", s(&m.sdb)),
        "-p",
        &format!("b={}", s(&m.sda)),
        "-p",
        &format!("work={}", s(&m.dir.join("work"))),
        "-p",
        &format!("mdstat={}", s(&m.dir.join("no-mdstat"))),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("probed array (raid): read only"), "{err}");
    let want = format!(
        "md raid1 data (array 73616c76:6167652d:6d642d74:65737421) in {} (ext4 at byte offset {}, {} bytes)",
        s(&m.sda),
        PART_START + (1 << 20),
        DATA_SECTORS * 512
    );
    assert!(out.contains(&want), "{out}");
}
