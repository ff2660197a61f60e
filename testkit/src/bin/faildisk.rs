//! `faildisk`: serves a failing disk over FUSE until SIGINT or SIGTERM, for the benchmark and
//! for demos: `faildisk --backing disk.raw --mountpoint /mnt/fail --bad 1048576+4096`.
//! Prints `ready PATH` on stdout once the failing file can be read.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use salvage_testkit::{FailDisk, FailDiskSpec, SlowRange};

/// Serve BACKING as MOUNTPOINT/disk.img, failing reads of the --bad ranges with EIO.
#[derive(Debug, Parser)]
struct Args {
    /// The image whose bytes are served.
    #[arg(long)]
    backing: PathBuf,
    /// An existing empty directory to mount on.
    #[arg(long)]
    mountpoint: PathBuf,
    /// A bad range START+SIZE (bytes; decimal or 0x hex); repeatable.
    #[arg(long, value_parser = parse_range)]
    bad: Vec<(u64, u64)>,
    /// A slow range START+SIZE:MILLISECONDS (a read touching it sleeps that long per 64 KiB);
    /// repeatable.
    #[arg(long, value_parser = parse_slow)]
    slow: Vec<SlowRange>,
    /// A flaky range START+SIZE:N (reads touching it fail N times in all, then succeed);
    /// repeatable.
    #[arg(long, value_parser = parse_flaky)]
    flaky: Vec<(u64, u64, u64)>,
    /// A file of bad ranges, one START+SIZE per line (for many scattered sectors).
    #[arg(long)]
    bad_file: Option<PathBuf>,
    /// Write the read counts to FILE on exit (`reads_ok N`, `reads_failed N`, `reads_of_bad N`).
    #[arg(long)]
    stats: Option<PathBuf>,
}

fn parse_flaky(s: &str) -> Result<(u64, u64, u64), String> {
    let (range, n) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected START+SIZE:N"))?;
    let (start, size) = parse_range(range)?;
    Ok((start, size, parse_num(n)?))
}

fn parse_num(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("`{s}`: {e}"))
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once('+')
        .ok_or_else(|| format!("`{s}`: expected START+SIZE"))?;
    Ok((parse_num(a)?, parse_num(b)?))
}

fn parse_slow(s: &str) -> Result<SlowRange, String> {
    let (range, ms) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected START+SIZE:MILLISECONDS"))?;
    let (start, size) = parse_range(range)?;
    Ok(SlowRange {
        start,
        size,
        delay: Duration::from_millis(parse_num(ms)?),
    })
}

fn main() {
    let args = Args::parse();
    let mut bad = args.bad;
    if let Some(file) = &args.bad_file {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
            eprintln!("faildisk: cannot read {}: {e}", file.display());
            std::process::exit(2);
        });
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_range(line) {
                Ok(r) => bad.push(r),
                Err(e) => {
                    eprintln!("faildisk: {}:{}: {e}", file.display(), i + 1);
                    std::process::exit(2);
                }
            }
        }
    }
    let spec = FailDiskSpec {
        backing: args.backing,
        bad,
        slow: args.slow,
        flaky: args.flaky,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("faildisk: cannot handle signals: {e}");
            std::process::exit(1);
        }
    }
    let disk = match FailDisk::mount(&spec, &args.mountpoint) {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "faildisk: cannot mount on {}: {e} (needs root and /dev/fuse)",
                args.mountpoint.display()
            );
            std::process::exit(1);
        }
    };
    println!("ready {}", disk.file().display());
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = disk.stats();
    let (ok, failed, of_bad) = (
        stats.reads_ok.load(Ordering::Relaxed),
        stats.reads_failed.load(Ordering::Relaxed),
        stats.reads_of_bad.load(Ordering::Relaxed),
    );
    eprintln!("faildisk: served {ok} reads, failed {failed}, {of_bad} touching bad sectors");
    if let Some(path) = &args.stats {
        let text = format!("reads_ok {ok}\nreads_failed {failed}\nreads_of_bad {of_bad}\n");
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("faildisk: cannot write {}: {e}", path.display());
        }
    }
    drop(disk);
}
