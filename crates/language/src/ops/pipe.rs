//! `pipe`: stream a file into a program's stdin with progress.

use super::arg_value;
use super::plan_words::{declared_effect, env_line, show};
use super::sig_parts::{EFFECTS, arg, list, none, opt, out, pick};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::quote_argv;
use serde::Deserialize;

/// The `pipe` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct PipeArgs {
    /// The file to stream.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub from: Option<String>,
    /// The program and its arguments.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub into: Vec<String>,
    /// `NAME=VALUE` items for the program.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub env: Vec<String>,
    /// Kill it after this many milliseconds.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub timeout: Option<u64>,
}

fn pipe_commands(a: &dyn ArgView) -> Vec<String> {
    let argv = a.shown_list("into").unwrap_or_default();
    let mut v = vec![format!(
        "stream {} into the stdin of: {} (progress: bytes, rate, ETA)",
        show(a, "from"),
        quote_argv(&argv)
    )];
    v.extend(env_line(a));
    v
}

/// The `pipe` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "pipe",
    about: "Stream a file into a program's stdin with progress (bytes, rate, ETA), as pv does.",
    args: &[
        arg("from", Type::Path, "the file to stream"),
        list("into", Type::String, true, "the program and its arguments"),
        list(
            "env",
            Type::String,
            false,
            "environment variables for the program, \"NAME=VALUE\" each (interpolation allowed): how a secret reaches it without showing in its argv",
        ),
        opt("timeout", Type::Duration, "kill it after this long"),
        pick(
            "effect",
            Some("modify"),
            EFFECTS,
            "what it does: read, create, attach or modify",
        ),
    ],
    one_of: &[],
    outputs: &[
        out("bytes", Type::Size, "bytes streamed"),
        out("exit_code", Type::Int, "its exit code"),
    ],
    value: None,
    effect: Effect::Modify,
    effect_rule: declared_effect,
    commands: pipe_commands,
    cleanup: none,
};
