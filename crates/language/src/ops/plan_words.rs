//! The plan-text pieces several ops share: an argument as shown, a partition argument, a loop
//! attach, an `env:` line.

use crate::effect::Effect;
use crate::op_sig::ArgView;
use salvage_text::shell_quote::quote_word;

/// The argument as the plan shows it, or `<NAME>` when absent.
pub(crate) fn show(a: &dyn ArgView, name: &str) -> String {
    a.shown(name).unwrap_or_else(|| format!("<{name}>"))
}

/// Whether the argument is known to be `true`.
pub(crate) fn is_true(a: &dyn ArgView, name: &str) -> bool {
    a.known(name).as_deref() == Some("true")
}

/// The effect an `effect:` argument declares; modify when unknown.
pub(crate) fn declared_effect(a: &dyn ArgView) -> Effect {
    a.known("effect")
        .and_then(|e| Effect::from_name(&e))
        .unwrap_or(Effect::Modify)
}

/// What a partition argument names, for the plan: the partition, or image + offset + size.
pub(crate) fn partition_desc(a: &dyn ArgView) -> String {
    match a.shown("partition") {
        Some(p) => p,
        None => format!(
            "{} at offset {}, size {}",
            show(a, "image"),
            a.shown("offset").unwrap_or_else(|| "0".into()),
            a.shown("size").unwrap_or_else(|| "to the end".into())
        ),
    }
}

/// The loop attach over a partition argument, as the plan prints it.
pub(crate) fn loop_attach(a: &dyn ArgView, read_only: bool) -> String {
    let (ro, open) = if read_only {
        ("LO_FLAGS_READ_ONLY|", "O_RDONLY")
    } else {
        ("", "O_RDWR")
    };
    format!(
        "attach /dev/loopN (LOOP_CTL_GET_FREE; LOOP_CONFIGURE, backing fd {open}, offset and sizelimit of the partition, {ro}LO_FLAGS_AUTOCLEAR) over {}",
        partition_desc(a)
    )
}

/// The `env:` the program gets, as the plan shows it (secrets as `(secret NAME)`).
pub(crate) fn env_line(a: &dyn ArgView) -> Option<String> {
    let env = a.shown_list("env").filter(|e| !e.is_empty())?;
    Some(format!("with environment: {}", quote_argv_words(&env)))
}

/// Words quoted one by one, none taken for an assignment.
pub(crate) fn quote_argv_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}
