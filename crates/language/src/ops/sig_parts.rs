//! The short builders the op signatures are written with: arguments, outputs, and the
//! effect and command rules every op shares.

use crate::effect::Effect;
use crate::op_sig::{ArgSig, ArgView, OutSig};
use crate::value_type::Type;

/// A required argument.
pub(crate) const fn arg(name: &'static str, ty: Type, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: true,
        default: None,
        about,
        choices: &[],
    }
}

/// An optional argument without a default.
pub(crate) const fn opt(name: &'static str, ty: Type, about: &'static str) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: false,
        default: None,
        about,
        choices: &[],
    }
}

/// An optional argument with a default.
pub(crate) const fn def(
    name: &'static str,
    ty: Type,
    default: &'static str,
    about: &'static str,
) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: false,
        required: false,
        default: Some(default),
        about,
        choices: &[],
    }
}

/// A list argument.
pub(crate) const fn list(
    name: &'static str,
    ty: Type,
    required: bool,
    about: &'static str,
) -> ArgSig {
    ArgSig {
        name,
        ty,
        list: true,
        required,
        default: None,
        about,
        choices: &[],
    }
}

/// A string argument that is one of `choices`.
pub(crate) const fn pick(
    name: &'static str,
    default: Option<&'static str>,
    choices: &'static [&'static str],
    about: &'static str,
) -> ArgSig {
    ArgSig {
        name,
        ty: Type::String,
        list: false,
        required: false,
        default,
        about,
        choices,
    }
}

/// The effect classes `exec` and `pipe` may declare.
pub(crate) const EFFECTS: &[&str] = &["read", "create", "attach", "modify"];

/// An output.
pub(crate) const fn out(name: &'static str, ty: Type, about: &'static str) -> OutSig {
    OutSig {
        name,
        ty,
        list: false,
        from_arg: None,
        about,
    }
}

/// An output that is an argument handed through.
pub(crate) const fn pass(
    name: &'static str,
    ty: Type,
    from: &'static str,
    about: &'static str,
) -> OutSig {
    OutSig {
        name,
        ty,
        list: false,
        from_arg: Some(from),
        about,
    }
}

/// A list output.
pub(crate) const fn outs(name: &'static str, ty: Type, about: &'static str) -> OutSig {
    OutSig {
        name,
        ty,
        list: true,
        from_arg: None,
        about,
    }
}

/// No commands (or no cleanup).
pub(crate) fn none(_a: &dyn ArgView) -> Vec<String> {
    Vec::new()
}

/// Always only reads.
pub(crate) fn read(_a: &dyn ArgView) -> Effect {
    Effect::Read
}

/// Always creates.
pub(crate) fn create(_a: &dyn ArgView) -> Effect {
    Effect::Create
}

/// Always attaches.
pub(crate) fn attach(_a: &dyn ArgView) -> Effect {
    Effect::Attach
}
