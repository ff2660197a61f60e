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
    let spec = FailDiskSpec {
        backing: args.backing,
        bad: args.bad,
        slow: args.slow,
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
    eprintln!(
        "faildisk: served {} reads, failed {}",
        stats.reads_ok.load(Ordering::Relaxed),
        stats.reads_failed.load(Ordering::Relaxed)
    );
    drop(disk);
}
