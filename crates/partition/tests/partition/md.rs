//! md RAID members read without md: each superblock version and member state, written by
//! `salvage_testkit::md_member` and compared with what `mdadm --examine` (the real tool, which
//! reads a member image without the md driver) says of the same image; then arrays assessed
//! from sets of members (clean, failed, stale, rebuilding, missing, not stopped cleanly), and
//! members found inside a partitioned disk image.

use salvage_partition::md::{ArrayState, MdMember, MemberRole, MemberStatus, assess, find_members};
use salvage_testkit::md_member::{MdSpec, ROLE_FAULTY, ROLE_SPARE, md_superblock, write_member};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const DATA_SECTORS: u64 = 8192; // 4 MiB

/// `mdadm --examine IMAGE` as `key -> value` (the `Key : Value` lines).
fn examine(image: &Path) -> BTreeMap<String, String> {
    let out = Command::new("mdadm")
        .arg("--examine")
        .arg(image)
        .output()
        .expect("run mdadm");
    assert!(
        out.status.success(),
        "mdadm --examine {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // v0.90's own disk: `this  NUMBER MAJOR MINOR RAIDDEVICE STATE...` (words after
            // the first four numbers kept, joined by one space).
            if let Some(rest) = l.trim_start().strip_prefix("this ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                return Some(("this".to_string(), words[3..].join(" ")));
            }
            let (k, v) = l.split_once(" : ")?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn member(dir: &Path, name: &str, spec: &MdSpec) -> MdMember {
    let path = dir.join(name);
    write_member(&path, spec.member_size(), spec, None);
    let mut found = find_members(&path).expect("read the member").members;
    assert_eq!(found.len(), 1, "{name}: one member, found {found:?}");
    found.remove(0)
}

/// The slot map mdadm prints as "Array State" (v1): `A` a slot with an active member, `.` none.
fn array_state(roles: &[MemberRole], raid_disks: u32) -> String {
    (0..raid_disks)
        .map(|s| {
            if roles.contains(&MemberRole::Active(s)) {
                'A'
            } else {
                '.'
            }
        })
        .collect()
}

#[test]
fn md_superblocks_read_as_mdadm_examine_reads_them() {
    if !salvage_testkit::require_tool(
        "md_superblocks_read_as_mdadm_examine_reads_them",
        &["mdadm"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut compared = 0;
    for version in ["0.90", "1.0", "1.1", "1.2"] {
        let cases: Vec<(&str, MdSpec)> = vec![
            ("clean", MdSpec::raid1(version, 1, DATA_SECTORS)),
            (
                "faulty-peer",
                MdSpec {
                    roles: vec![0, ROLE_FAULTY],
                    events: 31,
                    dev_number: 0,
                    ..MdSpec::raid1(version, 0, DATA_SECTORS)
                },
            ),
            (
                "spare",
                MdSpec {
                    roles: vec![0, 1, ROLE_SPARE],
                    dev_number: 2,
                    ..MdSpec::raid1(version, 2, DATA_SECTORS)
                },
            ),
            (
                "unclean-raid5",
                MdSpec {
                    level: 5,
                    raid_disks: 3,
                    roles: vec![0, 1, 2],
                    clean: false,
                    events: 0x1_0000_0007,
                    ..MdSpec::raid1(version, 2, DATA_SECTORS)
                },
            ),
        ];
        for (case, spec) in cases {
            let name = format!("{version}-{case}.img");
            let m = member(dir.path(), &name, &spec);
            let sb = &m.superblock;
            let mdadm = examine(&dir.path().join(&name));
            let what = format!("{name}: salvage {sb:?}\nmdadm {mdadm:?}");
            let version_field = mdadm.get("Version").map(String::as_str);
            assert_eq!(
                version_field.map(|v| v.trim_end_matches(".00")),
                Some(version),
                "{what}"
            );
            assert_eq!(mdadm.get("Raid Level"), Some(&sb.level_name()), "{what}");
            assert_eq!(
                mdadm.get("Raid Devices"),
                Some(&sb.raid_disks.to_string()),
                "{what}"
            );
            assert_eq!(mdadm.get("Events"), Some(&sb.events.to_string()), "{what}");
            let uuid_key = if version == "0.90" {
                "UUID"
            } else {
                "Array UUID"
            };
            assert_eq!(mdadm.get(uuid_key), Some(&sb.array_uuid), "{what}");
            let state = mdadm.get("State").expect("State").to_string();
            assert_eq!(
                state.starts_with("clean"),
                sb.clean,
                "{what}: mdadm's State {state}"
            );
            if version != "0.90" {
                // mdadm leaves out a zero data offset (v1.0).
                assert_eq!(
                    mdadm.get("Data Offset").map_or("0 sectors", String::as_str),
                    format!("{} sectors", sb.data_offset / 512),
                    "{what}"
                );
                assert_eq!(
                    mdadm
                        .get("Array State")
                        .map(|s| s.split(' ').next().unwrap_or("")),
                    Some(array_state(&sb.roles, sb.raid_disks).as_str()),
                    "{what}"
                );
                let role = mdadm
                    .get("Device Role")
                    .expect("Device Role")
                    .to_lowercase();
                let want = match sb.role {
                    MemberRole::Active(s) => format!("active device {s}"),
                    MemberRole::Spare => "spare".into(),
                    MemberRole::Faulty => "faulty".into(),
                    other => panic!("{what}: unexpected role {other:?}"),
                };
                assert_eq!(role, want, "{what}");
                // mdadm leaves out a used size equal to the available one.
                let used = mdadm.get("Used Dev Size").or(mdadm.get("Avail Dev Size"));
                assert_eq!(
                    used.and_then(|v| v.split(' ').next()),
                    Some((sb.data_bytes / 512).to_string().as_str()),
                    "{what}"
                );
            } else {
                // `this     1       8       16        1      active sync`
                let this = mdadm.get("this").expect("mdadm's `this` line");
                let want = match sb.role {
                    MemberRole::Active(s) => format!("{s} active sync"),
                    MemberRole::Spare => "spare".into(),
                    MemberRole::Faulty => "faulty".into(),
                    other => panic!("{what}: unexpected role {other:?}"),
                };
                assert!(
                    this.ends_with(&want),
                    "{what}: this = {this:?}, want {want:?}"
                );
                assert_eq!(
                    mdadm.get("Used Dev Size").and_then(|v| v.split(' ').next()),
                    Some((sb.data_bytes / 1024).to_string().as_str()),
                    "{what}"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 16);
}

#[test]
fn md_clean_mirror_is_readable_from_either_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    for version in ["0.90", "1.0", "1.1", "1.2"] {
        let a = member(
            dir.path(),
            "a.img",
            &MdSpec::raid1(version, 0, DATA_SECTORS),
        );
        let b = member(
            dir.path(),
            "b.img",
            &MdSpec::raid1(version, 1, DATA_SECTORS),
        );
        let arrays = assess(&[a.clone(), b.clone()]);
        assert_eq!(arrays.len(), 1);
        let array = &arrays[0];
        assert_eq!(array.state, ArrayState::Clean, "{version}: {array:?}");
        assert!(!array.degraded);
        assert_eq!(array.readable.len(), 2, "{version}");
        let data = array.data().expect("readable");
        assert_eq!(data.source, a.source);
        let want_offset = if matches!(version, "1.1" | "1.2") {
            1 << 20
        } else {
            0
        };
        assert_eq!(data.offset, want_offset, "{version}");
        assert_eq!(data.size, DATA_SECTORS * 512, "{version}");
        assert!(array.notes.is_empty(), "{version}: {:?}", array.notes);
    }
}

#[test]
fn md_failed_member_is_named_and_never_offered_as_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    for version in ["0.90", "1.2"] {
        // The array marked member 1 faulty and went on (events 31); member 1 stopped at 20.
        let good = MdSpec {
            roles: vec![0, ROLE_FAULTY],
            events: 31,
            ..MdSpec::raid1(version, 0, DATA_SECTORS)
        };
        let a = member(dir.path(), "a.img", &good);
        let b = member(
            dir.path(),
            "b.img",
            &MdSpec::raid1(version, 1, DATA_SECTORS),
        );
        // Given failed-first, the fresh one is still the record and the data.
        let array = &assess(&[b.clone(), a.clone()])[0];
        assert_eq!(array.state, ArrayState::Degraded, "{version}: {array:?}");
        assert!(array.degraded);
        assert_eq!(array.events, 31);
        assert_eq!(array.members[0].status, MemberStatus::Failed, "{version}");
        assert_eq!(array.members[1].status, MemberStatus::InSync);
        assert_eq!(array.slots[1].state, "empty");
        assert_eq!(array.readable.len(), 1);
        assert_eq!(array.data().expect("data").source, a.source);
        // Chosen knowingly, the failed member's area is still given.
        assert_eq!(
            array.data_of(&b.source).expect("b").offset,
            b.superblock.data_offset
        );
    }
}

#[test]
fn md_stale_rebuilding_and_missing_members_are_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Stale: the array still lists member 1 but it is 9 events behind.
    let a = member(
        dir.path(),
        "a.img",
        &MdSpec {
            events: 29,
            ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
        },
    );
    let b = member(dir.path(), "b.img", &MdSpec::raid1("1.2", 1, DATA_SECTORS));
    let array = &assess(&[b, a.clone()])[0];
    assert_eq!(
        array.members[0].status,
        MemberStatus::Stale { events_behind: 9 }
    );
    assert_eq!(array.readable.len(), 1);
    assert_eq!(array.data().expect("data").source, a.source);
    assert!(
        array.notes.iter().any(|n| n.contains("9 events behind")),
        "{:?}",
        array.notes
    );
    // Rebuilding: member 1 half done; only member 0 is offered.
    let c = member(
        dir.path(),
        "c.img",
        &MdSpec {
            recovery_offset: Some(DATA_SECTORS / 2),
            ..MdSpec::raid1("1.0", 1, DATA_SECTORS)
        },
    );
    let d = member(dir.path(), "d.img", &MdSpec::raid1("1.0", 0, DATA_SECTORS));
    let array = &assess(&[c, d.clone()])[0];
    assert_eq!(
        array.members[0].status,
        MemberStatus::Rebuilding {
            rebuilt_bytes: DATA_SECTORS * 256
        }
    );
    assert_eq!(array.state, ArrayState::Degraded);
    assert_eq!(array.slots[1].state, "rebuilding");
    assert_eq!(array.readable, vec![array.data_of(&d.source).expect("d")]);
    // Missing: one member of a clean pair given: incomplete, still readable.
    let array = &assess(std::slice::from_ref(&d))[0];
    assert_eq!(array.state, ArrayState::Incomplete);
    assert_eq!(array.slots[1].state, "not given");
    assert_eq!(array.readable.len(), 1);
    // Not stopped cleanly, two mirrors: both named, the first read, the risk said.
    let e = MdSpec {
        clean: false,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let f = MdSpec {
        clean: false,
        ..MdSpec::raid1("1.2", 1, DATA_SECTORS)
    };
    let array = &assess(&[
        member(dir.path(), "e.img", &e),
        member(dir.path(), "f.img", &f),
    ])[0];
    assert!(array.unclean);
    assert_eq!(array.readable.len(), 2);
    assert!(
        array.notes.iter().any(|n| n.contains("may differ")),
        "{:?}",
        array.notes
    );
    // RAID5: no member holds the data alone.
    let g = MdSpec {
        level: 5,
        raid_disks: 3,
        roles: vec![0, 1, 2],
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let array = &assess(&[member(dir.path(), "g.img", &g)])[0];
    assert!(array.readable.is_empty());
    assert_eq!(array.state, ArrayState::Incomplete);
    assert!(
        array
            .data_of(&dir.path().join("g.img").display().to_string())
            .is_none()
    );
    // Two of three RAID5 slots missing: md could not run it.
    assert!(array.notes.iter().any(|n| n.contains("spreads its data")));
}

#[test]
fn md_members_are_found_in_a_partitioned_disk_image() {
    if !salvage_testkit::require_tool(
        "md_members_are_found_in_a_partitioned_disk_image",
        &["sfdisk"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("sda.img");
    std::fs::File::create(&disk)
        .and_then(|f| f.set_len(64 << 20))
        .expect("disk image");
    salvage_testkit::partition::sfdisk(
        &disk,
        "label: dos\nstart=2048, size=20480, type=fd\nstart=22528, size=40960, type=83\n",
    );
    let spec = MdSpec::raid1("1.2", 0, 20480 - 2048);
    let (at, sb) = md_superblock(20480 * 512, &spec);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&disk)
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, &sb, 2048 * 512 + at).expect("write");
    let found = find_members(&disk).expect("read");
    assert_eq!(found.members.len(), 1, "{found:?}");
    let m = &found.members[0];
    assert_eq!(m.partition, Some(1));
    assert_eq!(m.offset, 2048 * 512);
    let array = &assess(&found.members)[0];
    assert_eq!(
        array.data().expect("data").offset,
        2048 * 512 + 2048 * 512,
        "the data area is counted from the disk's start"
    );
}

#[test]
fn md_an_old_superblock_under_a_new_array_loses_to_the_newer_array() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A new v1.2 array (created later, 5 events) over a disk that was a v0.90 member of an
    // old array for years (5000 events, its superblock still at the end).
    let new = MdSpec {
        created: 1_750_000_000,
        events: 5,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let size = new.member_size() + (1 << 20);
    let path = dir.path().join("reused.img");
    write_member(&path, size, &new, None);
    let old = MdSpec {
        uuid: *b"an-old-array-uid",
        events: 5000,
        ..MdSpec::raid1("0.90", 0, DATA_SECTORS)
    };
    let (at, sb) = md_superblock(size, &old);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, &sb, at).expect("write");
    let found = find_members(&path).expect("read");
    assert_eq!(found.members.len(), 1);
    let m = &found.members[0];
    assert_eq!(m.superblock.version, "1.2");
    assert_eq!(m.older.len(), 1);
    assert_eq!(m.older[0].version, "0.90");
    assert!(
        found
            .notes
            .iter()
            .any(|n| n.contains("an older md superblock (v0.90")),
        "{:?}",
        found.notes
    );
}

#[test]
fn md_hostile_superblocks_are_refused_without_panicking() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A checksum-valid v1.2 superblock claiming 4 billion slots.
    let huge = MdSpec {
        raid_disks: u32::MAX,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let path = dir.path().join("huge.img");
    write_member(&path, huge.member_size(), &huge, None);
    assert!(find_members(&path).expect("read").members.is_empty());
    // A data offset near 2^64 inside a partition-like offset: no overflow, not offered.
    let far = MdSpec {
        data_offset: u64::MAX / 256,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let path = dir.path().join("far.img");
    write_member(&path, 8 << 20, &far, None);
    let found = find_members(&path).expect("read");
    let array = &assess(&found.members)[0];
    assert!(array.readable.is_empty(), "{array:?}");
    assert!(
        array.notes.iter().any(|n| n.contains("runs past its end")),
        "{:?}",
        array.notes
    );
    // A 0.90 superblock with a descriptor numbered 2^32-1 and 27 slots.
    let odd = MdSpec {
        raid_disks: 27,
        roles: vec![0],
        ..MdSpec::raid1("0.90", 0, DATA_SECTORS)
    };
    let path = dir.path().join("odd.img");
    let size = odd.member_size();
    write_member(&path, size, &odd, None);
    let (at, _) = md_superblock(size, &odd);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    // Descriptor 5's number field (word 128 + 32 * 5).
    std::os::unix::fs::FileExt::write_all_at(&f, &u32::MAX.to_le_bytes(), at + (128 + 160) * 4)
        .expect("poke");
    let found = find_members(&path).expect("read");
    let array = &assess(&found.members)[0];
    assert_eq!(array.raid_disks, 27);
    assert_eq!(array.state, ArrayState::Degraded);
    // Tiny and empty images: nothing, no panic.
    for size in [0u64, 511, 4096, 8191] {
        let path = dir.path().join(format!("tiny{size}.img"));
        std::fs::write(&path, vec![0u8; size as usize]).expect("write");
        if let Ok(found) = find_members(&path) {
            assert!(found.members.is_empty());
        }
    }
}

#[test]
fn md_bad_blocks_replacements_margins_and_raid10_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A mirror whose first member's bad-block log lists 3 areas: the other is read first.
    let scarred = MdSpec {
        bad_blocks: vec![(100, 8), (5000, 1), (9000, 512)],
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let a = member(dir.path(), "scarred.img", &scarred);
    let b = member(
        dir.path(),
        "whole.img",
        &MdSpec::raid1("1.2", 1, DATA_SECTORS),
    );
    assert_eq!(
        a.superblock
            .bad_block_log
            .as_ref()
            .map(|l| (l.areas, l.sectors)),
        Some((3, 521))
    );
    // mdadm reads the same log from the image.
    if salvage_testkit::find_tool("mdadm").is_some() {
        let out = Command::new("mdadm")
            .arg("--examine-badblocks")
            .arg(dir.path().join("scarred.img"))
            .output()
            .expect("mdadm");
        let text = String::from_utf8_lossy(&out.stdout);
        let listed: Vec<(u64, u64)> = text
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.as_slice() {
                    [sector, "for", count, "sectors"] => {
                        Some((sector.parse().ok()?, count.parse().ok()?))
                    }
                    _ => None,
                }
            })
            .collect();
        assert_eq!(
            listed, scarred.bad_blocks,
            "mdadm --examine-badblocks:\n{text}"
        );
    }
    let array = &assess(&[a.clone(), b.clone()])[0];
    assert_eq!(array.readable.len(), 2);
    assert_eq!(array.data().expect("data").source, b.source);
    assert!(
        array.notes.iter().any(|n| n.contains("521 sectors")),
        "{:?}",
        array.notes
    );

    // One event behind is current (md's and mdadm's margin); two is stale.
    let behind = |n: u64| MdSpec {
        events: 20 - n,
        ..MdSpec::raid1("1.2", 1, DATA_SECTORS)
    };
    let c = member(dir.path(), "c.img", &MdSpec::raid1("1.2", 0, DATA_SECTORS));
    let one = member(dir.path(), "one.img", &behind(1));
    assert_eq!(assess(&[c.clone(), one])[0].state, ArrayState::Clean);
    let two = member(dir.path(), "two.img", &behind(2));
    assert_eq!(
        assess(&[c.clone(), two])[0].members[1].status,
        MemberStatus::Stale { events_behind: 2 }
    );

    // A replacement being built beside slot 1's original: the original is read, the
    // replacement never offered.
    let roles = vec![0, 1, 1];
    let original = MdSpec {
        roles: roles.clone(),
        ..MdSpec::raid1("1.2", 1, DATA_SECTORS)
    };
    let replacement = MdSpec {
        roles: roles.clone(),
        replacement: true,
        ..MdSpec::raid1("1.2", 2, DATA_SECTORS)
    };
    let first = MdSpec {
        roles,
        ..MdSpec::raid1("1.2", 0, DATA_SECTORS)
    };
    let r = member(dir.path(), "r.img", &replacement);
    let o = member(dir.path(), "o.img", &original);
    let f0 = member(dir.path(), "f0.img", &first);
    let array = &assess(&[r.clone(), o.clone(), f0])[0];
    assert_eq!(array.state, ArrayState::Degraded, "{array:?}");
    assert_eq!(array.slots[1].state, "active");
    assert_eq!(array.slots[1].member.as_deref(), Some(o.source.as_str()));
    assert!(array.readable.iter().all(|d| d.source != r.source));

    // RAID10, near=2 over 4 slots: slots 0 and 1 are one copy set.
    let raid10 = |n: u32, roles: Vec<u16>| MdSpec {
        level: 10,
        raid_disks: 4,
        layout: 0x102,
        roles,
        ..MdSpec::raid1("1.2", n, DATA_SECTORS)
    };
    let both_halves_lost = member(
        dir.path(),
        "r10a.img",
        &raid10(2, vec![ROLE_FAULTY, ROLE_FAULTY, 2, 3]),
    );
    assert_eq!(assess(&[both_halves_lost])[0].state, ArrayState::Failed);
    let one_of_each = member(
        dir.path(),
        "r10b.img",
        &raid10(1, vec![ROLE_FAULTY, 1, ROLE_FAULTY, 3]),
    );
    assert_ne!(assess(&[one_of_each])[0].state, ArrayState::Failed);
    // Not stopped cleanly, every slot in sync: mdadm's "active", not "clean".
    let unclean = |n| MdSpec {
        clean: false,
        ..MdSpec::raid1("1.2", n, DATA_SECTORS)
    };
    let u0 = member(dir.path(), "u0.img", &unclean(0));
    let u1 = member(dir.path(), "u1.img", &unclean(1));
    assert_eq!(assess(&[u0, u1])[0].state, ArrayState::Active);
}
