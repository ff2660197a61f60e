//! `ImageArgs`: the `salvage image` command line, and [`command`], which runs it through the
//! same [`salvage_imager::rescue`] the runbook op uses.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::image_progress::{Progress, human_bytes};
use salvage_imager::{BadMap, HashAlgorithm, ImageOptions, ImageReport, Mapfile, write_bad_blocks};

const AFTER_HELP: &str = "\
Phases, as GNU ddrescue: copying (large reads of good areas; on an error skip ahead, the skip
growing while errors continue; then the skipped areas), trimming (sector by sector inward from
the edges of failed areas), scraping (the rest, sector by sector), then --retries passes over
bad sectors. A rescued sector is never read again. The source is opened read-only. An existing
image is never truncated. The map is GNU ddrescue's mapfile: rerun the same command to resume
(also from a map written by GNU ddrescue); ddrescuelog reads salvage's map.

Good areas of a file source are copied inside the kernel (copy_file_range, as cp does), and the
image is not fsynced before the map is saved, so salvage ends as soon as the image is written to
the page cache. The map then says what it claims that may not be on disk yet (a `# Unsynced:`
comment with this boot's id); the kernel writes it out within about 30 s, and `sync` waits for
it. If the machine restarts before that, rerunning the same command reads those bytes again.
--sync waits for the disk before every map save and at the end instead, as GNU ddrescue does:
use it before pulling a disk out, or when another tool will read the map after a crash.

Test mode (--simulate-bad FILE), like ddrescue's -H: reads touching a listed byte fail with EIO.
FILE is either one range per line, START+SIZE or START-END (end exclusive), numbers in decimal,
0x hex or 0 octal, `#` comments:
    # two bad sectors and a bad 64 KiB area
    4096+512
    0x100000-0x110000
or a GNU ddrescue mapfile, whose blocks that are not finished (`+`) are the bad areas.

Exit status: 0 done (bad sectors may remain: see the summary), 1 I/O or environment problem,
2 bad input (a corrupt mapfile, with its line number; a bad option), 130 interrupted (map saved).

Examples:
    salvage image /dev/sdb sdb.img --map sdb.map
    salvage image /dev/sdb sdb.img --map sdb.map --retries 3 --badblocks sdb.bb --block-size 4096
    salvage image disk.raw test.img --map test.map --simulate-bad bad.txt --json";

/// Parses `512`, `4KiB`, `4K` (binary), `5GB` (decimal), `0x1000`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && !t.starts_with("0x"))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let base: u64 = if let Some(hex) = num.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).map_err(|e| format!("`{s}`: {e}"))?
    } else {
        num.trim().parse().map_err(|e| format!("`{s}`: {e}"))?
    };
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "s" => 512,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use B, KiB, MiB, GiB, TiB, s, KB, MB, GB, TB)"
            ));
        }
    };
    base.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// `--cluster-size`: a size with a unit, or a bare count of sectors (GNU ddrescue's -c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cluster {
    /// A bare number: sectors.
    Sectors(u64),
    /// A size with a unit: bytes.
    Bytes(u64),
}

fn parse_cluster(s: &str) -> Result<Cluster, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map(Cluster::Sectors)
            .map_err(|e| format!("`{s}`: {e}"));
    }
    parse_size(t).map(Cluster::Bytes)
}

impl ImageArgs {
    /// The map: `--map`, or DEST.map as the runbook op defaults it.
    pub(crate) fn map_path(&self) -> PathBuf {
        self.map.clone().unwrap_or_else(|| {
            let mut name = self.dest.clone().into_os_string();
            name.push(".map");
            PathBuf::from(name)
        })
    }
}

/// `salvage image SRC DEST [--map MAP]`: image a failing disk or file with read errors tolerated.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub(crate) struct ImageArgs {
    /// The source: a block device or a file. Opened read-only, never written.
    pub source: PathBuf,
    /// The image to write: a file (created, or reused without truncation) or, with --force, a device.
    pub dest: PathBuf,
    /// The GNU ddrescue mapfile: read to resume, saved atomically as the rescue goes
    /// [default: DEST.map, as the runbook op].
    #[arg(long, short = 'm')]
    pub map: Option<PathBuf>,
    /// Sector size in bytes [default: the device's logical sector size, 512 for a file].
    #[arg(long, short = 'b', value_name = "BYTES", value_parser = parse_size)]
    pub sector_size: Option<u64>,
    /// Size of a read near errors in the copying phase, as the runbook op's `cluster`: a size
    /// (`64KiB`, `128s`); a bare number counts sectors, as GNU ddrescue's -c [default: 64KiB].
    #[arg(long, short = 'c', value_name = "SIZE", value_parser = parse_cluster)]
    pub cluster_size: Option<Cluster>,
    /// Bytes per read on good areas in the copying phase [default: 1MiB].
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub copy_size: Option<u64>,
    /// Retry passes over bad sectors after scraping.
    #[arg(long, short = 'r', value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Copy from the end towards the start.
    #[arg(long, short = 'R')]
    pub reverse: bool,
    /// Read the source with O_DIRECT (bypass the page cache).
    #[arg(long, short = 'd')]
    pub direct: bool,
    /// Do not write blocks of zeros to parts of the image not written before (sparse image).
    #[arg(long, short = 'S')]
    pub sparse: bool,
    /// First byte of the source to rescue (the domain's start).
    #[arg(long, short = 'i', value_name = "BYTES", value_parser = parse_size, default_value = "0")]
    pub domain_start: u64,
    /// Bytes to rescue from --domain-start [default: to the end of the source].
    #[arg(long, short = 's', value_name = "BYTES", value_parser = parse_size)]
    pub domain_size: Option<u64>,
    /// Test mode: fail reads of the bad areas listed in FILE (format below), like ddrescue -H.
    #[arg(long, short = 'H', value_name = "FILE")]
    pub simulate_bad: Option<PathBuf>,
    /// Allow a block device as the image (it is overwritten), or resume a map made from
    /// another source path (the same disk under a new name).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The image's hash, computed while copying.
    #[arg(long, value_enum, default_value_t = HashChoice::Blake3)]
    pub hash: HashChoice,
    /// Seconds between map saves (each also starts an fdatasync of the image in the background).
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub save_interval: u64,
    /// Wait until the image is on disk before every map save and at the end, as GNU ddrescue
    /// does (slower by the disk's write time; see below).
    #[arg(long, short = 'y')]
    pub sync: bool,
    /// Also write the list of bad blocks for `e2fsck -l` to FILE.
    #[arg(long, value_name = "FILE")]
    pub badblocks: Option<PathBuf>,
    /// Block size of the bad-block list (the filesystem's block size).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "4096")]
    pub block_size: u64,
    /// Byte offset of the filesystem in the image, for the bad-block list.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "0")]
    pub badblocks_offset: u64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress display.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn print_summary(r: &ImageReport) {
    println!(
        "salvage image: {} in {:.1} s",
        if r.complete {
            "finished, every byte rescued"
        } else {
            "finished with bad areas"
        },
        r.seconds
    );
    println!(
        "  rescued    {} of {} ({:.4}%)",
        human_bytes(r.rescued_bytes),
        human_bytes(r.size),
        r.percent
    );
    println!(
        "  bad areas  {} ({} in all)",
        r.bad_areas.len(),
        human_bytes(r.bad_bytes)
    );
    for a in r.bad_areas.iter().take(20) {
        println!(
            "    bytes {}..{} ({} bytes)",
            a.start,
            a.start + a.size,
            a.size
        );
    }
    if r.bad_areas.len() > 20 {
        println!(
            "    ... {} more: see the map or --json",
            r.bad_areas.len() - 20
        );
    }
    if let Some(h) = &r.hash {
        println!("  hash       {h}");
    }
    println!("  image      {}", r.dest.display());
    println!("  map        {}", r.map.display());
    if r.reread_unsynced_bytes > 0 {
        println!(
            "  reread     {}: the map claimed them but the machine restarted before they reached the disk",
            human_bytes(r.reread_unsynced_bytes)
        );
    }
    if r.unsynced_bytes > 0 {
        println!(
            "  not synced {} still in the page cache; the kernel writes them within about 30 s (`sync` waits); after a crash, rerun this command to read them again",
            human_bytes(r.unsynced_bytes)
        );
    }
}

/// Runs `salvage image`; returns the process exit code (0 ok, 1 I/O, 2 bad input, 130 interrupted).
pub(crate) fn command(args: &ImageArgs) -> i32 {
    let map = args.map_path();
    let mut opts = ImageOptions::new(&args.source, &args.dest, &map);
    opts.command_line = std::env::args().collect::<Vec<_>>().join(" ");
    opts.sector_size = args.sector_size;
    let sector = args.sector_size.unwrap_or(512).max(1);
    opts.cluster_sectors = args.cluster_size.map(|c| match c {
        Cluster::Sectors(n) => n.max(1),
        Cluster::Bytes(b) => (b / sector).max(1),
    });
    opts.copy_size = args.copy_size;
    opts.retries = args.retries;
    opts.reverse = args.reverse;
    opts.direct = args.direct;
    opts.sparse = args.sparse;
    opts.domain_start = args.domain_start;
    opts.domain_size = args.domain_size;
    opts.force = args.force;
    opts.hash = args.hash.algorithm();
    opts.save_interval = Duration::from_secs(args.save_interval.max(1));
    opts.sync = args.sync;
    if let Some(path) = &args.simulate_bad {
        match BadMap::load(path) {
            Ok(m) => opts.bad_map = Some(m),
            Err(e) => {
                eprintln!("salvage image: {e}");
                return e.exit_code();
            }
        }
    }
    let cancel = crate::signals::Interrupt::install();
    // A second signal while the map is being saved ends the process at once.
    crate::signals::Interrupt::exit_on_second_signal();
    let mut display = Progress::new(args.quiet || args.json);
    let result = salvage_imager::rescue(&opts, &mut |s| display.update(s), &cancel);
    display.finish();
    match result {
        Ok(report) => {
            if let Some(bb) = &args.badblocks {
                let listed = Mapfile::load(&map)
                    .and_then(|m| {
                        m.ok_or_else(|| {
                            salvage_imager::ImageError::new(
                                salvage_imager::ImageErrorKind::ReadMap(map.clone()),
                            )
                        })
                    })
                    .and_then(|m| write_bad_blocks(&m, args.block_size, args.badblocks_offset, bb));
                match listed {
                    Ok(n) => {
                        if !args.json {
                            println!(
                                "  badblocks  {} ({n} blocks of {} bytes)",
                                bb.display(),
                                args.block_size
                            );
                        }
                    }
                    Err(e) => {
                        eprintln!("salvage image: {e}");
                        return e.exit_code();
                    }
                }
            }
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("salvage image: cannot print the report: {e}");
                        return 3;
                    }
                }
            } else {
                print_summary(&report);
            }
            0
        }
        Err(e) => {
            eprintln!("salvage image: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("5GB"), Ok(5_000_000_000));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert_eq!(parse_size("8s"), Ok(4096));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn cluster_sizes_take_units_and_bare_numbers_count_sectors() {
        use super::{Cluster, parse_cluster};
        assert_eq!(parse_cluster("128"), Ok(Cluster::Sectors(128)));
        assert_eq!(parse_cluster("64KiB"), Ok(Cluster::Bytes(65536)));
        assert_eq!(parse_cluster("16s"), Ok(Cluster::Bytes(8192)));
        assert!(parse_cluster("12 parsecs").is_err());
    }
}

/// `--hash`: the command line's names of [`HashAlgorithm`] (the library knows no clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HashChoice {
    /// SHA-256 (what `sha256sum` prints); about 1 GB/s here, which bounds the copy rate.
    Sha256,
    /// BLAKE3 (what `b3sum` prints): several times faster than SHA-256, off the copy's path.
    Blake3,
    /// No hash.
    None,
}

impl HashChoice {
    fn algorithm(self) -> HashAlgorithm {
        match self {
            Self::Sha256 => HashAlgorithm::Sha256,
            Self::Blake3 => HashAlgorithm::Blake3,
            Self::None => HashAlgorithm::None,
        }
    }
}
