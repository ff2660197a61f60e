//! Progress of long steps: an indicatif bar on a terminal, plain periodic lines otherwise,
//! nothing with `--quiet`.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars on a terminal.
    Bars,
    /// A plain line every few seconds (logs, CI).
    Lines,
    /// Nothing.
    Quiet,
}

/// The progress display of a run.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    multi: MultiProgress,
}

/// One long task's progress.
#[derive(Debug)]
pub struct Task {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    name: String,
    total: Option<u64>,
    start: Instant,
    last_line: Mutex<Instant>,
}

/// How often plain lines are printed.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// A display of the given mode.
    pub fn new(mode: ProgressMode) -> Self {
        let multi = MultiProgress::with_draw_target(match mode {
            ProgressMode::Bars => ProgressDrawTarget::stderr(),
            _ => ProgressDrawTarget::hidden(),
        });
        Progress { mode, multi }
    }

    /// Starts a task counting bytes towards `total` (unknown: `None`).
    pub fn bytes(&self, name: &str, total: Option<u64>) -> Task {
        let bar = (self.mode == ProgressMode::Bars).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            let style = match total {
                Some(_) => "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                None => "{prefix:.bold} {spinner} {bytes} {bytes_per_sec} {msg}",
            };
            if let Ok(s) = ProgressStyle::with_template(style) {
                bar.set_style(s.progress_chars("=> "));
            }
            bar.set_prefix(name.to_string());
            self.multi.add(bar)
        });
        Task {
            mode: self.mode,
            bar,
            name: name.to_string(),
            total,
            start: Instant::now(),
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// How progress is shown.
    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    /// Prints a line above the bars (or plainly).
    pub fn println(&self, line: &str) {
        match self.mode {
            ProgressMode::Bars => {
                let _ = self.multi.println(line);
            }
            ProgressMode::Lines => eprintln!("{line}"),
            ProgressMode::Quiet => {}
        }
    }
}

impl Task {
    /// Sets how much is done, with a short message.
    pub fn set(&self, done: u64, msg: &str) {
        match self.mode {
            ProgressMode::Bars => {
                if let Some(b) = &self.bar {
                    b.set_position(done);
                    b.set_message(msg.to_string());
                }
            }
            ProgressMode::Lines => {
                let Ok(mut last) = self.last_line.lock() else {
                    return;
                };
                if last.elapsed() < LINE_EVERY {
                    return;
                }
                *last = Instant::now();
                eprintln!("{}", self.line(done, msg));
            }
            ProgressMode::Quiet => {}
        }
    }

    fn line(&self, done: u64, msg: &str) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let mut s = format!("[{}] {}", self.name, human(done));
        if let Some(t) = self.total {
            let pct = if t == 0 {
                100.0
            } else {
                done as f64 * 100.0 / t as f64
            };
            s.push_str(&format!(" / {} ({pct:.1}%)", human(t)));
            if rate > 0.0 && done < t {
                let eta = (t - done) as f64 / rate;
                s.push_str(&format!(" ETA {}", clock(eta)));
            }
        }
        s.push_str(&format!(" {}/s", human(rate as u64)));
        if !msg.is_empty() {
            s.push(' ');
            s.push_str(msg);
        }
        s
    }

    /// Ends a task that failed or was interrupted: its bar goes, no "done" line is printed
    /// (the step's failure says what happened).
    pub fn abandon(&self) {
        if let Some(b) = &self.bar {
            b.abandon();
        }
    }

    /// Ends the task.
    pub fn finish(&self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
            b.finish_and_clear();
        }
        // Without a terminal, every long task ends with one line, however short it was.
        if self.mode == ProgressMode::Lines {
            eprintln!("{}", self.line(done, "done"));
        }
    }
}

/// `1.5 GiB`.
pub fn human(bytes: u64) -> String {
    salvage_text::size_text::binary_size(bytes, 1)
}

fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
