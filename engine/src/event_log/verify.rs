//! Verifying a log's hash chain and sequence: which line is wrong, and how.

use super::line::{GENESIS, LogLine, RawLine, line_hash, split_lines};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// The event that starts a new chain segment after a damaged tail.
pub const RESUMED_AFTER_DAMAGE: &str = "log_resumed_after_damage";

/// The verdict on one log file.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The file, as given.
    pub file: String,
    /// How many lines the file has.
    pub lines: usize,
    /// What makes the log untrustworthy: edited, dropped, inserted, reordered or torn lines.
    pub problems: Vec<Finding>,
    /// What a reviewer should know but does not by itself mean tampering.
    pub warnings: Vec<Finding>,
    /// What could not be proven for want of the state key or the anchor: the log may be
    /// intact, but a rewrite of it would look the same. Not valid, not proven tampered.
    pub unproven: Vec<Finding>,
    /// sha256 of the last line: nothing later in the file covers it, so record it elsewhere
    /// (a ticket, a chat message) to make an edit of the last line or a cut tail detectable.
    pub head_sha256: Option<String>,
    /// The log was checked against its anchor (`<log>.head`), which covers the last line.
    #[serde(skip)]
    pub anchored: bool,
}

/// What `--verify` concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Chain, sequence and the keyed anchor all hold.
    Valid,
    /// Something was edited, dropped, inserted, reordered, cut or torn.
    NotValid,
    /// No problem found, but without the key or the anchor a rewrite cannot be ruled out.
    Unproven,
}

impl Verdict {
    /// The exit code of `salvage review --verify`: 0 valid, 1 not valid, 3 unproven.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::NotValid => 1,
            Verdict::Unproven => 3,
        }
    }
}

impl VerifyReport {
    /// True when no problem was found (warnings allowed; see [`Self::verdict`] for whether it
    /// was also proven).
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Valid, not valid, or unproven.
    pub fn verdict(&self) -> Verdict {
        if !self.problems.is_empty() {
            Verdict::NotValid
        } else if !self.unproven.is_empty() {
            Verdict::Unproven
        } else {
            Verdict::Valid
        }
    }
}

/// One finding, at a line when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based line number, when the finding is about a line.
    pub line: Option<usize>,
    /// What was found.
    pub kind: FindingKind,
    /// The message, as [`fmt::Display`] gives it (for JSON readers).
    pub message: String,
}

impl Finding {
    fn new(line: Option<usize>, kind: FindingKind) -> Finding {
        let mut f = Finding {
            line,
            kind,
            message: String::new(),
        };
        f.message = f.to_string();
        f
    }
}

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FindingKind {
    /// The file cannot be read.
    Unreadable {
        /// The I/O error.
        error: String,
    },
    /// The file has no lines at all.
    Empty,
    /// The line is not a log event.
    NotAnEvent {
        /// Byte offset of the line.
        offset: u64,
        /// What is wrong with it.
        what: String,
    },
    /// The file ends in the middle of a line.
    Torn {
        /// Byte offset of the torn line.
        offset: u64,
    },
    /// The first line's prev is not 64 zeros.
    FirstPrevNotZero,
    /// `prev` is not the hash of the line before.
    PrevMismatch {
        /// The line whose hash `prev` should be.
        previous: usize,
    },
    /// The first line's seq is not 0.
    FirstSeqNotZero {
        /// Its seq.
        seq: u64,
    },
    /// seq jumps forward.
    SeqGap {
        /// This line's seq.
        seq: u64,
        /// The highest seq before it.
        after: u64,
    },
    /// seq does not increase.
    SeqNotIncreasing {
        /// This line's seq.
        seq: u64,
        /// The seq of the event before it.
        after: u64,
    },
    /// A new chain segment starts after damage.
    SegmentBoundary {
        /// What the writer said was damaged.
        damage: String,
    },
    /// The last line is complete but has no newline (warning).
    NoFinalNewline,
    /// A run started while the one before it had not finished (warning).
    RunNeverFinished {
        /// The line of the unfinished run's `run_started`.
        started: usize,
    },
    /// The log ends without `run_finished` (warning).
    EndsUnfinished {
        /// The kind of the last event.
        last_event: String,
    },
    /// The first event is not `run_started` (warning).
    FirstNotRunStarted {
        /// Its kind.
        event: String,
    },
    /// The anchor (`<log>.head`) says the log had more lines.
    AnchorCut {
        /// Lines the anchor records.
        anchored: u64,
    },
    /// The line the anchor records as the last one hashes otherwise.
    AnchorEdited,
    /// Lines after the one the anchor records as the last.
    AnchorExtra {
        /// How many.
        extra: usize,
    },
    /// The anchor's MAC does not hold under the state key.
    AnchorForged,
    /// The state key is here but the anchor is not: deleted, or the log moved without it.
    AnchorMissing,
    /// The anchor's MAC cannot be checked: no state key was found.
    NoKey {
        /// The state directory the log's first run names, as a hint for `--state`.
        state_dir: Option<String>,
    },
    /// The anchor cannot be read.
    AnchorUnreadable {
        /// Why.
        error: String,
    },
    /// There is no anchor: an edited last line or a cut tail cannot be detected (warning).
    NoAnchor,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        let line = self.line.unwrap_or(0);
        match &self.kind {
            FindingKind::Unreadable { error } => write!(f, "cannot read the log: {error}"),
            FindingKind::Empty => write!(
                f,
                "the log is empty: there is nothing to verify (a run always writes run_started \
                 first, so an empty log was cut or never written)"
            ),
            FindingKind::NotAnEvent { offset, what } => {
                write!(f, "not a log event (byte {offset}): {what}")
            }
            FindingKind::Torn { offset } => write!(
                f,
                "the file ends in the middle of this line (byte {offset}): a write was cut off \
                 by a crash, or the file was truncated"
            ),
            FindingKind::FirstPrevNotZero => write!(
                f,
                "prev of the first line is not 64 zeros: lines before it were cut off, or this \
                 line was edited"
            ),
            FindingKind::PrevMismatch { previous } => write!(
                f,
                "prev does not match the hash of line {previous} — line {previous} was edited, \
                 or a line between them was dropped/inserted"
            ),
            FindingKind::FirstSeqNotZero { seq } => write!(
                f,
                "seq {seq} on the first line (expected 0): lines before it were cut off"
            ),
            FindingKind::SeqGap { seq, after } => {
                let n = seq - after - 1;
                let lines = if n == 1 { "a line was" } else { "lines were" };
                write!(f, "seq {seq} after {after} — {lines} dropped ({n} missing)")
            }
            FindingKind::SeqNotIncreasing { seq, after } => write!(
                f,
                "seq {seq} after {after} — lines were reordered, or a line was inserted"
            ),
            FindingKind::SegmentBoundary { damage } => write!(
                f,
                "the log was resumed after damage; a new chain segment starts here, and what came \
                 before the damage cannot be checked against what comes after (damage: {damage})"
            ),
            FindingKind::NoFinalNewline => write!(
                f,
                "the last line has no newline (the write stopped just before it)"
            ),
            FindingKind::RunNeverFinished { started } => write!(
                f,
                "a run starts here, but the run started at line {started} never finished \
                 (it crashed or was killed)"
            ),
            FindingKind::EndsUnfinished { last_event } => write!(
                f,
                "the log ends without run_finished (the last event, line {line}, is \
                 `{last_event}`): the run crashed, is still running, or the tail was cut"
            ),
            FindingKind::FirstNotRunStarted { event } => write!(
                f,
                "the first event is `{event}`, not run_started: the start of the log is missing"
            ),
            FindingKind::AnchorCut { anchored } => write!(
                f,
                "the log ends here, but its anchor (.head) says salvage wrote {anchored} lines: the tail was cut"
            ),
            FindingKind::AnchorEdited => write!(
                f,
                "this is the last line salvage wrote (by the anchor, .head), but it is not the line it wrote: it was edited"
            ),
            FindingKind::AnchorExtra { extra } => write!(
                f,
                "{extra} line(s) from here on come after the last line salvage wrote (by the anchor, .head): they were added by something else (or a run is writing now)"
            ),
            FindingKind::AnchorForged => write!(
                f,
                "the anchor (.head) has no valid MAC under the state key: it was edited or replaced (or the key is another run's)"
            ),
            FindingKind::AnchorMissing => write!(
                f,
                "the anchor (.head) is missing though the state key is there: salvage writes it with every log, so it was deleted or the log was moved without it; a cut tail, an edited last line or a recomputed chain cannot be ruled out"
            ),
            FindingKind::NoKey { state_dir } => {
                write!(
                    f,
                    "the anchor's MAC cannot be checked without the state key, so a log rewritten whole (chain and anchor recomputed) would look the same; give --state DIR or --key FILE"
                )?;
                match state_dir {
                    Some(d) => write!(f, " (the log says its state directory was {d})"),
                    None => Ok(()),
                }
            }
            FindingKind::AnchorUnreadable { error } => {
                write!(f, "the anchor (.head) cannot be read: {error}")
            }
            FindingKind::NoAnchor => write!(
                f,
                "no anchor (.head) beside the log and no state key: an edited last line, a cut tail or a log rewritten whole cannot be detected; give --state DIR or --key FILE if the run's state still exists"
            ),
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.verdict() == Verdict::Valid {
            writeln!(
                f,
                "verify: {}: VALID — {} lines, hash chain and sequence intact",
                self.file, self.lines
            )?;
        } else if self.verdict() == Verdict::Unproven {
            writeln!(
                f,
                "verify: {}: UNPROVEN — {} lines, hash chain and sequence intact, but not proven untouched:",
                self.file, self.lines
            )?;
        } else {
            writeln!(
                f,
                "verify: {}: NOT VALID — {} problem(s) in {} lines",
                self.file,
                self.problems.len(),
                self.lines
            )?;
        }
        for p in &self.problems {
            writeln!(f, "  problem: {p}")?;
        }
        for u in &self.unproven {
            writeln!(f, "  unproven: {u}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        if let Some(h) = self.head_sha256.as_ref().filter(|_| !self.anchored) {
            writeln!(
                f,
                "  head: sha256 of the last line is {h}\n        (nothing later covers the last \
                 line: compare with a copy recorded elsewhere to detect an edited or cut tail)"
            )?;
        }
        Ok(())
    }
}

/// Verifies the log at `path`: the hash chain, the sequence, that every line is an event,
/// and its anchor under the state key beside it (`STATE/key`, the default layout).
pub fn verify(path: &Path) -> VerifyReport {
    verify_with_key(path, super::key_beside(path).as_ref())
}

/// [`verify`] with the state key found elsewhere (`review --state DIR` / `--key FILE`), or
/// none: then what the key would prove is listed as unproven.
pub fn verify_with_key(path: &Path, key: Option<&[u8; 32]>) -> VerifyReport {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(data) => {
            let raws = split_lines(&data);
            let mut report = verify_lines(file, &raws);
            check_anchor(path, &raws, &mut report, key);
            report
        }
        Err(e) => VerifyReport {
            file,
            lines: 0,
            problems: vec![Finding::new(
                None,
                FindingKind::Unreadable {
                    error: e.to_string(),
                },
            )],
            warnings: Vec::new(),
            unproven: Vec::new(),
            head_sha256: None,
            anchored: false,
        },
    }
}

/// Verifies a log's bytes; `file` names it in the report.
pub fn verify_bytes(file: String, data: &[u8]) -> VerifyReport {
    verify_lines(file, &split_lines(data))
}

/// The chain and sequence checks over a log's lines.
fn verify_lines(file: String, raws: &[RawLine<'_>]) -> VerifyReport {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if raws.is_empty() {
        problems.push(Finding::new(None, FindingKind::Empty));
    }
    let mut prev_raw: Option<RawLine<'_>> = None;
    let mut last_event: Option<LogLine> = None;
    let mut open_run: Option<usize> = None;
    // The highest seq so far: a line after a reordered pair continues from it.
    let mut max_seq: Option<u64> = None;
    // Lines since the last event that are not events: each may have held one seq.
    let mut unreadable_since = 0;
    for raw in raws {
        let at = Some(raw.number);
        if !raw.terminated {
            // A complete event without its newline is harmless; anything else is a torn write.
            if LogLine::parse(*raw).is_ok() {
                warnings.push(Finding::new(at, FindingKind::NoFinalNewline));
            } else {
                problems.push(Finding::new(at, FindingKind::Torn { offset: raw.offset }));
                unreadable_since += 1;
                prev_raw = Some(*raw);
                continue;
            }
        }
        let line = match LogLine::parse(*raw) {
            Ok(line) => line,
            Err(what) => {
                let offset = raw.offset;
                problems.push(Finding::new(at, FindingKind::NotAnEvent { offset, what }));
                unreadable_since += 1;
                prev_raw = Some(*raw);
                continue;
            }
        };
        match prev_raw {
            None if line.prev != GENESIS => {
                problems.push(Finding::new(at, FindingKind::FirstPrevNotZero));
            }
            Some(p) if line.prev != line_hash(p.bytes) => problems.push(Finding::new(
                at,
                FindingKind::PrevMismatch { previous: p.number },
            )),
            _ => {}
        }
        match &last_event {
            None if raw.number == 1 && line.seq != 0 => problems.push(Finding::new(
                at,
                FindingKind::FirstSeqNotZero { seq: line.seq },
            )),
            None if raw.number == 1 && line.event != "run_started" => warnings.push(Finding::new(
                at,
                FindingKind::FirstNotRunStarted {
                    event: line.event.clone(),
                },
            )),
            Some(_) if max_seq.is_some_and(|m| line.seq > m + 1 + unreadable_since) => problems
                .push(Finding::new(
                    at,
                    FindingKind::SeqGap {
                        seq: line.seq,
                        after: max_seq.unwrap_or(0),
                    },
                )),
            Some(before) if line.seq <= before.seq => problems.push(Finding::new(
                at,
                FindingKind::SeqNotIncreasing {
                    seq: line.seq,
                    after: before.seq,
                },
            )),
            _ => {}
        }
        match line.event.as_str() {
            RESUMED_AFTER_DAMAGE => problems.push(Finding::new(
                at,
                FindingKind::SegmentBoundary {
                    damage: line.str("damage").to_string(),
                },
            )),
            "run_started" => {
                if let Some(started) = open_run.replace(raw.number) {
                    warnings.push(Finding::new(at, FindingKind::RunNeverFinished { started }));
                }
            }
            "run_finished" => open_run = None,
            _ => {}
        }
        prev_raw = Some(*raw);
        max_seq = Some(max_seq.map_or(line.seq, |m| m.max(line.seq)));
        unreadable_since = 0;
        last_event = Some(line);
    }
    if let Some(last) = &last_event
        && last.event != "run_finished"
    {
        warnings.push(Finding::new(
            Some(last.number),
            FindingKind::EndsUnfinished {
                last_event: last.event.clone(),
            },
        ));
    }
    let head_sha256 = raws.last().map(|r| line_hash(r.bytes));
    VerifyReport {
        file,
        lines: raws.len(),
        problems,
        warnings,
        unproven: Vec::new(),
        head_sha256,
        anchored: false,
    }
}

/// Checks the log against its anchor `<log>.head`: the line count, the last line's hash, and
/// the anchor's MAC under `key`. With the key, a missing anchor is a problem; without it, what
/// the key would have proven is listed as unproven.
fn check_anchor(
    path: &Path,
    raws: &[RawLine<'_>],
    report: &mut VerifyReport,
    key: Option<&[u8; 32]>,
) {
    let anchor = match super::Anchor::read(path) {
        None if key.is_some() => {
            report
                .problems
                .push(Finding::new(None, FindingKind::AnchorMissing));
            return;
        }
        None => {
            report
                .unproven
                .push(Finding::new(None, FindingKind::NoAnchor));
            return;
        }
        Some(Err(error)) => {
            report
                .problems
                .push(Finding::new(None, FindingKind::AnchorUnreadable { error }));
            return;
        }
        Some(Ok(a)) => a,
    };
    report.anchored = true;
    match key {
        Some(key) if !anchor.mac_holds(key) => report
            .problems
            .push(Finding::new(None, FindingKind::AnchorForged)),
        Some(_) => {}
        None => {
            let state_dir = raws
                .first()
                .and_then(|r| LogLine::parse(*r).ok())
                .map(|l| l.str("state_dir").to_string())
                .filter(|d| !d.is_empty());
            report
                .unproven
                .push(Finding::new(None, FindingKind::NoKey { state_dir }));
        }
    }
    let anchored = usize::try_from(anchor.lines).unwrap_or(usize::MAX);
    if raws.len() < anchored {
        report.problems.push(Finding::new(
            Some(raws.len()),
            FindingKind::AnchorCut {
                anchored: anchor.lines,
            },
        ));
        return;
    }
    if let Some(last) = anchored.checked_sub(1).and_then(|i| raws.get(i))
        && line_hash(last.bytes) != anchor.sha256
    {
        report
            .problems
            .push(Finding::new(Some(last.number), FindingKind::AnchorEdited));
    }
    if raws.len() > anchored {
        report.problems.push(Finding::new(
            Some(anchored + 1),
            FindingKind::AnchorExtra {
                extra: raws.len() - anchored,
            },
        ));
    }
}
