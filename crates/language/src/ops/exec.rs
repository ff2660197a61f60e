//! `exec`: run a program (no shell) with a timeout. The escape hatch.

use super::arg_value;
use super::plan_words::{declared_effect, env_line};
use super::sig_parts::{EFFECTS, list, none, opt, out, pick};
use crate::effect::Effect;
use crate::op_sig::{ArgView, OpSig};
use crate::value_type::Type;
use salvage_text::shell_quote::quote_argv;
use serde::Deserialize;

/// The `exec` op's arguments, as the run reads them.
#[derive(Debug, Deserialize)]
pub struct ExecArgs {
    /// The program and its arguments.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub argv: Vec<String>,
    /// `NAME=VALUE` items for the program.
    #[serde(default, deserialize_with = "arg_value::texts")]
    pub env: Vec<String>,
    /// Kill it after this many milliseconds.
    #[serde(default, deserialize_with = "arg_value::count")]
    pub timeout: Option<u64>,
    /// The working directory.
    #[serde(default, deserialize_with = "arg_value::text")]
    pub cwd: Option<String>,
}

fn exec_commands(a: &dyn ArgView) -> Vec<String> {
    let argv = a.shown_list("argv").unwrap_or_default();
    let mut line = format!("execve {}", quote_argv(&argv));
    if let Some(t) = a.shown("timeout") {
        line.push_str(&format!(" (timeout {t})"));
    }
    let mut v = vec![line];
    v.extend(env_line(a));
    v
}

/// The `exec` op's signature row.
pub(crate) const SIG: OpSig = OpSig {
    name: "exec",
    about: "Run a program (no shell) with a timeout, its output captured into the log. The escape hatch.",
    args: &[
        list("argv", Type::String, true, "the program and its arguments"),
        list(
            "env",
            Type::String,
            false,
            "environment variables for the program, \"NAME=VALUE\" each (interpolation allowed): how a secret reaches it without showing in its argv",
        ),
        opt("timeout", Type::Duration, "kill it after this long"),
        opt("cwd", Type::Path, "the working directory"),
        pick(
            "effect",
            Some("modify"),
            EFFECTS,
            "what it does: read, create, attach or modify",
        ),
    ],
    one_of: &[],
    outputs: &[
        out("exit_code", Type::Int, "its exit code"),
        out("stdout", Type::String, "its standard output (bounded)"),
    ],
    value: None,
    effect: Effect::Modify,
    effect_rule: declared_effect,
    commands: exec_commands,
    cleanup: none,
};
