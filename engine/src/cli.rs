//! The command line: `salvage check|plan|run|review|test|image|partitions|cleanup`.

use clap::{Parser, Subcommand};

/// salvage: declarative recovery runbooks. Check them, plan them, run them, review them.
#[derive(Debug, Parser)]
#[command(name = "salvage", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and check runbooks; every error of a file at once, with file:line:col.
    Check(crate::command::check::CheckArgs),
    /// The dry run: every step in order, resolved arguments, effects, commands, cleanup.
    Plan(crate::command::plan::PlanArgs),
    /// The reference of every op: arguments, types, outputs, effect class.
    Ops(crate::command::ops::OpsArgs),
    /// The post-incident view of a run log; --verify checks its hash chain.
    Review(crate::command::review::ReviewArgs),
    /// Image a failing disk or file with read errors tolerated (ddrescue-class).
    Image(crate::image::ImageArgs),
    /// List the partitions of an image or device, with byte offsets and filesystems.
    Partitions(crate::partition::PartitionsArgs),
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match &cli.command {
        Command::Check(args) => crate::command::check::command(args),
        Command::Plan(args) => crate::command::plan::command(args),
        Command::Ops(args) => crate::command::ops::command(args),
        Command::Review(args) => crate::command::review::command(args),
        Command::Image(args) => crate::image::command(args),
        Command::Partitions(args) => crate::partition::command(args),
    }
}
