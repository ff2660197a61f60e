//! `salvage image` with block devices (root, loop devices): the sector size is detected, a
//! device as the image needs `--force`, a mounted device and the source itself are refused,
//! and the source is never written.

use std::path::{Path, PathBuf};
use std::process::Command;

use salvage_testkit::require_root;

use salvage_testkit::pattern;

const MIB: usize = 1 << 20;

/// A loop device over a file; detached when dropped, even when the test fails.
struct Loop {
    dev: PathBuf,
}

impl Loop {
    fn attach(file: &Path, block_size: u32) -> Self {
        let out = Command::new("losetup")
            .args(["-f", "--show", "-b", &block_size.to_string()])
            .arg(file)
            .output()
            .expect("losetup runs");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dev: PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// A mount; unmounted when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

use crate::common::output_in as salvage;

#[test]
fn image_device_source_and_device_dest_safety() {
    if !salvage_testkit::require_tool(
        "image_device_source_and_device_dest_safety",
        &["losetup", "mkfs.ext4"],
    ) {
        return;
    }
    if !require_root("image_device_source_and_device_dest_safety") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let data = pattern(4 * MIB, 7);
    std::fs::write(d.join("src.raw"), &data).expect("src");
    std::fs::write(d.join("dst.raw"), vec![0u8; 4 * MIB]).expect("dst");
    let src = Loop::attach(&d.join("src.raw"), 4096);
    let dst = Loop::attach(&d.join("dst.raw"), 512);
    let src_dev = src.dev.to_string_lossy().into_owned();
    let dst_dev = dst.dev.to_string_lossy().into_owned();

    // A device source: the sector size comes from the device (4096 here).
    let out = salvage(
        d,
        &[
            "image", &src_dev, "img", "--map", "img.map", "--json", "-H", "bad",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing -H file is an error: {out:?}"
    );
    std::fs::write(d.join("bad"), "0x100000+1\n").expect("bad");
    let out = salvage(
        d,
        &[
            "image", &src_dev, "img", "--map", "img.map", "--json", "-H", "bad",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["sector_size"].as_u64(), Some(4096));
    assert_eq!(report["bad_areas"][0]["start"].as_u64(), Some(0x100000));
    assert_eq!(
        report["bad_areas"][0]["size"].as_u64(),
        Some(4096),
        "one whole 4 KiB sector"
    );

    // A device as the image needs --force; the source itself is refused even then.
    let out = salvage(d, &["image", "src.raw", &dst_dev, "--map", "d.map", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{out:?}"
    );
    let out = salvage(
        d,
        &[
            "image", &src_dev, &src_dev, "--map", "s.map", "-q", "--force",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is the source"),
        "{out:?}"
    );
    let out = salvage(
        d,
        &[
            "image", &src_dev, &dst_dev, "--map", "d.map", "-q", "--force",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(d.join("dst.raw")).expect("dst"),
        data,
        "the device image"
    );

    // A mounted device is refused as the image.
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&dst.dev)
        .output()
        .expect("mkfs.ext4 runs");
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );
    let mnt = d.join("mnt");
    std::fs::create_dir(&mnt).expect("mountpoint");
    nix::mount::mount(
        Some(&dst.dev),
        &mnt,
        Some("ext4"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount");
    let guard = Mounted(mnt.clone());
    let out = salvage(
        d,
        &[
            "image", "src.raw", &dst_dev, "--map", "m.map", "-q", "--force",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is mounted on"),
        "{out:?}"
    );
    drop(guard);

    // The source was never written.
    assert_eq!(std::fs::read(d.join("src.raw")).expect("src"), data);
}
