//! Small ext4 images made from a directory tree by the real mke2fs (`-d`), for the tests of
//! the copy, fsck and readers. Callers gate on `require_tool(.., &["mke2fs"])` first.

use std::path::Path;
use std::process::Command;

/// Makes `img`, an ext4 filesystem of `size` (mke2fs's spelling: `4M`) holding `tree`, with
/// `extra` mke2fs options (e.g. `["-b", "1024"]`); panics with mke2fs's stderr if it fails.
pub fn ext4_image(tree: &Path, img: &Path, size: &str, extra: &[&str]) {
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4"])
        .args(extra)
        .arg("-d")
        .arg(tree)
        .arg(img)
        .arg(size)
        .output()
        .expect("mke2fs runs");
    assert!(
        out.status.success(),
        "mke2fs {}: {}",
        img.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
