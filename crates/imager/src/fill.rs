//! `fill`: GNU ddrescue's fill mode. Overwrites the blocks of the image whose map status is one
//! of the given ones with a pattern repeated from each block's start, so unrescued sectors can be
//! found later (in a file copied out of the image, say). The map is read, never changed; the
//! image must exist; the pattern file is only read.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::{ImageError, ImageErrorKind};
use super::mapfile::{BlockStatus, Mapfile};
use super::run_lock::RunLock;

/// The most pattern bytes read from the pattern file.
const MAX_PATTERN: u64 = 1 << 20;

/// What a fill did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FillReport {
    /// Blocks filled.
    pub blocks: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The statuses named by `types` (ddrescue's characters `?*/-+`).
pub fn fill_types(types: &str) -> Result<Vec<BlockStatus>, ImageError> {
    let mut out = Vec::new();
    for c in types.chars() {
        match BlockStatus::from_char(c) {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => {
                return Err(ImageError::new(ImageErrorKind::BadOption(format!(
                    "fill type `{c}` is not one of ? * / - + (non-tried, non-trimmed, non-scraped, bad sector, finished)"
                ))));
            }
        }
    }
    if out.is_empty() {
        return Err(ImageError::new(ImageErrorKind::BadOption(
            "--fill-mode needs at least one status: for instance `-` for bad sectors, `?*/-` for everything not rescued".into(),
        )));
    }
    Ok(out)
}

/// Fills the blocks of `dest` whose status in `map` is in `types` with `pattern_file`'s bytes.
pub fn fill(
    pattern_file: &Path,
    dest: &Path,
    map: &Path,
    types: &[BlockStatus],
    command_line: &str,
) -> Result<FillReport, ImageError> {
    let mut pattern = Vec::new();
    File::open(pattern_file)
        .and_then(|f| f.take(MAX_PATTERN).read_to_end(&mut pattern))
        .map_err(|e| ImageError::io(ImageErrorKind::OpenSource(pattern_file.to_path_buf()), e))?;
    if pattern.is_empty() {
        return Err(ImageError::new(ImageErrorKind::BadOption(format!(
            "the fill pattern {} is empty",
            pattern_file.display()
        ))));
    }
    if !std::fs::metadata(dest).is_ok_and(|m| m.is_file()) {
        return Err(ImageError::new(ImageErrorKind::BadOption(format!(
            "the image {} to fill must be an existing regular file",
            dest.display()
        ))));
    }
    let _locks = [
        RunLock::acquire(dest, command_line)?,
        RunLock::acquire(map, command_line)?,
    ];
    let Some(m) = Mapfile::load(map)? else {
        return Err(ImageError::new(ImageErrorKind::ReadMap(map.to_path_buf())));
    };
    // Never created: filling a new file would make an image of patterns only.
    let image = File::options()
        .write(true)
        .open(dest)
        .map_err(|e| ImageError::io(ImageErrorKind::OpenDest(dest.to_path_buf()), e))?;
    let mut buf = Vec::with_capacity(1 << 20);
    while buf.len() < (1 << 20) {
        buf.extend_from_slice(&pattern);
    }
    let mut report = FillReport {
        blocks: 0,
        bytes: 0,
    };
    for b in m.blocks().iter().filter(|b| types.contains(&b.status)) {
        let mut done = 0u64;
        while done < b.size {
            // The pattern restarts at each block's start, so it lines up the same way in every
            // filled block.
            let offset = usize::try_from(done % pattern.len() as u64).unwrap_or(0);
            let n = usize::try_from(b.size - done)
                .unwrap_or(usize::MAX)
                .min(buf.len() - offset);
            image
                .write_all_at(&buf[offset..offset + n], b.pos + done)
                .map_err(|e| {
                    ImageError::io(
                        ImageErrorKind::WriteDest {
                            dest: dest.to_path_buf(),
                            pos: b.pos + done,
                        },
                        e,
                    )
                })?;
            done += n as u64;
        }
        report.blocks += 1;
        report.bytes += b.size;
    }
    image.sync_data().map_err(|e| {
        ImageError::io(
            ImageErrorKind::WriteDest {
                dest: dest.to_path_buf(),
                pos: 0,
            },
            e,
        )
    })?;
    Ok(report)
}
