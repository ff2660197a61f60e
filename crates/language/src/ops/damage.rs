//! `damage`: which files, directories and metadata an image's unreadable areas hit.

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{arg, none, out, outs, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `damage` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct DamageArgs {
    /// The image.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub image: Option<String>,
    /// Its ddrescue mapfile (or a simulated bad map).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub map: Option<String>,
}

fn damage_commands(a: &dyn ArgView) -> Vec<String> {
    vec![
        format!(
            "read {}; take every area it does not mark rescued (+) as unreadable",
            show(a, "map")
        ),
        format!(
            "map those areas through the partition table of {} to each filesystem: one read of its metadata (ext2/3/4), no mount",
            show(a, "image")
        ),
        "name the files, directories, inodes and metadata hit; write a JSON report".into(),
    ]
}

/// The `damage` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "damage",
    about: "Name what an image's unreadable areas hit: files (with the byte ranges lost), directories, inodes, filesystem metadata; and the areas that hit no file.",
    args: &[
        arg("image", Type::Path, "the image"),
        arg(
            "map",
            Type::Path,
            "its ddrescue mapfile: every area not marked rescued (+) is unreadable",
        ),
    ],
    one_of: &[],
    outputs: &[
        outs(
            "files",
            Type::String,
            "the paths of the files whose data was hit",
        ),
        outs(
            "directories",
            Type::String,
            "the paths of the directories whose blocks were hit",
        ),
        outs(
            "metadata",
            Type::String,
            "the filesystem metadata hit (superblock, journal, inode table, ...)",
        ),
        out("damaged", Type::Int, "files whose data was hit"),
        out("lost_bytes", Type::Size, "bytes lost inside those files"),
        out(
            "inodes",
            Type::Int,
            "in-use inodes lost with their inode-table bytes",
        ),
        out(
            "summary",
            Type::String,
            "the one-line answer: \"3 files damaged (12.0 KiB lost), 1 directory, no metadata\"",
        ),
        out("report", Type::Path, "the JSON report"),
    ],
    value: Some("report"),
    effect: Effect::Read,
    effect_rule: read,
    commands: damage_commands,
    cleanup: none,
};
