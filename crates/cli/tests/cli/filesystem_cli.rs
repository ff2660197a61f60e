//! The standalone commands as a person runs them: `salvage copy`, `verify`, `inspect`, `fsck`
//! on a partitioned image, with their exit codes (0 good, 1 problems found, 2 could not run).

use std::process::Command;

use salvage_testkit::filesystem::*;

use crate::common::code_out_err as salvage;

/// A hostile source tree and a disk with one ext4 partition made from it.
fn cli_disk(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let src = dir.join("src");
    hostile_tree(&src, "Cli OS", 1_400_000_000);
    let disk = dir.join("disk.img");
    write_mbr_disk(
        &disk,
        P1_START + P1_SECTORS + 2048,
        &[(P1_START, P1_SECTORS)],
    );
    mkfs_ext4(&disk, &src, P1_START, P1_SECTORS);
    (src, disk)
}

/// Named `filesystem::...` so `cargo test filesystem` selects these tests.
mod filesystem {
    use super::*;

    #[test]
    fn copy_verify_inspect_and_fsck_from_the_command_line() {
        if !salvage_testkit::require_tool(
            "copy_verify_inspect_and_fsck_from_the_command_line",
            &["mkfs.ext4", "e2fsck"],
        ) {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let (src, disk) = cli_disk(tmp.path());
        let before = sha256_file(&disk);
        let disk_arg = disk.to_str().expect("utf-8");
        let out = tmp.path().join("out");
        let out_arg = out.to_str().expect("utf-8");

        let (code, stdout, stderr) = salvage(&["copy", disk_arg, out_arg, "--offset", "2048s"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("manifest:"), "{stdout}");
        assert_safe_copy_of(&src, &out);
        let manifest = tmp.path().join("out.manifest.jsonl");
        let manifest_arg = manifest.to_str().expect("utf-8");

        let (code, stdout, stderr) = salvage(&["verify", manifest_arg]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("VERIFIED"), "{stdout}");

        std::fs::write(out.join("bin/sh"), b"tampered").expect("tamper");
        let (code, stdout, _) = salvage(&["verify", manifest_arg, "--json"]);
        assert_eq!(code, 1, "{stdout}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(report["differed"][0]["path"], "bin/sh");

        let (code, stdout, stderr) = salvage(&["inspect", disk_arg, "--offset", "1MiB", "--json"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(report["newest_root"], 0);
        assert_eq!(report["candidates"][0]["os_name"], "Cli OS 1.0");

        let (code, stdout, stderr) = salvage(&["fsck", disk_arg, "--offset", "1048576", "--json"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(report["clean"], true);
        assert_eq!(report["bits"][0], "no errors");

        // A copy into a directory that is not empty is refused with exit code 2.
        let (code, _, stderr) = salvage(&["copy", disk_arg, out_arg, "--offset", "2048s"]);
        assert_eq!(code, 2);
        assert!(stderr.contains("not empty"), "{stderr}");
        assert_eq!(sha256_file(&disk), before, "the evidence image was written");
        let left = leftovers(tmp.path());
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn fsck_and_inspect_say_what_is_wrong_with_a_forced_type_swap_and_no_offset() {
        if !salvage_testkit::require_tool(
            "fsck_and_inspect_say_what_is_wrong_with_a_forced_type_swap_and_no_offset",
            &["mkfs.ext4", "mkswap", "e2fsck"],
        ) {
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let (_src, disk) = cli_disk(tmp.path());
        let before = sha256_file(&disk);
        let disk_arg = disk.to_str().expect("utf-8");
        // A forced type that contradicts the signature runs no checker.
        let (code, _, stderr) = salvage(&["fsck", disk_arg, "--offset", "2048s", "--type", "xfs"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("given as xfs") && stderr.contains("holds ext4"),
            "{stderr}"
        );
        // --in-place without --mode repair is refused before anything runs.
        let (code, _, stderr) = salvage(&["fsck", disk_arg, "--offset", "2048s", "--in-place"]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--mode repair"), "{stderr}");
        // inspect without --offset reads the partition table.
        let (code, stdout, stderr) = salvage(&["inspect", disk_arg, "--json"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        assert_eq!(
            report["candidates"].as_array().map(Vec::len),
            Some(1),
            "{report}"
        );
        assert!(
            stderr.contains(&format!("{}", P1_START * SECTOR)),
            "{stderr}"
        );
        // Swap says it is swap.
        let swap = tmp.path().join("swap.img");
        std::fs::write(&swap, vec![0u8; 1 << 20]).expect("swap");
        let made = Command::new("mkswap").arg(&swap).output().expect("mkswap");
        assert!(made.status.success());
        let (code, _, stderr) = salvage(&["fsck", swap.to_str().expect("utf-8")]);
        assert_eq!(code, 2);
        assert!(stderr.contains("holds swap"), "{stderr}");
        assert_eq!(sha256_file(&disk), before, "the evidence image was written");
    }
}
