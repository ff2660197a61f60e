//! Differential tests: many generated layouts written by sfdisk, read by salvage, compared
//! field by field with `sfdisk -J` (start, size, type, uuid, name, bootable) and every
//! partition's filesystem with `blkid -p --offset --size` (TYPE, LABEL, UUID).

use std::fmt::Write;
use std::path::Path;

use salvage_testkit::partition::{Rng, compare_with_tools, make_fs, read, sparse, try_sfdisk};

const DOS_TYPES: [&str; 9] = ["83", "82", "7", "c", "8e", "fd", "b", "ef", "a5"];
const EXTENDED: [&str; 3] = ["5", "f", "85"];
const GPT_TYPES: [&str; 7] = [
    "L",
    "S",
    "U",
    "H",
    "R",
    "V",
    "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
];
const LAYOUTS: usize = 40;
const FS: [&str; 4] = ["ext2", "ext3", "ext4", "swap"];

/// A dos layout: 1-3 primaries at odd or aligned starts, maybe an extended with 1-6 logicals.
fn dos_layout(rng: &mut Rng) -> (String, u64, Vec<(u64, u64)>) {
    let mut s = String::from("label: dos\n");
    let _ = writeln!(s, "label-id: 0x{:08x}", rng.next() as u32 | 1);
    let mut cursor = *rng.pick(&[63u64, 2048, 100]);
    let primaries = 1 + rng.below(3);
    let mut places = Vec::new();
    for i in 0..primaries {
        let size = 2048 + rng.below(20000);
        let boot = if rng.below(4) == 0 { ", bootable" } else { "" };
        let _ = writeln!(
            s,
            "start={cursor}, size={size}, type={}{boot}",
            rng.pick(&DOS_TYPES)
        );
        if i == 0 || rng.below(2) == 0 {
            places.push((cursor, size));
        }
        cursor += size + rng.below(3) * rng.below(5000);
    }
    if rng.below(4) != 0 {
        let logicals = 1 + rng.below(6);
        let mut inner = Vec::new();
        let ext_start = cursor;
        let mut c = cursor;
        for _ in 0..logicals {
            c += 1 + rng.below(2) * 2047 + rng.below(3);
            let size = 2048 + rng.below(10000);
            inner.push(format!(
                "start={c}, size={size}, type={}",
                rng.pick(&DOS_TYPES)
            ));
            if rng.below(3) == 0 {
                places.push((c, size));
            }
            c += size;
        }
        let ext_size = c - ext_start + rng.below(4096);
        let _ = writeln!(
            s,
            "start={ext_start}, size={ext_size}, type={}",
            rng.pick(&EXTENDED)
        );
        for l in inner {
            let _ = writeln!(s, "{l}");
        }
        cursor = ext_start + ext_size;
    }
    (s, cursor + 4096, places)
}

/// A gpt layout: 1-24 partitions at aligned or odd starts, names, types, attributes.
fn gpt_layout(rng: &mut Rng) -> (String, u64, Vec<(u64, u64)>) {
    let mut s = String::from("label: gpt\n");
    if rng.below(3) == 0 {
        let _ = writeln!(s, "table-length: {}", *rng.pick(&[4u64, 56, 128, 256]));
    }
    let max = if s.contains("table-length: 4\n") {
        4
    } else {
        24
    };
    let count = 1 + rng.below(max);
    let mut cursor = 2048 + rng.below(2) * rng.below(100);
    let mut places = Vec::new();
    for i in 0..count {
        let size = 2048 + rng.below(30000);
        let name = if rng.below(2) == 0 {
            format!(", name=\"part {i} {}\"", rng.below(1000))
        } else {
            String::new()
        };
        let attrs = match rng.below(5) {
            0 => ", attrs=\"RequiredPartition\"",
            1 => ", attrs=\"LegacyBIOSBootable\"",
            _ => "",
        };
        let _ = writeln!(
            s,
            "start={cursor}, size={size}, type={}{name}{attrs}",
            rng.pick(&GPT_TYPES)
        );
        if rng.below(3) == 0 {
            places.push((cursor, size));
        }
        cursor += size + rng.below(2) * rng.below(3000);
    }
    (s, cursor + 4096, places)
}

/// Writes one layout, fills some partitions, compares; `None` when sfdisk refuses the script
/// (the generator may make layouts sfdisk's alignment rules reject).
fn check_layout(
    dir: &Path,
    n: usize,
    script: &str,
    size: u64,
    fs: &[(u64, u64)],
    rng: &mut Rng,
) -> Option<usize> {
    let img = dir.join(format!("layout-{n}.img"));
    sparse(&img, size * 512);
    if try_sfdisk(&img, script).is_err() {
        std::fs::remove_file(&img).ok();
        return None;
    }
    for &(start, sectors) in fs {
        let kind = *rng.pick(&FS);
        let label = format!("L{n}x{start}");
        make_fs(
            dir,
            &img,
            start * 512,
            sectors.min(8192) * 512,
            kind,
            &label[..label.len().min(12)],
        );
    }
    let t = read(&img);
    let fields = compare_with_tools(&img, &t);
    std::fs::remove_file(&img).ok();
    Some(fields)
}

#[test]
fn partition_generated_layouts_match_sfdisk_and_blkid() {
    if !salvage_testkit::require_tool(
        "partition_generated_layouts_match_sfdisk_and_blkid",
        &["sfdisk", "blkid", "mkfs.ext4", "mkswap"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut layouts, mut refused, mut fields, mut filesystems) = (0, 0, 0, 0);
    let mut n = 0;
    while layouts < LAYOUTS {
        assert!(
            refused <= LAYOUTS,
            "sfdisk refused {refused} generated layouts"
        );
        n += 1;
        let (script, size, places) = if n % 2 == 0 {
            dos_layout(&mut rng)
        } else {
            gpt_layout(&mut rng)
        };
        // Filesystems in every third layout keep the suite fast.
        let fs: Vec<(u64, u64)> = if n % 3 == 0 { places } else { Vec::new() };
        match check_layout(dir.path(), n, &script, size, &fs, &mut rng) {
            Some(f) => {
                fields += f;
                filesystems += fs.len();
                layouts += 1;
            }
            None => refused += 1,
        }
    }
    eprintln!(
        "compared {layouts} layouts ({refused} refused by sfdisk), {filesystems} filesystems, {fields} fields with sfdisk -J and blkid -p"
    );
    assert!(filesystems >= 6, "too few filesystems made: {filesystems}");
}
