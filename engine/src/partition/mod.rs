//! Partition tables (MBR with EBR chains, GPT) and filesystem signatures inside an image:
//! `salvage partitions IMG` and the library the `partitions(...)` op calls.

mod bsd;
mod bytes;
mod error;
mod filesystem;
mod foreign_label;
mod gpt;
mod mbr;
mod probe;
mod read;
mod render;
mod scan;
mod source;
mod table;
#[cfg(test)]
mod tests;
mod types;

use clap::Args;

pub use error::{PartitionError, PartitionErrorKind};
pub use filesystem::{Filesystem, Probe, probe_filesystem, probe_signatures};
pub use read::{ReadOptions, read_table, read_table_from};
pub use render::render_text;
pub use scan::{ScanHit, scan};
pub use source::{ByteSource, Disk};
pub use table::{GptHeaderUsed, Label, Partition, PartitionTable, ProtectiveMbr, Role};

/// `salvage partitions IMG [--json] [--scan] [--sector-size N]`.
#[derive(Debug, Args)]
pub struct PartitionsArgs {
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
pub fn command(args: &PartitionsArgs) -> i32 {
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
        print!("{}", render::render_text(&table));
    }
    0
}
