//! One line of a log: its exact bytes, where it is, its hash, and the event parsed from it.

use super::error::{LogError, LogErrorKind};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The `prev` of the first line of a file: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lowercase hex sha256 of a line's exact bytes (without its `\n`).
pub fn line_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A line's exact bytes as they are in the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawLine<'a> {
    /// 1-based line number, as an editor shows it.
    pub number: usize,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// The bytes, without the `\n`.
    pub bytes: &'a [u8],
    /// Whether a `\n` ends the line (false only for a torn last line).
    pub terminated: bool,
}

/// Splits a file's bytes into lines; a final piece without `\n` is a line too (unterminated).
pub(crate) fn split_lines(data: &[u8]) -> Vec<RawLine<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let (end, terminated) = match data[start..].iter().position(|&b| b == b'\n') {
            Some(i) => (start + i, true),
            None => (data.len(), false),
        };
        lines.push(RawLine {
            number: lines.len() + 1,
            offset: start as u64,
            bytes: &data[start..end],
            terminated,
        });
        start = end + 1;
    }
    lines
}

/// One event of a log, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// 1-based line number in the file.
    pub number: usize,
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// `seq`.
    pub seq: u64,
    /// `time`, as written (RFC 3339).
    pub time: String,
    /// `event`: the kind.
    pub event: String,
    /// `prev`: hash of the previous line.
    pub prev: String,
    /// The event's own fields (everything but seq, time, event, prev).
    pub fields: Map<String, Value>,
    /// sha256 of this line's exact bytes: what the next line's `prev` must be.
    pub hash: String,
}

impl LogLine {
    /// A string field, or "" when it is missing or not a string.
    pub fn str(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// An integer field.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.fields.get(name).and_then(Value::as_i64)
    }

    /// Parses a raw line; the error says what is wrong with it.
    pub(crate) fn parse(raw: RawLine<'_>) -> Result<LogLine, String> {
        let text = std::str::from_utf8(raw.bytes).map_err(|e| {
            format!(
                "not valid UTF-8 (bad byte at offset {} of the file)",
                raw.offset + e.valid_up_to() as u64
            )
        })?;
        if text.trim().is_empty() {
            return Err("an empty line".to_string());
        }
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut fields) = value else {
            return Err("JSON, but not an object".to_string());
        };
        let mut take_str = |name: &str| match fields.remove(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(format!("`{name}` is not a string")),
            None => Err(format!("no `{name}` field")),
        };
        let time = take_str("time")?;
        let event = take_str("event")?;
        let prev = take_str("prev")?;
        let seq = match fields.remove("seq") {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| "`seq` is not a non-negative integer".to_string())?,
            None => return Err("no `seq` field".to_string()),
        };
        if super::timestamp::parse_millis(&time).is_none() {
            return Err(format!("`time` {time:?} is not an RFC 3339 timestamp"));
        }
        if prev.len() != 64 || !prev.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!("`prev` {prev:?} is not 64 lowercase hex digits"));
        }
        Ok(LogLine {
            number: raw.number,
            offset: raw.offset,
            seq,
            time,
            event,
            prev,
            fields,
            hash: line_hash(raw.bytes),
        })
    }
}

/// A line that is not an event, found while reading leniently.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset of the line.
    pub offset: u64,
    /// What is wrong with it.
    pub what: String,
}

/// A log read leniently: every event that parses, and what did not.
#[derive(Debug, Clone, Default)]
pub struct LogContents {
    /// The events, in file order.
    pub lines: Vec<LogLine>,
    /// Lines that are not events (garbage, torn writes, invalid UTF-8).
    pub bad: Vec<BadLine>,
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, LogError> {
    std::fs::read(path).map_err(|e| LogError::new(path, LogErrorKind::Io(e)))
}

/// Reads a log, keeping every line that is an event and listing those that are not.
pub fn read_lenient(path: &Path) -> Result<LogContents, LogError> {
    let data = read_bytes(path)?;
    let mut out = LogContents::default();
    for raw in split_lines(&data) {
        match LogLine::parse(raw) {
            Ok(line) => out.lines.push(line),
            Err(what) => out.bad.push(BadLine {
                line: raw.number,
                offset: raw.offset,
                what: if raw.terminated {
                    what
                } else {
                    format!("{what} (the file ends without a newline: a torn write)")
                },
            }),
        }
    }
    Ok(out)
}

/// Reads a log strictly: the first line that is not an event is an error naming it.
/// Reading does not check the hash chain; see [`super::verify`].
pub fn read(path: &Path) -> Result<Vec<LogLine>, LogError> {
    let contents = read_lenient(path)?;
    match contents.bad.into_iter().next() {
        Some(bad) => Err(LogError::new(
            path,
            LogErrorKind::BadLine {
                line: bad.line,
                offset: bad.offset,
                what: bad.what,
            },
        )),
        None => Ok(contents.lines),
    }
}
