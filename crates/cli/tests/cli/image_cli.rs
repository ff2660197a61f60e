//! `salvage image` from the command line, without root: test mode against GNU ddrescue's own
//! test mode (`-H`) on the same simulated bad map, mapfile interchange both ways, ddrescuelog
//! and `e2fsck -l` lists, and the errors users see.

use std::path::Path;
use std::process::{Command, Output};

use salvage_imager::{BlockStatus, Mapfile};

use salvage_testkit::pattern;

const MIB: u64 = 1 << 20;
/// The seed of this file's test data.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

use crate::common::salvage;

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("command runs")
}

fn have_ddrescue() -> bool {
    salvage_testkit::require_tool("image_cli", &["ddrescue", "ddrescuelog"])
}

/// A ddrescue test-mode map (`-H`): `+` blocks read fine, the others fail.
fn test_map(size: u64, bad: &[(u64, u64)]) -> String {
    let mut s = String::from("# test map\n0 + 1\n");
    let mut pos = 0;
    for &(start, len) in bad {
        if start > pos {
            s.push_str(&format!("{pos:#x} {:#x} +\n", start - pos));
        }
        s.push_str(&format!("{start:#x} {len:#x} -\n"));
        pos = start + len;
    }
    if size > pos {
        s.push_str(&format!("{pos:#x} {:#x} +\n", size - pos));
    }
    s
}

use crate::common::unrescued;

// Sector-aligned bad areas, as a disk has them (ddrescue's -H marks exact bytes). None on the
// very last sector: GNU ddrescue 1.27's test mode takes an error there for the end of the input
// and stops its map short of it.
const BAD: [(u64, u64); 4] = [
    (512, 512),
    (MIB, 64 * 1024),
    (3 * MIB + 4096, 1536),
    (6 * MIB - 8192, 512),
];

/// Asserts two images are equal, naming the first differing byte instead of printing them.
fn assert_same(a: &[u8], b: &[u8], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
        panic!("{what}: first difference at byte {i}");
    }
}

fn setup(dir: &Path) -> Vec<u8> {
    let data = pattern((6 * MIB) as usize, SEED);
    std::fs::write(dir.join("src"), &data).expect("src");
    std::fs::write(dir.join("bad.map"), test_map(6 * MIB, &BAD)).expect("test map");
    data
}

#[test]
fn image_test_mode_matches_gnu_ddrescue_test_mode() {
    if !have_ddrescue() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let data = setup(d);
    let out = run(salvage()
        .args([
            "image",
            "src",
            "s.img",
            "--map",
            "s.map",
            "--simulate-bad",
            "bad.map",
            "--json",
        ])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let out = run(Command::new("ddrescue")
        .args(["-q", "-H", "bad.map", "src", "d.img", "d.map"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(unrescued(&d.join("s.map")), BAD.to_vec());
    assert_eq!(unrescued(&d.join("d.map")), BAD.to_vec());
    let s_img = std::fs::read(d.join("s.img")).expect("img");
    assert_same(
        &s_img,
        &std::fs::read(d.join("d.img")).expect("img"),
        "salvage vs ddrescue",
    );
    for (i, (&a, &b)) in s_img.iter().zip(&data).enumerate() {
        let bad = BAD
            .iter()
            .any(|&(s, n)| (i as u64) >= s && (i as u64) < s + n);
        assert_eq!(a, if bad { 0 } else { b }, "byte {i}");
    }
    let areas: Vec<(u64, u64)> = report["bad_areas"]
        .as_array()
        .expect("bad_areas")
        .iter()
        .map(|a| {
            (
                a["start"].as_u64().expect("start"),
                a["size"].as_u64().expect("size"),
            )
        })
        .collect();
    assert_eq!(areas, BAD.to_vec());
    assert_eq!(
        report["rescued_bytes"].as_u64(),
        Some(6 * MIB - BAD.iter().map(|b| b.1).sum::<u64>())
    );
}

#[test]
fn image_ddrescuelog_accepts_the_map_and_lists_the_same_bad_blocks() {
    if !have_ddrescue() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    setup(d);
    let out = run(salvage()
        .args([
            "image",
            "src",
            "s.img",
            "--map",
            "s.map",
            "-H",
            "bad.map",
            "-q",
            "--badblocks",
            "s.bb",
        ])
        .args(["--block-size", "4096"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = run(Command::new("ddrescuelog")
        .args(["-t", "s.map"])
        .current_dir(d));
    assert!(
        t.status.success(),
        "ddrescuelog -t: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    let l = run(Command::new("ddrescuelog")
        .args(["-b4096", "-l-", "s.map"])
        .current_dir(d));
    assert!(
        l.status.success(),
        "ddrescuelog -l-: {}",
        String::from_utf8_lossy(&l.stderr)
    );
    let ours = std::fs::read_to_string(d.join("s.bb")).expect("badblocks");
    assert_eq!(ours, String::from_utf8_lossy(&l.stdout));
    assert!(!ours.is_empty());
}

#[test]
fn image_resumes_a_gnu_ddrescue_map_and_ddrescue_resumes_salvages() {
    if !have_ddrescue() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    setup(d);
    // Reference: salvage alone.
    let out = run(salvage()
        .args([
            "image", "src", "ref.img", "--map", "ref.map", "-H", "bad.map", "-q",
        ])
        .current_dir(d));
    assert!(out.status.success());
    // ddrescue does the first half, salvage the rest.
    let out = run(Command::new("ddrescue")
        .args(["-q", "-H", "bad.map", "-s", "3MiB", "src", "a.img", "a.map"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(salvage()
        .args([
            "image", "src", "a.img", "--map", "a.map", "-H", "bad.map", "-q",
        ])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // salvage does the first half, ddrescue the rest.
    let out = run(salvage()
        .args([
            "image",
            "src",
            "b.img",
            "--map",
            "b.map",
            "-H",
            "bad.map",
            "-q",
            "--domain-size",
            "3MiB",
        ])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new("ddrescue")
        .args(["-q", "-H", "bad.map", "src", "b.img", "b.map"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "ddrescue on salvage's map: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let reference = std::fs::read(d.join("ref.img")).expect("ref");
    assert_same(
        &std::fs::read(d.join("a.img")).expect("a"),
        &reference,
        "ddrescue then salvage",
    );
    assert_same(
        &std::fs::read(d.join("b.img")).expect("b"),
        &reference,
        "salvage then ddrescue",
    );
    assert_eq!(unrescued(&d.join("a.map")), BAD.to_vec());
    assert_eq!(unrescued(&d.join("b.map")), BAD.to_vec());
}

#[test]
fn image_errors_name_the_file_and_use_ddrescue_exit_codes() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(d.join("src"), pattern(8192, SEED)).expect("src");
    std::fs::write(d.join("bad.map"), "0 ? 1\n0 4096 +\n8192 10 -\n").expect("map");
    let out = run(salvage()
        .args(["image", "src", "img", "--map", "bad.map", "-q"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.map:3:") && err.contains("does not follow"),
        "{err}"
    );
    assert!(
        !d.join("img").exists(),
        "nothing is written before the map is read"
    );

    let out = run(salvage()
        .args(["image", "src", "src", "--map", "m", "-q"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is the source"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read(d.join("src")).expect("src"),
        pattern(8192, SEED),
        "the source was changed"
    );

    let out = run(salvage()
        .args(["image", "missing", "img", "--map", "m", "-q"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing"),
        "{out:?}"
    );

    std::fs::write(d.join("sim"), "12+x\n").expect("sim");
    let out = run(salvage()
        .args(["image", "src", "img", "--map", "m", "-H", "sim"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sim:1:"),
        "{out:?}"
    );
}

#[test]
fn image_e2fsck_accepts_the_bad_block_list() {
    let have = Command::new("mkfs.ext4")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_err(),
            "e2fsprogs is required in CI"
        );
        eprintln!("SKIP: e2fsprogs is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let mk = run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "4096", "fs.img", "8M"])
        .current_dir(d));
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );
    // Two bad sectors in the data area, far from the metadata at the start.
    std::fs::write(d.join("sim"), "0x500000+512\n0x600200+1024\n").expect("sim");
    let out = run(salvage()
        .args([
            "image", "fs.img", "out.img", "--map", "out.map", "-H", "sim", "-q",
        ])
        .args(["--badblocks", "bb", "--block-size", "4096"])
        .current_dir(d));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bb = std::fs::read_to_string(d.join("bb")).expect("bb");
    assert_eq!(bb, format!("{}\n{}\n", 0x500000 / 4096, 0x600000 / 4096));
    let fsck = run(Command::new("e2fsck")
        .args(["-f", "-y", "-l", "bb", "out.img"])
        .current_dir(d));
    let code = fsck.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "e2fsck -l exit {code}: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let dump = run(Command::new("dumpe2fs")
        .args(["-b", "out.img"])
        .current_dir(d));
    assert_eq!(
        String::from_utf8_lossy(&dump.stdout),
        bb,
        "the filesystem's bad-block inode"
    );
}

/// A tmpfs of a few MiB (root), unmounted when dropped.
struct SmallFs {
    path: std::path::PathBuf,
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn image_disk_full_fails_cleanly_and_the_map_only_claims_written_data() {
    if !salvage_testkit::require_root(
        "image_disk_full_fails_cleanly_and_the_map_only_claims_written_data",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(d.join("src"), pattern((6 * MIB) as usize, SEED)).expect("src");
    let small = d.join("small");
    std::fs::create_dir(&small).expect("mountpoint");
    nix::mount::mount(
        Some("tmpfs"),
        &small,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=3m"),
    )
    .expect("mount tmpfs");
    let fs = SmallFs {
        path: small.clone(),
    };

    // Without --sparse the space check refuses before anything is written.
    let out = run(salvage()
        .args(["image", "src", "small/img", "--map", "m1", "-q"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not enough space"),
        "{out:?}"
    );
    assert!(!small.join("img").exists());

    // With --sparse (no space check) the disk fills up mid-run: a clear error naming the image,
    // and a map claiming only what was written.
    let out = run(salvage()
        .args(["image", "src", "small/img", "--map", "m2", "-q", "--sparse"])
        .current_dir(d));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("small/img"),
        "{out:?}"
    );
    let map = Mapfile::load(&d.join("m2"))
        .expect("parses")
        .expect("saved");
    let claimed = map.bytes(BlockStatus::Finished);
    assert!(claimed > 0 && claimed < 6 * MIB, "claimed {claimed}");
    let img = std::fs::read(small.join("img")).expect("img");
    let src = pattern((6 * MIB) as usize, SEED);
    for b in map
        .blocks()
        .iter()
        .filter(|b| b.status == BlockStatus::Finished)
    {
        let (s, e) = (b.pos as usize, b.end() as usize);
        assert!(
            img.len() >= e && img[s..e] == src[s..e],
            "claimed bytes {s}..{e} are not in the image"
        );
    }
    drop(fs);
}

#[test]
fn image_refuses_to_resume_a_map_made_from_another_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(d.join("disk-a"), pattern(64 * 1024, SEED)).expect("a");
    let mut other = pattern(64 * 1024, SEED);
    other.reverse();
    std::fs::write(d.join("disk-b"), &other).expect("b");
    let first = run(salvage()
        .args(["image", "disk-a", "img", "--map", "map", "-q"])
        .current_dir(d));
    assert!(first.status.success(), "{first:?}");
    let map = std::fs::read_to_string(d.join("map")).expect("map");
    assert!(map.contains("# Source: "), "{map}");
    // The same image and map, another disk: its finished map would claim the old bytes.
    let second = run(salvage()
        .args(["image", "disk-b", "img", "--map", "map", "-q"])
        .current_dir(d));
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("was made from") && err.contains("disk-a") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(d.join("img")).expect("img"),
        pattern(64 * 1024, SEED)
    );
    // --force takes it as the same disk under a new name: the finished map is kept.
    let forced = run(salvage()
        .args(["image", "disk-b", "img", "--map", "map", "-q", "--force"])
        .current_dir(d));
    assert!(forced.status.success(), "{forced:?}");
    let map = std::fs::read_to_string(d.join("map")).expect("map");
    assert!(
        map.contains("disk-b"),
        "the map now names the new source: {map}"
    );
}

#[test]
fn verify_checks_an_image_against_its_map_and_source() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(d.join("src"), pattern(256 * 1024, SEED)).expect("src");
    let made = run(salvage()
        .args(["image", "src", "img", "--map", "map", "-q"])
        .current_dir(d));
    assert!(made.status.success(), "{made:?}");
    let check = || {
        run(salvage()
            .args([
                "verify", "--map", "map", "--image", "img", "--source", "src",
            ])
            .current_dir(d))
    };
    let good = check();
    assert_eq!(good.status.code(), Some(0), "{good:?}");
    assert!(String::from_utf8_lossy(&good.stdout).contains("VERIFIED"));
    let mut img = std::fs::read(d.join("img")).expect("img");
    img[200_000] ^= 0xff;
    std::fs::write(d.join("img"), &img).expect("tamper");
    let bad = check();
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("DIFFERED") && out.contains("at byte 0"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(d.join("src")).expect("src"),
        pattern(256 * 1024, SEED)
    );
}

#[test]
fn image_creates_missing_directories_of_the_image_and_the_map_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src.img");
    let data = pattern(MIB as usize, SEED);
    std::fs::write(&src, &data).expect("src");
    let img = dir.path().join("work/new/root.img");
    let map = dir.path().join("maps/root.map");
    let out = run(salvage()
        .arg("image")
        .arg(&src)
        .arg(&img)
        .arg("--map")
        .arg(&map)
        .arg("-q"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&img).expect("image"), data);
    assert!(map.exists());
    for d in ["work", "work/new", "maps"] {
        let mode = std::fs::metadata(dir.path().join(d))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{d}");
    }
}

#[test]
fn the_runbook_image_op_creates_a_missing_work_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("disk.img");
    let data = pattern(MIB as usize, SEED);
    std::fs::write(&src, &data).expect("src");
    let work = dir.path().join("srv/rescue");
    let runbook = dir.path().join("sketch.salvage");
    std::fs::write(
        &runbook,
        "runbook \"sketch\" {\n  param disk: device\n  param work: path = \"WORK\"\n  \
         step img = image(source: disk, dest: \"${work}/root.img\", map: \"${work}/root.map\")\n}\n"
            .replace("WORK", &work.display().to_string()),
    )
    .expect("runbook");
    let out = run(salvage()
        .arg("run")
        .arg(&runbook)
        .arg("--param")
        .arg(format!("disk={}", src.display()))
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--quiet"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(work.join("root.img")).expect("image"), data);
    assert!(work.join("root.map").exists());
}

/// `--fill-mode -` writes the pattern over the bad sectors only, leaves the map as it was, and
/// gives the same image as GNU ddrescue's fill mode.
#[test]
fn fill_mode_marks_bad_sectors_as_ddrescue_does() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = |n: &str| dir.path().join(n);
    let data = salvage_testkit::pattern(2 << 20, 77);
    std::fs::write(p("src"), &data).expect("src");
    std::fs::write(p("bad"), "1000+512\n0x100000+3000\n").expect("bad");
    let o = crate::common::salvage()
        .args(["image", "src", "img", "map", "-H", "bad", "-q"])
        .current_dir(dir.path())
        .output()
        .expect("salvage");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::copy(p("img"), p("img2")).expect("copy");
    std::fs::copy(p("map"), p("map2")).expect("copy");
    let map_before = std::fs::read(p("map")).expect("map");
    std::fs::write(p("pat"), "BADSECTOR").expect("pattern");
    let o = crate::common::salvage()
        .args(["image", "--fill-mode", "-", "pat", "img", "map"])
        .current_dir(dir.path())
        .output()
        .expect("salvage");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("filled 2 blocks"));
    assert_eq!(
        std::fs::read(p("map")).expect("map"),
        map_before,
        "the map is not changed"
    );
    let img = std::fs::read(p("img")).expect("img");
    // The bad sectors (512..1536 and 1 MiB..1 MiB + 3072) hold the pattern from their start.
    assert_eq!(&img[512..521], b"BADSECTOR");
    assert_eq!(&img[1 << 20..(1 << 20) + 9], b"BADSECTOR");
    assert_eq!(&img[..512], &data[..512], "rescued bytes untouched");
    assert_eq!(&img[2048..1 << 20], &data[2048..1 << 20]);
    // A status that is not one is refused with the list.
    let o = crate::common::salvage()
        .args(["image", "--fill-mode", "x", "pat", "img", "map"])
        .current_dir(dir.path())
        .output()
        .expect("salvage");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not one of"));
    if salvage_testkit::require_tool(
        "fill_mode_marks_bad_sectors_as_ddrescue_does",
        &["ddrescue"],
    ) {
        let o = std::process::Command::new("ddrescue")
            .args(["-q", "--fill-mode=-", "pat", "img2", "map2"])
            .current_dir(dir.path())
            .output()
            .expect("ddrescue");
        assert!(o.status.success());
        assert_eq!(
            std::fs::read(p("img2")).expect("img2"),
            img,
            "same as ddrescue's fill"
        );
    }
}
