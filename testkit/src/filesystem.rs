//! Support for the filesystem tests: synthetic disks (a hand-written MBR, real ext4 made by
//! `mkfs.ext4 -d` at an offset, no root needed), hostile source trees, tree digests to compare
//! copies by hash, and the leftover check (loop devices and mounts under a test's temp dir).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

pub const SECTOR: u64 = 512;
/// First partition: at 1 MiB, 24 MiB long.
pub const P1_START: u64 = 2048;
pub const P1_SECTORS: u64 = 24 * 2048;
/// Second partition: right after, 24 MiB long.
pub const P2_START: u64 = P1_START + P1_SECTORS;
pub const P2_SECTORS: u64 = 24 * 2048;

/// What a tree holds at one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    File {
        sha256: String,
        mode: u32,
        mtime: i64,
    },
    Dir,
    Symlink(OsString),
    Other,
}

/// Writes a sparse disk image of `sectors` sectors with an MBR listing `parts` (start, count)
/// as Linux (0x83) partitions.
pub fn write_mbr_disk(image: &Path, sectors: u64, parts: &[(u64, u64)]) {
    let file = std::fs::File::create(image).expect("create image");
    file.set_len(sectors * SECTOR).expect("size image");
    let mut mbr = [0u8; 512];
    for (i, (start, count)) in parts.iter().enumerate() {
        let entry = &mut mbr[446 + 16 * i..446 + 16 * (i + 1)];
        entry[4] = 0x83;
        entry[8..12].copy_from_slice(&u32::try_from(*start).expect("start").to_le_bytes());
        entry[12..16].copy_from_slice(&u32::try_from(*count).expect("count").to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    file.write_all_at(&mbr, 0).expect("write MBR");
}

/// Makes an ext4 filesystem populated from `src` inside `image` at `start` sectors for
/// `sectors` sectors (no root needed).
pub fn mkfs_ext4(image: &Path, src: &Path, start: u64, sectors: u64) {
    let status = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "1024", "-d"])
        .arg(src)
        .arg("-E")
        .arg(format!("offset={},nodiscard", start * SECTOR))
        .arg(image)
        .arg(format!("{}k", sectors * SECTOR / 1024))
        .status()
        .expect("run mkfs.ext4");
    assert!(status.success(), "mkfs.ext4 failed: {status}");
}

/// Fills `root` with an OS-root-like tree plus hostile content: symlinks out of the tree, a name
/// with a newline, a name that is not UTF-8, a setuid file, a FIFO, and (as root) a device node.
/// All files get mtime `mtime` (seconds since the epoch).
pub fn hostile_tree(root: &Path, os_name: &str, mtime: i64) {
    let dirs = ["etc", "bin", "home/user/docs", "var/lib/deep/er/still"];
    for dir in dirs {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    let write = |rel: &str, data: &[u8]| std::fs::write(root.join(rel), data).expect("write");
    write(
        "etc/os-release",
        format!("NAME=\"{os_name}\"\nPRETTY_NAME=\"{os_name} 1.0\"\nID=test\n").as_bytes(),
    );
    write("etc/fstab", b"/dev/sda1 / ext4 defaults 0 1\n");
    write("bin/sh", b"#!/bin/false\n");
    write("home/user/docs/report.txt", b"quarterly numbers\n");
    // A file bigger than one copy chunk, with varied content.
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write("var/lib/deep/er/still/big.bin", &big);
    write("home/user/newline\nname.txt", b"a newline in my name\n");
    std::fs::write(
        root.join(OsString::from_vec(b"home/user/latin1-\xe9t\xe9".to_vec())),
        b"not utf-8\n",
    )
    .expect("write non-UTF-8 name");
    write("bin/su", b"setuid binary\n");
    std::fs::set_permissions(root.join("bin/su"), std::fs::Permissions::from_mode(0o4755))
        .expect("chmod");
    std::os::unix::fs::symlink("/etc/passwd", root.join("home/user/passwd-link")).expect("symlink");
    std::os::unix::fs::symlink("../../..", root.join("home/user/docs/up")).expect("symlink");
    std::os::unix::fs::symlink(
        "../../../../../../../../etc/shadow",
        root.join("etc/shadow-link"),
    )
    .expect("symlink");
    nix::unistd::mkfifo(
        &root.join("var/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .expect("mkfifo");
    if nix::unistd::geteuid().is_root() {
        nix::sys::stat::mknod(
            &root.join("var/null-dev"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .expect("mknod");
    }
    set_mtimes(root, mtime);
}

/// Sets every entry's mtime and atime under `root` (not following symlinks).
pub fn set_mtimes(root: &Path, mtime: i64) {
    let spec = nix::sys::time::TimeSpec::new(mtime, 0);
    for (rel, _) in walk(root) {
        let path = root.join(&rel);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &spec,
            &spec,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .expect("utimensat");
    }
}

/// Every path under `root` (relative), never following symlinks, deepest last.
pub fn walk(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(&dir))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        entries.sort();
        for name in entries {
            let rel = dir.join(name);
            let meta = std::fs::symlink_metadata(root.join(&rel)).expect("lstat");
            if meta.is_dir() {
                stack.push(rel.clone());
            }
            out.push((rel, meta));
        }
    }
    out
}

/// What a tree holds, by relative path (the root itself not included).
pub fn digest(root: &Path) -> BTreeMap<PathBuf, Node> {
    use std::os::unix::fs::MetadataExt;
    walk(root)
        .into_iter()
        .map(|(rel, meta)| {
            let path = root.join(&rel);
            let node = if meta.file_type().is_symlink() {
                Node::Symlink(
                    std::fs::read_link(&path)
                        .expect("readlink")
                        .into_os_string(),
                )
            } else if meta.is_dir() {
                Node::Dir
            } else if meta.is_file() {
                Node::File {
                    sha256: sha256_file(&path),
                    mode: meta.mode() & 0o7777,
                    mtime: meta.mtime(),
                }
            } else {
                Node::Other
            };
            (rel, node)
        })
        .collect()
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    hex::encode(Sha256::digest(&data))
}

/// The BLAKE3 of a file's content in hex (what `b3sum` prints and a copy's manifest holds).
/// Streamed: a 2 GiB sparse file is not read into memory.
pub fn blake3_file(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    hasher.finalize().to_hex().to_string()
}

/// Checks that `copy` holds exactly what `source` holds, as a safe copy should: same files by
/// hash and mtime, setuid/setgid dropped, symlinks as symlinks with the same target, no device
/// nodes or FIFOs (and `lost+found` present in the copy only, from mkfs).
pub fn assert_safe_copy_of(source: &Path, copy: &Path) {
    let want = digest(source);
    let got = digest(copy);
    for (rel, node) in &want {
        match node {
            Node::Other => assert!(
                !got.contains_key(rel),
                "special file {rel:?} must not be copied"
            ),
            Node::File {
                sha256,
                mode,
                mtime,
            } => match got.get(rel) {
                Some(Node::File {
                    sha256: s,
                    mode: m,
                    mtime: t,
                }) => {
                    assert_eq!(s, sha256, "content of {rel:?}");
                    assert_eq!(
                        *m,
                        mode & !0o6000,
                        "mode of {rel:?} (setuid/setgid dropped)"
                    );
                    assert_eq!(t, mtime, "mtime of {rel:?}");
                }
                other => panic!("{rel:?}: want a file, copy has {other:?}"),
            },
            other => assert_eq!(got.get(rel), Some(other), "{rel:?}"),
        }
    }
    for rel in got.keys() {
        assert!(
            want.contains_key(rel) || rel.starts_with("lost+found"),
            "{rel:?} in the copy is not in the source"
        );
    }
}

/// Loop devices backed by files under `under`, and mounts under it, as "kind path" lines.
pub fn leftovers(under: &Path) -> Vec<String> {
    let under = std::fs::canonicalize(under).unwrap_or_else(|_| under.to_path_buf());
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/sys/block") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().starts_with("loop") {
                continue;
            }
            if let Ok(backing) = std::fs::read_to_string(entry.path().join("loop/backing_file"))
                && Path::new(backing.trim_end()).starts_with(&under)
            {
                found.push(format!(
                    "loop /dev/{} -> {}",
                    name.to_string_lossy(),
                    backing.trim_end()
                ));
            }
        }
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mountinfo.lines() {
        if let Some(target) = line.split(' ').nth(4)
            && Path::new(target).starts_with(&under)
        {
            found.push(format!("mount {target}"));
        }
    }
    found
}

/// Writes bytes into a file at an offset (to plant a filesystem made elsewhere into a disk).
pub fn write_at(path: &Path, offset: u64, data: &[u8]) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for write");
    file.write_all_at(data, offset).expect("write_at");
    file.sync_all().expect("sync");
}

/// Runs a command and returns its stdout, asserting success.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::io::stderr().flush();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
