//! A runbook source: its name as shown in diagnostics and its text, made from bytes checked for
//! size and UTF-8 (the engine reads files; this crate never does).

use std::sync::Arc;

/// The most a runbook file may hold; a larger file is refused before parsing.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// One source file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name diagnostics print (the path as given, or `stdlib/NAME.salvage`).
    pub name: String,
    /// The text.
    pub text: Arc<str>,
    /// Byte offsets where lines start, for line/column lookups in O(log n).
    line_starts: Arc<[usize]>,
}

/// Why a source could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file could not be read.
    Io(String),
    /// The file is larger than [`MAX_SOURCE_BYTES`].
    TooLarge(u64),
    /// The bytes are not UTF-8; the offset of the first bad byte, and the text up to it.
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// The valid text before it, for pointing at the line.
        prefix: String,
    },
}

impl SourceFile {
    /// A source from a name and text (tests, the embedded stdlib).
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// A source from raw bytes, refusing more than [`MAX_SOURCE_BYTES`] or bytes that are not
    /// UTF-8 (with the offset of the first bad byte and the valid text before it).
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<SourceFile, LoadError> {
        let name = name.into();
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(LoadError::TooLarge(bytes.len() as u64));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(name, text)),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..offset]).into_owned();
                Err(LoadError::NotUtf8 { offset, prefix })
            }
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|start| *start <= offset);
        let line_start = self.line_starts[line.saturating_sub(1)];
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }
}

/// The largest char boundary at or below `i`.
pub fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
