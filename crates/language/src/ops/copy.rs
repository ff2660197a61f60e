//! `copy`: copy a tree out of a mount into a manifest.

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{arg, create, list, none, opt, out, pass};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `copy` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct CopyArgs {
    /// The directory to copy from.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub from: Option<String>,
    /// The directory to copy into.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub to: Option<String>,
    /// Only these paths, relative to `from`.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub paths: Vec<String>,
    /// A damage report (the `damage` op's `report`): entries are marked intact or damaged.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub damage: Option<String>,
}

fn copy_commands(a: &dyn ArgView) -> Vec<String> {
    let from = show(a, "from");
    let to = show(a, "to");
    let mut v = vec![
        format!("walk {from} without following symlinks (O_NOFOLLOW); copy files into {to}"),
        "keep modes and times (owners when root); no device nodes, no setuid/setgid bits".into(),
        format!(
            "hash while copying; write the manifest {to}.manifest.jsonl (path, size, blake3, status)"
        ),
    ];
    if let Some(paths) = a.shown_list("paths") {
        v.insert(1, format!("only: {}", paths.join(", ")));
    }
    if let Some(report) = a.shown("damage") {
        v.push(format!(
            "mark each entry intact or damaged (its byte ranges lost) from the damage report {report}"
        ));
    }
    v
}

/// The `copy` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "copy",
    about: "Copy a tree out of a mount, keeping modes and times, never following symlinks out, hashing into a manifest.",
    args: &[
        arg("from", Type::Path, "the directory to copy from"),
        arg("to", Type::Path, "the directory to copy into (created)"),
        list(
            "paths",
            Type::String,
            false,
            "only these paths, relative to from",
        ),
        opt(
            "damage",
            Type::Path,
            "a damage report (the damage op's report): each entry is marked intact or damaged in the manifest, with its byte ranges lost",
        ),
    ],
    one_of: &[],
    outputs: &[
        pass("dest", Type::Path, "to", "the copy"),
        out(
            "manifest",
            Type::Path,
            "the manifest (JSON lines: path, size, blake3, status)",
        ),
        out("files", Type::Int, "files copied"),
        out("bytes", Type::Size, "bytes copied"),
        out(
            "unreadable",
            Type::Int,
            "files that could not be read (recorded, skipped)",
        ),
        out(
            "losses",
            Type::Int,
            "entries asked for and not recovered; above 0 the run ends completed with losses (exit 6)",
        ),
        out(
            "damaged",
            Type::Int,
            "with damage: files marked damaged (zeros where the image was unreadable); above 0 the run ends completed with losses (exit 6)",
        ),
        out(
            "lost_bytes",
            Type::Size,
            "with damage: bytes lost inside the damaged files",
        ),
    ],
    value: Some("dest"),
    effect: Effect::Create,
    effect_rule: create,
    commands: copy_commands,
    cleanup: none,
};
