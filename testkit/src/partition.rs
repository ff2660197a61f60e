//! Shared helpers of the partition tests (crates/partition and the CLI tests): sparse images,
//! sfdisk and blkid as the reference, a deterministic PRNG, filesystem makers, and field-by-field
//! comparison.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

use salvage_partition::{Filesystem, Label, PartitionTable, ReadOptions, read_table};

/// xorshift64*: deterministic layouts from a seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number. (Not an `Iterator`: the tests draw from it by hand.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub fn sparse(path: &Path, size: u64) {
    let f = File::create(path).expect("create image");
    f.set_len(size).expect("size image");
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes a table with sfdisk from a script.
pub fn sfdisk(image: &Path, script: &str) {
    if let Err(e) = try_sfdisk(image, script) {
        panic!("sfdisk failed on script:\n{script}\n{e}");
    }
}

/// Writes a table with sfdisk from a script; `Err` with sfdisk's message when it refuses.
pub fn try_sfdisk(image: &Path, script: &str) -> Result<(), String> {
    let mut child = Command::new("sfdisk")
        .args([
            "-q",
            "--no-reread",
            "--no-tell-kernel",
            "-w",
            "never",
            "-W",
            "never",
        ])
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sfdisk");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("feed sfdisk");
    let out = child.wait_with_output().expect("sfdisk");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `sfdisk -J image` as JSON (None when sfdisk sees no table).
pub fn sfdisk_json(image: &Path) -> Option<serde_json::Value> {
    let out = Command::new("sfdisk")
        .arg("-J")
        .arg(image)
        .output()
        .expect("sfdisk -J");
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sfdisk JSON");
    Some(v["partitiontable"].clone())
}

/// `blkid -p -o export --offset O --size S image` as a map (empty when nothing is found).
pub fn blkid(image: &Path, offset: u64, size: u64) -> BTreeMap<String, String> {
    let out = Command::new("blkid")
        .args(["-p", "-o", "export", "--offset"])
        .arg(offset.to_string())
        .arg("--size")
        .arg(size.to_string())
        .arg(image)
        .output()
        .expect("blkid");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unescape(v)))
        .collect()
}

/// `blkid -o export` escapes shell-special characters with a backslash.
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn read(image: &Path) -> PartitionTable {
    read_table(image, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Compares our filesystem with blkid's TYPE, LABEL and UUID; returns fields compared.
pub fn compare_fs(
    what: &str,
    ours: Option<&Filesystem>,
    theirs: &BTreeMap<String, String>,
) -> usize {
    let their_type = theirs.get("TYPE");
    assert_eq!(
        ours.map(|f| f.fs_type.as_str()),
        their_type.map(String::as_str),
        "{what}: filesystem type differs from blkid ({theirs:?})"
    );
    let Some(fs) = ours else { return 1 };
    assert_eq!(
        fs.label.as_ref(),
        theirs.get("LABEL"),
        "{what}: LABEL differs from blkid"
    );
    assert_eq!(
        fs.uuid.as_ref(),
        theirs.get("UUID"),
        "{what}: UUID differs from blkid"
    );
    3
}

/// Compares a table with `sfdisk -J` and every partition's filesystem with blkid; returns the
/// number of fields compared.
pub fn compare_with_tools(image: &Path, t: &PartitionTable) -> usize {
    let sf = sfdisk_json(image).unwrap_or_else(|| panic!("sfdisk sees no table on {image:?}"));
    let mut fields = 0;
    assert_eq!(sf["label"], t.label.as_str(), "label");
    assert_eq!(sf["sectorsize"], t.sector_size, "sector size");
    assert_eq!(sf["id"].as_str(), t.id.as_deref(), "disk id");
    fields += 3;
    if t.label == Label::Gpt {
        assert_eq!(sf["firstlba"], t.first_lba.unwrap_or(0), "first lba");
        assert_eq!(sf["lastlba"], t.last_lba.unwrap_or(0), "last lba");
        fields += 2;
    }
    let theirs = sf["partitions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        theirs.len(),
        t.partitions.len(),
        "partition count: sfdisk {theirs:#?}\nours {:#?}",
        t.partitions
    );
    let dev = sf["device"].as_str().unwrap_or_default().to_string();
    for (s, p) in theirs.iter().zip(&t.partitions) {
        let node = s["node"].as_str().unwrap_or_default();
        let number: u32 = node[dev.len()..]
            .trim_start_matches('p')
            .parse()
            .expect("node number");
        let what = format!("{image:?} partition {number}");
        assert_eq!(number, p.number, "{what}: number");
        assert_eq!(s["start"], p.start, "{what}: start");
        assert_eq!(s["size"], p.size, "{what}: size");
        assert_eq!(
            s["type"].as_str(),
            Some(p.type_code.as_str()),
            "{what}: type"
        );
        assert_eq!(s["uuid"].as_str(), p.uuid.as_deref(), "{what}: uuid");
        assert_eq!(s["name"].as_str(), p.name.as_deref(), "{what}: name");
        if t.label == Label::Dos {
            assert_eq!(
                s["bootable"].as_bool().unwrap_or(false),
                p.bootable,
                "{what}: bootable"
            );
        } else {
            assert_eq!(s["attrs"].as_str(), p.attrs.as_deref(), "{what}: attrs");
        }
        assert_eq!(
            p.offset,
            p.start * u64::from(t.sector_size),
            "{what}: offset"
        );
        assert_eq!(
            p.size_bytes,
            p.size * u64::from(t.sector_size),
            "{what}: size_bytes"
        );
        fields += 9;
        if p.role != Some(salvage_partition::Role::Extended) {
            let b = blkid(image, p.offset, p.size_bytes);
            fields += compare_fs(&what, p.filesystem.as_ref(), &b);
        }
    }
    fields
}

/// Copies the data extents of the sparse file `from` into `to` at byte `at` (SEEK_DATA /
/// SEEK_HOLE skip the holes, so `to` stays sparse and big filesystems copy fast).
pub fn copy_in(from: &Path, to: &Path, at: u64) {
    use std::os::fd::AsRawFd;
    let src = File::open(from).expect("open fs image");
    let dst = OpenOptions::new()
        .write(true)
        .open(to)
        .expect("open disk image");
    let len = src.metadata().expect("stat").len() as i64;
    let fd = src.as_raw_fd();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos: i64 = 0;
    while pos < len {
        // SAFETY: lseek on an open descriptor owned by `src`.
        let data = unsafe { libc::lseek(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) }.min(len);
        let mut p = data;
        while p < hole {
            let n = ((hole - p) as usize).min(buf.len());
            src.read_exact_at(&mut buf[..n], p as u64)
                .expect("read fs image");
            dst.write_all_at(&buf[..n], at + p as u64)
                .expect("write disk image");
            p += n as i64;
        }
        pos = hole;
    }
}

/// Writes `bytes` at byte `at` of `image`.
pub fn poke(image: &Path, at: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .write(true)
        .open(image)
        .expect("open image");
    f.seek(SeekFrom::Start(at)).expect("seek");
    f.write_all(bytes).expect("poke");
}

/// Makes a filesystem of `kind` with `label` in a separate sparse file of `size` bytes and
/// copies it into `image` at byte `at`.
pub fn make_fs(dir: &Path, image: &Path, at: u64, size: u64, kind: &str, label: &str) {
    let f = dir.join(format!("fs-{at}.img"));
    sparse(&f, size);
    let mut cmd = match kind {
        "ext2" | "ext3" | "ext4" => {
            let mut c = Command::new(format!("mkfs.{kind}"));
            c.args(["-q", "-F", "-L", label]);
            c
        }
        "xfs" => {
            let mut c = Command::new("mkfs.xfs");
            c.args(["-q", "-f", "-L", label])
                .env("TEST_DIR", "1")
                .env("TEST_DEV", "1")
                .env("QA_CHECK_FS", "1");
            c
        }
        "btrfs" => {
            let mut c = Command::new("mkfs.btrfs");
            c.args(["-q", "-f", "-L", label]);
            c
        }
        "swap" => {
            let mut c = Command::new("mkswap");
            c.args(["-q", "-L", label]);
            c
        }
        "vfat12" | "vfat16" | "vfat32" => {
            let mut c = Command::new("mkfs.vfat");
            c.args(["-F", &kind[4..], "-n", label]);
            c
        }
        "exfat" => {
            let mut c = Command::new("mkfs.exfat");
            c.args(["-L", label]);
            c
        }
        "ntfs" => {
            let mut c = Command::new("mkntfs");
            c.args(["-F", "-Q", "-q", "-L", label]);
            c
        }
        "luks1" | "luks2" => {
            let mut c = Command::new("cryptsetup");
            c.args([
                "luksFormat",
                "-q",
                "--type",
                kind,
                "--pbkdf-force-iterations",
                "1000",
            ]);
            if kind == "luks2" {
                c.args(["--pbkdf", "pbkdf2", "--label", label]);
            }
            let key = dir.join("luks.key");
            std::fs::write(&key, b"salvage-test-passphrase").expect("key file");
            c.arg("--key-file").arg(key);
            c
        }
        other => panic!("unknown filesystem kind {other}"),
    };
    cmd.arg(&f).stdout(Stdio::null());
    run(&mut cmd);
    copy_in(&f, image, at);
    std::fs::remove_file(&f).ok();
}

/// md v1.x superblock for `kind` ("1.0", "1.1", "1.2") of a member of `size` bytes.
pub fn md_v1(size: u64, version: &str, uuid: [u8; 16], name: &str) -> (u64, Vec<u8>) {
    let at = match version {
        "1.0" => (((size >> 9) - 16) & !7) << 9,
        "1.1" => 0,
        _ => 4096,
    };
    let mut sb = vec![0u8; 512];
    sb[0..4].copy_from_slice(&0xa92b_4efcu32.to_le_bytes());
    sb[4..8].copy_from_slice(&1u32.to_le_bytes());
    sb[16..32].copy_from_slice(&uuid);
    sb[32..32 + name.len()].copy_from_slice(name.as_bytes());
    sb[72..76].copy_from_slice(&1u32.to_le_bytes()); // level 1
    sb[92..96].copy_from_slice(&2u32.to_le_bytes()); // raid disks
    sb[144..152].copy_from_slice(&(at >> 9).to_le_bytes()); // super_offset
    sb[168..184].copy_from_slice(&[0x42; 16]); // device uuid
    sb[220..224].copy_from_slice(&2u32.to_le_bytes()); // max_dev
    let mut sum: u64 = 0;
    for w in sb[..256 + 4].chunks(4) {
        sum += u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    let csum = ((sum & 0xFFFF_FFFF) + (sum >> 32)) as u32;
    sb[216..220].copy_from_slice(&csum.to_le_bytes());
    (at, sb)
}

/// md v0.90 superblock of a member of `size` bytes.
pub fn md_v090(size: u64, uuid: [u8; 16]) -> (u64, Vec<u8>) {
    let at = (size & !0xFFFF) - 0x10000;
    let mut sb = vec![0u8; 4096];
    let words: [(usize, u32); 8] = [
        (0, 0xa92b_4efc),
        (1, 0),
        (2, 90),
        (3, 0),
        (7, 1),
        (9, 2),
        (10, 2),
        (12, 0),
    ];
    for (i, v) in words {
        sb[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    sb[20..24].copy_from_slice(&uuid[..4]);
    sb[52..64].copy_from_slice(&uuid[4..]);
    // The 0.90 checksum (word 38) is not checked by blkid; keep it consistent anyway.
    let sum: u32 = sb
        .chunks(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .fold(0u32, u32::wrapping_add);
    sb[152..156].copy_from_slice(&sum.to_le_bytes());
    (at, sb)
}

/// An LVM2 PV label in sector 1 with `pv_uuid` (32 characters) and LVM's CRC.
pub fn lvm_label(pv_uuid: &str, dev_size: u64) -> (u64, Vec<u8>) {
    let mut s = vec![0u8; 512];
    s[0..8].copy_from_slice(b"LABELONE");
    s[8..16].copy_from_slice(&1u64.to_le_bytes());
    s[20..24].copy_from_slice(&32u32.to_le_bytes());
    s[24..32].copy_from_slice(b"LVM2 001");
    s[32..64].copy_from_slice(pv_uuid.as_bytes());
    s[64..72].copy_from_slice(&dev_size.to_le_bytes());
    let mut crc: u32 = 0xf597_a6cf;
    for &b in &s[20..] {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    s[16..20].copy_from_slice(&crc.to_le_bytes());
    (512, s)
}
