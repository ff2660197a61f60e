//! The run log writer: appends hash-chained JSON-lines events, one write and one fdatasync each
//! (or, with [`EventLog::with_deferred_sync`], one write each and an `fdatasync` of the log
//! and then its anchor when [`EventLog::sync`] is called: grouped with the journal's).
//!
//! Every line carries `seq`, `time`, `event`, the event's fields, and `prev`: the sha256 of the
//! previous line's exact bytes (64 zeros for the first line of a file). A resumed run appends to
//! the same file and continues the chain. [`verify`] checks a file; [`read`] reads its events.

mod anchor;
mod error;
mod line;
mod timestamp;
mod verify;

pub use anchor::{Anchor, anchor_path, key_beside};
pub use error::{LogError, LogErrorKind};
pub use line::{BadLine, GENESIS, LogContents, LogLine, line_hash, read, read_lenient};

pub use timestamp::{format as format_time, format_millis, parse_millis};
pub use verify::{
    Finding, FindingKind, RESUMED_AFTER_DAMAGE, Verdict, VerifyReport, verify, verify_bytes,
    verify_with_key,
};

use anchor::AnchorWriter;
use line::split_lines;
use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The clock the log stamps events with.
pub type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

/// An open log file that events are appended to. Thread-safe: appends are serialized by an
/// internal mutex, and the file is locked (`flock`) against other processes while open.
pub struct EventLog {
    path: PathBuf,
    clock: Clock,
    state: Mutex<State>,
    /// Appends are not synced one by one: [`EventLog::sync`] makes them durable.
    deferred: bool,
    /// The log file again, and its anchor's, for `fdatasync` without holding up appends.
    sync_files: Vec<File>,
    /// Bytes appended so far.
    written: AtomicU64,
    /// Of those, the bytes known durable; held while syncing.
    synced: Mutex<u64>,
}

struct State {
    file: Flock<File>,
    next_seq: u64,
    prev: String,
    /// An append failed part-way: the tail may be torn, so refuse to chain onto it.
    poisoned: bool,
    /// The `log_resumed_after_damage` event, written together with the first append (so it
    /// carries the clock set by [`EventLog::with_clock`], and nothing is written if nothing is).
    pending: Option<Pending>,
    /// Lines in the file.
    lines: u64,
    /// `<log>.head`, rewritten after every append (synced as the log is), once
    /// [`EventLog::with_anchor`] is called.
    anchor: Option<AnchorWriter>,
}

/// A `log_resumed_after_damage` event not yet written.
struct Pending {
    fields: Map<String, Value>,
    /// The damaged tail has no `\n`: end it before the event.
    newline_first: bool,
}

/// Where an existing file leaves off: the next seq and prev, or what is wrong with its end.
enum Tail {
    Good {
        next_seq: u64,
        prev: String,
        /// The last line lacks only its `\n`: write one before the next event.
        needs_newline: bool,
    },
    Damaged {
        line: usize,
        offset: u64,
        what: String,
        next_seq: u64,
        prev: String,
        needs_newline: bool,
    },
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("path", &self.path)
            .finish()
    }
}

impl EventLog {
    /// Opens `path` for appending, creating it (mode 0600) if missing. An existing log is
    /// continued: `seq` and `prev` follow its last line. Refuses with
    /// [`LogErrorKind::DamagedTail`] when the end of the file does not verify (a torn last line
    /// from a crash, garbage, a broken chain); [`EventLog::open_append_after_damage`] continues
    /// such a file.
    pub fn open_append(path: &Path) -> Result<EventLog, LogError> {
        Self::open(path, false)
    }

    /// Like [`EventLog::open_append`], but a damaged end does not stop the log: the damaged
    /// bytes are kept (terminated by a newline if torn), and a `log_resumed_after_damage` event
    /// starts a new chain segment whose `prev` is the hash of the damaged last line.
    /// `salvage review --verify` reports that boundary. An undamaged file is simply continued.
    pub fn open_append_after_damage(path: &Path) -> Result<EventLog, LogError> {
        Self::open(path, true)
    }

    fn open(path: &Path, continue_after_damage: bool) -> Result<EventLog, LogError> {
        let io = |e| LogError::new(path, LogErrorKind::Io(e));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(LogError::new(path, LogErrorKind::Locked));
            }
            Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
        };
        let mut data = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_to_end(&mut data).map_err(io)?;
        let sync_file = file.try_clone().map_err(io)?;
        let log = |next_seq, prev, file| EventLog {
            path: path.to_path_buf(),
            clock: Box::new(SystemTime::now),
            deferred: false,
            sync_files: vec![sync_file],
            written: AtomicU64::new(0),
            synced: Mutex::new(0),
            state: Mutex::new(State {
                file,
                next_seq,
                prev,
                poisoned: false,
                pending: None,
                lines: split_lines(&data).len() as u64,
                anchor: None,
            }),
        };
        match tail(&data) {
            Tail::Good {
                next_seq,
                prev,
                needs_newline,
            } => {
                if needs_newline {
                    write_synced(&mut file, b"\n", true).map_err(io)?;
                }
                Ok(log(next_seq, prev, file))
            }
            Tail::Damaged {
                line, offset, what, ..
            } if !continue_after_damage => Err(LogError::new(
                path,
                LogErrorKind::DamagedTail { line, offset, what },
            )),
            Tail::Damaged {
                line,
                offset,
                what,
                next_seq,
                prev,
                needs_newline,
            } => {
                let this = log(next_seq, prev, file);
                let mut fields = Map::new();
                fields.insert("damage".into(), Value::String(what));
                fields.insert("damaged_line".into(), Value::from(line));
                fields.insert("damaged_offset".into(), Value::from(offset));
                let mut st = this.state.lock().unwrap_or_else(|p| p.into_inner());
                st.pending = Some(Pending {
                    fields,
                    newline_first: needs_newline,
                });
                drop(st);
                Ok(this)
            }
        }
    }

    /// Keeps the anchor `<log>.head` from now on (recording the current head at once), its
    /// MAC keyed with `key` when given (the state key: `review --verify` finds it beside a log
    /// in the default layout).
    pub fn with_anchor(mut self, key: Option<[u8; 32]>) -> Result<Self, LogError> {
        let io = |e| LogError::new(&self.path, LogErrorKind::Io(e));
        let mut writer = AnchorWriter::open(&self.path, key).map_err(io)?;
        self.sync_files.push(writer.try_clone_file().map_err(io)?);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.lines > 0 && st.pending.is_none() {
            writer.record(st.lines, &st.prev, true).map_err(io)?;
        }
        st.anchor = Some(writer);
        drop(st);
        Ok(self)
    }

    /// From now on an append is one `write(2)` of the line and one of the anchor, neither
    /// synced: a killed process keeps both (the page cache holds them), and
    /// [`EventLog::sync`] makes them durable, the log before its anchor. The executor syncs
    /// the log together with the journal, so a trivial step does not wait for the disk.
    pub fn with_deferred_sync(mut self) -> Self {
        self.deferred = true;
        self
    }

    /// Makes every line appended before this call durable, then the anchor. Group commit:
    /// a caller arriving while another syncs returns at once when that sync covered it.
    pub fn sync(&self) -> Result<(), LogError> {
        let io = |e| LogError::new(&self.path, LogErrorKind::Io(e));
        let target = self.written.load(Ordering::SeqCst);
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= target {
            return Ok(());
        }
        let upto = self.written.load(Ordering::SeqCst);
        for f in &self.sync_files {
            f.sync_data().map_err(io)?;
        }
        *synced = upto;
        Ok(())
    }

    /// Replaces the clock (tests fix it to make logs byte-for-byte reproducible).
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The file this log appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current time by this log's clock.
    pub fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// Appends one event: `{"seq":N,"time":"…","event":"…",<fields…>,"prev":"…"}` and `\n`,
    /// written with one `write(2)` on the O_APPEND descriptor, then `fdatasync`ed (unless
    /// [`EventLog::with_deferred_sync`]: then [`EventLog::sync`] does it). The anchor follows.
    /// After [`EventLog::open_append_after_damage`] on a damaged file, the first append writes
    /// the `log_resumed_after_damage` event and this one in the same write.
    pub fn append(&self, event: &str, fields: Map<String, Value>) -> Result<(), LogError> {
        let err = |kind| LogError::new(&self.path, kind);
        if event.is_empty() || !event.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(err(LogErrorKind::BadEventName(event.to_string())));
        }
        if let Some(k) = ["seq", "time", "event", "prev"]
            .into_iter()
            .find(|k| fields.contains_key(*k))
        {
            return Err(err(LogErrorKind::ReservedField(k.to_string())));
        }
        // A poisoned mutex only means another thread panicked mid-append; the state is still
        // consistent because `poisoned` is set before anything can be half-written.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.poisoned {
            return Err(err(LogErrorKind::Poisoned));
        }
        let time = format_time(self.now());
        let mut out = String::with_capacity(256);
        let (mut seq, mut prev) = (st.next_seq, st.prev.clone());
        if let Some(p) = &st.pending {
            if p.newline_first {
                out.push('\n');
            }
            prev = push_line(&mut out, seq, &time, RESUMED_AFTER_DAMAGE, &p.fields, &prev);
            seq += 1;
        }
        prev = push_line(&mut out, seq, &time, event, &fields, &prev);
        st.poisoned = true;
        write_synced(&mut st.file, out.as_bytes(), !self.deferred)
            .map_err(|e| err(LogErrorKind::Io(e)))?;
        self.written.fetch_add(out.len() as u64, Ordering::SeqCst);
        st.poisoned = false;
        let ended_a_torn_line = st.pending.as_ref().is_some_and(|p| p.newline_first);
        st.pending = None;
        st.next_seq = seq + 1;
        st.lines += out.bytes().filter(|&b| b == b'\n').count() as u64;
        st.lines -= u64::from(ended_a_torn_line);
        st.prev = prev;
        let State {
            anchor,
            lines,
            prev,
            ..
        } = &mut *st;
        if let Some(anchor) = anchor {
            anchor
                .record(*lines, prev, !self.deferred)
                .map_err(|e| err(LogErrorKind::Io(e)))?;
        }
        Ok(())
    }
}

/// Appends one line (with its `\n`) to `out`: seq, time, event, the fields, prev. Returns the
/// line's hash.
fn push_line(
    out: &mut String,
    seq: u64,
    time: &str,
    event: &str,
    fields: &Map<String, Value>,
    prev: &str,
) -> String {
    let start = out.len();
    out.push_str(&format!("{{\"seq\":{seq},\"time\":\"{time}\",\"event\":"));
    out.push_str(&Value::String(event.to_string()).to_string());
    for (k, v) in fields {
        out.push(',');
        out.push_str(&Value::String(k.clone()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push_str(&format!(",\"prev\":\"{prev}\"}}"));
    let hash = line_hash(&out.as_bytes()[start..]);
    out.push('\n');
    hash
}

/// One `write(2)` in practice (O_APPEND, a regular file); `write_all` only loops on a short
/// write, which the mutex keeps from interleaving with another append. Then `fdatasync`, when
/// `sync`.
fn write_synced(file: &mut File, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    file.write_all(bytes)?;
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

/// Checks the end of an existing log: its last line must be a complete event whose `prev` is
/// the hash of the line before it (or 64 zeros when it is the first line).
fn tail(data: &[u8]) -> Tail {
    let raws = split_lines(data);
    let Some(last) = raws.last() else {
        return Tail::Good {
            next_seq: 0,
            prev: GENESIS.to_string(),
            needs_newline: false,
        };
    };
    let parsed: Vec<Option<LogLine>> = raws.iter().map(|r| LogLine::parse(*r).ok()).collect();
    let next_seq = parsed.iter().flatten().last().map_or(0, |l| l.seq + 1);
    let prev = line_hash(last.bytes);
    let needs_newline = !last.terminated;
    let expected_prev = match raws.len() {
        1 => GENESIS.to_string(),
        n => line_hash(raws[n - 2].bytes),
    };
    let what = match parsed.last().and_then(Option::as_ref) {
        None => LogLine::parse(*last).err().unwrap_or_default(),
        Some(l) if l.prev != expected_prev => format!(
            "its prev does not match the hash of the line before it{}",
            if raws.len() == 1 { " (64 zeros)" } else { "" }
        ),
        Some(_) => {
            return Tail::Good {
                next_seq,
                prev,
                needs_newline,
            };
        }
    };
    let what = if needs_newline {
        format!("{what} (the file ends without a newline: a write was cut off)")
    } else {
        what
    };
    Tail::Damaged {
        line: last.number,
        offset: last.offset,
        what,
        next_seq,
        prev,
        needs_newline,
    }
}
