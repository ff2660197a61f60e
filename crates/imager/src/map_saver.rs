//! `MapSaver`: writes the mapfile atomically: a temporary file in the same directory, fsynced,
//! renamed over the map, then the directory fsynced, so a crash leaves the old map or the new
//! one, never a partial one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{ImageError, ImageErrorKind};
use super::mapfile::Mapfile;

/// Saves one run's mapfile.
pub(crate) struct MapSaver {
    path: PathBuf,
    command_line: String,
    start_time: String,
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) for a time.
pub(crate) fn format_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = salvage_text::calendar::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl MapSaver {
    pub(crate) fn new(path: &Path, command_line: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            command_line: command_line.to_string(),
            start_time: format_time(SystemTime::now()),
        }
    }

    /// Writes `map` atomically and durably.
    pub(crate) fn save(&self, map: &Mapfile) -> Result<(), ImageError> {
        let text = map.render(
            &self.command_line,
            &self.start_time,
            &format_time(SystemTime::now()),
        );
        write_atomically(&self.path, text.as_bytes())
            .map_err(|e| ImageError::io(ImageErrorKind::WriteMap(self.path.clone()), e))
    }
}

/// Replaces `path` with `bytes`: temp file + fsync + rename + fsync of the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_civil_time() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_493_548);
        assert_eq!(format_time(t), "2026-11-24 04:12:28 UTC");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
    }
}
