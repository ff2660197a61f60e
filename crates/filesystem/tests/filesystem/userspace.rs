//! The unprivileged path: ext4 inside a partitioned image read with the userspace reader,
//! copied out safely (hostile content included), verified, inspected. No root, no loop
//! device, no mount; the evidence image is hashed before and after to prove it was not written.

use std::path::{Path, PathBuf};

use salvage_filesystem::{
    CopyOptions, EntryKind, EntryStatus, ExtTree, FsErrorKind, FsckMode, FsckRequest, HostTree,
    InspectReport, Manifest, PartitionRef, Progress, SourceSpec, SourceTree, copy_tree, fsck,
    inspect_tree, verify,
};
use salvage_testkit::filesystem::*;

const OLD: i64 = 1_347_124_993; // 2012-09-08
const NEW: i64 = 1_600_000_000; // 2020-09-13

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    src: PathBuf,
    disk: PathBuf,
}

/// A disk with two ext4 partitions: p1 from a hostile tree "Old OS" (2012), p2 "New OS" (2020).
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_path_buf();
    let src = root.join("src");
    let src2 = root.join("src2");
    hostile_tree(&src, "Old OS", OLD);
    hostile_tree(&src2, "New OS", NEW);
    let disk = root.join("disk.img");
    write_mbr_disk(
        &disk,
        P2_START + P2_SECTORS + 2048,
        &[(P1_START, P1_SECTORS), (P2_START, P2_SECTORS)],
    );
    mkfs_ext4(&disk, &src, P1_START, P1_SECTORS);
    mkfs_ext4(&disk, &src2, P2_START, P2_SECTORS);
    Fixture {
        _tmp: tmp,
        root,
        src,
        disk,
    }
}

fn p1(disk: &Path) -> PartitionRef {
    PartitionRef::new(disk, P1_START * SECTOR, Some(P1_SECTORS * SECTOR))
}

fn spec(partition: &PartitionRef) -> SourceSpec {
    SourceSpec::ExtImage {
        image: partition.image.clone(),
        offset: partition.offset,
        size: partition.size,
    }
}

/// Named `filesystem::...` so `cargo test filesystem` selects these tests.
mod filesystem {
    use super::*;

    #[test]
    fn userspace_copy_of_a_hostile_image_matches_the_source_by_hash() {
        if !salvage_testkit::require_tool(
            "userspace_copy_of_a_hostile_image_matches_the_source_by_hash",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let before = sha256_file(&f.disk);
        let partition = p1(&f.disk);
        let tree = ExtTree::open(&partition).expect("open ext4 in userspace");
        let out = f.root.join("out");
        let manifest_path = f.root.join("out.manifest.jsonl");
        let report = copy_tree(
            &tree,
            spec(&partition),
            &out,
            &manifest_path,
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect("copy");

        assert_safe_copy_of(&f.src, &out);
        // Symlinks out of the tree were recreated as symlinks, never followed.
        let link = std::fs::symlink_metadata(out.join("home/user/passwd-link")).expect("lstat");
        assert!(link.file_type().is_symlink());
        assert_eq!(report.summary.unreadable, 0, "{:?}", report.problems);
        let specials = if nix::unistd::geteuid().is_root() {
            2
        } else {
            1
        };
        assert_eq!(report.summary.skipped, specials, "{:?}", report.problems);

        let manifest = Manifest::read(&manifest_path).expect("manifest");
        let by_path = |p: &str| {
            manifest
                .entries
                .iter()
                .find(|e| e.rel_path() == Path::new(p))
                .unwrap_or_else(|| panic!("{p:?} in the manifest"))
        };
        let newline = by_path("home/user/newline\nname.txt");
        assert_eq!(newline.status, EntryStatus::Copied);
        assert_eq!(
            newline.blake3.as_deref(),
            Some(
                salvage_testkit::filesystem::blake3_file(
                    &f.src.join("home/user/newline\nname.txt")
                )
                .as_str()
            )
        );
        let su = by_path("bin/su");
        assert_eq!(su.mode, "4755");
        assert!(
            su.note.as_deref().unwrap_or("").contains("setuid"),
            "{su:?}"
        );
        assert_eq!(by_path("var/fifo").status, EntryStatus::Skipped);
        assert_eq!(by_path("var/fifo").kind, EntryKind::Fifo);
        let latin1 = manifest
            .entries
            .iter()
            .find(|e| e.path_hex.is_some())
            .expect("the non-UTF-8 name carries its bytes");
        assert!(out.join(latin1.rel_path()).is_file());
        assert!(manifest.summary.is_some());

        let verified = verify(&manifest_path, None, Some(&tree)).expect("verify");
        assert!(verified.ok(), "{verified:#?}");
        assert_eq!(verified.not_copied.len() as u64, specials);
        assert_eq!(
            sha256_file(&f.disk),
            before,
            "the evidence image was written"
        );
    }

    #[test]
    fn verify_reports_what_differs_what_is_missing_and_what_is_extra() {
        if !salvage_testkit::require_tool(
            "verify_reports_what_differs_what_is_missing_and_what_is_extra",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let partition = p1(&f.disk);
        let tree = ExtTree::open(&partition).expect("open");
        let out = f.root.join("out");
        let manifest_path = f.root.join("m.jsonl");
        copy_tree(
            &tree,
            spec(&partition),
            &out,
            &manifest_path,
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect("copy");
        std::fs::write(out.join("etc/fstab"), b"changed\n").expect("change");
        std::fs::remove_file(out.join("home/user/docs/report.txt")).expect("remove");
        std::fs::write(out.join("etc/planted"), b"x").expect("plant");
        // A directory the manifest does not know is descended into (found by its entry type).
        std::fs::create_dir(out.join("etc/nest")).expect("mkdir");
        std::fs::write(out.join("etc/nest/egg"), b"y").expect("plant");
        std::fs::remove_file(out.join("home/user/passwd-link")).expect("remove link");
        std::os::unix::fs::symlink("/etc/shadow", out.join("home/user/passwd-link"))
            .expect("relink");

        let report = verify(&manifest_path, None, Some(&tree)).expect("verify");
        assert!(!report.ok());
        let paths = |list: &[salvage_filesystem::Finding]| -> Vec<String> {
            list.iter().map(|f| f.path.clone()).collect()
        };
        assert_eq!(
            paths(&report.differed),
            vec!["etc/fstab", "home/user/passwd-link"]
        );
        assert_eq!(paths(&report.missing), vec!["home/user/docs/report.txt"]);
        assert_eq!(
            report.extra,
            vec!["etc/nest", "etc/nest/egg", "etc/planted"]
        );
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
    }

    #[test]
    fn chosen_paths_are_copied_with_their_parents_only() {
        if !salvage_testkit::require_tool(
            "chosen_paths_are_copied_with_their_parents_only",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let partition = p1(&f.disk);
        let tree = ExtTree::open(&partition).expect("open");
        let out = f.root.join("out");
        let options = CopyOptions {
            paths: vec![PathBuf::from("home/user/docs")],
            ..CopyOptions::default()
        };
        copy_tree(
            &tree,
            spec(&partition),
            &out,
            &f.root.join("m.jsonl"),
            &options,
            &mut Progress::hidden(),
        )
        .expect("copy");
        let got: Vec<PathBuf> = walk(&out).into_iter().map(|(rel, _)| rel).collect();
        assert_eq!(
            got,
            [
                "home",
                "home/user",
                "home/user/docs",
                "home/user/docs/report.txt",
                "home/user/docs/up"
            ]
            .iter()
            .map(PathBuf::from)
            .collect::<Vec<_>>()
        );
        // A chosen path through a symlink, or out of the tree, is refused.
        for bad in ["home/user/docs/up/etc", "../etc"] {
            let options = CopyOptions {
                paths: vec![PathBuf::from(bad)],
                ..CopyOptions::default()
            };
            let dest = f.root.join(format!("bad-{}", bad.len()));
            let result = copy_tree(
                &tree,
                spec(&partition),
                &dest,
                &f.root.join(format!("bad-{}.jsonl", bad.len())),
                &options,
                &mut Progress::hidden(),
            );
            assert!(result.is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn copy_refuses_a_destination_that_is_not_empty() {
        if !salvage_testkit::require_tool(
            "copy_refuses_a_destination_that_is_not_empty",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let partition = p1(&f.disk);
        let tree = ExtTree::open(&partition).expect("open");
        let out = f.root.join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("keep-me"), b"precious").expect("write");
        let err = copy_tree(
            &tree,
            spec(&partition),
            &out,
            &f.root.join("m.jsonl"),
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect_err("must refuse");
        assert!(
            matches!(err.kind(), FsErrorKind::DestNotEmpty { .. }),
            "{err}"
        );
        assert_eq!(
            std::fs::read(out.join("keep-me")).expect("read"),
            b"precious"
        );
    }

    #[test]
    fn copy_refuses_a_destination_inside_its_source() {
        let tmp = tempfile::tempdir().expect("tmp");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("a")).expect("mkdir");
        std::fs::write(src.join("a/f"), b"x").expect("write");
        let tree = HostTree::open(&src).expect("tree");
        let err = copy_tree(
            &tree,
            SourceSpec::Directory { path: src.clone() },
            &src.join("a/out"),
            &tmp.path().join("m.jsonl"),
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect_err("a copy into its own source recurses");
        assert!(
            matches!(err.kind(), FsErrorKind::DestInsideSource { .. }),
            "{err}"
        );
        assert!(!src.join("a/out").exists(), "nothing was created");
    }

    #[test]
    fn without_owners_a_copy_stays_readable_by_its_user_and_verifies() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tmp");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("locked")).expect("mkdir");
        std::fs::write(src.join("locked/secret"), b"inside").expect("write");
        std::fs::write(src.join("unread"), b"mode 000").expect("write");
        let perm = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(src.join("unread"), perm(0o000)).expect("chmod");
        std::fs::set_permissions(src.join("locked"), perm(0o000)).expect("chmod");
        let tree = HostTree::open(&src).expect("tree");
        let out = tmp.path().join("out");
        let manifest = tmp.path().join("m.jsonl");
        let result = copy_tree(
            &tree,
            SourceSpec::Directory { path: src.clone() },
            &out,
            &manifest,
            &CopyOptions {
                preserve_owner: Some(false),
                ..CopyOptions::default()
            },
            &mut Progress::hidden(),
        );
        std::fs::set_permissions(src.join("locked"), perm(0o755)).expect("chmod back");
        let report = result.expect("copy");
        let mode = |p: &str| {
            std::fs::metadata(out.join(p))
                .expect("meta")
                .permissions()
                .mode()
        };
        if nix::unistd::geteuid().is_root() {
            // As root the source can be read whatever its mode: everything is copied.
            assert_eq!(report.summary.unreadable, 0, "{:?}", report.problems);
            assert_eq!(
                mode("unread") & 0o777,
                0o600,
                "owner rw kept, nothing else added"
            );
            assert_eq!(mode("locked") & 0o777, 0o700);
            assert_eq!(
                std::fs::read(out.join("locked/secret")).expect("read"),
                b"inside"
            );
            let m = Manifest::read(&manifest).expect("manifest");
            let entry = m
                .entries
                .iter()
                .find(|e| e.path == "unread")
                .expect("entry");
            assert_eq!(entry.mode, "0000", "the manifest keeps the true mode");
        }
        let verified = verify(&manifest, None, None).expect("verify");
        assert!(verified.ok(), "{verified:#?}");
    }

    #[test]
    fn inspect_picks_the_newer_of_two_os_roots() {
        if !salvage_testkit::require_tool("inspect_picks_the_newer_of_two_os_roots", &["mkfs.ext4"])
        {
            return;
        }
        let f = fixture();
        let p2 = PartitionRef::new(&f.disk, P2_START * SECTOR, Some(P2_SECTORS * SECTOR));
        let data_dir = f.root.join("data");
        std::fs::create_dir_all(data_dir.join("photos")).expect("mkdir");
        std::fs::write(data_dir.join("photos/a.jpg"), b"jpeg").expect("write");
        let candidates = vec![
            inspect_tree(&ExtTree::open(&p1(&f.disk)).expect("p1"), "p1", None)
                .expect("inspect p1"),
            inspect_tree(&ExtTree::open(&p2).expect("p2"), "p2", None).expect("inspect p2"),
            inspect_tree(&HostTree::open(&data_dir).expect("data"), "data", None)
                .expect("inspect data"),
        ];
        let report = InspectReport::new(candidates);
        assert_eq!(report.newest_root, Some(1), "{report:#?}");
        let old = &report.candidates[0];
        let new = &report.candidates[1];
        assert!(old.is_os_root && new.is_os_root && !report.candidates[2].is_os_root);
        assert_eq!(old.os_name.as_deref(), Some("Old OS 1.0"));
        assert_eq!(new.os_name.as_deref(), Some("New OS 1.0"));
        assert_eq!(old.newest_mtime.map(|t| t.sec), Some(OLD));
        assert_eq!(new.newest_mtime.map(|t| t.sec), Some(NEW));
        assert_eq!(
            new.newest_mtime_utc.as_deref(),
            Some("2020-09-13T12:26:40Z")
        );
        assert!(old.files >= 8 && old.symlinks == 3, "{old:#?}");
    }

    #[test]
    fn trees_never_follow_symlinks_or_leave_the_root() {
        if !salvage_testkit::require_tool(
            "trees_never_follow_symlinks_or_leave_the_root",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let host = HostTree::open(&f.src).expect("host tree");
        let ext = ExtTree::open(&p1(&f.disk)).expect("ext tree");
        let trees: [&dyn SourceTree; 2] = [&host, &ext];
        for tree in trees {
            assert!(
                tree.open_file(Path::new("home/user/passwd-link")).is_err(),
                "{}",
                tree.describe()
            );
            assert!(tree.open_file(Path::new("../../etc/passwd")).is_err());
            assert!(tree.metadata(Path::new("/etc/passwd")).is_err());
            assert!(tree.open_file(Path::new("var/fifo")).is_err());
            let meta = tree
                .metadata(Path::new("home/user/passwd-link"))
                .expect("lstat link");
            assert_eq!(meta.kind, EntryKind::Symlink);
        }
        // Through a symlinked directory: the host tree refuses outright.
        assert!(host.metadata(Path::new("home/user/docs/up/etc")).is_err());
    }

    #[test]
    fn an_in_place_repair_without_confirmation_is_refused_and_writes_nothing() {
        if !salvage_testkit::require_tool(
            "an_in_place_repair_without_confirmation_is_refused_and_writes_nothing",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let before = sha256_file(&f.disk);
        let request = FsckRequest {
            partition: p1(&f.disk),
            mode: FsckMode::Repair,
            in_place: true,
            confirmed: false,
            work_dir: None,
            cancel: None,
        };
        let err = fsck(&request, &mut |_| panic!("nothing may be attached")).expect_err("refused");
        assert!(
            matches!(err.kind(), FsErrorKind::InPlaceNotConfirmed { .. }),
            "{err}"
        );
        assert_eq!(sha256_file(&f.disk), before);
    }

    #[test]
    fn a_partition_past_the_end_of_the_image_is_an_error_not_a_panic() {
        if !salvage_testkit::require_tool(
            "a_partition_past_the_end_of_the_image_is_an_error_not_a_panic",
            &["mkfs.ext4"],
        ) {
            return;
        }
        let f = fixture();
        let beyond = PartitionRef::new(&f.disk, 1 << 40, Some(1 << 20));
        assert!(ExtTree::open(&beyond).is_err());
        let garbage = PartitionRef::new(&f.disk, 0, Some(4096));
        assert!(ExtTree::open(&garbage).is_err());
        assert!(garbage.resolve_fs_type().is_err());
    }

    #[test]
    fn an_unreadable_file_is_recorded_and_the_copy_goes_on() {
        if !salvage_testkit::require_tool(
            "an_unreadable_file_is_recorded_and_the_copy_goes_on",
            &["mkfs.ext4", "debugfs"],
        ) {
            return;
        }
        let f = fixture();
        // Break the extent header of one file (debugfs reads the image at an offset, no root).
        let target = format!("{}?offset={}", f.disk.display(), P1_START * SECTOR);
        run(
            "debugfs",
            &["-w", "-R", "sif /etc/fstab block[0] 0", &target],
        );
        let partition = p1(&f.disk);
        let tree = ExtTree::open(&partition).expect("open");
        let out = f.root.join("out");
        let manifest_path = f.root.join("m.jsonl");
        let report = copy_tree(
            &tree,
            spec(&partition),
            &out,
            &manifest_path,
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect("the copy goes on");
        assert_eq!(report.summary.unreadable, 1, "{:?}", report.problems);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.starts_with("\"etc/fstab\"")),
            "{:?}",
            report.problems
        );
        assert!(!out.join("etc/fstab").exists(), "no partial file is left");
        assert!(out.join("etc/os-release").is_file(), "the rest was copied");
        let manifest = Manifest::read(&manifest_path).expect("manifest");
        let fstab = manifest
            .entries
            .iter()
            .find(|e| e.rel_path() == Path::new("etc/fstab"))
            .expect("recorded");
        assert_eq!(fstab.status, EntryStatus::Unreadable);
        let verified = verify(&manifest_path, None, None).expect("verify");
        assert!(verified.ok(), "{verified:#?}");
        assert_eq!(verified.not_copied.len(), report.problems.len());
    }
}
