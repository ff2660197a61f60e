//! `salvage partitions` errors: they name the file and the fix, and exit 1.

fn salvage(args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = crate::common::code_out_err(args);
    (code, stderr)
}

#[test]
fn partition_cli_missing_file_names_it_and_exits_1() {
    let (code, err) = salvage(&["partitions", "/nonexistent/disk.img"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/disk.img") && err.contains("check the path"),
        "{err}"
    );
}

#[test]
fn partition_cli_bad_sector_size_and_tiny_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("tiny.img");
    std::fs::write(&img, [0u8; 100]).expect("write");
    let path = img.to_str().expect("utf-8 path");
    let (code, err) = salvage(&["partitions", path]);
    assert_eq!(code, 1);
    assert!(err.contains("only 100 bytes"), "{err}");
    std::fs::write(&img, vec![0u8; 4096]).expect("write");
    let (code, err) = salvage(&["partitions", "--sector-size", "1000", path]);
    assert_eq!(code, 1);
    assert!(err.contains("--sector-size 512 or 4096"), "{err}");
    let (code, _) = salvage(&["partitions", "--json", path]);
    assert_eq!(code, 0);
}
