//! `Rescuer`: GNU ddrescue's algorithm over a [`Mapfile`]: copy good areas first with large
//! reads (skipping ahead, with a growing skip, while errors continue), then trim the edges of
//! failed areas sector by sector, scrape what is left, then the retry passes. Only blocks that
//! are not finished are ever read, so a rescued sector is never read again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::{ImageError, ImageErrorKind};
use super::map_saver::MapSaver;
use super::mapfile::{BlockStatus, Mapfile, Phase};
use super::source::{KernelCopy, ReadOutcome, Source};
use super::status::ImageStatus;
use super::unsynced::Unsynced;
use super::writer::{SyncFailure, Writer};

/// How a read went, for the algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Good,
    /// A read error at this byte; the caller marks the failed part.
    Failed(u64),
    /// Nothing was read: kernel copies turned out not to work here, and the copy size changed;
    /// the caller plans the read again.
    NotRead,
}

/// The tuning of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub(crate) sector: u64,
    pub(crate) cluster: u64,
    pub(crate) copy_size: u64,
    pub(crate) dom_start: u64,
    pub(crate) dom_end: u64,
    pub(crate) reverse: bool,
    pub(crate) retries: u32,
    pub(crate) save_interval: Duration,
    /// Wait for the disk before every map save (else the map lists what is not synced yet).
    pub(crate) sync: bool,
    /// The copy size was chosen by the user (else it drops to the cluster once reads replace
    /// kernel copies).
    pub(crate) copy_size_given: bool,
    /// The skip after an error: initial and maximum (`None`: the defaults).
    pub(crate) skip: Option<(u64, Option<u64>)>,
    pub(crate) min_read_rate: Option<u64>,
    pub(crate) max_error_rate: Option<u64>,
    pub(crate) max_bad_areas: Option<(u64, bool)>,
    pub(crate) max_read_errors: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) no_trim: bool,
    pub(crate) no_scrape: bool,
    /// Bit `n` set: copying pass `n` runs.
    pub(crate) cpass: u8,
}

/// How a copying pass moves on after a failed (or, with a minimum rate, slow) read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Pass 1: skip ahead, the skip doubling while errors continue.
    Grow,
    /// Pass 2: leave the rest of the block for the last pass.
    Block,
    /// The last pass: no skipping.
    None,
}

/// The parts of `[dom_start, dom_end)` this run reads: sorted, non-overlapping `(start, end)`.
pub(crate) type DomainParts = Vec<(u64, u64)>;

/// One rescue in progress.
pub(crate) struct Rescuer<'a> {
    /// The domain's parts (`--domain used`, a domain mapfile), or the whole domain.
    parts: DomainParts,
    pub(crate) src: Source,
    pub(crate) map: Mapfile,
    pub(crate) writer: Writer,
    saver: MapSaver,
    t: Tuning,
    dest_name: std::path::PathBuf,
    map_name: std::path::PathBuf,
    started: Instant,
    last_save: Instant,
    /// When the last background fdatasync of the image was started.
    last_sync: Instant,
    last_good: Instant,
    last_progress: Option<Instant>,
    /// Bytes rescued by this run at the last map save.
    rescued_at_save: u64,
    /// In a copying pass: a short read ends the read (see [`Source::read`]).
    copying: bool,
    /// Bad areas when the run started (for `--max-bad-areas=+N`).
    bad_areas_at_start: usize,
    /// Read errors when the bad areas were last counted.
    errors_counted: u64,
    /// Bytes that failed to read in the current one-second window, and its start.
    error_window: (Instant, u64),
    window: (Instant, u64),
    current_rate: f64,
    pub(crate) read_errors: u64,
    rescued_this_run: u64,
    progress: &'a mut dyn FnMut(&ImageStatus),
    cancel: &'a AtomicBool,
}

/// How often a background fdatasync of the image is started behind the map saves.
const SYNC_INTERVAL: Duration = Duration::from_secs(30);

/// Bytes rescued after which the map is saved again (at most once a second).
const SAVE_EVERY_BYTES: u64 = 256 << 20;

fn align_down(x: u64, a: u64) -> u64 {
    x - x % a
}

impl<'a> Rescuer<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        src: Source,
        map: Mapfile,
        writer: Writer,
        saver: MapSaver,
        t: Tuning,
        dest_name: &std::path::Path,
        map_name: &std::path::Path,
        progress: &'a mut dyn FnMut(&ImageStatus),
        cancel: &'a AtomicBool,
        parts: Option<DomainParts>,
    ) -> Self {
        let now = Instant::now();
        let parts = parts.unwrap_or_else(|| vec![(t.dom_start, t.dom_end)]);
        Self {
            parts,
            src,
            map,
            writer,
            saver,
            t,
            dest_name: dest_name.to_path_buf(),
            map_name: map_name.to_path_buf(),
            started: now,
            last_save: now,
            last_sync: now,
            last_good: now,
            last_progress: None,
            rescued_at_save: 0,
            copying: false,
            bad_areas_at_start: 0,
            errors_counted: 0,
            error_window: (now, 0),
            window: (now, 0),
            current_rate: 0.0,
            read_errors: 0,
            rescued_this_run: 0,
            progress,
            cancel,
        }
    }

    /// Runs every phase; the map is saved at the end, on cancellation and on errors.
    pub(crate) fn run(&mut self) -> Result<(), ImageError> {
        let forward = !self.t.reverse;
        self.bad_areas_at_start = self.domain_error_areas().len();
        let resume_pos = (self.map.phase == Phase::Copying && self.map.pass == 1)
            .then_some(self.map.current_pos)
            .filter(|p| (self.t.dom_start..self.t.dom_end).contains(p));
        let wants = |pass: u32| self.t.cpass & (1 << pass) != 0;
        let (first, second, last) = (wants(1), wants(2), (3..=5).any(wants));
        if first {
            self.copy_pass(forward, Skip::Grow, 1, resume_pos)?;
        }
        if second {
            self.copy_pass(!forward, Skip::Block, 2, None)?;
        }
        // The last pass reads everything left (GNU ddrescue numbers it 5); it is repeated
        // while it makes progress, in case a read left a part untried.
        let mut left = self.map_totals()[BlockStatus::NonTried as usize];
        while last && left > 0 {
            self.copy_pass(forward, Skip::None, 5, None)?;
            let now_left = self.map_totals()[BlockStatus::NonTried as usize];
            if now_left >= left {
                break;
            }
            left = now_left;
        }
        if self.t.no_trim {
            // Failed blocks go to scraping whole.
            self.convert(BlockStatus::NonTrimmed, BlockStatus::NonScraped);
        } else {
            self.trim(forward)?;
        }
        if !self.t.no_scrape {
            self.sweep(Phase::Scraping, BlockStatus::NonScraped, forward, 1)?;
        }
        let mut pass = 1;
        while pass <= self.t.retries && self.map_totals()[BlockStatus::BadSector as usize] > 0 {
            let dir = if pass % 2 == 1 { forward } else { !forward };
            self.sweep(
                Phase::Retrying,
                BlockStatus::BadSector,
                dir,
                pass.min(u32::MAX - 1),
            )?;
            pass = pass.saturating_add(1);
        }
        self.map.phase = Phase::Finished;
        self.map.pass = 1;
        self.save_map(false)?;
        self.report_progress(true);
        Ok(())
    }

    /// The first block with `status` at or after `pos`, clipped to the domain's parts.
    fn next_fwd(&self, pos: u64, status: BlockStatus) -> Option<(u64, u64)> {
        let mut from = pos;
        let mut k = self.parts.partition_point(|p| p.1 <= from);
        while let Some(&(ps, pe)) = self.parts.get(k) {
            from = from.max(ps);
            if let Some(found) = self.block_fwd(from, pe, status) {
                return Some(found);
            }
            k += 1;
        }
        None
    }

    /// The first block with `status` in `[from, end)`, clipped to it.
    fn block_fwd(&self, from: u64, end: u64, status: BlockStatus) -> Option<(u64, u64)> {
        if from >= end {
            return None;
        }
        let blocks = self.map.blocks();
        let mut i = self.map.find(from)?;
        while let Some(b) = blocks.get(i) {
            if b.pos >= end {
                return None;
            }
            if b.status == status {
                return Some((b.pos.max(from), b.end().min(end)));
            }
            i += 1;
        }
        None
    }

    /// The last block with `status` before `pos`, clipped to the domain's parts.
    fn next_rev(&self, pos: u64, status: BlockStatus) -> Option<(u64, u64)> {
        let mut to = pos;
        let mut k = self.parts.partition_point(|p| p.0 < to);
        while k > 0 {
            let (ps, pe) = self.parts[k - 1];
            to = to.min(pe);
            if let Some(found) = self.block_rev(ps, to, status) {
                return Some(found);
            }
            to = ps;
            k -= 1;
        }
        None
    }

    /// The last block with `status` in `[start, to)`, clipped to it.
    fn block_rev(&self, start: u64, to: u64, status: BlockStatus) -> Option<(u64, u64)> {
        if to <= start {
            return None;
        }
        let blocks = self.map.blocks();
        let mut i = self.map.find(to - 1)?;
        loop {
            let b = blocks[i];
            if b.end() <= start {
                return None;
            }
            if b.status == status {
                return Some((b.pos.max(start), b.end().min(to)));
            }
            if i == 0 {
                return None;
            }
            i -= 1;
        }
    }

    fn next(&self, pos: u64, status: BlockStatus, forward: bool) -> Option<(u64, u64)> {
        if forward {
            self.next_fwd(pos, status)
        } else {
            self.next_rev(pos, status)
        }
    }

    /// Phase 1: copying. Reads non-tried blocks with `copy_size` reads (cluster reads near
    /// errors); on an error the failed part becomes non-trimmed and, when `skipping`, the next
    /// `skip` bytes are left for a later pass, the skip doubling while errors continue.
    fn copy_pass(
        &mut self,
        forward: bool,
        skipping: Skip,
        pass: u32,
        start: Option<u64>,
    ) -> Result<(), ImageError> {
        self.map.phase = Phase::Copying;
        self.map.pass = pass;
        self.copying = true;
        self.report_progress(true);
        let size = self.t.dom_end - self.t.dom_start;
        let sector = self.t.sector;
        let (skip_min, skip_max) = match self.t.skip {
            Some((initial, max)) => (initial, max.unwrap_or((size / 100).max(initial))),
            None => (
                (size / 32_768).max(65_536),
                (size / 100).max((size / 32_768).max(65_536)),
            ),
        };
        let skip_min = skip_min.max(sector).div_ceil(sector) * sector;
        let skip_max = skip_max.max(skip_min).div_ceil(sector) * sector;
        let mut skip = skip_min;
        let mut troubled = false;
        let mut good_streak = 0u32;
        let mut pos = start.unwrap_or(if forward {
            self.t.dom_start
        } else {
            self.t.dom_end
        });
        while let Some((bs, be)) = self.next(pos, BlockStatus::NonTried, forward) {
            let step = if troubled {
                self.t.cluster
            } else {
                self.t.copy_size
            };
            let (s, e) = if forward {
                (bs, be.min(align_down(bs, step) + step))
            } else {
                (bs.max(align_down(be - 1, step)), be)
            };
            self.map.current_pos = if forward { s } else { e };
            let began = Instant::now();
            let outcome = if troubled {
                self.read_range(s, e - s)?
            } else {
                self.copy_range(s, e - s)?
            };
            match outcome {
                Outcome::NotRead => {}
                Outcome::Good => {
                    pos = if forward { e } else { s };
                    let secs = began.elapsed().as_secs_f64();
                    let slow = self
                        .t
                        .min_read_rate
                        .is_some_and(|min| secs > 0.0 && ((e - s) as f64 / secs) < min as f64);
                    if slow && skipping != Skip::None {
                        // Read, but slowly: leave what follows for a later pass.
                        pos = self.skip_from(pos, forward, skipping, skip, (bs, be));
                        skip = (skip * 2).min(skip_max);
                        continue;
                    }
                    skip = skip_min;
                    good_streak += 1;
                    if good_streak >= 16 {
                        troubled = false;
                    }
                }
                Outcome::Failed(at) => {
                    // As GNU ddrescue: the whole failed part of the read becomes non-trimmed,
                    // so no copying pass reads it again. (Leaving part of it non-tried would
                    // read the bad sector a second time when the error's exact place in the
                    // read is not known, as when a whole read fails at once.)
                    self.map.set_status(at, e - at, BlockStatus::NonTrimmed);
                    troubled = true;
                    good_streak = 0;
                    let after = if forward { e } else { s };
                    pos = self.skip_from(after, forward, skipping, skip, (bs, be));
                    if skipping == Skip::Grow {
                        skip = (skip * 2).min(skip_max);
                    }
                }
            }
        }
        Ok(())
    }

    /// Where a copying pass goes on after a failed or slow read ending at `after` (its start,
    /// going backwards) in the non-tried block `block`.
    fn skip_from(&self, after: u64, forward: bool, how: Skip, skip: u64, block: (u64, u64)) -> u64 {
        let sector = self.t.sector;
        match (how, forward) {
            (Skip::Grow, true) => after
                .saturating_add(skip)
                .div_ceil(sector)
                .saturating_mul(sector),
            (Skip::Grow, false) => align_down(after.saturating_sub(skip), sector),
            // GNU ddrescue's second pass leaves the rest of a block at its first error.
            (Skip::Block, true) => block.1.max(after),
            (Skip::Block, false) => block.0.min(after),
            (Skip::None, _) => after,
        }
    }

    /// Gives every block (in the domain) with status `from` status `to`.
    fn convert(&mut self, from: BlockStatus, to: BlockStatus) {
        let mut pieces = Vec::new();
        self.for_each_piece(|s, e, status| {
            if status == from {
                pieces.push((s, e));
            }
        });
        for (s, e) in pieces {
            self.map.set_status(s, e - s, to);
        }
    }

    /// Phase 2: trimming. Reads each non-trimmed block sector by sector from its leading edge
    /// until a bad sector, then from its trailing edge backwards until a bad sector; what is
    /// left in the middle becomes non-scraped.
    fn trim(&mut self, forward: bool) -> Result<(), ImageError> {
        self.map.phase = Phase::Trimming;
        self.map.pass = 1;
        self.copying = false;
        self.report_progress(true);
        let sector = self.t.sector;
        let mut pos = if forward {
            self.t.dom_start
        } else {
            self.t.dom_end
        };
        while let Some((bs, be)) = self.next(pos, BlockStatus::NonTrimmed, forward) {
            let mut p = bs;
            let mut hit = false;
            while p < be {
                let e = (align_down(p, sector) + sector).min(be);
                self.map.current_pos = p;
                let outcome = self.read_range(p, e - p)?;
                p = e;
                if let Outcome::Failed(at) = outcome {
                    self.map.set_status(at, e - at, BlockStatus::BadSector);
                    hit = true;
                    break;
                }
            }
            let mut q = be;
            if hit {
                while q > p {
                    let s = align_down(q - 1, sector).max(p);
                    self.map.current_pos = s;
                    let outcome = self.read_range(s, q - s)?;
                    if let Outcome::Failed(at) = outcome {
                        self.map.set_status(at, q - at, BlockStatus::BadSector);
                        q = s;
                        break;
                    }
                    q = s;
                }
            }
            if q > p {
                self.map.set_status(p, q - p, BlockStatus::NonScraped);
            }
            pos = if forward { be } else { bs };
        }
        Ok(())
    }

    /// Phases 3 and 4: scraping and retrying. Reads every block with `status`, one sector at a
    /// time, in the given direction; bad sectors stay (or become) bad.
    fn sweep(
        &mut self,
        phase: Phase,
        status: BlockStatus,
        forward: bool,
        pass: u32,
    ) -> Result<(), ImageError> {
        self.map.phase = phase;
        self.map.pass = pass;
        self.copying = false;
        self.report_progress(true);
        let sector = self.t.sector;
        let mut pos = if forward {
            self.t.dom_start
        } else {
            self.t.dom_end
        };
        while let Some((bs, be)) = self.next(pos, status, forward) {
            let (s, e) = if forward {
                (bs, (align_down(bs, sector) + sector).min(be))
            } else {
                (align_down(be - 1, sector).max(bs), be)
            };
            self.map.current_pos = s;
            if let Outcome::Failed(at) = self.read_range(s, e - s)? {
                self.map.set_status(at, e - at, BlockStatus::BadSector);
            }
            pos = if forward { e } else { s };
        }
        Ok(())
    }

    /// Reads `[pos, pos + len)` (inside one block): good bytes are written to the image, then
    /// become finished in the map; on an error the caller marks the failed part.
    fn read_range(&mut self, pos: u64, len: u64) -> Result<Outcome, ImageError> {
        let Some(mut buf) = self.writer.take_buf() else {
            return self.fail_write(pos, std::io::Error::other("the hasher thread stopped"));
        };
        let n = usize::try_from(len).unwrap_or(usize::MAX).min(buf.len());
        let outcome = match self
            .src
            .read(pos, &mut buf.as_mut_slice()[..n], self.copying)
        {
            Ok(o) => o,
            Err(e) => {
                self.writer.give_back(buf);
                let _ = self.save_map(false);
                return Err(e);
            }
        };
        let good = match outcome {
            ReadOutcome::Full => n,
            ReadOutcome::Failed { good } => good.min(n),
        };
        let now = Instant::now();
        if good > 0 {
            if let Err(e) = self.writer.write(pos, buf, good) {
                return self.fail_write(pos, e);
            }
            self.map.set_status(pos, good as u64, BlockStatus::Finished);
            self.rescued_this_run += good as u64;
            self.last_good = now;
        } else {
            self.writer.give_back(buf);
        }
        if good < n {
            self.read_errors += 1;
            self.error_bytes((n - good) as u64, now);
        }
        self.after_read(now)?;
        Ok(if good == n {
            Outcome::Good
        } else {
            Outcome::Failed(pos + good as u64)
        })
    }

    /// A large read of the copying phase: a kernel copy straight into the image when the
    /// source allows it (the bytes never pass through user space), else [`Self::read_range`].
    fn copy_range(&mut self, pos: u64, len: u64) -> Result<Outcome, ImageError> {
        if !self.writer.takes_kernel_copies() || !self.src.kernel_copies() {
            return self.read_range(pos, len);
        }
        let (good, failed) = match self.src.copy_to(pos, len, self.writer.file())? {
            KernelCopy::Unsupported => {
                // Reads from now on: as GNU ddrescue, a cluster at a time, so a failed read
                // leaves a small area to trim (unless the user chose the size).
                if !self.t.copy_size_given && self.t.copy_size != self.t.cluster {
                    self.t.copy_size = self.t.cluster;
                    return Ok(Outcome::NotRead);
                }
                return self.read_range(pos, len);
            }
            KernelCopy::Copied { good, failed } => (good, failed),
            KernelCopy::WriteFailed { good, err } => {
                // What was copied before the failure is kept, as for a failed write.
                self.kernel_copied(pos, good, Instant::now());
                return self.fail_write(pos + good, err);
            }
        };
        let now = Instant::now();
        self.kernel_copied(pos, good, now);
        if failed {
            self.read_errors += 1;
            self.error_bytes(len - good, now);
        } else if good < len {
            // Kernel copies were turned off part way: read the rest.
            return self.read_range(pos + good, len - good);
        }
        self.after_read(now)?;
        Ok(if failed {
            Outcome::Failed(pos + good)
        } else {
            Outcome::Good
        })
    }

    /// The kernel copied `good` bytes at `pos` into the image: hash them, mark them rescued.
    fn kernel_copied(&mut self, pos: u64, good: u64, now: Instant) {
        if good > 0 {
            self.writer.copied(pos, good);
            self.map.set_status(pos, good, BlockStatus::Finished);
            self.rescued_this_run += good;
            self.last_good = now;
        }
    }

    /// After each read: stop if cancelled, save the map when it is due, report progress.
    fn after_read(&mut self, now: Instant) -> Result<(), ImageError> {
        if self.cancel.load(Ordering::Relaxed) {
            self.save_map(false)?;
            return Err(ImageError::new(ImageErrorKind::Interrupted {
                map: self.map_name.clone(),
            }));
        }
        if let Some(why) = self.limit_reached(now) {
            self.save_map(false)?;
            return Err(ImageError::new(ImageErrorKind::Stopped {
                why,
                map: self.map_name.clone(),
            }));
        }
        if self.save_due(now) {
            self.save_map(true)?;
        }
        self.report_progress(false);
        Ok(())
    }

    /// Counts `bytes` that failed to read, for `--max-error-rate`.
    fn error_bytes(&mut self, bytes: u64, now: Instant) {
        if now.duration_since(self.error_window.0) >= Duration::from_secs(1) {
            self.error_window = (now, 0);
        }
        self.error_window.1 += bytes;
    }

    /// The limit the user set that was just reached, if any, in words.
    fn limit_reached(&mut self, now: Instant) -> Option<String> {
        if let Some(t) = self.t.timeout {
            let since = now.duration_since(self.last_good);
            if since > t {
                return Some(format!(
                    "no read succeeded for {} s (--timeout {} s)",
                    since.as_secs(),
                    t.as_secs_f64()
                ));
            }
        }
        if let Some(max) = self.t.max_read_errors {
            if self.read_errors > max {
                return Some(format!(
                    "{} read errors, more than --max-read-errors {max}",
                    self.read_errors
                ));
            }
        }
        if let Some(max) = self.t.max_error_rate {
            if self.error_window.1 > max {
                return Some(format!(
                    "{} bytes failed to read within a second, more than --max-error-rate {max}",
                    self.error_window.1
                ));
            }
        }
        if let Some((max, new_only)) = self.t.max_bad_areas {
            if self.read_errors != self.errors_counted {
                self.errors_counted = self.read_errors;
                let mut areas = self.domain_error_areas().len();
                if new_only {
                    areas = areas.saturating_sub(self.bad_areas_at_start);
                }
                if areas as u64 > max {
                    let new = if new_only { "new " } else { "" };
                    return Some(format!(
                        "{areas} {new}bad areas, more than --max-bad-areas {}{max}",
                        if new_only { "+" } else { "" }
                    ));
                }
            }
        }
        None
    }

    /// A map save is due every `save_interval`, and sooner (at most once a second) once
    /// `SAVE_EVERY_BYTES` more were rescued: while the copy runs fast, a kill loses at most a
    /// few hundred MiB of work.
    fn save_due(&self, now: Instant) -> bool {
        let since = now.duration_since(self.last_save);
        // With `sync` every save waits for the disk: only the interval then, so a fast copy
        // is not made to wait for its writeback every 256 MiB.
        since >= self.t.save_interval
            || (!self.t.sync
                && since >= Duration::from_secs(1)
                && self.rescued_this_run - self.rescued_at_save >= SAVE_EVERY_BYTES)
    }

    /// Saves the map. With `sync`, the image is fdatasynced first and the map claims only what
    /// is on disk. Otherwise the map lists, in its `# Unsynced:` line, what it claims that may
    /// still be only in the page cache, and `background` starts an fdatasync of it (never at
    /// the end: a sync still running would hold the process's exit until it finished).
    pub(crate) fn save_map(&mut self, background: bool) -> Result<(), ImageError> {
        let synced = if self.t.sync {
            self.writer.flush()
        } else {
            let polled = self.writer.poll_sync();
            // Maps are saved often (every few seconds); the image is synced behind them only
            // every SYNC_INTERVAL: a sync per save made a fast copy wait for the disk (the
            // map says what is not synced yet, so nothing is claimed that is not on disk).
            if polled.is_ok() && background && self.last_sync.elapsed() >= SYNC_INTERVAL {
                self.last_sync = Instant::now();
                self.writer.start_sync();
            }
            polled
        };
        self.last_save = Instant::now();
        self.rescued_at_save = self.rescued_this_run;
        if let Err(failure) = synced {
            return Err(self.lost_writes(failure));
        }
        self.map.unsynced = Unsynced::of_this_boot(self.writer.unsynced());
        self.saver.save(&self.map)
    }

    /// An fdatasync of the image failed: what it covered may not be on disk (a later fsync
    /// would not say so again), so the map stops claiming it, is saved if it can be, and the
    /// run stops.
    fn lost_writes(&mut self, failure: SyncFailure) -> ImageError {
        let pos = failure.lost.first().map_or(self.map.current_pos, |r| r.0);
        self.map.forget_rescued(&failure.lost);
        self.map.unsynced = Unsynced::of_this_boot(self.writer.unsynced());
        let _ = self.saver.save(&self.map);
        ImageError::io(
            ImageErrorKind::WriteDest {
                dest: self.dest_name.clone(),
                pos,
            },
            failure.err,
        )
    }

    /// Writing at `pos` failed: the map (which does not claim those bytes) is saved, listing
    /// what is not synced yet, so a rerun goes on from there.
    fn fail_write<T>(&mut self, pos: u64, err: std::io::Error) -> Result<T, ImageError> {
        match self.writer.poll_sync() {
            Ok(()) => {
                self.map.unsynced = Unsynced::of_this_boot(self.writer.unsynced());
                let _ = self.saver.save(&self.map);
            }
            Err(failure) => {
                let _ = self.lost_writes(failure);
            }
        }
        Err(ImageError::io(
            ImageErrorKind::WriteDest {
                dest: self.dest_name.clone(),
                pos,
            },
            err,
        ))
    }

    /// The current status snapshot.
    pub(crate) fn status(&self) -> ImageStatus {
        let totals = self.map_totals();
        let now = Instant::now();
        let elapsed = now.duration_since(self.started);
        let average_rate = if elapsed.as_secs_f64() > 0.0 {
            self.rescued_this_run as f64 / elapsed.as_secs_f64()
        } else {
            0.0
        };
        let rate = if self.current_rate > 0.0 {
            self.current_rate
        } else {
            average_rate
        };
        let eta = (rate > 0.0 && self.map.phase == Phase::Copying)
            .then(|| Duration::from_secs_f64((totals[0] as f64 / rate).min(1e9)));
        ImageStatus {
            phase: self.map.phase,
            pass: self.map.pass,
            pos: self.map.current_pos,
            size: self.domain_bytes(),
            rescued_bytes: totals[4],
            non_tried_bytes: totals[0],
            pending_bytes: totals[1] + totals[2],
            bad_bytes: totals[3],
            bad_areas: self.domain_error_areas().len(),
            read_errors: self.read_errors,
            current_rate: self.current_rate,
            average_rate,
            elapsed,
            since_last_good: now.duration_since(self.last_good),
            eta,
        }
    }

    /// Totals per status (`? * / - +`) inside the domain.
    pub(crate) fn map_totals(&self) -> [u64; 5] {
        let mut t = [0u64; 5];
        self.for_each_piece(|s, e, status| t[status as usize] += e - s);
        t
    }

    /// Calls `f(start, end, status)` for every piece of a map block inside the domain's parts.
    fn for_each_piece(&self, mut f: impl FnMut(u64, u64, BlockStatus)) {
        for &(ps, pe) in &self.parts {
            let Some(mut i) = self.map.find(ps) else {
                continue;
            };
            while let Some(b) = self.map.blocks().get(i) {
                if b.pos >= pe {
                    break;
                }
                let (s, e) = (b.pos.max(ps), b.end().min(pe));
                if s < e {
                    f(s, e, b.status);
                }
                i += 1;
            }
        }
    }

    /// Bytes in the domain's parts.
    pub(crate) fn domain_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.1 - p.0).sum()
    }

    /// Unrescued areas inside the domain (runs of blocks that are not finished).
    pub(crate) fn domain_error_areas(&self) -> Vec<(u64, u64)> {
        let mut areas: Vec<(u64, u64)> = Vec::new();
        self.for_each_piece(|s, e, status| {
            if matches!(status, BlockStatus::Finished | BlockStatus::NonTried) {
                return;
            }
            match areas.last_mut() {
                Some((start, len)) if *start + *len == s => *len += e - s,
                _ => areas.push((s, e - s)),
            }
        });
        areas
    }

    fn report_progress(&mut self, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last_progress
                .is_some_and(|t| now.duration_since(t) < Duration::from_millis(250))
        {
            return;
        }
        let window = now.duration_since(self.window.0);
        if window >= Duration::from_secs(1) {
            self.current_rate =
                (self.rescued_this_run - self.window.1) as f64 / window.as_secs_f64();
            self.window = (now, self.rescued_this_run);
        }
        self.last_progress = Some(now);
        let status = self.status();
        (self.progress)(&status);
    }
}
