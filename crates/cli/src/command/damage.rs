//! `salvage damage IMAGE --map MAP [--json]`: which files, directories, inodes and metadata
//! the map's unreadable areas hit (the library: `salvage_filesystem::damage_report`).

use std::path::PathBuf;

use clap::Args;
use salvage_filesystem::{Unreadable, damage_report, render_damage_text};
use salvage_imager::BadMap;

/// `salvage damage IMAGE --map MAP`.
#[derive(Debug, Args)]
pub(crate) struct DamageArgs {
    /// The image (whole disk or one filesystem).
    pub image: PathBuf,
    /// Its GNU ddrescue mapfile: every area not marked rescued (`+`) is unreadable. A list of
    /// `START+SIZE` / `START-END` lines (a simulated bad map) is read too.
    #[arg(long)]
    pub map: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `salvage damage`; exit 0 when no file, directory, inode or metadata was hit and
/// everything was mapped, 1 when something was, 2 on an error.
pub(crate) fn command(args: &DamageArgs) -> i32 {
    let map = match BadMap::load(&args.map) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("salvage damage: {e}");
            return 2;
        }
    };
    let unreadable = Unreadable::new(map.ranges().iter().copied());
    let report = match damage_report(&args.image, &unreadable) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("salvage damage: {e}");
            return 2;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("salvage damage: cannot print JSON: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", render_damage_text(&report));
    }
    let c = &report.counts;
    if c.files + c.directories + c.inodes + c.metadata == 0 && c.unknown_bytes == 0 {
        0
    } else {
        1
    }
}
