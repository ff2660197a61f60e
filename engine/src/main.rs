//! The `salvage` binary: parses the command line and hands over to [`salvage::cli`].

fn main() {
    std::process::exit(salvage::cli::main());
}
