//! Partition tables (MBR with EBR chains, GPT) and filesystem signatures inside an image.

use clap::Args;

/// `salvage partitions IMG [--json]`.
#[derive(Debug, Args)]
pub struct PartitionsArgs {
    /// The image file or block device to read (read-only).
    pub image: std::path::PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `salvage partitions`; returns the process exit code.
pub fn command(args: &PartitionsArgs) -> i32 {
    eprintln!(
        "salvage partitions: not implemented yet ({})",
        args.image.display()
    );
    3
}
