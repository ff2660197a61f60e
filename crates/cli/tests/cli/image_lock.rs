//! Two imagers on one image or map (root: the first reads a slow FUSE disk so it is still
//! running): the second, standalone or the runbook `image(...)` op, is refused at once naming
//! the first one's pid, and the first finishes with the right bytes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use salvage_testkit::{FailDisk, FailDiskSpec, SlowRange, require_root};

use salvage_testkit::pattern;

const MIB: u64 = 1 << 20;

use crate::common::salvage;

/// Waits (up to a minute) until the lock file beside `path` names `pid`: the first imager then
/// holds it. Fails if the imager exits first.
fn wait_for_lock(first: &mut Child, path: &Path) {
    let lock = format!("{}.lock", path.display());
    let want = format!("pid {}\n", first.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::fs::read_to_string(&lock).is_ok_and(|t| t.starts_with(&want)) {
            return;
        }
        assert!(
            first.try_wait().expect("wait").is_none(),
            "the first imager ended before it locked {lock}"
        );
        assert!(
            Instant::now() < deadline,
            "{lock} never named the first imager"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_imager_on_the_same_image_and_map_is_refused_naming_the_first() {
    if !require_root("a_second_imager_on_the_same_image_and_map_is_refused_naming_the_first") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let size = 8 * MIB;
    let data = pattern(size as usize, 0xD1B5_4A32_D192_ED03);
    std::fs::write(dir.path().join("backing"), &data).expect("backing");
    std::fs::write(dir.path().join("other.img"), pattern(size as usize, 7)).expect("other");
    std::fs::create_dir(dir.path().join("mnt")).expect("mountpoint");
    let spec = FailDiskSpec {
        flaky: Vec::new(),
        backing: dir.path().join("backing"),
        bad: Vec::new(),
        // 2 MiB at 150 ms per 64 KiB: the first imager runs for about 5 s.
        slow: vec![SlowRange {
            start: 2 * MIB,
            size: 2 * MIB,
            delay: Duration::from_millis(150),
        }],
    };
    let disk = FailDisk::mount(&spec, &dir.path().join("mnt")).expect("FUSE failing disk");
    let img = dir.path().join("E.img");
    let map = dir.path().join("E.map");
    let mut first = salvage()
        .arg("image")
        .arg(disk.file())
        .arg(&img)
        .arg("--map")
        .arg(&map)
        .arg("-q")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("first imager");
    wait_for_lock(&mut first, &map);
    let pid = first.id();

    // Same image and map, another source.
    let started = Instant::now();
    let second = salvage()
        .arg("image")
        .arg(dir.path().join("other.img"))
        .arg(&img)
        .arg("--map")
        .arg(&map)
        .arg("-q")
        .output()
        .expect("second imager");
    let err = String::from_utf8_lossy(&second.stderr);
    assert_ne!(second.status.code(), Some(0), "second imager: {err}");
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(err.contains("in use by another imager"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused at once"
    );

    // Another map on the same image is refused too (the image's own lock).
    let second_map = salvage()
        .arg("image")
        .arg(dir.path().join("other.img"))
        .arg(&img)
        .arg("--map")
        .arg(dir.path().join("other.map"))
        .arg("-q")
        .output()
        .expect("imager with another map");
    let err = String::from_utf8_lossy(&second_map.stderr);
    assert_ne!(second_map.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(err.contains("E.img is in use"), "{err}");

    // The runbook op on the same image and map is refused as well.
    let runbook = dir.path().join("two.salvage");
    std::fs::write(
        &runbook,
        format!(
            "runbook \"two\" {{\n  step img = image(source: \"{}\", dest: \"{}\", map: \"{}\")\n}}\n",
            dir.path().join("other.img").display(),
            img.display(),
            map.display()
        ),
    )
    .expect("runbook");
    let op = salvage()
        .arg("run")
        .arg(&runbook)
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--quiet")
        .output()
        .expect("salvage run");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&op.stdout),
        String::from_utf8_lossy(&op.stderr)
    );
    assert_eq!(op.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("pid {pid}")), "{out}");

    let done = first.wait_with_output().expect("first imager ends");
    assert!(
        done.status.success(),
        "first imager: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        std::fs::read(&img).expect("image"),
        data,
        "the first disk's bytes, all of them"
    );
    let text = std::fs::read_to_string(&map).expect("map");
    assert!(text.contains(&disk.file().display().to_string()), "{text}");
    drop(disk);

    // Once the first has ended its lock is gone: the same command resumes (nothing left to do).
    let again = salvage()
        .arg("image")
        .arg(dir.path().join("mnt").join("missing"))
        .arg(&img)
        .arg("--map")
        .arg(&map)
        .arg("-q")
        .output()
        .expect("rerun");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!err.contains("in use"), "{err}");
}

#[test]
fn a_killed_imager_leaves_no_lock_behind() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src.img");
    std::fs::write(&src, pattern(MIB as usize, 3)).expect("src");
    let img = dir.path().join("E.img");
    let map = dir.path().join("E.map");
    let lock = format!("{}.lock", map.display());
    // A process that takes the map's lock the way an imager does (flock), then dies by SIGKILL.
    let script = "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(600)\n";
    let Ok(mut holder) = Command::new("python3")
        .args(["-c", script, &lock])
        .stdout(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_err(),
            "python3 is required in CI"
        );
        eprintln!("SKIP a_killed_imager_leaves_no_lock_behind: python3 is missing");
        return;
    };
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("holder speaks");
    assert_eq!(line, "locked\n");
    let imager = || {
        salvage()
            .arg("image")
            .arg(&src)
            .arg(&img)
            .arg("--map")
            .arg(&map)
            .arg("-q")
            .output()
            .expect("imager")
    };
    let refused = imager();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");
    assert!(!map.exists(), "a refused imager writes no map");
    holder.kill().expect("kill -9");
    holder.wait().expect("reaped");
    let out = imager();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&img).unwrap(), std::fs::read(&src).unwrap());
}
