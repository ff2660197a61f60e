//! The field reports' two layouts: a dd image with one partition at sector 63 (offset 32256),
//! and a 50 GiB logical volume with boot/root/swap at 2048/1026048/102825984 (root at byte
//! 525336576). Compared with sfdisk -J and blkid, and through the CLI's JSON.

use salvage_partition::Label;
use salvage_testkit::partition::{compare_with_tools, make_fs, read, sfdisk, sparse};

#[test]
fn partition_seed_dd_image_partition_at_sector_63() {
    if !salvage_testkit::require_tool(
        "partition_seed_dd_image_partition_at_sector_63",
        &["sfdisk", "mkfs.ext4"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("harddrive.img");
    sparse(&img, (63 + 33_640_047) * 512);
    sfdisk(
        &img,
        "label: dos\nstart=63, size=33640047, type=83, bootable\n",
    );
    make_fs(dir.path(), &img, 63 * 512, 64 << 20, "ext3", "root");
    let t = read(&img);
    compare_with_tools(&img, &t);
    let p = &t.partitions[0];
    assert_eq!(
        (p.number, p.start, p.size, p.offset),
        (1, 63, 33_640_047, 32_256)
    );
    assert!(p.bootable);
    assert_eq!(
        p.filesystem.as_ref().map(|f| f.fs_type.as_str()),
        Some("ext3")
    );
}

#[test]
fn partition_seed_logical_volume_boot_root_swap() {
    if !salvage_testkit::require_tool(
        "partition_seed_logical_volume_boot_root_swap",
        &["sfdisk", "mkfs.ext4", "mkswap"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("vm_zoneminder");
    sparse(&img, 53_687_091_200);
    sfdisk(
        &img,
        "label: dos\nlabel-id: 0x0007a1d5\n\
         start=2048, size=1024000, type=83, bootable\n\
         start=1026048, size=101799936, type=83\n\
         start=102825984, size=2031616, type=82\n",
    );
    make_fs(
        dir.path(),
        &img,
        2048 * 512,
        1_024_000 * 512,
        "ext4",
        "boot",
    );
    make_fs(dir.path(), &img, 1_026_048 * 512, 256 << 20, "ext4", "root");
    make_fs(
        dir.path(),
        &img,
        102_825_984 * 512,
        2_031_616 * 512,
        "swap",
        "swap",
    );
    let t = read(&img);
    let fields = compare_with_tools(&img, &t);
    assert!(fields > 30);
    assert_eq!(t.label, Label::Dos);
    assert_eq!(t.id.as_deref(), Some("0x0007a1d5"));
    let got: Vec<(u64, u64, u64, &str)> = t
        .partitions
        .iter()
        .map(|p| (p.start, p.size, p.offset, p.type_code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2048, 1_024_000, 1_048_576, "83"),
            (1_026_048, 101_799_936, 525_336_576, "83"),
            (102_825_984, 2_031_616, 52_646_903_808, "82"),
        ]
    );
    let fs: Vec<Option<&str>> = t
        .partitions
        .iter()
        .map(|p| p.filesystem.as_ref().and_then(|f| f.label.as_deref()))
        .collect();
    assert_eq!(fs, [Some("boot"), Some("root"), Some("swap")]);

    // The CLI's JSON carries the same numbers.
    let out = crate::common::salvage()
        .args(["partitions", "--json"])
        .arg(&img)
        .output()
        .expect("run salvage");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["partitions"][1]["offset"], 525_336_576u64);
    assert_eq!(v["partitions"][1]["filesystem"]["type"], "ext4");
    assert_eq!(v["partitions"][2]["type"], "82");
    assert_eq!(v["sector_size"], 512);
    // And the text table shows the offset and the filesystem.
    let out = crate::common::salvage()
        .arg("partitions")
        .arg(&img)
        .output()
        .expect("run salvage");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("525336576") && text.contains("LABEL=\"root\""),
        "{text}"
    );
}
