//! `rescue_used_first`: `--domain used`: rescue what matters first. It reads the partition
//! table and each filesystem's allocation maps from the image as soon as their sectors are
//! rescued (rounds of small rescues: the table, then superblocks, then descriptors, then
//! bitmaps), then rescues the metadata, then the blocks in use, then (unless only the used
//! domain is asked for) the free space. Everything is read into one image and one map; a rerun
//! resumes at whatever stage the map shows.

use std::os::unix::fs::FileExt;
use std::sync::atomic::AtomicBool;

use salvage_partition::ByteSource;
use salvage_partition::used_space::{Known, Ranges, Step, UsedSpace, used_space};

use super::error::{ImageError, ImageErrorKind};
use super::mapfile::{BlockStatus, Mapfile};
use super::options::ImageOptions;
use super::report::ImageReport;
use super::status::ImageStatus;

/// How much of the disk `--domain` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsedDomain {
    /// Metadata, then used blocks; free space never.
    UsedOnly,
    /// Metadata, then used blocks, then free space.
    UsedFirst,
}

/// What the used-space reading found, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DomainReport {
    /// Bytes of the table and filesystem metadata.
    pub metadata_bytes: u64,
    /// Bytes in use (and areas counted used because their use could not be read).
    pub used_bytes: u64,
    /// Bytes of free space not read (`--domain used`), 0 when it was read last.
    pub free_bytes_not_read: u64,
    /// How each partition's use was read.
    pub notes: Vec<String>,
    /// Small rescues it took to read the allocation maps.
    pub rounds: u32,
}

/// The image as the used-space reader sees it: bytes past the image's end read as zeros.
struct ImageBytes {
    file: std::fs::File,
    size: u64,
}

impl ByteSource for ImageBytes {
    fn size_bytes(&self) -> u64 {
        self.size
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let n = usize::try_from(self.size.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let mut got = 0;
        while got < n {
            match FileExt::read_at(&self.file, &mut buf[got..n], offset + got as u64)? {
                0 => break,
                k => got += k,
            }
        }
        buf[got..n].fill(0);
        Ok(n)
    }
}

/// What the map says of `[pos, pos + len)`.
fn known(map: &Mapfile, pos: u64, len: u64) -> Known {
    let Some(mut i) = map.find(pos) else {
        return Known::NotYet;
    };
    let mut state = Known::Rescued;
    let end = pos.saturating_add(len);
    while let Some(b) = map.blocks().get(i) {
        if b.pos >= end {
            break;
        }
        match b.status {
            BlockStatus::NonTried => return Known::NotYet,
            BlockStatus::Finished => {}
            _ => state = Known::Unreadable,
        }
        i += 1;
    }
    state
}

/// Images `opts` with the used data first (see the module docs).
pub fn rescue_used_first(
    opts: &ImageOptions,
    domain: UsedDomain,
    progress: &mut dyn FnMut(&ImageStatus),
    cancel: &AtomicBool,
) -> Result<(ImageReport, DomainReport), ImageError> {
    let size = super::source_size(opts)?;
    let mut rounds = 0u32;
    let used: UsedSpace = loop {
        let map = match Mapfile::load(&opts.map)? {
            Some(m) => m,
            None => Mapfile::new(0, size),
        };
        let step = match std::fs::File::open(&opts.dest) {
            Ok(file) => used_space(&ImageBytes { file, size }, &|p, l| known(&map, p, l)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Step::Need(Ranges::from_iter([(0, 64 * 1024)]))
            }
            Err(e) => {
                return Err(ImageError::io(
                    ImageErrorKind::OpenDest(opts.dest.clone()),
                    e,
                ));
            }
        };
        match step {
            Step::Done(u) => break u,
            Step::Need(ranges) => {
                rounds += 1;
                if rounds > 64 {
                    return Err(ImageError::new(ImageErrorKind::BadOption(
                        "the allocation maps still need new areas after 64 rounds: image without --domain".into(),
                    )));
                }
                stage(opts, ranges.as_slice().to_vec(), progress, cancel)?;
            }
        }
    };
    let metadata = used.metadata.clipped(size);
    let in_use = used.used.clipped(size).minus(&metadata);
    stage(opts, metadata.as_slice().to_vec(), progress, cancel)?;
    let used_report = stage(opts, in_use.as_slice().to_vec(), progress, cancel)?;
    let everything = used.domain().clipped(size);
    let free = Ranges::from_iter([(0, size)]).minus(&everything);
    let (report, free_not_read) = match domain {
        UsedDomain::UsedOnly => {
            // The report covers metadata and used data together.
            let report = stage(opts, everything.as_slice().to_vec(), progress, cancel)?;
            let _ = used_report;
            (report, free.bytes())
        }
        UsedDomain::UsedFirst => (super::rescue(opts, progress, cancel)?, 0),
    };
    Ok((
        report,
        DomainReport {
            metadata_bytes: metadata.bytes(),
            used_bytes: in_use.bytes(),
            free_bytes_not_read: free_not_read,
            notes: used.notes,
            rounds,
        },
    ))
}

/// One rescue restricted to `parts` (`(start, len)`).
fn stage(
    opts: &ImageOptions,
    parts: Vec<(u64, u64)>,
    progress: &mut dyn FnMut(&ImageStatus),
    cancel: &AtomicBool,
) -> Result<ImageReport, ImageError> {
    let mut o = opts.clone();
    o.domain_parts = Some(parts);
    super::rescue(&o, progress, cancel)
}
