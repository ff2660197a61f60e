//! The partition-reader corpus (`tests/fixtures/partitions/`, made by `make.py` with mkfs.vfat,
//! mkfs.ntfs, mkfs.exfat, mkswap, mke2fs, sfdisk and qemu-img, or byte by byte from the formats'
//! documentation): each image is read by salvage and compared with what blkid -p and partx said
//! of it when it was made (recorded beside it), and, where blkid is installed, with what it says
//! now. Then the cases that need more than a comparison: the warnings and the basis.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use salvage_partition::{Label, PartitionTable, ReadOptions, read_table};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/partitions");

/// Where blkid and partx disagree with each other, salvage follows libblkid's newer rule (and
/// the issue): exFAT at byte 0 is a filesystem, not an empty dos table (partx 2.38 reports the
/// dos table, blkid reports both).
/// And blkid -p does not report a whole-disk BSD disklabel that partx lists.
const TOOLS_DISAGREE_ON_TABLE: [&str; 2] = ["exfat", "bsd-whole-disk"];

struct Fixture {
    name: String,
    image: PathBuf,
    expect: Value,
    _dir: tempfile::TempDir,
}

fn fixtures() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".img.gz").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 25, "the corpus has {} images", names.len());
    names.into_iter().map(|n| fixture(&n)).collect()
}

fn fixture(name: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join(format!("{name}.img"));
    let gz = std::fs::File::open(Path::new(FIXTURES).join(format!("{name}.img.gz"))).expect("gz");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut bytes)
        .expect("gunzip");
    std::fs::write(&image, &bytes).expect("write image");
    let json =
        std::fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.json"))).expect("json");
    Fixture {
        name: name.to_string(),
        image,
        expect: serde_json::from_str(&json).expect("parse json"),
        _dir: dir,
    }
}

fn read(f: &Fixture, scan: bool) -> PartitionTable {
    read_table(
        &f.image,
        &ReadOptions {
            scan,
            ..ReadOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

/// A label as salvage writes it (`\xhh` for bytes that are not UTF-8) back to its bytes.
fn label_bytes(label: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = label;
    while let Some(i) = rest.find("\\x") {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let hex = &rest[i + 2..i + 4];
        out.push(u8::from_str_radix(hex, 16).expect("escape"));
        rest = &rest[i + 4..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// salvage's answer in blkid's terms: the keys the recorded blkid answer is compared on.
fn as_blkid(t: &PartitionTable) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    if t.label != Label::None && !t.partitions.is_empty()
        || matches!(
            t.label,
            Label::Sun | Label::Sgi | Label::Mac | Label::Aix | Label::Atari
        )
    {
        m.insert("ID_PART_TABLE_TYPE", t.label.as_str().to_string());
    }
    if let Some(fs) = &t.filesystem {
        m.insert("ID_FS_TYPE", fs.fs_type.clone());
        if let Some(l) = &fs.label {
            m.insert("LABEL_HEX", hex(&label_bytes(l)));
        }
        if let Some(l) = &fs.label_fatboot {
            m.insert("LABEL_FATBOOT_HEX", hex(&label_bytes(l)));
        }
        if let Some(u) = &fs.uuid {
            m.insert("ID_FS_UUID", u.clone());
        }
        if let Some(v) = &fs.version {
            m.insert("ID_FS_VERSION", v.clone());
        }
    }
    if !t.ambivalent.is_empty() {
        let mut types: Vec<&str> = t.ambivalent.iter().map(|f| f.fs_type.as_str()).collect();
        types.sort();
        m.insert("AMBIVALENT", types.join(" "));
    }
    m
}

/// The recorded blkid answer, on the same keys.
fn recorded_blkid(v: &Value) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    for key in [
        "ID_PART_TABLE_TYPE",
        "ID_FS_TYPE",
        "LABEL_HEX",
        "LABEL_FATBOOT_HEX",
        "ID_FS_UUID",
        "ID_FS_VERSION",
    ] {
        if let Some(x) = get(key) {
            m.insert(key, x);
        }
    }
    if let Some(a) = get("ID_FS_AMBIVALENT") {
        let mut types: Vec<&str> = a
            .split_whitespace()
            .filter_map(|w| w.split(':').nth(1))
            .collect();
        types.sort();
        m.insert("AMBIVALENT", types.join(" "));
    }
    m
}

#[test]
fn every_image_reads_as_blkid_and_partx_read_it() {
    let mut failures = Vec::new();
    for f in fixtures() {
        let t = read(&f, false);
        let mut ours = as_blkid(&t);
        let mut theirs = recorded_blkid(&f.expect["blkid"]);
        if TOOLS_DISAGREE_ON_TABLE.contains(&f.name.as_str()) {
            ours.remove("ID_PART_TABLE_TYPE");
            theirs.remove("ID_PART_TABLE_TYPE");
        }
        // blkid reports no VERSION for some types salvage gives one (a parsed superblock
        // revision): compare the version only where blkid has one.
        if !theirs.contains_key("ID_FS_VERSION") {
            ours.remove("ID_FS_VERSION");
        }
        if ours != theirs {
            failures.push(format!(
                "{}: blkid said {theirs:?}\n   salvage says {ours:?}",
                f.name
            ));
        }
        if let Some(rows) = f.expect["partx"].as_array() {
            let theirs: Vec<(u64, u64, u64, String)> = rows
                .iter()
                .map(|r| {
                    (
                        r["nr"].as_u64().unwrap_or(0),
                        r["start"].as_u64().unwrap_or(0),
                        r["sectors"].as_u64().unwrap_or(0),
                        r["type"]
                            .as_str()
                            .unwrap_or("")
                            .trim_start_matches("0x")
                            .to_lowercase(),
                    )
                })
                .collect();
            let ours: Vec<(u64, u64, u64, String)> = t
                .partitions
                .iter()
                .map(|p| {
                    (
                        u64::from(p.number),
                        p.offset / 512,
                        p.size_bytes / 512,
                        p.type_code.to_lowercase(),
                    )
                })
                .collect();
            if ours != theirs && !TOOLS_DISAGREE_ON_TABLE.contains(&f.name.as_str()) {
                failures.push(format!(
                    "{}: partx listed {theirs:?}\n   salvage lists {ours:?}",
                    f.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_recorded_answers_are_what_blkid_says_here() {
    if !have("blkid") {
        return;
    }
    for f in fixtures() {
        let out = std::process::Command::new("blkid")
            .args(["-p", "-o", "udev"])
            .arg(&f.image)
            .output()
            .expect("run blkid");
        let text = String::from_utf8_lossy(&out.stdout);
        let now = text
            .lines()
            .find_map(|l| l.strip_prefix("ID_FS_TYPE="))
            .map(str::to_string);
        let then = f.expect["blkid"]["ID_FS_TYPE"].as_str().map(str::to_string);
        assert_eq!(
            now, then,
            "{}: blkid's answer changed since the fixture was made",
            f.name
        );
    }
}

/// True when `program` is installed; otherwise says the test is skipped and why (a failure
/// when `SALVAGE_REQUIRE_ROOT_TESTS=1`, as in CI, where it is installed).
fn have(program: &str) -> bool {
    salvage_testkit::require_tool("partition_corpus", &[program])
}

fn warnings_of(name: &str) -> (PartitionTable, String) {
    let f = fixture(name);
    let t = read(&f, false);
    let text = t.warnings.join("\n");
    (t, text)
}

#[test]
fn a_boot_sector_is_not_a_partition_table_and_the_basis_says_why() {
    for (name, owner) in [
        ("fat16-boot-entry-at-0", "FAT boot sector"),
        ("ntfs-garbage-entries", "ntfs boot sector"),
        ("exfat", "exfat boot sector"),
    ] {
        let f = fixture(name);
        let t = read(&f, false);
        assert_eq!(t.label, Label::None, "{name}");
        assert!(t.partitions.is_empty(), "{name}: {:?}", t.partitions);
        assert!(
            t.basis
                .iter()
                .any(|b| b.contains(owner) && b.contains("0x55AA at byte 510")),
            "{name}: {:?}",
            t.basis
        );
        assert!(
            t.basis
                .iter()
                .any(|b| b.starts_with("filesystem at byte 0")),
            "{name}"
        );
    }
    let (t, w) = warnings_of("mbr-bad-boot-flags");
    assert_eq!(t.label, Label::None);
    assert!(
        t.basis
            .iter()
            .any(|b| b.contains("boot flags are 0x12 0x00")),
        "{:?}",
        t.basis
    );
    assert!(w.contains("no filesystem signature at byte 0"), "{w}");
}

#[test]
fn hostile_layouts_are_named() {
    let (t, w) = warnings_of("dos-three-overlapping");
    for pair in [
        "partitions 1 and 2 overlap",
        "partitions 1 and 3 overlap",
        "partitions 2 and 3 overlap",
    ] {
        assert!(w.contains(pair), "{pair}: {w}");
    }
    assert_eq!(t.partitions.len(), 3);
    let (_, w) = warnings_of("dos-entry-at-sector-0");
    assert!(
        w.contains("partition 1 starts at sector 0, over the MBR"),
        "{w}"
    );
    let (t, w) = warnings_of("gpt-lba-2-63");
    assert_eq!(
        t.partitions.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1]
    );
    assert!(
        w.contains("GPT entry 2 starts or ends beyond LBA 2^63"),
        "{w}"
    );
    let json = serde_json::to_string(&t).expect("json");
    assert!(
        !json.contains("18446744073709551615"),
        "no saturated offsets: {json}"
    );
    let (t, w) = warnings_of("ebr-two-data-entries");
    assert!(
        w.contains("holds more than one data entry: entry 2 is logical partition 6"),
        "{w}"
    );
    assert_eq!(
        t.partitions.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2, 5, 6, 7]
    );
}

/// A superblock whose metadata_csum checksum fails is reported as blkid -p reports it, with a
/// warning that what it says may be damaged; an intact one gets no such warning.
#[test]
fn a_damaged_ext_superblock_is_reported_with_a_warning() {
    let (t, w) = warnings_of("ext4-bad-csum");
    assert_eq!(
        t.filesystem.as_ref().map(|f| f.fs_type.as_str()),
        Some("ext4")
    );
    assert!(
        w.contains("an ext superblock at byte 1024 fails its metadata_csum checksum"),
        "{w}"
    );
    assert!(
        t.basis.join("\n").contains("metadata_csum checksum FAILS"),
        "{:?}",
        t.basis
    );
    let (t, w) = warnings_of("ext4-csum");
    assert_eq!(
        t.filesystem.as_ref().map(|f| f.fs_type.as_str()),
        Some("ext4")
    );
    assert!(!w.contains("checksum"), "{w}");
}

/// Sector 0 wiped (or unreadable on a dying disk): the GPT behind it is still read, and the
/// warning says that blkid, partx and the kernel would not read it, so the answer is not mistaken
/// for theirs.
#[test]
fn a_gpt_without_its_protective_mbr_is_read_with_a_warning() {
    let f = fixture("gpt-lba-2-63");
    let mut bytes = std::fs::read(&f.image).expect("read");
    bytes[..512].fill(0);
    std::fs::write(&f.image, &bytes).expect("write");
    let t = read(&f, false);
    assert_eq!(t.label, Label::Gpt);
    assert_eq!(t.partitions.len(), 1);
    let w = t.warnings.join("\n");
    assert!(
        w.contains("read without a protective MBR (blkid, partx, sfdisk and the kernel ignore"),
        "{w}"
    );
}

#[test]
fn labels_it_does_not_read_and_containers_are_named_with_what_to_do() {
    let (t, w) = warnings_of("sun-label");
    assert_eq!(t.label, Label::Sun);
    assert!(
        w.contains("a Sun disklabel") && w.contains("not read by salvage"),
        "{w}"
    );
    let (t, w) = warnings_of("qcow2");
    assert_eq!(t.container.as_deref(), Some("qcow2"));
    assert!(w.contains("qemu-img convert -O raw"), "{w}");
    let (t, _) = warnings_of("bsd-whole-disk");
    assert_eq!(t.label, Label::Bsd);
    assert!(
        t.basis
            .iter()
            .any(|b| b.contains("BSD disklabel at byte 512")),
        "{:?}",
        t.basis
    );
    let (t, w) = warnings_of("bsd-nested");
    assert!(
        w.contains("BSD partition e") && w.contains("does not fit"),
        "{w}"
    );
    assert!(
        t.partitions
            .iter()
            .any(|p| p.number == 5 && p.type_name.contains("4.2BSD"))
    );
}

#[test]
fn competing_signatures_are_ambivalent_everywhere() {
    let f = fixture("ntfs-with-ext2");
    let t = read(&f, true);
    assert!(t.filesystem.is_none());
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("ambivalent: ext2 and ntfs signatures")),
        "{:?}",
        t.warnings
    );
    let hit = &t.scan.as_ref().expect("scan")[0];
    assert!(
        hit.filesystem.is_none() && hit.found_by.starts_with("ambivalent"),
        "{hit:?}"
    );
    let part = salvage_filesystem::PartitionRef::new(&f.image, 0, None);
    let err = part
        .resolve_fs_type()
        .expect_err("ambivalent refused")
        .to_string();
    assert!(
        err.contains("ambivalent") && err.contains("--type ext2 or --type ntfs"),
        "{err}"
    );
    let forced = salvage_filesystem::PartitionRef {
        fs_type: salvage_filesystem::FsType::from_name("ntfs"),
        ..part
    };
    assert_eq!(forced.resolve_fs_type().expect("chosen").name(), "ntfs");
}

#[test]
fn the_scan_finds_what_the_default_mode_finds_and_places_revision_0_backups() {
    for name in ["swap-v0", "tuxonice", "swap-v1-big-endian"] {
        let f = fixture(name);
        let t = read(&f, true);
        let plain = t.filesystem.as_ref().expect("default mode").fs_type.clone();
        let hits = t.scan.expect("scan");
        assert!(
            hits.iter()
                .any(|h| h.offset == 0
                    && h.filesystem.as_ref().is_some_and(|fs| fs.fs_type == plain)),
            "{name}: {hits:?}"
        );
    }
    let f = fixture("ext2-rev0-no-primary");
    let t = read(&f, true);
    let hits = t.scan.expect("scan");
    let hit = hits.first().expect("a hit");
    assert_eq!(hit.offset, 0, "{hits:?}");
    assert!(
        hit.found_by
            .starts_with("backup superblock (group 1) at byte 8389632"),
        "{}",
        hit.found_by
    );
}

/// A sparse 2 TB image holding two filesystems, one on a MiB boundary past 1 TiB and one at
/// a CHS cylinder boundary (not a MiB multiple): the scan reads only around the data and
/// finds both where they are.
#[test]
fn the_scan_of_a_sparse_image_skips_its_holes_and_finds_what_is_in_the_data() {
    use std::os::unix::fs::FileExt;
    let f = fixture("ext4-csum");
    let fs_bytes = std::fs::read(&f.image).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("sparse.img");
    let file = std::fs::File::create(&image).expect("create");
    file.set_len(2_000_000_000_000).expect("2 TB, sparse");
    let mib_start: u64 = (1 << 40) + (7 << 20);
    let cylinder_start: u64 = 100_000 * 255 * 63 * 512;
    assert_ne!(cylinder_start % (1 << 20), 0);
    for at in [mib_start, cylinder_start] {
        file.write_all_at(&fs_bytes, at)
            .expect("write the filesystem");
    }
    drop(file);
    let t = read_table(
        &image,
        &ReadOptions {
            scan: true,
            ..ReadOptions::default()
        },
    )
    .expect("read");
    let hits = t.scan.expect("scan");
    for at in [mib_start, cylinder_start] {
        assert!(
            hits.iter()
                .any(|h| h.offset == at
                    && h.filesystem.as_ref().is_some_and(|fs| fs.fs_type == "ext4")),
            "no ext4 at {at}: {hits:?}"
        );
    }
    assert!(
        t.warnings.iter().all(|w| !w.contains("unreadable")),
        "{:?}",
        t.warnings
    );
}
