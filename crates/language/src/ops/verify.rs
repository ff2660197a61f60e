//! `verify`: re-read copies (or an image's rescued areas) and compare.

use super::arg_value;
use super::plan_words::show;
use super::sig_parts::{none, opt, out, read};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use serde::Deserialize;

/// The `verify` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct VerifyArgs {
    /// The manifest a copy wrote.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub manifest: Option<String>,
    /// The source tree (or, with map, the source device).
    #[serde(default, deserialize_with = "arg_value::text")]
    pub source: Option<String>,
    /// For an image: its ddrescue mapfile.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub map: Option<String>,
    /// With map: the image.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub image: Option<String>,
}

fn verify_commands(a: &dyn ArgView) -> Vec<String> {
    if let Some(map) = a.shown("map") {
        let mut v = vec![format!(
            "read {map}; re-read every rescued (+) area of {} and compare",
            show(a, "image")
        )];
        if let Some(src) = a.shown("source") {
            v.push(format!("with the same bytes of {src} (opened O_RDONLY)"));
        }
        v.push("list the areas not rescued".into());
        return v;
    }
    let mut v = vec![format!(
        "re-read every file listed in {} and compare size and sha256",
        show(a, "manifest")
    )];
    if let Some(src) = a.shown("source") {
        v.push(format!("compare against the source tree {src}"));
    }
    if let Some(map) = a.shown("map") {
        v.push(format!("check the image's rescued areas against {map}"));
    }
    v
}

/// The `verify` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "verify",
    about: "Re-read copies and check them against their manifest and the source; or check an image's rescued areas (its ddrescue map) against the source.",
    args: &[
        opt("manifest", Type::Path, "the manifest a copy wrote"),
        opt(
            "source",
            Type::Path,
            "the source tree (or, with map, the source device) to compare with too",
        ),
        opt("map", Type::Path, "for an image: its ddrescue mapfile"),
        opt("image", Type::Path, "with map: the image"),
    ],
    one_of: &[&["manifest", "map"]],
    outputs: &[
        out("ok", Type::Bool, "whether everything matched"),
        out(
            "matched",
            Type::Int,
            "files (or, with map, bytes) that matched",
        ),
        out(
            "differed",
            Type::Int,
            "files (or rescued areas) that differed",
        ),
        out(
            "unreadable",
            Type::Int,
            "files (or source areas) that could not be read now",
        ),
        out("report", Type::Path, "the verification report"),
    ],
    value: Some("report"),
    effect: Effect::Read,
    effect_rule: read,
    commands: verify_commands,
    cleanup: none,
};
