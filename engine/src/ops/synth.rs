//! `synth`: builds a synthetic disk for demos and runbook tests, without root: a sparse image
//! with an MBR, ext2/3/4 filesystems populated by `mkfs.ext4 -d` (one may look like an old OS
//! root, one like the live one, as in the seed), Linux swap areas (the v1 header mkswap
//! writes), and a map of simulated bad sectors.

use super::{OpContext, OpError, op_args};
use salvage_language::ops::synth::SynthArgs;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One partition of a synthetic disk: `START+SIZE FSTYPE [ROLE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SynthPartition {
    pub(crate) start: u64,
    pub(crate) size: u64,
    pub(crate) fs: String,
    pub(crate) role: String,
}

/// Parses `1MiB+20MiB ext4 root`.
pub(crate) fn parse_partition(s: &str) -> Result<SynthPartition, String> {
    let mut words = s.split_whitespace();
    let range = words
        .next()
        .ok_or_else(|| format!("`{s}`: write START+SIZE FSTYPE [root|oldroot|data]"))?;
    let (start, size) = parse_range(range)?;
    let fs = words.next().unwrap_or("ext4").to_string();
    if !matches!(fs.as_str(), "ext2" | "ext3" | "ext4" | "swap") {
        return Err(format!(
            "`{s}`: synth makes ext2, ext3, ext4 or swap (no root needed); not {fs}"
        ));
    }
    let role = words.next().unwrap_or("data").to_string();
    if !matches!(role.as_str(), "root" | "oldroot" | "data") {
        return Err(format!(
            "`{s}`: the role is root, oldroot or data, not {role}"
        ));
    }
    Ok(SynthPartition {
        start,
        size,
        fs,
        role,
    })
}

/// Parses `20MiB+64KiB` into (offset, length) in bytes.
pub(crate) fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once('+')
        .ok_or_else(|| format!("`{s}`: write START+SIZE, e.g. 20MiB+4KiB"))?;
    let n = |t: &str| {
        t.parse::<u64>()
            .ok()
            .or_else(|| salvage_grammar::parse_size(t))
            .ok_or_else(|| format!("`{t}` is not a size"))
    };
    Ok((n(a)?, n(b)?))
}

pub(super) async fn run(args: &BTreeMap<String, Value>, ctx: &OpContext) -> Result<Value, OpError> {
    let args: SynthArgs = op_args("synth", args)?;
    let dest = PathBuf::from(
        args.dest
            .clone()
            .ok_or_else(|| OpError::new("synth: `dest` is missing"))?,
    );
    let size = args
        .size
        .ok_or_else(|| OpError::new("synth: `size` is missing"))?;
    let parts: Vec<SynthPartition> = args
        .partitions
        .iter()
        .map(|p| parse_partition(p))
        .collect::<Result<_, _>>()
        .map_err(OpError::new)?;
    let bad: Vec<(u64, u64)> = args
        .bad
        .iter()
        .map(|b| parse_range(b))
        .collect::<Result<_, _>>()
        .map_err(OpError::new)?;
    let files = args.files();
    let seed = args.seed();
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || build(&ctx, &dest, size, &parts, &bad, files, seed))
        .await
        .unwrap_or_else(|e| Err(OpError::new(format!("synth stopped unexpectedly: {e}"))))
}

fn build(
    ctx: &OpContext,
    dest: &Path,
    size: u64,
    parts: &[SynthPartition],
    bad: &[(u64, u64)],
    files: u64,
    seed: u64,
) -> Result<Value, OpError> {
    if parts.len() > 4 {
        return Err(OpError::new("synth writes an MBR: at most 4 partitions"));
    }
    for p in parts {
        if p.start % 512 != 0 || p.size % 1024 != 0 || p.start + p.size > size || p.start < 512 {
            return Err(OpError::new(format!(
                "partition at {}+{} does not fit a {size}-byte disk on sector boundaries",
                p.start, p.size
            )));
        }
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| OpError::new(format!("mkdir {}: {e}", parent.display())))?;
    }
    let tmp = dest.with_extension("synth-tmp");
    let mut img =
        std::fs::File::create(&tmp).map_err(|e| OpError::new(format!("{}: {e}", tmp.display())))?;
    img.set_len(size)
        .map_err(|e| OpError::new(format!("{}: {e}", tmp.display())))?;
    img.seek(SeekFrom::Start(0))
        .map_err(|e| OpError::new(e.to_string()))?;
    img.write_all(&mbr(parts, seed))
        .map_err(|e| OpError::new(e.to_string()))?;
    drop(img);
    let scratch = ctx.state.work_dir(&ctx.step).join("trees");
    let _ = std::fs::remove_dir_all(&scratch);
    let mut listing = String::new();
    for (i, p) in parts.iter().enumerate() {
        if p.fs == "swap" {
            write_swap(&tmp, p, i + 1, seed).map_err(|e| OpError::new(format!("swap: {e}")))?;
            continue;
        }
        let tree = scratch.join(format!("p{}", i + 1));
        let made = populate(&tree, p, files, seed + i as u64)
            .map_err(|e| OpError::new(format!("building files: {e}")))?;
        for (path, sha) in made {
            listing.push_str(&format!(
                "{}\n",
                json!({"partition": i + 1, "path": path, "sha256": sha})
            ));
        }
        let argv = [
            "mkfs.ext4".to_string(),
            "-q".into(),
            "-F".into(),
            "-t".into(),
            p.fs.clone(),
            "-L".into(),
            format!("{}{}", p.role, i + 1),
            "-d".into(),
            tree.display().to_string(),
            "-U".into(),
            format!("{:08x}-5a17-4000-8000-{:012x}", seed as u32, i + 1),
            "-E".into(),
            format!(
                "offset={},hash_seed={:08x}-5a17-4000-8000-{:012x}",
                p.start,
                seed as u32,
                i + 1
            ),
            tmp.display().to_string(),
            format!("{}k", p.size / 1024),
        ];
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .env("E2FSPROGS_FAKE_TIME", "1700000000")
            .output()
            .map_err(|e| OpError::new(format!("cannot run mkfs.ext4 (install e2fsprogs): {e}")))?;
        ctx.log(
            "command",
            crate::fields! {"argv" => argv, "exit_code" => out.status.code(), "stderr" => super::bounded(&out.stderr, 4096)},
        );
        if !out.status.success() {
            return Err(OpError::new(format!(
                "mkfs.ext4 failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::rename(&tmp, dest).map_err(|e| OpError::new(format!("{}: {e}", dest.display())))?;
    let files_path = PathBuf::from(format!("{}.files.jsonl", dest.display()));
    std::fs::write(&files_path, listing)
        .map_err(|e| OpError::new(format!("{}: {e}", files_path.display())))?;
    let map = PathBuf::from(format!("{}.bad", dest.display()));
    write_bad_map(&map, size, bad).map_err(|e| OpError::new(format!("{}: {e}", map.display())))?;
    Ok(json!({
        "path": dest.display().to_string(),
        "bad_map": map.display().to_string(),
        "bad_bytes": bad.iter().map(|(_, l)| l).sum::<u64>(),
        "count": parts.len(),
        "files": files_path.display().to_string(),
    }))
}

/// An MBR with the partitions as type 0x83, the first one bootable.
fn mbr(parts: &[SynthPartition], seed: u64) -> [u8; 512] {
    let mut s = [0u8; 512];
    let id = (0x5a17_0000u32).wrapping_add(seed as u32);
    s[440..444].copy_from_slice(&id.to_le_bytes());
    for (i, p) in parts.iter().enumerate() {
        let e = 446 + i * 16;
        s[e] = if i == 0 { 0x80 } else { 0 };
        s[e + 1..e + 4].copy_from_slice(&[0xfe, 0xff, 0xff]);
        s[e + 4] = if p.fs == "swap" { 0x82 } else { 0x83 };
        s[e + 5..e + 8].copy_from_slice(&[0xfe, 0xff, 0xff]);
        s[e + 8..e + 12].copy_from_slice(&((p.start / 512) as u32).to_le_bytes());
        s[e + 12..e + 16].copy_from_slice(&((p.size / 512) as u32).to_le_bytes());
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    s
}

/// A Linux swap area's v1 header (as mkswap writes it: version 1, last page, UUID and label
/// at byte 1024, "SWAPSPACE2" at the end of the first 4 KiB page) at the partition's start.
fn write_swap(image: &Path, p: &SynthPartition, number: usize, seed: u64) -> std::io::Result<()> {
    let mut page = vec![0u8; 4096];
    page[1024..1028].copy_from_slice(&1u32.to_le_bytes());
    let last_page = u32::try_from(p.size / 4096 - 1).unwrap_or(u32::MAX);
    page[1028..1032].copy_from_slice(&last_page.to_le_bytes());
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&seed.to_be_bytes());
    uuid[8..].copy_from_slice(&(number as u64).to_be_bytes());
    uuid[6] = 0x40 | (uuid[6] & 0x0f);
    uuid[8] = 0x80 | (uuid[8] & 0x3f);
    page[1036..1052].copy_from_slice(&uuid);
    let label = format!("swap{number}");
    page[1052..1052 + label.len()].copy_from_slice(label.as_bytes());
    page[4086..4096].copy_from_slice(b"SWAPSPACE2");
    let mut f = std::fs::OpenOptions::new().write(true).open(image)?;
    f.seek(SeekFrom::Start(p.start))?;
    f.write_all(&page)
}

/// Writes the simulated bad areas as a GNU ddrescue mapfile: `-` blocks are bad, `+` good.
fn write_bad_map(path: &Path, size: u64, bad: &[(u64, u64)]) -> std::io::Result<()> {
    let mut bad: Vec<(u64, u64)> = bad.iter().copied().filter(|(_, l)| *l > 0).collect();
    bad.sort_unstable();
    let mut out =
        String::from("# Simulated bad sectors for salvage's test mode (written by synth)\n");
    out.push_str("# current_pos  current_status  current_pass\n0x00000000     +               1\n");
    out.push_str("#      pos        size  status\n");
    let mut pos = 0;
    for (start, len) in bad {
        let start = start.max(pos).min(size);
        let end = (start + len).min(size);
        if start > pos {
            out.push_str(&format!("0x{pos:08X}  0x{:08X}  +\n", start - pos));
        }
        if end > start {
            out.push_str(&format!("0x{start:08X}  0x{:08X}  -\n", end - start));
        }
        pos = end.max(pos);
    }
    if pos < size {
        out.push_str(&format!("0x{pos:08X}  0x{:08X}  +\n", size - pos));
    }
    std::fs::write(path, out)
}

/// Deterministic files: an OS root's /etc and /bin for `root` and `oldroot`, data files with
/// varied sizes and contents, mtimes in 2012 for `oldroot` and 2024 otherwise.
fn populate(
    dir: &Path,
    p: &SynthPartition,
    files: u64,
    seed: u64,
) -> std::io::Result<Vec<(String, String)>> {
    use sha2::{Digest, Sha256};
    let mut made: Vec<(String, String)> = Vec::new();
    let base = if p.role == "oldroot" {
        1_347_000_000
    } else {
        1_710_000_000
    };
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut write = |rel: &str, data: &[u8], when: u64| -> std::io::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, data)?;
        made.push((rel.to_string(), hex::encode(Sha256::digest(data))));
        let f = std::fs::File::options().write(true).open(&path)?;
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(when))?;
        Ok(())
    };
    std::fs::create_dir_all(dir)?;
    if p.role != "data" {
        let name = if p.role == "oldroot" {
            "Demo Linux 6 (old root)"
        } else {
            "Demo Linux 12"
        };
        write(
            "etc/os-release",
            format!("NAME=\"Demo Linux\"\nPRETTY_NAME=\"{name}\"\nID=demo\n").as_bytes(),
            base,
        )?;
        write("etc/fstab", b"/dev/sda2 / ext4 defaults 0 1\n", base + 10)?;
        write("etc/hostname", b"luna\n", base + 20)?;
        write("bin/sh", &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0], base + 30)?;
    }
    for i in 0..files {
        let len = (next() % 48_000) as usize + if i % 7 == 0 { 200_000 } else { 0 };
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            data.extend_from_slice(&next().to_le_bytes());
        }
        data.truncate(len);
        let rel = format!(
            "home/user/{}/file-{i:04}.dat",
            ["docs", "photos", "mail", "src"][(i % 4) as usize]
        );
        write(&rel, &data, base + 100 + i)?;
    }
    // Directories too get fixed times (mkfs -d copies them), so the same seed makes the same
    // image byte for byte.
    fix_dir_times(dir, SystemTime::UNIX_EPOCH + Duration::from_secs(base))?;
    Ok(made)
}

/// Sets the access and modification times of `dir` and every directory below it.
fn fix_dir_times(dir: &Path, when: SystemTime) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fix_dir_times(&entry.path(), when)?;
        }
    }
    let times = std::fs::FileTimes::new()
        .set_accessed(when)
        .set_modified(when);
    std::fs::File::open(dir)?.set_times(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partitions_and_ranges() {
        assert_eq!(
            parse_partition("1MiB+20MiB ext4 root"),
            Ok(SynthPartition {
                start: 1 << 20,
                size: 20 << 20,
                fs: "ext4".into(),
                role: "root".into()
            })
        );
        assert!(parse_partition("1MiB+20MiB xfs").is_err());
        assert!(parse_partition("1MiB").is_err());
        assert_eq!(parse_range("32256+4096"), Ok((32256, 4096)));
    }

    #[test]
    fn bad_map_covers_the_disk() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("m");
        write_bad_map(&p, 1 << 20, &[(4096, 512), (8192, 1024)]).expect("write");
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(text.contains("0x00001000  0x00000200  -"));
        assert!(text.contains("0x00002000  0x00000400  -"));
        let total: u64 = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .skip(1)
            .map(|l| {
                u64::from_str_radix(
                    l.split_whitespace()
                        .nth(1)
                        .expect("size")
                        .trim_start_matches("0x"),
                    16,
                )
                .expect("hex")
            })
            .sum();
        assert_eq!(total, 1 << 20);
    }
}
