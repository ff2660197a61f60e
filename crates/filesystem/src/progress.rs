//! `Progress`: how a long copy reports itself: a progress bar on a terminal, a plain line every
//! few seconds otherwise (logs, pipes), or nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Progress of a copy in bytes and entries.
#[derive(Debug)]
pub struct Progress {
    style: Style,
    total_bytes: u64,
    bytes: u64,
    entries: u64,
}

#[derive(Debug)]
enum Style {
    Hidden,
    Bar(ProgressBar),
    Lines { last: Instant },
}

impl Progress {
    /// No output at all (library use, tests).
    pub fn hidden() -> Self {
        Self {
            style: Style::Hidden,
            total_bytes: 0,
            bytes: 0,
            entries: 0,
        }
    }

    /// A bar on a terminal, periodic lines on stderr otherwise.
    pub fn console() -> Self {
        let style = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            if let Ok(template) = ProgressStyle::with_template(
                "{bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {wide_bar} {msg}",
            ) {
                bar.set_style(template);
            }
            Style::Bar(bar)
        } else {
            Style::Lines {
                last: Instant::now(),
            }
        };
        Self {
            style,
            total_bytes: 0,
            bytes: 0,
            entries: 0,
        }
    }

    /// Sets the number of bytes expected.
    pub fn set_total(&mut self, total_bytes: u64) {
        self.total_bytes = total_bytes;
        if let Style::Bar(bar) = &self.style {
            bar.set_length(total_bytes);
        }
    }

    /// Counts bytes copied.
    pub fn add_bytes(&mut self, bytes: u64) {
        self.bytes += bytes;
        match &mut self.style {
            Style::Hidden => {}
            Style::Bar(bar) => bar.set_position(self.bytes),
            Style::Lines { last } => {
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    eprintln!(
                        "salvage: copied {} of {} bytes, {} entries",
                        self.bytes, self.total_bytes, self.entries
                    );
                }
            }
        }
    }

    /// Counts an entry done.
    pub fn add_entry(&mut self) {
        self.entries += 1;
    }

    /// Ends the display.
    pub fn finish(&mut self) {
        match &self.style {
            Style::Hidden => {}
            Style::Bar(bar) => bar.finish_and_clear(),
            Style::Lines { .. } => eprintln!(
                "salvage: copied {} bytes, {} entries",
                self.bytes, self.entries
            ),
        }
    }
}
