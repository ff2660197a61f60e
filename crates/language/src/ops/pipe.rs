//! `pipe`: stream a file into a program's stdin with progress.

use super::plan_words::{declared_effect, env_line, show};
use super::sig_parts::{EFFECTS, arg, list, none, opt, out, pick};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::quote_argv;

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
