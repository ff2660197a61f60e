//! `Progress`: how `salvage image` shows an [`ImageStatus`]: a bar on a terminal, a plain
//! line every few seconds otherwise (logs, pipes), or nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use salvage_imager::ImageStatus;

/// `1.5 GiB`-style sizes.
pub(crate) fn human_bytes(n: u64) -> String {
    salvage_text::size_text::binary_size(n, 2)
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// One line describing `s`.
pub(crate) fn describe(s: &ImageStatus) -> String {
    let percent = if s.size == 0 {
        100.0
    } else {
        s.rescued_bytes as f64 * 100.0 / s.size as f64
    };
    let eta = s.eta.map_or_else(|| "-".to_string(), human_duration);
    format!(
        "{:?} pass {}: rescued {} of {} ({percent:.2}%), bad areas {} ({}), pending {}, rate {}/s (avg {}/s), last good read {} ago, ETA {eta}",
        s.phase,
        s.pass,
        human_bytes(s.rescued_bytes),
        human_bytes(s.size),
        s.bad_areas,
        human_bytes(s.bad_bytes),
        human_bytes(s.pending_bytes + s.non_tried_bytes),
        human_bytes(s.current_rate as u64),
        human_bytes(s.average_rate as u64),
        human_duration(s.since_last_good),
    )
}

/// The display for one run.
pub(crate) enum Progress {
    Bar(ProgressBar),
    Plain { last: Option<Instant> },
    Quiet,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise, nothing when `quiet`.
    pub(crate) fn new(quiet: bool) -> Self {
        if quiet {
            return Self::Quiet;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            Self::Bar(bar)
        } else {
            Self::Plain { last: None }
        }
    }

    pub(crate) fn update(&mut self, s: &ImageStatus) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(s.size);
                bar.set_position(s.rescued_bytes);
                bar.set_message(format!(
                    "{:?} {} | bad areas {} ({}) | last good {} ago | ETA {}",
                    s.phase,
                    s.pass,
                    s.bad_areas,
                    human_bytes(s.bad_bytes),
                    human_duration(s.since_last_good),
                    s.eta.map_or_else(|| "-".to_string(), human_duration)
                ));
            }
            Self::Plain { last } => {
                let now = Instant::now();
                if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(5)) {
                    *last = Some(now);
                    eprintln!("salvage image: {}", describe(s));
                }
            }
            Self::Quiet => {}
        }
    }

    pub(crate) fn finish(&self) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
