//! `ImageOptions`: everything one imaging run needs, shared by `salvage image` and the
//! runbook's `image(...)` op.

use std::path::PathBuf;
use std::time::Duration;

use super::bad_map::BadMap;

/// The hash computed over the image while copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (what `sha256sum` prints); about 1 GB/s here, which bounds the copy rate.
    Sha256,
    /// BLAKE3 (what `b3sum` prints): several times faster than SHA-256, off the copy's path.
    #[default]
    Blake3,
    /// No hash.
    None,
}

/// One imaging run. Build it with [`ImageOptions::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// The source: a block device or a file, opened read-only.
    pub source: PathBuf,
    /// The image: a file (created if missing, never truncated) or, with `force`, a device.
    pub dest: PathBuf,
    /// The GNU ddrescue mapfile: read to resume, saved atomically as the run goes.
    pub map: PathBuf,
    /// Sector size in bytes; `None` detects it (the device's logical sector size, 512 for files).
    pub sector_size: Option<u64>,
    /// Sectors per read in the copying phase near errors (ddrescue's cluster); `None` = 64 KiB.
    pub cluster_sectors: Option<u64>,
    /// Bytes per read on good areas of the copying phase; `None` = 1 MiB.
    pub copy_size: Option<u64>,
    /// Retry passes over bad sectors after scraping.
    pub retries: u32,
    /// Copy from the end towards the start.
    pub reverse: bool,
    /// Read the source with O_DIRECT (bypasses the page cache; sector-exact errors on devices).
    pub direct: bool,
    /// Do not write blocks of zeros that fall in a part of the image not written before.
    pub sparse: bool,
    /// First byte of the source to rescue.
    pub domain_start: u64,
    /// Bytes to rescue from `domain_start`; `None` = to the end of the source.
    pub domain_size: Option<u64>,
    /// Test mode: these simulated bad sectors fail with EIO (the source itself reads fine).
    pub bad_map: Option<BadMap>,
    /// Allow a block device as the destination.
    pub force: bool,
    /// The hash computed while copying.
    pub hash: HashAlgorithm,
    /// How often the map is saved at least (also after every 256 MiB rescued, at most once a
    /// second). Each save also starts an fdatasync of the image in the
    /// background; what is not yet on disk is listed in the map (`# Unsynced:`).
    pub save_interval: Duration,
    /// Wait until the image is on disk before every map save and before returning, as GNU
    /// ddrescue does (it costs the disk's whole write time). Without it, a map saved at the
    /// end lists what may still be only in the page cache, and a later run with the same map
    /// reads that again if the machine restarted in between.
    pub sync: bool,
    /// The command line written in the map's header.
    pub command_line: String,
    /// After a read error in the first copying passes, skip this far ahead (doubling while
    /// errors continue, up to the maximum); `None`: 64 KiB or size/32768, up to 1% of the size.
    pub skip_size: Option<(u64, Option<u64>)>,
    /// In the first copying passes, a good read slower than this (bytes/s) is treated as an
    /// error for skipping: the area after it is left for a later pass.
    pub min_read_rate: Option<u64>,
    /// Stop when read errors come faster than this many bytes a second (over one second).
    pub max_error_rate: Option<u64>,
    /// Stop when there are more bad areas than this (`new_only`: counting only this run's).
    pub max_bad_areas: Option<(u64, bool)>,
    /// Stop after this many failed reads.
    pub max_read_errors: Option<u64>,
    /// Stop when no read has succeeded for this long.
    pub timeout: Option<Duration>,
    /// Skip the trimming phase.
    pub no_trim: bool,
    /// Skip the scraping phase.
    pub no_scrape: bool,
    /// The copying passes to run (1 forwards with a growing skip, 2 backwards skipping the rest
    /// of a block on an error, 5 forwards without skipping; 3 and 4, which reread areas skipped
    /// for slowness in GNU ddrescue, are the same as 5 here); `None`: all.
    pub cpass: Option<Vec<u32>>,
    /// Only these byte ranges `(start, len)` are read (a domain mapfile, `--domain used`);
    /// `None`: the whole domain.
    pub domain_parts: Option<Vec<(u64, u64)>>,
    /// Write the image with O_DIRECT where a write is 4 KiB-aligned (GNU ddrescue's
    /// `--odirect`): the image bypasses the page cache; other writes go through it.
    pub direct_output: bool,
}

/// `retries` meaning "until every sector is read or the run is stopped" (`--retry-passes=-1`).
pub const RETRY_FOREVER: u32 = u32::MAX;

impl ImageOptions {
    /// Options with ddrescue's defaults (forwards, no retries, buffered reads) and a BLAKE3 hash.
    pub fn new(
        source: impl Into<PathBuf>,
        dest: impl Into<PathBuf>,
        map: impl Into<PathBuf>,
    ) -> Self {
        let (source, dest, map) = (source.into(), dest.into(), map.into());
        let command_line = format!(
            "salvage image {} {} --map {}",
            source.display(),
            dest.display(),
            map.display()
        );
        Self {
            source,
            dest,
            map,
            sector_size: None,
            cluster_sectors: None,
            copy_size: None,
            retries: 0,
            reverse: false,
            direct: false,
            sparse: false,
            domain_start: 0,
            domain_size: None,
            bad_map: None,
            force: false,
            hash: HashAlgorithm::Blake3,
            save_interval: Duration::from_secs(5),
            sync: false,
            command_line,
            skip_size: None,
            min_read_rate: None,
            max_error_rate: None,
            max_bad_areas: None,
            max_read_errors: None,
            timeout: None,
            no_trim: false,
            no_scrape: false,
            cpass: None,
            domain_parts: None,
            direct_output: false,
        }
    }
}
