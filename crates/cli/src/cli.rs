//! The command line: `salvage check|plan|run|review|test|image|partitions|cleanup|damage|health|raid|...`.

use clap::{Parser, Subcommand};

/// salvage: declarative recovery runbooks. Check them, plan them, run them, review them.
#[derive(Debug, Parser)]
#[command(name = "salvage", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and check runbooks; every error of a file at once, with file:line:col.
    Check(crate::command::check::CheckArgs),
    /// The dry run: every step in order, resolved arguments, effects, commands, cleanup.
    Plan(crate::command::plan::PlanArgs),
    /// A partner's sign-off on a saved plan (salvage plan --out FILE).
    Approve(crate::command::approve::ApproveArgs),
    /// Execute a runbook; rerunning the same command resumes from the last checkpoint.
    Run(crate::command::run::RunArgs),
    /// Undo what a crashed or killed run left attached (loop devices, mounts, snapshots).
    Cleanup(crate::command::run::CleanupArgs),
    /// Run runbook tests (*.test.toml: a synthetic disk, params, expectations).
    Test(crate::command::test::TestArgs),
    /// The reference of every op: arguments, types, outputs, effect class.
    Ops(crate::command::ops::OpsArgs),
    /// The post-incident view of a run log; --verify checks its hash chain.
    Review(crate::command::review::ReviewArgs),
    /// The post-incident report of a run log: one self-contained HTML page, or Markdown.
    Report(crate::command::report::ReportArgs),
    /// Image a failing disk or file with read errors tolerated (ddrescue-class).
    Image(Box<crate::command::image::ImageArgs>),
    /// The bytes that matter (table, metadata, blocks in use) as a ddrescue domain mapfile.
    Domain(crate::command::domain::DomainArgs),
    /// List the partitions of an image or device, with byte offsets and filesystems.
    Partitions(crate::command::partitions::PartitionsArgs),
    /// Check (never writes) or repair (a copy) the filesystem inside an image.
    Fsck(crate::command::filesystem::FsckArgs),
    /// Mount a filesystem inside an image read-only (ro,noload,nosuid,nodev,noexec).
    Mount(crate::command::filesystem::MountArgs),
    /// Copy files out of a mount or an ext image safely, with a manifest of hashes.
    Copy(crate::command::filesystem::CopyArgs),
    /// Check a copy against its manifest and its source.
    Verify(crate::command::filesystem::VerifyArgs),
    /// Tell which filesystems look like an OS root, and their newest modification time.
    Inspect(crate::command::filesystem::InspectArgs),
    /// Which files, directories and metadata an image's unreadable areas (its map) hit.
    Damage(crate::command::damage::DamageArgs),
    /// A disk's SMART health through smartctl: assessment, bad sectors, hours, temperature.
    Health(crate::command::health::HealthArgs),
    /// md RAID arrays from their members' superblocks (no md driver needed), and /proc/mdstat.
    Raid(crate::command::raid::RaidArgs),
}

/// Parses the command line, runs the command and returns the process exit code.
pub(crate) fn main() -> i32 {
    let cli = Cli::parse();
    if cli.command.only_reads() {
        default_sigpipe();
    }
    match &cli.command {
        Command::Check(args) => crate::command::check::command(args),
        Command::Plan(args) => crate::command::plan::command(args),
        Command::Ops(args) => crate::command::ops::command(args),
        Command::Run(args) => crate::command::run::command(args),
        Command::Approve(args) => crate::command::approve::command(args),
        Command::Test(args) => crate::command::test::command(args),
        Command::Cleanup(args) => crate::command::run::cleanup_command(args),
        Command::Review(args) => crate::command::review::command(args),
        Command::Report(args) => crate::command::report::command(args),
        Command::Image(args) => crate::command::image::command(args),
        Command::Partitions(args) => crate::command::partitions::command(args),
        Command::Domain(args) => crate::command::domain::command(args),
        Command::Fsck(args) => crate::command::filesystem::fsck_command(args),
        Command::Mount(args) => crate::command::filesystem::mount_command(args),
        Command::Copy(args) => crate::command::filesystem::copy_command(args),
        Command::Verify(args) => crate::command::filesystem::verify_command(args),
        Command::Inspect(args) => crate::command::filesystem::inspect_command(args),
        Command::Damage(args) => crate::command::damage::command(args),
        Command::Health(args) => crate::command::health::command(args),
        Command::Raid(args) => crate::command::raid::command(args),
    }
}

impl Command {
    /// Commands that only read and print: `salvage plan | head` may end them at once.
    /// The others (run, image, mount, copy, ...) must never die halfway because a pipe
    /// closed, so they keep Rust's default of ignoring SIGPIPE.
    fn only_reads(&self) -> bool {
        match self {
            Self::Check(_)
            | Self::Ops(_)
            | Self::Review(_)
            | Self::Partitions(_)
            | Self::Domain(_) => true,
            Self::Report(_) | Self::Approve(_) => false,
            Self::Verify(_) | Self::Damage(_) | Self::Health(_) | Self::Raid(_) => true,
            // `plan --probe` reads inputs and attaches nothing.
            Self::Plan(_) => true,
            Self::Run(_) | Self::Cleanup(_) | Self::Test(_) | Self::Image(_) => false,
            // inspect mounts each candidate for a moment as root.
            Self::Fsck(_) | Self::Mount(_) | Self::Copy(_) | Self::Inspect(_) => false,
        }
    }
}

/// Restores the default action of SIGPIPE: a closed stdout ends the process quietly, as it
/// does `cat` (instead of a panic in `println!`).
fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
