//! How the tests run the `salvage` binary: one builder and the few shapes of result the tests
//! read (each test module picks one, usually as `use crate::common::... as salvage`).

use std::path::Path;
use std::process::{Command, Output};

/// The `salvage` binary under test, as a command to add arguments to.
pub(crate) fn salvage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_salvage"))
}

/// Runs `salvage ARGS` (stdin closed) and returns its output.
pub(crate) fn output(args: &[&str]) -> Output {
    salvage().args(args).output().expect("run salvage")
}

/// Runs `salvage ARGS` in `dir` (stdin closed) and returns its output.
pub(crate) fn output_in(dir: &Path, args: &[&str]) -> Output {
    salvage()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run salvage")
}

/// Runs `salvage ARGS`: its exit code (-1 when killed), stdout and stderr.
pub(crate) fn code_out_err(args: &[&str]) -> (i32, String, String) {
    let out = output(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `salvage ARGS`: its exit code (None when killed) and stdout followed by stderr.
pub(crate) fn status_text(args: &[&str]) -> (Option<i32>, String) {
    let out = output(args);
    (out.status.code(), text(&out))
}

/// Runs `salvage ARGS` in `dir`: its exit code (-1 when killed) and stdout followed by stderr.
pub(crate) fn code_text_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = output_in(dir, args);
    (out.status.code().unwrap_or(-1), text(&out))
}

/// Stdout followed by stderr, lossily decoded.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The blocks of a ddrescue mapfile not yet rescued (`+`), as (position, size).
pub(crate) fn unrescued(map: &Path) -> Vec<(u64, u64)> {
    use salvage_imager::{BlockStatus, Mapfile};
    let m = Mapfile::load(map).expect("map parses").expect("map exists");
    m.blocks()
        .iter()
        .filter(|b| b.status != BlockStatus::Finished)
        .map(|b| (b.pos, b.size))
        .collect()
}
