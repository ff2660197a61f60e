//! The root path: loop devices attached by offset through the loop ioctls, fsck through a
//! read-only loop device, read-only mounts, copy and verify from a mount, crash-safe undo.
//! Every test undoes what it attached through a `CleanupStack` (dropped even on panic) and ends
//! by asserting that no loop device is backed by its temp files and nothing is mounted under
//! its temp dir.

use std::path::{Path, PathBuf};

use salvage_filesystem::{
    Attachment, CleanupStack, CopyOptions, FsType, FsckMode, FsckRequest, HostTree, LoopDevice,
    MountRequest, PartitionRef, Progress, SourceSpec, UndoOutcome, copy_tree, fsck, verify,
};
use salvage_testkit::filesystem::*;

const MTIME: i64 = 1_500_000_000;

/// A temp dir plus the cleanup stack; on drop (also on panic) undoes everything, then checks
/// that nothing is left behind.
struct Scene {
    stack: CleanupStack,
    tmp: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        Self {
            stack: CleanupStack::new(),
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Undoes everything and asserts no loop device or mount remains under the temp dir.
    fn finish(mut self) {
        for (attachment, outcome) in self.stack.undo_all() {
            outcome.unwrap_or_else(|e| panic!("undo {}: {e}", attachment.describe()));
        }
        let left = leftovers(self.tmp.path());
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// A disk with an MBR and one ext4 partition made from a hostile tree.
fn disk_with_ext4(scene: &Scene) -> (PathBuf, PathBuf, PartitionRef) {
    let src = scene.path().join("src");
    hostile_tree(&src, "Rooted OS", MTIME);
    let disk = scene.path().join("disk.img");
    write_mbr_disk(
        &disk,
        P1_START + P1_SECTORS + 2048,
        &[(P1_START, P1_SECTORS)],
    );
    mkfs_ext4(&disk, &src, P1_START, P1_SECTORS);
    let partition = PartitionRef::new(&disk, P1_START * SECTOR, Some(P1_SECTORS * SECTOR));
    (src, disk, partition)
}

fn sysfs(device: &Path, file: &str) -> String {
    let name = device
        .file_name()
        .and_then(|n| n.to_str())
        .expect("device name");
    std::fs::read_to_string(Path::new("/sys/block").join(name).join(file))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Named `filesystem::...` so `cargo test filesystem` selects these tests.
mod filesystem {
    use super::*;

    #[test]
    fn a_loop_device_is_read_only_at_its_offset_and_undo_is_idempotent() {
        if !salvage_testkit::require_tool(
            "a_loop_device_is_read_only_at_its_offset_and_undo_is_idempotent",
            &["mkfs.ext4", "losetup"],
        ) {
            return;
        }
        if !salvage_testkit::require_root(
            "a_loop_device_is_read_only_at_its_offset_and_undo_is_idempotent",
        ) {
            return;
        }
        let mut scene = Scene::new();
        let (_src, disk, partition) = disk_with_ext4(&scene);
        let device =
            LoopDevice::attach(&disk, partition.offset, P1_SECTORS * SECTOR, true).expect("attach");
        let attachment = device.attachment();
        scene.stack.push(attachment.clone());
        assert_eq!(sysfs(device.path(), "ro"), "1");
        assert_eq!(
            sysfs(device.path(), "loop/offset"),
            (P1_START * SECTOR).to_string()
        );
        assert_eq!(
            sysfs(device.path(), "loop/sizelimit"),
            (P1_SECTORS * SECTOR).to_string()
        );
        assert_eq!(sysfs(device.path(), "loop/autoclear"), "1");
        assert_eq!(sysfs(device.path(), "size"), P1_SECTORS.to_string());
        // The ext4 magic is where a partition-relative superblock has it.
        let data = std::fs::read(device.path()).expect("read loop device");
        assert_eq!(&data[0x438..0x43A], &[0x53, 0xEF]);
        // The kernel may let a writer open it, but no write gets through.
        if let Ok(file) = std::fs::OpenOptions::new().write(true).open(device.path()) {
            use std::os::unix::fs::FileExt;
            assert!(
                file.write_all_at(&[0u8; 4096], 0).is_err(),
                "a read-only loop device took a write"
            );
        }
        assert!(
            attachment
                .undo_command()
                .starts_with("losetup -d /dev/loop")
        );
        drop(device);
        assert!(matches!(
            attachment.undo(),
            Ok(UndoOutcome::Undone | UndoOutcome::AlreadyGone)
        ));
        assert_eq!(
            attachment.undo().expect("second undo"),
            UndoOutcome::AlreadyGone
        );
        scene.finish();
    }

    #[test]
    fn undo_leaves_a_device_that_is_no_longer_ours_alone() {
        if !salvage_testkit::require_tool(
            "undo_leaves_a_device_that_is_no_longer_ours_alone",
            &["mkfs.ext4"],
        ) {
            return;
        }
        if !salvage_testkit::require_root("undo_leaves_a_device_that_is_no_longer_ours_alone") {
            return;
        }
        let mut scene = Scene::new();
        let (_src, disk, partition) = disk_with_ext4(&scene);
        let device = LoopDevice::attach(&disk, partition.offset, 0, true).expect("attach");
        scene.stack.push(device.attachment());
        // As after a crash: the journal names this device, but for another backing file or offset.
        let stale = [
            Attachment::Loop {
                device: device.path().to_path_buf(),
                backing: scene.path().join("other.img"),
                offset: partition.offset,
                size_limit: 0,
            },
            Attachment::Loop {
                device: device.path().to_path_buf(),
                backing: device.backing().to_path_buf(),
                offset: 0,
                size_limit: 0,
            },
        ];
        for attachment in stale {
            assert!(matches!(attachment.undo(), Ok(UndoOutcome::NotOurs { .. })));
            assert!(
                !sysfs(device.path(), "loop/backing_file").is_empty(),
                "must still be attached"
            );
        }
        // A stale mount record for a directory that is not mounted is already gone.
        let stale_mount = Attachment::Mount {
            target: scene.path().join("never-mounted"),
            source: device.path().to_path_buf(),
            fstype: "ext4".into(),
            created_dir: true,
        };
        assert_eq!(stale_mount.undo().expect("undo"), UndoOutcome::AlreadyGone);
        drop(device);
        scene.finish();
    }

    #[test]
    fn mount_copy_and_verify_through_the_kernel() {
        if !salvage_testkit::require_tool(
            "mount_copy_and_verify_through_the_kernel",
            &["mkfs.ext4"],
        ) {
            return;
        }
        if !salvage_testkit::require_root("mount_copy_and_verify_through_the_kernel") {
            return;
        }
        let mut scene = Scene::new();
        let (src, disk, partition) = disk_with_ext4(&scene);
        let before = sha256_file(&disk);
        let device =
            LoopDevice::attach(&disk, partition.offset, P1_SECTORS * SECTOR, true).expect("attach");
        scene.stack.push(device.attachment());
        let target = scene.path().join("mnt");
        let request = MountRequest::new(device.path(), &target, FsType::Ext4).expect("plan mount");
        assert!(
            request
                .command_line()
                .contains("-o ro,nosuid,nodev,noexec,noload")
        );
        scene.stack.push(request.attachment());
        let mounted = request.mount().expect("mount");
        let line = std::fs::read_to_string("/proc/self/mountinfo")
            .expect("mountinfo")
            .lines()
            .find(|l| l.split(' ').nth(4) == mounted.path().to_str())
            .map(str::to_string)
            .expect("mounted");
        for flag in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(
                line.split(' ')
                    .nth(5)
                    .unwrap_or("")
                    .split(',')
                    .any(|f| f == flag),
                "{flag}: {line}"
            );
        }
        // Our handle may go: the mount keeps the device, autoclear detaches it at unmount.
        drop(device);

        let source = HostTree::open(mounted.path()).expect("host tree");
        let out = scene.path().join("out");
        let manifest = scene.path().join("out.manifest.jsonl");
        let spec = SourceSpec::Directory {
            path: mounted.path().to_path_buf(),
        };
        let report = copy_tree(
            &source,
            spec,
            &out,
            &manifest,
            &CopyOptions::default(),
            &mut Progress::hidden(),
        )
        .expect("copy from the mount");
        assert_safe_copy_of(&src, &out);
        assert_eq!(
            report.summary.skipped, 2,
            "the FIFO and the device node: {:?}",
            report.problems
        );
        assert!(!out.join("var/null-dev").exists());
        let verified = verify(&manifest, None, Some(&source)).expect("verify");
        assert!(verified.ok(), "{verified:#?}");
        drop(source);

        let undo = mounted.attachment().undo().expect("unmount");
        assert_eq!(undo, UndoOutcome::Undone);
        assert!(
            !target.exists(),
            "the mount point salvage created is removed"
        );
        assert_eq!(sha256_file(&disk), before, "the evidence image was written");
        // After unmounting, the copy can still be verified on its own.
        assert!(verify(&manifest, None, None).expect("verify the copy").ok());
        scene.finish();
    }

    #[test]
    fn a_busy_mount_names_its_holder_and_unmounts_once_it_is_gone() {
        if !salvage_testkit::require_tool(
            "a_busy_mount_names_its_holder_and_unmounts_once_it_is_gone",
            &["mkfs.ext4"],
        ) {
            return;
        }
        if !salvage_testkit::require_root(
            "a_busy_mount_names_its_holder_and_unmounts_once_it_is_gone",
        ) {
            return;
        }
        let mut scene = Scene::new();
        let (_src, disk, partition) = disk_with_ext4(&scene);
        let device =
            LoopDevice::attach(&disk, partition.offset, P1_SECTORS * SECTOR, true).expect("attach");
        scene.stack.push(device.attachment());
        let target = scene.path().join("mnt");
        let request = MountRequest::new(device.path(), &target, FsType::Ext4).expect("plan mount");
        scene.stack.push(request.attachment());
        let mounted = request.mount().expect("mount");
        drop(device);
        // A process whose working directory is inside the mount, as a person's shell would be.
        let mut holder = std::process::Command::new("sleep")
            .arg("600")
            .current_dir(mounted.path().join("etc"))
            .spawn()
            .expect("spawn sleep");
        let err = mounted
            .attachment()
            .undo()
            .expect_err("a held mount cannot be unmounted");
        let message = err.to_string();
        holder.kill().expect("kill");
        holder.wait().expect("wait");
        assert!(
            message.contains(&format!("pid {} (sleep): cwd ", holder.id())),
            "{message}"
        );
        assert!(message.contains("still busy"), "{message}");
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        assert!(
            mountinfo
                .lines()
                .any(|l| l.split(' ').nth(4) == mounted.path().to_str()),
            "a busy mount stays mounted (never a lazy unmount)"
        );
        // The holder gone, the same undo goes through.
        assert_eq!(
            mounted.attachment().undo().expect("undo"),
            UndoOutcome::Undone
        );
        assert!(
            !target.exists(),
            "the mount point salvage created is removed"
        );
        scene.finish();
    }

    #[test]
    fn fsck_check_of_a_corrupted_ext4_tells_the_bits_and_writes_nothing() {
        if !salvage_testkit::require_tool(
            "fsck_check_of_a_corrupted_ext4_tells_the_bits_and_writes_nothing",
            &["mkfs.ext4", "e2fsck", "debugfs"],
        ) {
            return;
        }
        if !salvage_testkit::require_root(
            "fsck_check_of_a_corrupted_ext4_tells_the_bits_and_writes_nothing",
        ) {
            return;
        }
        let scene = Scene::new();
        let src = scene.path().join("src");
        hostile_tree(&src, "Broken OS", MTIME);
        // Make the filesystem alone, break it with debugfs, then plant it in a partitioned disk.
        let fs = scene.path().join("fs.img");
        std::fs::File::create(&fs)
            .and_then(|f| f.set_len(P1_SECTORS * SECTOR))
            .expect("fs file");
        mkfs_ext4(&fs, &src, 0, P1_SECTORS);
        run(
            "debugfs",
            &["-w", "-R", "clri /etc/fstab", fs.to_str().expect("utf-8")],
        );
        let disk = scene.path().join("disk.img");
        write_mbr_disk(
            &disk,
            P1_START + P1_SECTORS + 2048,
            &[(P1_START, P1_SECTORS)],
        );
        write_at(
            &disk,
            P1_START * SECTOR,
            &std::fs::read(&fs).expect("read fs"),
        );
        let partition = PartitionRef::new(&disk, P1_START * SECTOR, Some(P1_SECTORS * SECTOR));
        let before = sha256_file(&disk);

        let mut attached = Vec::new();
        let report = fsck(&FsckRequest::check(partition.clone()), &mut |a| {
            attached.push(a.clone())
        })
        .expect("fsck check");
        assert_eq!(report.checker, "e2fsck");
        assert!(report.argv.contains(&"-n".to_string()), "{:?}", report.argv);
        assert_eq!(
            report.exit_code & 4,
            4,
            "errors left uncorrected: {}",
            report.output
        );
        assert!(
            report
                .bits
                .iter()
                .any(|b| b == "4: file system errors left uncorrected"),
            "{:?}",
            report.bits
        );
        assert!(!report.clean && !report.evidence_writable);
        assert_eq!(attached.len(), 1, "one read-only loop device");
        assert_eq!(
            sha256_file(&disk),
            before,
            "check mode wrote to the evidence"
        );

        // Repair on a copy: the copy is fixed, the evidence is not touched.
        let work = scene.path().join("work");
        let request = FsckRequest {
            partition,
            mode: FsckMode::Repair,
            in_place: false,
            confirmed: false,
            work_dir: Some(work.clone()),
            cancel: None,
        };
        let repaired = fsck(&request, &mut |_| {
            panic!("a repair on a copy needs no loop device")
        })
        .expect("repair");
        assert_eq!(
            repaired.exit_code & 1,
            1,
            "errors corrected: {}",
            repaired.output
        );
        assert_eq!(repaired.exit_code & 4, 0, "{}", repaired.output);
        let copy = repaired.repair_copy.expect("copy made");
        assert!(copy.path.starts_with(&work));
        assert_eq!(sha256_file(&disk), before, "repair touched the evidence");
        let recheck = fsck(
            &FsckRequest::check(PartitionRef::new(&copy.path, 0, None)),
            &mut |_| {},
        )
        .expect("recheck the copy");
        assert!(recheck.clean, "{}", recheck.output);
        scene.finish();
    }

    #[test]
    fn xfs_and_btrfs_get_their_own_checker_and_no_replay_mounts() {
        if !salvage_testkit::require_tool(
            "xfs_and_btrfs_get_their_own_checker_and_no_replay_mounts",
            &["mkfs.xfs", "mkfs.btrfs", "xfs_repair", "btrfs"],
        ) {
            return;
        }
        if !salvage_testkit::require_root(
            "xfs_and_btrfs_get_their_own_checker_and_no_replay_mounts",
        ) {
            return;
        }
        let mut scene = Scene::new();
        // 400 MiB partitions (xfs wants at least 300 MiB), sparse.
        let sectors = 400 * 2048;
        let disk = scene.path().join("disk.img");
        write_mbr_disk(
            &disk,
            2048 + 2 * sectors + 2048,
            &[(2048, sectors), (2048 + sectors, sectors)],
        );
        let cases = [
            (FsType::Xfs, 2048u64, "mkfs.xfs", "xfs_repair", "norecovery"),
            (
                FsType::Btrfs,
                2048 + sectors,
                "mkfs.btrfs",
                "btrfs",
                "rescue=nologreplay",
            ),
        ];
        for (fs_type, start, mkfs, checker, option) in cases {
            let offset = start * SECTOR;
            let size = sectors * SECTOR;
            {
                // Make the filesystem through a read-write loop device of our own.
                let rw = LoopDevice::attach(&disk, offset, size, false).expect("attach read-write");
                scene.stack.push(rw.attachment());
                run(mkfs, &["-q", "-f", rw.path().to_str().expect("utf-8")]);
                rw.detach().expect("detach");
            }
            let partition = PartitionRef::new(&disk, offset, Some(size));
            assert_eq!(partition.resolve_fs_type().expect("probe"), fs_type);
            let before = sha256_file(&disk);
            let report = fsck(&FsckRequest::check(partition.clone()), &mut |a| {
                scene.stack.push(a.clone())
            })
            .expect("check");
            assert_eq!(report.checker, checker);
            assert!(
                report.clean,
                "{fs_type}: {:?} {}",
                report.argv, report.output
            );
            assert_eq!(sha256_file(&disk), before);

            let device = LoopDevice::attach(&disk, offset, size, true).expect("attach");
            scene.stack.push(device.attachment());
            let request = MountRequest::new(
                device.path(),
                &scene.path().join(format!("mnt-{fs_type}")),
                fs_type,
            )
            .expect("plan");
            assert!(
                request.command_line().contains(option),
                "{}",
                request.command_line()
            );
            scene.stack.push(request.attachment());
            let mounted = request.mount().expect("mount");
            assert!(HostTree::open(mounted.path()).is_ok());
            assert_eq!(
                mounted.attachment().undo().expect("unmount"),
                UndoOutcome::Undone
            );
            drop(device);
            assert_eq!(
                sha256_file(&disk),
                before,
                "{fs_type}: the read-only mount wrote"
            );
        }
        scene.finish();
    }

    #[test]
    fn a_mount_target_that_is_not_empty_is_refused() {
        if !salvage_testkit::require_root("a_mount_target_that_is_not_empty_is_refused") {
            return;
        }
        let scene = Scene::new();
        let target = scene.path().join("busy");
        std::fs::create_dir(&target).expect("mkdir");
        std::fs::write(target.join("file"), b"x").expect("write");
        assert!(MountRequest::new(Path::new("/dev/loop0"), &target, FsType::Ext4).is_err());
        scene.finish();
    }
}
