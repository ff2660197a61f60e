//! The `salvage` binary: owns the command line (clap), the subcommands and every signal
//! handler; the work is done by the library crates (language, imager, partition, filesystem,
//! engine).

mod cli;
mod command;
mod signals;

fn main() {
    std::process::exit(cli::main());
}
