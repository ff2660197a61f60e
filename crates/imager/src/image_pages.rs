//! `ImagePages`: read-only views of the image's pages, for hashing what a kernel copy wrote
//! without copying it again. A 64 MiB window of the image is mapped at a time and its pages
//! fault in as they are hashed (the kernel maps them in batches), which costs far less than
//! reading them into a buffer or populating a mapping per piece.

use std::fs::File;
use std::os::unix::fs::FileExt;

use salvage_sys::file_mapping::{FileMapping as Mapping, page_size};

/// Bytes mapped at once (a multiple of every page size).
const WINDOW: u64 = 64 << 20;

/// Views of one image file.
pub(crate) struct ImagePages {
    file: File,
    window: Option<Mapping>,
}

impl ImagePages {
    pub(crate) fn new(file: File) -> Self {
        Self { file, window: None }
    }

    /// Calls `f` with image bytes `[pos, pos + len)`, which this run has just written: from
    /// the window holding them (mapped on first use), from a mapping of their own if they
    /// cross a window's edge, or read back if the image cannot be mapped. Returns false if
    /// they could not be read at all.
    pub(crate) fn with_bytes(&mut self, pos: u64, len: usize, f: impl FnOnce(&[u8])) -> bool {
        if !self.window.as_ref().is_some_and(|w| w.holds(pos, len)) {
            let start = pos - pos % WINDOW;
            self.window = None;
            self.window = usize::try_from(WINDOW)
                .ok()
                .and_then(|w| Mapping::new(&self.file, start, w));
        }
        if let Some(bytes) = self.window.as_ref().and_then(|w| w.bytes(pos, len)) {
            f(bytes);
            return true;
        }
        let page = page_size();
        let start = pos - pos % page;
        let own = usize::try_from(pos - start)
            .ok()
            .and_then(|lead| Mapping::new(&self.file, start, lead + len));
        if let Some(bytes) = own.as_ref().and_then(|m| m.bytes(pos, len)) {
            f(bytes);
            return true;
        }
        let mut buf = vec![0u8; len];
        if self.file.read_exact_at(&mut buf, pos).is_ok() {
            f(&buf);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_bytes_inside_and_across_windows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let len = (WINDOW + (1 << 20)) as usize;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut pages = ImagePages::new(File::open(&path).unwrap());
        for (pos, n) in [
            (0usize, 4096usize),
            (5000, 3),
            (WINDOW as usize - 10, 20),
            (len - 7, 7),
        ] {
            let mut seen = Vec::new();
            assert!(pages.with_bytes(pos as u64, n, |b| seen = b.to_vec()));
            assert_eq!(seen, &data[pos..pos + n], "at {pos}");
        }
    }
}
