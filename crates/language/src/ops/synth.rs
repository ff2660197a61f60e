//! `synth`: build a synthetic disk for demos and runbook tests.

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{arg, create, def, list, none, out, pass};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `synth` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct SynthArgs {
    /// The image to create.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub dest: Option<String>,
    /// The disk's size.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub size: Option<u64>,
    /// Each `START+SIZE FSTYPE [ROLE]`.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub partitions: Vec<String>,
    /// Data files per partition; see [`SynthArgs::files`].
    #[serde(default, deserialize_with = "arg_value::count")]
    pub files: Option<u64>,
    /// Simulated bad areas, each `OFFSET+SIZE`.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub bad: Vec<String>,
    /// Seed of the generated contents; see [`SynthArgs::seed`].
    #[serde(default, deserialize_with = "arg_value::count")]
    pub seed: Option<u64>,
}

/// Data files per partition when `files:` is not given.
pub const DEFAULT_FILES: u64 = 50;
/// The seed when `seed:` is not given.
pub const DEFAULT_SEED: u64 = 1;

impl SynthArgs {
    /// Data files per partition, [`DEFAULT_FILES`] unless given.
    pub fn files(&self) -> u64 {
        self.files.unwrap_or(DEFAULT_FILES)
    }

    /// The seed, [`DEFAULT_SEED`] unless given.
    pub fn seed(&self) -> u64 {
        self.seed.unwrap_or(DEFAULT_SEED)
    }
}

fn synth_commands(a: &dyn ArgView) -> Vec<String> {
    let dest = show(a, "dest");
    let mut v = vec![format!(
        "create {dest} ({} sparse) with an MBR",
        show(a, "size")
    )];
    for p in a.shown_list("partitions").unwrap_or_default() {
        v.push(format!(
            "mkfs.ext4 -d <generated files> -E offset=... {dest}  ({p})"
        ));
    }
    v.push(format!(
        "write the simulated bad areas {} to {dest}.bad",
        a.shown("bad").unwrap_or_else(|| "[]".into())
    ));
    v
}

/// The `synth` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "synth",
    about: "Build a synthetic disk for demos and runbook tests, without root: an MBR, ext filesystems full of files (an old and a live OS root if asked), swap areas, and a map of simulated bad sectors.",
    args: &[
        arg("dest", Type::Path, "the image to create"),
        arg("size", Type::Size, "the disk's size"),
        list(
            "partitions",
            Type::String,
            true,
            "each START+SIZE FSTYPE [root|oldroot|data] (FSTYPE ext2, ext3, ext4 or swap), e.g. \"1MiB+20MiB ext4 root\"",
        ),
        def("files", Type::Int, "50", "data files per partition"),
        list(
            "bad",
            Type::String,
            false,
            "simulated bad areas, each OFFSET+SIZE in bytes",
        ),
        def("seed", Type::Int, "1", "seed of the generated contents"),
    ],
    one_of: &[],
    outputs: &[
        pass("path", Type::Path, "dest", "the image"),
        out(
            "bad_map",
            Type::Path,
            "the simulated bad areas, as a ddrescue mapfile (for image's simulate_bad)",
        ),
        out("bad_bytes", Type::Size, "bytes made unreadable"),
        out("count", Type::Int, "partitions written"),
        out(
            "files",
            Type::Path,
            "JSON lines of every generated file: partition, path, sha256",
        ),
    ],
    value: Some("path"),
    effect: Effect::Create,
    effect_rule: create,
    commands: synth_commands,
    cleanup: none,
};

#[cfg(test)]
mod tests {
    use super::{DEFAULT_FILES, DEFAULT_SEED, SIG};

    #[test]
    fn the_run_defaults_are_the_signature_defaults() {
        for (name, value) in [("files", DEFAULT_FILES), ("seed", DEFAULT_SEED)] {
            let shown = SIG.arg(name).and_then(|a| a.default);
            assert_eq!(shown, Some(value.to_string().as_str()), "synth `{name}`");
        }
    }
}
