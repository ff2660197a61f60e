//! `salvage partitions IMG [--json] [--scan] [--sector-size N]`: the partition table and the
//! filesystems of an image or a disk, as a table or JSON.

use clap::Args;
use salvage_partition::{ReadOptions, read_table, render_text};

/// `salvage partitions IMG [--json] [--scan] [--sector-size N]`.
#[derive(Debug, Args)]
pub(crate) struct PartitionsArgs {
    /// The image file or block device to read (read-only).
    pub image: std::path::PathBuf,
    /// Print JSON (documented in docs/partitions-json.md) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also scan the whole image for filesystem signatures (for a lost or damaged table).
    #[arg(long)]
    pub scan: bool,
    /// Read with this logical sector size (512 or 4096) instead of deciding.
    #[arg(long, value_name = "BYTES")]
    pub sector_size: Option<u32>,
}

/// Runs `salvage partitions`; returns the process exit code (0, or 1 on error).
pub(crate) fn command(args: &PartitionsArgs) -> i32 {
    let opts = ReadOptions {
        sector_size: args.sector_size,
        no_probe: false,
        scan: args.scan,
    };
    let table = match read_table(&args.image, &opts) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("salvage partitions: {e}");
            return 1;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&table) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("salvage partitions: cannot write JSON: {e}");
                return 1;
            }
        }
    } else {
        print!("{}", render_text(&table));
    }
    0
}
