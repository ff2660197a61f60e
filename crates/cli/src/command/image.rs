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

Sizes are read as GNU ddrescue reads them: 0x hex, leading-0 octal, then s (512-byte sectors),
k or K = 1000, Ki = 1024, M = 10^6, Mi = 2^20, G, Gi, T, Ti, P, Pi, E, Ei, with an optional B:
`4M` is 4,000,000 bytes and `4MiB` is 4,194,304. GNU ddrescue's long options work under the same
names: --skip-size, --min-read-rate, --max-error-rate, --max-bad-areas, --max-read-errors,
--timeout, --domain-mapfile, --no-trim, --no-scrape, --cpass, --retry-passes (-1 = until every
sector reads), --input-position, --size, --idirect; and the map may be the third argument. A
failed read is left whole for trimming and is not asked again (no copying pass reads a bad
sector twice); the map is saved every 5 s and after every 256 MiB rescued.

Rescue what matters first: --domain used reads the partition table and each filesystem's
allocation maps (ext2/3/4 block bitmaps, FAT tables) from the image as soon as those sectors are
rescued, then rescues the metadata, then the blocks in use, and leaves free space unread (the
summary says how much); --domain used-first reads free space last. An area whose use cannot be
read (an unreadable bitmap, an unknown filesystem such as xfs, btrfs or NTFS) counts as used.
`salvage domain SRC --used` writes that domain as a GNU ddrescue domain mapfile instead.

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

/// Parses a size as GNU ddrescue does: `512`, `0x1000`, `0777` (octal), then a multiplier:
/// `s` (512-byte sectors), `k`/`K` = 1000, `Ki` = 1024, `M` = 10^6, `Mi` = 2^20, and so on to
/// `E`/`Ei`, with an optional `B` (`4MiB`, `5GB`).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && !t.starts_with("0x"))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num = num.trim();
    let base: u64 = if let Some(hex) = num.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).map_err(|e| format!("`{s}`: {e}"))?
    } else if num.len() > 1 && num.starts_with('0') {
        u64::from_str_radix(&num[1..], 8).map_err(|e| format!("`{s}`: {e}"))?
    } else {
        num.parse().map_err(|e| format!("`{s}`: {e}"))?
    };
    let unit = unit.trim();
    let unit = unit
        .strip_suffix('B')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit);
    let (letter, binary) = match unit.strip_suffix('i') {
        Some(l) if !l.is_empty() => (l, true),
        _ => (unit, false),
    };
    let power = match letter {
        "" | "B" => 0,
        "s" if !binary => {
            return base
                .checked_mul(512)
                .ok_or_else(|| format!("`{s}` is too large"));
        }
        "k" | "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        other => {
            return Err(format!(
                "`{s}`: unknown multiplier `{other}` (GNU ddrescue's: s = sectors, k = 1000, Ki = 1024, M = 10^6, Mi = 2^20, G, Gi, T, Ti, P, Pi, E, Ei; a final B is optional)"
            ));
        }
    };
    let step: u64 = if binary { 1024 } else { 1000 };
    let mult = step
        .checked_pow(power)
        .ok_or_else(|| format!("`{s}` is too large"))?;
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

/// `--skip-size INITIAL[,MAX]` (either may be empty, as in ddrescue's `-K ,1Mi`).
fn parse_skip(s: &str) -> Result<(u64, Option<u64>), String> {
    let (a, b) = s.split_once(',').unwrap_or((s, ""));
    let initial = if a.trim().is_empty() {
        65_536
    } else {
        parse_size(a)?
    };
    let max = if b.trim().is_empty() {
        None
    } else {
        Some(parse_size(b)?)
    };
    if max.is_some_and(|m| m < initial) {
        return Err(format!(
            "`{s}`: the maximum skip is smaller than the initial one"
        ));
    }
    Ok((initial, max))
}

/// `--max-bad-areas [+]N`.
fn parse_max_areas(s: &str) -> Result<(u64, bool), String> {
    let (n, new_only) = match s.strip_prefix('+') {
        Some(n) => (n, true),
        None => (s, false),
    };
    n.trim()
        .parse()
        .map(|n| (n, new_only))
        .map_err(|e| format!("`{s}`: {e} (a count, or +N for new areas only)"))
}

/// A time interval as GNU ddrescue writes one: `1`, `1.5`, `30s`, `2m`, `1h`, `1d`, `1/2h`.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], &t[i..]),
        _ => (t, "s"),
    };
    let value = match num.split_once('/') {
        Some((a, b)) => {
            let (a, b): (f64, f64) = (
                a.parse().map_err(|e| format!("`{s}`: {e}"))?,
                b.parse().map_err(|e| format!("`{s}`: {e}"))?,
            );
            a / b
        }
        None => num.parse().map_err(|e| format!("`{s}`: {e}"))?,
    };
    let mult = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => return Err(format!("`{s}`: unknown unit `{other}` (s, m, h or d)")),
    };
    let secs = value * mult;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("`{s}`: not a usable interval"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--cpass 1`, `1,2`, `1-5`, `2-`.
fn parse_passes(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let num = |x: &str, default: u32| -> Result<u32, String> {
            if x.trim().is_empty() {
                Ok(default)
            } else {
                x.trim().parse().map_err(|e| format!("`{s}`: {e}"))
            }
        };
        let (a, b) = (num(a, 1)?, num(b, 5)?);
        if !(1..=5).contains(&a) || !(1..=5).contains(&b) || a > b {
            return Err(format!("`{s}`: copying passes are 1 to 5"));
        }
        out.extend(a..=b);
    }
    Ok(out)
}

impl ImageArgs {
    /// The map: `--map` or the third argument, or DEST.map as the runbook op defaults it.
    pub(crate) fn map_path(&self) -> PathBuf {
        self.map
            .clone()
            .or_else(|| self.map_arg.clone())
            .unwrap_or_else(|| {
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
    /// The GNU ddrescue mapfile, as ddrescue's third argument (or --map).
    #[arg(value_name = "MAP")]
    pub map_arg: Option<PathBuf>,
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
    /// Retry passes over bad sectors after scraping; -1: until every sector is read (stop with
    /// Ctrl-C or --timeout).
    #[arg(long, visible_alias = "retry-passes", short = 'r', value_name = "N", default_value_t = 0, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(-1..=1_000_000))]
    pub retries: i64,
    /// After a read error in the first copying pass, skip this far, doubling while errors
    /// continue, up to MAX [default: 64KiB or size/32768, up to 1% of the size].
    #[arg(long, short = 'K', value_name = "INITIAL[,MAX]", value_parser = parse_skip)]
    pub skip_size: Option<(u64, Option<u64>)>,
    /// Areas read slower than this (bytes/s) in the first passes are left for later.
    #[arg(long, short = 'a', value_name = "BYTES", value_parser = parse_size)]
    pub min_read_rate: Option<u64>,
    /// Stop when read errors come faster than this many bytes a second.
    #[arg(long, short = 'E', value_name = "BYTES", value_parser = parse_size)]
    pub max_error_rate: Option<u64>,
    /// Stop when there are more bad areas than N (+N: more new ones than N).
    #[arg(long, short = 'e', value_name = "[+]N", value_parser = parse_max_areas)]
    pub max_bad_areas: Option<(u64, bool)>,
    /// Stop after N failed reads.
    #[arg(long, short = 'X', value_name = "N")]
    pub max_read_errors: Option<u64>,
    /// Stop when no read has succeeded for this long (`90`, `1.5m`, `2h`, `1d`).
    #[arg(long, short = 'T', value_name = "INTERVAL", value_parser = parse_interval)]
    pub timeout: Option<Duration>,
    /// Skip the trimming phase (failed blocks are scraped whole).
    #[arg(long, short = 'N')]
    pub no_trim: bool,
    /// Skip the scraping phase.
    #[arg(long, short = 'n')]
    pub no_scrape: bool,
    /// The copying passes to run: `1`, `1,2`, `1-5` [default: all].
    #[arg(long, value_name = "RANGE", value_parser = parse_passes)]
    pub cpass: Option<Vec<u32>>,
    /// Fill mode, as GNU ddrescue's: SOURCE is a pattern file; the blocks of DEST whose map
    /// status is one of TYPES (`?*/-+`) are overwritten with it, repeated; the map is not
    /// changed. `-F -` marks bad sectors so they can be found in files copied out later.
    #[arg(long, short = 'F', value_name = "TYPES")]
    pub fill_mode: Option<String>,
    /// Rescue only the finished (`+`) blocks of this GNU ddrescue mapfile.
    #[arg(long, value_name = "FILE", conflicts_with = "domain")]
    pub domain_mapfile: Option<PathBuf>,
    /// `used`: read the partition table and each filesystem's allocation maps (ext2/3/4,
    /// FAT) as soon as they are rescued, then rescue metadata, then used blocks, and never
    /// free space; `used-first`: the same, then free space last.
    #[arg(long, value_name = "used|used-first", value_parser = ["used", "used-first"])]
    pub domain: Option<String>,
    /// Copy from the end towards the start.
    #[arg(long, short = 'R')]
    pub reverse: bool,
    /// Read the source with O_DIRECT (bypass the page cache).
    #[arg(long, visible_alias = "idirect", short = 'd')]
    pub direct: bool,
    /// Do not write blocks of zeros to parts of the image not written before (sparse image).
    #[arg(long, short = 'S')]
    pub sparse: bool,
    /// First byte of the source to rescue (the domain's start).
    #[arg(long, visible_alias = "input-position", short = 'i', value_name = "BYTES", value_parser = parse_size, default_value = "0")]
    pub domain_start: u64,
    /// Bytes to rescue from --domain-start [default: to the end of the source].
    #[arg(long, visible_alias = "size", short = 's', value_name = "BYTES", value_parser = parse_size)]
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

fn print_summary(r: &ImageReport, used_only: bool) {
    println!(
        "salvage image: {} in {:.1} s",
        match (r.complete, used_only) {
            (true, false) => "finished, every byte rescued",
            (true, true) => "finished, every byte in use rescued (free space not read)",
            (false, false) => "finished with bad areas",
            (false, true) => "finished with bad areas in use (free space not read)",
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

/// `--fill-mode TYPES PATTERN DEST MAP`.
fn fill_command(args: &ImageArgs, types: &str, map: &std::path::Path) -> i32 {
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let result = salvage_imager::fill_types(types)
        .and_then(|t| salvage_imager::fill(&args.source, &args.dest, map, &t, &command_line));
    match result {
        Ok(r) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
            } else {
                println!(
                    "salvage image: filled {} blocks ({}) of status `{types}` in {} with {}",
                    r.blocks,
                    human_bytes(r.bytes),
                    args.dest.display(),
                    args.source.display()
                );
            }
            0
        }
        Err(e) => {
            eprintln!("salvage image: {e}");
            e.exit_code()
        }
    }
}

/// What `--domain used` read and left.
fn print_domain(d: &salvage_imager::DomainReport) {
    println!(
        "  domain     metadata {}, in use {} (rescued first, after {} rounds reading the allocation maps)",
        human_bytes(d.metadata_bytes),
        human_bytes(d.used_bytes),
        d.rounds
    );
    if d.free_bytes_not_read > 0 {
        println!(
            "  NOT READ   {} of free space (--domain used): rerun with --domain used-first or without --domain to image it",
            human_bytes(d.free_bytes_not_read)
        );
    }
    for n in &d.notes {
        println!("    {n}");
    }
}

/// Runs `salvage image`; returns the process exit code (0 ok, 1 I/O, 2 bad input, 130 interrupted).
pub(crate) fn command(args: &ImageArgs) -> i32 {
    let map = args.map_path();
    if let Some(types) = &args.fill_mode {
        return fill_command(args, types, &map);
    }
    let mut opts = ImageOptions::new(&args.source, &args.dest, &map);
    opts.command_line = std::env::args().collect::<Vec<_>>().join(" ");
    opts.sector_size = args.sector_size;
    let sector = args.sector_size.unwrap_or(512).max(1);
    opts.cluster_sectors = args.cluster_size.map(|c| match c {
        Cluster::Sectors(n) => n.max(1),
        Cluster::Bytes(b) => (b / sector).max(1),
    });
    opts.copy_size = args.copy_size;
    opts.retries = match u32::try_from(args.retries) {
        Ok(n) => n,
        Err(_) => salvage_imager::RETRY_FOREVER,
    };
    if let (Some(a), Some(b)) = (&args.map, &args.map_arg) {
        if a != b {
            eprintln!(
                "salvage image: two maps given ({} and --map {}): give one",
                b.display(),
                a.display()
            );
            return 2;
        }
    }
    opts.skip_size = args.skip_size;
    opts.min_read_rate = args.min_read_rate;
    opts.max_error_rate = args.max_error_rate;
    opts.max_bad_areas = args.max_bad_areas;
    opts.max_read_errors = args.max_read_errors;
    opts.timeout = args.timeout;
    opts.no_trim = args.no_trim;
    opts.no_scrape = args.no_scrape;
    opts.cpass = args.cpass.clone();
    if let Some(path) = &args.domain_mapfile {
        match Mapfile::load(path) {
            Ok(Some(m)) => {
                opts.domain_parts = Some(
                    m.blocks()
                        .iter()
                        .filter(|b| b.status == salvage_imager::BlockStatus::Finished)
                        .map(|b| (b.pos, b.size))
                        .collect(),
                );
            }
            Ok(None) => {
                eprintln!(
                    "salvage image: the domain mapfile {} does not exist: check the path",
                    path.display()
                );
                return 2;
            }
            Err(e) => {
                eprintln!("salvage image: {e}");
                return e.exit_code();
            }
        }
    }
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
    let used = match args.domain.as_deref() {
        Some("used") => Some(salvage_imager::UsedDomain::UsedOnly),
        Some(_) => Some(salvage_imager::UsedDomain::UsedFirst),
        None => None,
    };
    let (result, domain) = match used {
        None => (
            salvage_imager::rescue(&opts, &mut |s| display.update(s), &cancel),
            None,
        ),
        Some(which) => {
            match salvage_imager::rescue_used_first(
                &opts,
                which,
                &mut |s| display.update(s),
                &cancel,
            ) {
                Ok((r, d)) => (Ok(r), Some(d)),
                Err(e) => (Err(e), None),
            }
        }
    };
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
                let mut value = match serde_json::to_value(&report) {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("salvage image: cannot print the report: {e}");
                        return 3;
                    }
                };
                if let (Some(d), Some(obj)) = (&domain, value.as_object_mut()) {
                    obj.insert(
                        "domain".to_string(),
                        serde_json::to_value(d).unwrap_or_default(),
                    );
                }
                match serde_json::to_string_pretty(&value) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("salvage image: cannot print the report: {e}");
                        return 3;
                    }
                }
            } else {
                print_summary(
                    &report,
                    domain.as_ref().is_some_and(|d| d.free_bytes_not_read > 0),
                );
                if let Some(d) = &domain {
                    print_domain(d);
                }
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
        assert_eq!(parse_size("1Mi"), Ok(1 << 20));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        // As GNU ddrescue reads them: SI unless `i`.
        assert_eq!(parse_size("4M"), Ok(4_000_000));
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert_eq!(parse_size("64Ki"), Ok(65_536));
        assert_eq!(parse_size("010"), Ok(8));
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
