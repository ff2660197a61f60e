//! FAT12/16/32 against mtools: images made by mkfs.fat and filled by mcopy (no root), with a
//! fragmented file (a gap left by mdel refilled), long names, a lowercase 8.3 name and a
//! directory of several clusters. `mdir -/ -b` lists every path, `mshowfat` the clusters of
//! each, `minfo` the geometry; a file is damaged when a cluster it holds data in is unreadable.
//! salvage must name exactly those files and directories, no more.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use salvage_filesystem::{DamageReport, Unreadable, damage_report};
use salvage_testkit::require_tool;

use super::write_file;

fn mtool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .expect("run mtools");
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The geometry as minfo reads it: (data start byte, cluster bytes, first FAT's byte).
fn geometry(img: &str) -> (u64, u64, u64) {
    let text = mtool("minfo", &["-i", img, "::"]);
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let sector = field("sector size: ");
    let per_cluster = field("cluster size: ");
    let reserved = field("reserved (boot) sectors: ");
    let fats = field("fats: ");
    let root = field("max available root directory slots: ");
    let fat_len = match field("sectors per fat: ") {
        0 => field("Big fatlen="),
        n => n,
    };
    let data = (reserved + fats * fat_len) * sector + (root * 32).div_ceil(sector) * sector;
    (data, per_cluster * sector, reserved * sector)
}

/// Every path (directories end in `/`) with its clusters in file order, per mshowfat.
fn clusters(img: &str) -> BTreeMap<String, Vec<u64>> {
    let mut map = BTreeMap::new();
    for line in mtool("mdir", &["-/", "-b", "-i", img, "::/"]).lines() {
        let Some(path) = line.strip_prefix("::") else {
            continue;
        };
        let shown = mtool(
            "mshowfat",
            &["-i", img, &format!("::{}", path.trim_end_matches('/'))],
        );
        let mut list = Vec::new();
        for run in shown.split('<').skip(1) {
            let run = run.split('>').next().unwrap_or("");
            let (a, b) = run.split_once('-').unwrap_or((run, run));
            let (a, b): (u64, u64) = (a.parse().expect("cluster"), b.parse().expect("cluster"));
            list.extend(a..=b);
        }
        map.insert(path.to_string(), list);
    }
    map
}

/// What mtools says the bad bytes hit: paths whose data clusters (within `sizes`, the file
/// sizes; directories whole) overlap them.
fn expected(
    chains: &BTreeMap<String, Vec<u64>>,
    sizes: &BTreeMap<String, u64>,
    geo: (u64, u64, u64),
    bad: &Unreadable,
) -> BTreeSet<String> {
    let (data, cb, _) = geo;
    chains
        .iter()
        .filter(|(path, list)| {
            let limit = sizes.get(*path).map_or(u64::MAX, |s| s.div_ceil(cb));
            let size = sizes.get(*path).copied().unwrap_or(u64::MAX);
            list.iter().enumerate().any(|(i, &c)| {
                let i = i as u64;
                let start = data + (c - 2) * cb;
                i < limit
                    && bad
                        .within(start, start + cb)
                        .any(|(a, _)| i * cb + (a - start) < size)
            })
        })
        .map(|(p, _)| p.trim_end_matches('/').to_string())
        .collect()
}

fn salvage_named(r: &DamageReport) -> BTreeSet<String> {
    r.files
        .iter()
        .chain(&r.directories)
        .flat_map(|f| f.paths.iter().cloned())
        .collect()
}

/// Builds the image: mkfs.fat, then mcopy of a tree, a deletion and a file that fills the
/// gap and goes on (fragmented). Returns the file sizes by path.
fn fat_image(tmp: &Path, bits: &str, sectors: &str) -> (String, BTreeMap<String, u64>) {
    let tree = tmp.join(format!("tree{bits}"));
    std::fs::create_dir_all(tree.join("Docs/Sub")).expect("mkdir");
    std::fs::create_dir_all(tree.join("Many")).expect("mkdir");
    let mut sizes = BTreeMap::new();
    let mut put = |rel: &str, len: usize, seed: u8| {
        write_file(&tree.join(rel), len, seed);
        sizes.insert(format!("/{rel}"), len as u64);
    };
    put("Docs/report.txt", 20_000, 1);
    put("Docs/Sub/A long name, with spaces.bin", 3000, 2);
    put("TOP.TXT", 3, 3);
    put("lower.txt", 100, 4);
    put("gap.bin", 6000, 5);
    for i in 0..30 {
        put(
            &format!("Many/entry with a long name {i:02}.dat"),
            500 + i * 10,
            i as u8,
        );
    }
    let img = tmp.join(format!("fat{bits}.img")).display().to_string();
    let out = Command::new("mkfs.fat")
        .args(["-C", "-F", bits, &img, sectors])
        .output()
        .expect("mkfs.fat");
    assert!(out.status.success(), "{out:?}");
    let src = |rel: &str| tree.join(rel).display().to_string();
    for rel in ["Docs", "TOP.TXT", "lower.txt", "gap.bin", "Many"] {
        mtool("mcopy", &["-s", "-i", &img, &src(rel), "::/"]);
    }
    // The gap left by gap.bin is filled first by frag.bin, which goes on past it.
    mtool("mdel", &["-i", &img, "::/gap.bin"]);
    sizes.remove("/gap.bin");
    if bits == "32" {
        // FAT32's FSInfo hint (the last cluster allocated) would send mcopy past the gap:
        // "unknown" makes it search from the start.
        salvage_testkit::filesystem::write_at(Path::new(&img), 512 + 492, &[0xFF; 4]);
    }
    write_file(&tree.join("frag.bin"), 40_000, 9);
    mtool("mcopy", &["-i", &img, &src("frag.bin"), "::/"]);
    sizes.insert("/frag.bin".into(), 40_000);
    (img, sizes)
}

fn check(bits: &str, sectors: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (img, sizes) = fat_image(tmp.path(), bits, sectors);
    let chains = clusters(&img);
    let geo = geometry(&img);
    let (data, cb, fat) = geo;
    let at = |c: u64| data + (c - 2) * cb;
    let frag = &chains["/frag.bin"];
    let jump = frag
        .windows(2)
        .position(|w| w[1] != w[0] + 1)
        .unwrap_or_else(|| panic!("FAT{bits}: frag.bin is not fragmented: {frag:?}"));
    let report_c = chains["/Docs/report.txt"][2];
    let many = &chains["/Many/"];
    assert!(many.len() >= 2, "FAT{bits}: /Many spans clusters: {many:?}");
    let lower = chains["/lower.txt"][0];
    let used: BTreeSet<u64> = chains.values().flatten().copied().collect();
    let free = (2..)
        .find(|c| !used.contains(c) && *c > 40)
        .expect("a free cluster");
    let bad = Unreadable::new([
        // report.txt's third cluster, half of it.
        (at(report_c) + 100, at(report_c) + 100 + cb / 2),
        // frag.bin's first cluster after the jump.
        (at(frag[jump + 1]), at(frag[jump + 1]) + cb),
        // /Many's last cluster (names there are lost; nothing else is bad there).
        (at(many[many.len() - 1]), at(many[many.len() - 1]) + cb),
        // lower.txt's cluster past its 100 bytes: nothing lost.
        (at(lower) + 200, at(lower) + cb),
        (at(free), at(free) + cb),
        // A sector of the first FAT: the second copy answers.
        (fat + 512, fat + 1024),
    ]);
    let report = damage_report(Path::new(&img), &bad).expect("damage report");
    // Files named in /Many's lost cluster are unnamed now; none of them was hit.
    let want = expected(&chains, &sizes, geo, &bad);
    assert_eq!(
        salvage_named(&report),
        want,
        "FAT{bits}: salvage vs mtools\n{report:#?}"
    );
    assert!(
        want.contains("/Docs/report.txt") && want.contains("/frag.bin") && want.contains("/Many")
    );
    let r = report
        .files
        .iter()
        .find(|f| f.paths == ["/Docs/report.txt"])
        .expect("report.txt");
    let s = 2 * cb + 100;
    assert_eq!(
        (r.ranges[0].start, r.ranges[0].end, r.lost_bytes),
        (s, s + cb / 2, cb / 2),
        "FAT{bits}"
    );
    assert!(
        report
            .no_data_lost
            .iter()
            .any(|f| f.paths == ["/lower.txt"]),
        "FAT{bits}: {:?}",
        report.no_data_lost
    );
    let what: BTreeSet<&str> = report.metadata.iter().map(|m| m.what.as_str()).collect();
    assert_eq!(what, BTreeSet::from(["FAT"]), "FAT{bits}");
    assert!(
        report
            .no_file
            .iter()
            .any(|a| a.bytes.start == at(free) && a.place.starts_with("free space")),
        "FAT{bits}: {:?}",
        report.no_file
    );
    assert!(report.unknown.is_empty(), "FAT{bits}: {:?}", report.unknown);
    assert!(
        report.warnings.is_empty(),
        "FAT{bits}: {:?}",
        report.warnings
    );
    assert_eq!(report.filesystems[0].fs_type, "vfat");
}

#[test]
fn fat12_16_and_32_against_mtools() {
    if !require_tool(
        "damage FAT vs mtools",
        &["mkfs.fat", "mcopy", "mdel", "mdir", "mshowfat", "minfo"],
    ) {
        return;
    }
    check("12", "4000");
    check("16", "16384");
    check("32", "70000");
}

/// The first FAT sector unreadable in both copies: every chain's next links are lost. A file
/// or directory whose data fits the first cluster is whole (its first cluster is in its entry;
/// a directory's entries end there); every longer one is damaged from its second cluster on.
#[test]
fn a_fat_sector_lost_in_every_copy_breaks_the_chains_through_it() {
    if !require_tool(
        "damage FAT chains vs mtools",
        &["mkfs.fat", "mcopy", "mdel", "mdir", "mshowfat", "minfo"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (img, sizes) = fat_image(tmp.path(), "16", "16384");
    let chains = clusters(&img);
    let (_, cb, fat) = geometry(&img);
    let fat_len = {
        let text = mtool("minfo", &["-i", &img, "::"]);
        text.lines()
            .find_map(|l| l.trim().strip_prefix("sectors per fat: "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("sectors per fat")
            * 512
    };
    assert!(
        chains.values().flatten().all(|&c| c < 256),
        "every entry in the first FAT sector"
    );
    let bad = Unreadable::new([(fat, fat + 512), (fat + fat_len, fat + fat_len + 512)]);
    let report = damage_report(Path::new(&img), &bad).expect("damage report");
    let want: BTreeSet<String> = chains
        .iter()
        .filter(|(_, list)| list.len() > 1)
        .map(|(p, _)| p.trim_end_matches('/').to_string())
        .collect();
    assert!(
        want.contains("/frag.bin") && want.contains("/Many"),
        "{want:?}"
    );
    assert_eq!(
        salvage_named(&report),
        want,
        "salvage vs mtools\n{report:#?}"
    );
    let f = report
        .files
        .iter()
        .find(|f| f.paths == ["/frag.bin"])
        .expect("frag.bin");
    assert_eq!(
        (f.ranges[0].start, f.ranges[0].end, f.hit.clone()),
        (
            cb,
            sizes["/frag.bin"],
            vec!["cluster chain unreadable".to_string()]
        )
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("1 FAT sector is unreadable in every copy")),
        "{:?}",
        report.warnings
    );
    let what: BTreeSet<&str> = report.metadata.iter().map(|m| m.what.as_str()).collect();
    assert_eq!(what, BTreeSet::from(["FAT", "backup FAT"]));
}
