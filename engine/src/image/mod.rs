//! The ddrescue-class imager: copies a failing source to an image, tolerating read errors,
//! keeping a GNU ddrescue mapfile.

use clap::Args;

/// `salvage image SRC DEST --map MAP`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The source: a block device or a file. Opened read-only, never written.
    pub source: std::path::PathBuf,
    /// The image to write.
    pub dest: std::path::PathBuf,
    /// The GNU ddrescue mapfile: read to resume, written as the rescue goes.
    #[arg(long)]
    pub map: std::path::PathBuf,
}

/// Runs `salvage image`; returns the process exit code.
pub fn command(args: &ImageArgs) -> i32 {
    eprintln!(
        "salvage image: not implemented yet ({})",
        args.source.display()
    );
    3
}
