//! `image`: copy a failing disk or file to an image, tolerating read errors, with a resumable mapfile.

use super::arg_value;
use super::plan_words::{is_true, show};
use super::sig_parts::{arg, def, none, opt, out, pass, pick};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::quote_word;
use serde::Deserialize;

/// The `image` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct ImageArgs {
    /// The failing disk or file.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub source: Option<String>,
    /// The image to write.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub dest: Option<String>,
    /// The mapfile; `DEST.map` when absent or empty.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub map: Option<String>,
    /// Retry passes over bad sectors.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub retries: Option<u64>,
    /// The sector size.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub sector_size: Option<u64>,
    /// The size of the large reads, in bytes.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub cluster: Option<u64>,
    /// Copy from the end backwards.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub reverse: bool,
    /// O_DIRECT reads.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub direct: bool,
    /// Leave runs of zeros as holes.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub sparse: bool,
    /// The domain's first byte.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub start: Option<u64>,
    /// The domain's length.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub size: Option<u64>,
    /// Test mode: a map of sectors that read as errors.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub simulate_bad: Option<String>,
    /// The image's hash: blake3 or sha256.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub hash: Option<String>,
    /// Allow a block device as dest.
    #[serde(default, deserialize_with = "arg_value::flag")]
    pub force: bool,
    /// What to read: `all`, `used` (metadata and used blocks only) or `used-first`.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub domain: Option<String>,
}

fn image_commands(a: &dyn ArgView) -> Vec<String> {
    let src = show(a, "source");
    let dest = show(a, "dest");
    let map = a.shown("map").unwrap_or_else(|| format!("{dest}.map"));
    let mut v = vec![
        format!(
            "open {src} O_RDONLY{} (never written)",
            if is_true(a, "direct") {
                "|O_DIRECT"
            } else {
                ""
            }
        ),
        format!("open {dest} O_WRONLY|O_CREAT (not truncated; rescued data kept)"),
        format!("read/write {map} (GNU ddrescue mapfile; saved atomically, resumes)"),
        "copy good areas with large reads, skip ahead on errors, then trim, scrape and retry"
            .to_string(),
    ];
    match a.known("domain").as_deref() {
        Some("used") => v.push(
            "domain used: read the partition table and allocation maps as they are rescued; rescue metadata, then used blocks; free space is not read"
                .to_string(),
        ),
        Some("used-first") => v.push(
            "domain used-first: rescue metadata, then used blocks, then free space".to_string(),
        ),
        _ => {}
    }
    if let Some(bad) = a.shown("simulate_bad").filter(|b| !b.is_empty()) {
        v.push(format!("test mode: sectors listed in {bad} read as errors"));
    }
    let retries = a.known("retries").unwrap_or_else(|| "0".into());
    v.push(format!(
        "like: ddrescue -r{retries} {} {} {}",
        quote_word(&src),
        quote_word(&dest),
        quote_word(&map)
    ));
    v
}

fn image_effect(a: &dyn ArgView) -> Effect {
    match a.known("dest") {
        Some(d) if d.starts_with("/dev/") => Effect::Modify,
        _ => Effect::Create,
    }
}

/// The `image` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "image",
    about: "Copy a failing disk or file to an image, tolerating read errors (ddrescue-class), with a resumable GNU ddrescue mapfile.",
    args: &[
        arg(
            "source",
            Type::Device,
            "the failing disk or file; opened read-only, never written",
        ),
        arg(
            "dest",
            Type::Path,
            "the image to write (a device only with force: true)",
        ),
        opt("map", Type::Path, "the mapfile; default: DEST.map"),
        def("retries", Type::Int, "0", "retry passes over bad sectors"),
        opt(
            "sector_size",
            Type::Size,
            "sector size; detected for block devices, else 512",
        ),
        def(
            "cluster",
            Type::Size,
            "64KiB",
            "size of the large reads on good areas",
        ),
        def(
            "reverse",
            Type::Bool,
            "false",
            "copy from the end backwards",
        ),
        def(
            "direct",
            Type::Bool,
            "false",
            "O_DIRECT reads, bypassing the kernel cache",
        ),
        def(
            "sparse",
            Type::Bool,
            "false",
            "leave runs of zeros as holes in the image",
        ),
        def("start", Type::Size, "0", "the domain's first byte"),
        opt(
            "size",
            Type::Size,
            "the domain's length; default: to the end",
        ),
        opt(
            "simulate_bad",
            Type::Path,
            "test mode: a map of sectors that read as errors (a ddrescue mapfile, or START+SIZE lines); empty for none",
        ),
        pick(
            "hash",
            Some("blake3"),
            &["blake3", "sha256"],
            "the image's hash, computed while copying",
        ),
        def(
            "force",
            Type::Bool,
            "false",
            "allow a block device as dest, or resume a map made from another source path",
        ),
        pick(
            "domain",
            Some("all"),
            &["all", "used", "used-first"],
            "what to read: all; used (the partition table, filesystem metadata and blocks in use, read from ext2/3/4 bitmaps and FAT tables as they are rescued; free space never); used-first (the same, then free space)",
        ),
    ],
    one_of: &[],
    outputs: &[
        pass("dest", Type::Path, "dest", "the image"),
        out("map", Type::Path, "the mapfile"),
        out("rescued_bytes", Type::Size, "bytes rescued"),
        out(
            "rescued",
            Type::Size,
            "the same as rescued_bytes (the older name, kept for existing runbooks)",
        ),
        out("bad_bytes", Type::Size, "bytes left unreadable"),
        out("bad_areas", Type::Int, "number of unreadable areas"),
        out(
            "not_read_bytes",
            Type::Size,
            "free space left unread by domain: used (0 otherwise)",
        ),
        out(
            "hash",
            Type::String,
            "the image's hash (blake3: or sha256:), computed while copying",
        ),
    ],
    value: Some("dest"),
    effect: Effect::Modify,
    effect_rule: image_effect,
    commands: image_commands,
    cleanup: none,
};
