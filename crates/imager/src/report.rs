//! `ImageReport`: the result of an imaging run, logged and returned as the op's outputs.

use std::path::PathBuf;

/// One area left unrescued: bytes `[start, start + size)` of the source (and image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BadArea {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
}

/// The outcome of [`super::rescue`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageReport {
    /// The source that was read.
    pub source: PathBuf,
    /// The image written.
    pub dest: PathBuf,
    /// The mapfile (GNU ddrescue format).
    pub map: PathBuf,
    /// Bytes of the rescue domain (the whole source unless a domain was given).
    pub size: u64,
    /// Bytes rescued (including earlier runs of the same map).
    pub rescued_bytes: u64,
    /// `rescued_bytes` as a percentage of `size` (100 for an empty domain).
    pub percent: f64,
    /// The sector size used.
    pub sector_size: u64,
    /// The areas left unrescued, in order.
    pub bad_areas: Vec<BadArea>,
    /// Bytes in `bad_areas`.
    pub bad_bytes: u64,
    /// Read errors met in this run.
    pub read_errors: u64,
    /// The image's hash over the domain, `algorithm:hex` (`blake3:…` by default, `sha256:…` on request); `None` when
    /// hashing was turned off.
    pub hash: Option<String>,
    /// Bytes of the hash fed from memory while copying; the rest was read back from the image
    /// (areas rescued by an earlier run, or after the first gap). The source is never re-read.
    pub hashed_inline_bytes: u64,
    /// Bytes the map claimed that were not known to be on disk (the machine restarted since,
    /// or an fdatasync failed), so this run read them again.
    pub reread_unsynced_bytes: u64,
    /// Bytes of the image not yet known to be on disk when the run ended (still in the page
    /// cache; the kernel writes them out within about 30 s, `sync` waits for them). 0 with
    /// `--sync`.
    pub unsynced_bytes: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// True when every byte of the domain was rescued.
    pub complete: bool,
}
