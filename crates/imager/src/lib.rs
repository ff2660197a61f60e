//! The ddrescue-class imager: copies a failing source to an image, tolerating read errors,
//! keeping a GNU ddrescue mapfile. One implementation serves `salvage image` and the runbook's
//! `image(...)` op:
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use salvage_imager::{ImageOptions, rescue};
//!
//! let mut opts = ImageOptions::new("/dev/sdb", "/srv/rescue/sdb.img", "/srv/rescue/sdb.map");
//! opts.retries = 2;
//! let cancel = AtomicBool::new(false); // set from a signal handler or the executor
//! match rescue(&opts, &mut |status| eprintln!("{} bytes rescued", status.rescued_bytes), &cancel) {
//!     Ok(report) => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
//!     Err(e) if e.is_interrupted() => eprintln!("{e}"), // map saved; rerun to resume
//!     Err(e) => { eprintln!("{e}"); std::process::exit(e.exit_code()) }
//! }
//! ```
//!
//! [`rescue`] is blocking (call it from `spawn_blocking`). It opens the source read-only,
//! checks the image (never the source, nor on it; a device only with `force`, and not mounted;
//! enough space; an existing image is reused, never truncated), reads the map to resume (GNU
//! ddrescue's maps too), runs GNU ddrescue's phases (copying with large reads and a growing
//! skip on errors, trimming, scraping, retrying: `rescuer.rs`), saves the map atomically every
//! `save_interval` and at the end, listing in it what may not be on disk yet (or, with
//! [`ImageOptions::sync`], after an fdatasync of the image), and stops with
//! [`ImageErrorKind::Interrupted`] (map saved) once `cancel` becomes true. The returned
//! [`ImageReport`] (serde) carries the rescued bytes and percent, the bad areas as byte ranges
//! and the image's hash (`blake3:…` by default, `sha256:…` with [`HashAlgorithm::Sha256`]),
//! computed from the copied data, never by reading the source again.

mod aligned_buf;
mod bad_blocks;
mod bad_map;
mod blake3_tree;
mod dest;
mod error;
mod fill;
mod hasher;
mod image_pages;
mod map_saver;
mod mapfile;
mod options;
mod report;
mod rescuer;
mod run_lock;
mod source;
mod status;
mod unsynced;
mod used_first;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod used_first_tests;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub use bad_blocks::{bad_blocks_text, write_bad_blocks};
pub use bad_map::BadMap;
pub use error::{ImageError, ImageErrorKind};
pub use fill::{FillReport, fill, fill_types};
pub use mapfile::{Block, BlockStatus, Mapfile, Phase};
pub use options::{HashAlgorithm, ImageOptions, RETRY_FOREVER};
pub use report::{BadArea, ImageReport};
pub use salvage_partition::used_space::Ranges;
pub use status::ImageStatus;
pub use unsynced::Unsynced;
pub use used_first::{DomainReport, UsedDomain, rescue_used_first};

use dest::Dest;
use hasher::ImageHasher;
use map_saver::MapSaver;
use rescuer::{Rescuer, Tuning};
use run_lock::RunLock;
use source::Source;
use writer::Writer;

/// Images `opts.source` to `opts.dest`, keeping `opts.map`. Calls `progress` a few times a
/// second; returns [`ImageErrorKind::Interrupted`] (after saving the map) once `cancel` is set.
pub fn rescue(
    opts: &ImageOptions,
    progress: &mut dyn FnMut(&ImageStatus),
    cancel: &AtomicBool,
) -> Result<ImageReport, ImageError> {
    rescue_recorded(opts, progress, cancel, &mut None)
}

/// [`rescue`], keeping every read attempt in `log` when it is `Some` (for tests).
pub(crate) fn rescue_recorded(
    opts: &ImageOptions,
    progress: &mut dyn FnMut(&ImageStatus),
    cancel: &AtomicBool,
    log: &mut Option<Vec<source::ReadRecord>>,
) -> Result<ImageReport, ImageError> {
    // `_locks` keep the image and the map this run's until it returns.
    let (rescuer_parts, dest, reread_unsynced_bytes, _locks) = prepare(opts)?;
    let started = Instant::now();
    let (mut src, map, writer, saver, t) = rescuer_parts;
    src.log = log.take();
    let parts = opts.domain_parts.as_ref().map(|p| domain_parts(p, &t));
    let mut r = Rescuer::new(
        src, map, writer, saver, t, &opts.dest, &opts.map, progress, cancel, parts,
    );
    let result = r.run();
    *log = r.src.log.take();
    result?;
    let totals = r.map_totals();
    let unsynced_bytes = r.map.unsynced.as_ref().map_or(0, Unsynced::bytes);
    let areas = r.domain_error_areas();
    let read_errors = r.read_errors;
    let sector_size = r.src.sector_size;
    let size = r.domain_bytes();
    let hasher = r.writer.finish();
    let (hash, hashed_inline_bytes) = match hasher {
        Some(h) => {
            let inline = h.inline_bytes();
            let hash = h
                .finish(&dest.file)
                .map_err(|e| ImageError::io(ImageErrorKind::HashDest(opts.dest.clone()), e))?;
            (hash, inline)
        }
        None => (None, 0),
    };
    let rescued_bytes = totals[BlockStatus::Finished as usize];
    let bad_bytes: u64 = areas.iter().map(|a| a.1).sum();
    Ok(ImageReport {
        source: opts.source.clone(),
        dest: opts.dest.clone(),
        map: opts.map.clone(),
        size,
        rescued_bytes,
        percent: if size == 0 {
            100.0
        } else {
            rescued_bytes as f64 * 100.0 / size as f64
        },
        sector_size,
        bad_areas: areas
            .into_iter()
            .map(|(start, size)| BadArea { start, size })
            .collect(),
        bad_bytes,
        read_errors,
        hash,
        hashed_inline_bytes,
        reread_unsynced_bytes,
        unsynced_bytes,
        seconds: started.elapsed().as_secs_f64(),
        complete: rescued_bytes == size,
    })
}

type Parts = (Source, Mapfile, Writer, MapSaver, Tuning);

/// The current time as a mapfile writes it (`YYYY-MM-DD hh:mm:ss UTC`).
pub fn now_text() -> String {
    map_saver::format_time(std::time::SystemTime::now())
}

/// The size of `opts.source` in bytes (opened read-only, as a rescue opens it).
pub(crate) fn source_size(opts: &ImageOptions) -> Result<u64, ImageError> {
    Ok(Source::open(&opts.source, opts.sector_size, false, None)?.size)
}

/// The ranges `(start, len)` as sorted, merged `(start, end)` parts inside the domain.
fn domain_parts(ranges: &[(u64, u64)], t: &Tuning) -> rescuer::DomainParts {
    let mut sorted: Vec<(u64, u64)> = ranges
        .iter()
        .map(|&(s, n)| (s.max(t.dom_start), s.saturating_add(n).min(t.dom_end)))
        .filter(|(s, e)| s < e)
        .collect();
    sorted.sort_unstable();
    let mut out: rescuer::DomainParts = Vec::new();
    for (s, e) in sorted {
        match out.last_mut() {
            Some(last) if last.1 >= s => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Validates the options, opens the source and the image, reads the map.
/// Also returns the bytes the map claimed that are read again because they may not be on disk,
/// and the locks that keep other imagers off the image and the map while this one runs.
fn prepare(opts: &ImageOptions) -> Result<(Parts, Dest, u64, Vec<RunLock>), ImageError> {
    let bad = |m: String| ImageError::new(ImageErrorKind::BadOption(m));
    if let Some(s) = opts.sector_size {
        if s == 0 || s > (1 << 20) {
            return Err(bad(format!("sector size {s} must be between 1 and 1 MiB")));
        }
    }
    if opts.map == opts.source || opts.map == opts.dest {
        return Err(bad(format!(
            "the mapfile {} must differ from the source and the image",
            opts.map.display()
        )));
    }
    let src = Source::open(
        &opts.source,
        opts.sector_size,
        opts.direct,
        opts.bad_map.clone(),
    )?;
    let locks = lock_image_and_map(opts)?;
    let sector = src.sector_size;
    const MAX_READ: u64 = 256 << 20;
    let cluster = match opts.cluster_sectors {
        None => 65_536u64.div_ceil(sector) * sector,
        Some(c) => c
            .max(1)
            .checked_mul(sector)
            .filter(|&b| b <= MAX_READ)
            .ok_or_else(|| {
                bad(format!(
                    "a cluster of {c} sectors of {sector} bytes is larger than 256 MiB"
                ))
            })?,
    };
    // Kernel copies of a healthy file go 1 MiB at a time; reads (a device, a failing file)
    // a cluster at a time, as GNU ddrescue: a failed read is then left whole for trimming
    // without making trimming long, and no bad sector is read twice by the copying passes.
    let kernel_copies = src.kernel_copies() && !opts.sparse;
    let copy_size = opts
        .copy_size
        .unwrap_or(if kernel_copies { 1 << 20 } else { cluster });
    if copy_size > MAX_READ {
        return Err(bad(format!(
            "copy size of {copy_size} bytes is larger than 256 MiB"
        )));
    }
    let copy_size = copy_size.max(cluster).div_ceil(cluster) * cluster;
    let size = src.size;
    if opts.domain_start > size {
        return Err(bad(format!(
            "domain start {} is past the end of the source ({size} bytes)",
            opts.domain_start
        )));
    }
    let dom_end = opts
        .domain_size
        .map_or(size, |s| opts.domain_start.saturating_add(s).min(size));
    let loaded = Mapfile::load(&opts.map)?;
    if loaded.is_none() && !opts.force {
        use std::os::unix::fs::MetadataExt;
        let same =
            |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        let src_meta = std::fs::metadata(&opts.source).ok();
        if let Ok(meta) = std::fs::metadata(&opts.dest) {
            // The image being the source itself is refused below, with its own message.
            let is_source = src_meta.as_ref().is_some_and(|s| same(s, &meta));
            if meta.is_file() && meta.blocks() > 0 && !is_source {
                return Err(ImageError::new(ImageErrorKind::DestHasDataWithoutMap {
                    dest: opts.dest.clone(),
                    map: opts.map.clone(),
                }));
            }
        }
    }
    let source_id = format!(
        "{} ({size} bytes)",
        std::fs::canonicalize(&opts.source)
            .unwrap_or_else(|_| opts.source.clone())
            .display()
    );
    let mut map = match loaded {
        Some(m) => {
            if let Some(was) = &m.source
                && *was != source_id
                && !opts.force
            {
                return Err(ImageError::new(ImageErrorKind::MapOfAnotherSource {
                    path: opts.map.clone(),
                    was: was.clone(),
                    now: source_id,
                }));
            }
            if m.end() > size {
                return Err(ImageError::new(ImageErrorKind::MapBeyondSource {
                    path: opts.map.clone(),
                    map_end: m.end(),
                    source_size: size,
                }));
            }
            m
        }
        None => Mapfile::new(0, size),
    };
    map.source = Some(source_id);
    map.fit_domain(0, size);
    let dest = Dest::open(&opts.dest, &src, opts.force, opts.sparse, dom_end)?;
    let mut reread_unsynced = 0;
    if let Some(unsynced) = map.unsynced.take() {
        // In the boot that wrote them, the bytes are on disk or in the page cache: one
        // fdatasync settles it. After a restart (or if the sync fails) they are read again.
        let durable = unsynced.is_this_boot() && dest.file.sync_data().is_ok();
        if !durable {
            reread_unsynced = map.forget_rescued(&unsynced.ranges);
        }
    }
    let saver = MapSaver::new(&opts.map, &opts.command_line);
    saver.save(&map)?;
    let hasher = ImageHasher::new(opts.hash, opts.domain_start, dom_end);
    let buffers = usize::try_from((32u64 << 20) / copy_size)
        .unwrap_or(4)
        .clamp(4, 16);
    let file = dest
        .file
        .try_clone()
        .map_err(|e| ImageError::io(ImageErrorKind::OpenDest(opts.dest.clone()), e))?;
    let sparse_from = (opts.sparse && !dest.is_device).then_some(dest.original_len);
    let writer = Writer::start(file, hasher, buffers, copy_size as usize, sparse_from)
        .map_err(|e| ImageError::io(ImageErrorKind::OpenDest(opts.dest.clone()), e))?;
    let t = Tuning {
        sector,
        cluster,
        copy_size,
        dom_start: opts.domain_start,
        dom_end,
        reverse: opts.reverse,
        retries: opts.retries,
        save_interval: opts.save_interval,
        sync: opts.sync,
        copy_size_given: opts.copy_size.is_some(),
        skip: opts.skip_size,
        min_read_rate: opts.min_read_rate,
        max_error_rate: opts.max_error_rate,
        max_bad_areas: opts.max_bad_areas,
        max_read_errors: opts.max_read_errors,
        timeout: opts.timeout,
        no_trim: opts.no_trim,
        no_scrape: opts.no_scrape,
        cpass: cpass_mask(opts.cpass.as_deref())?,
    };
    Ok(((src, map, writer, saver, t), dest, reread_unsynced, locks))
}

/// The copying passes as a bit mask (bit `n`: pass `n`); every pass when `None`.
fn cpass_mask(passes: Option<&[u32]>) -> Result<u8, ImageError> {
    let Some(passes) = passes else {
        return Ok(0b11_1110);
    };
    let mut mask = 0u8;
    for &p in passes {
        if !(1..=5).contains(&p) {
            return Err(ImageError::new(ImageErrorKind::BadOption(format!(
                "copying pass {p} does not exist: passes are 1 to 5 (--cpass 1,2 or 1-5)"
            ))));
        }
        mask |= 1 << p;
    }
    Ok(mask)
}

/// Creates the missing parent directories of the image and the map (owner-only, 0700), then
/// locks both for this run. A block-device image is not given a lock file: it is opened
/// `O_EXCL`, which the kernel grants to one opener at a time.
fn lock_image_and_map(opts: &ImageOptions) -> Result<Vec<RunLock>, ImageError> {
    use std::os::unix::fs::DirBuilderExt;
    for path in [&opts.dest, &opts.map] {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| ImageError::io(ImageErrorKind::MakeDir(dir.to_path_buf()), e))?;
        }
    }
    // Only a regular file (or one still to be made) gets a lock file; anything else is a
    // device (opened O_EXCL) or refused by `Dest::open`.
    let dest_is_file = std::fs::metadata(&opts.dest).map_or(true, |m| m.is_file());
    let lock_files = [
        run_lock::lock_path(&opts.dest),
        run_lock::lock_path(&opts.map),
    ];
    if lock_files
        .iter()
        .any(|l| *l == opts.source || *l == opts.dest || *l == opts.map)
    {
        return Err(ImageError::new(ImageErrorKind::BadOption(format!(
            "the image {} and the map {} must not be named after each other's lock file (NAME.lock)",
            opts.dest.display(),
            opts.map.display()
        ))));
    }
    let mut locks = Vec::new();
    if dest_is_file {
        locks.push(RunLock::acquire(&opts.dest, &opts.command_line)?);
    }
    locks.push(RunLock::acquire(&opts.map, &opts.command_line)?);
    Ok(locks)
}
