//! `ImageStatus`: a progress snapshot, passed to the caller's progress callback while imaging.

use std::time::Duration;

use super::mapfile::Phase;

/// What the rescue looks like now. Sent at most a few times a second and at each phase change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageStatus {
    /// The current phase.
    pub phase: Phase,
    /// The pass within the phase (1-based).
    pub pass: u32,
    /// The position being read.
    pub pos: u64,
    /// Bytes of the domain.
    pub size: u64,
    /// Bytes rescued so far (including earlier runs of the same map).
    pub rescued_bytes: u64,
    /// Bytes not tried yet.
    pub non_tried_bytes: u64,
    /// Bytes in failed areas not yet trimmed, scraped or found bad (`*` and `/`).
    pub pending_bytes: u64,
    /// Bytes in bad sectors (`-`).
    pub bad_bytes: u64,
    /// Areas (runs) that are failed or bad.
    pub bad_areas: usize,
    /// Read errors in this run.
    pub read_errors: u64,
    /// Bytes rescued per second over the last few seconds.
    pub current_rate: f64,
    /// Bytes rescued per second since the run started.
    pub average_rate: f64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Time since the last successful read.
    pub since_last_good: Duration,
    /// Estimated time left for the copying phase at the current rate, when one can be given.
    pub eta: Option<Duration>,
}
