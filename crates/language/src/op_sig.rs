//! The shapes of the op table: an op's signature ([`OpSig`]), its arguments and outputs, and
//! the view of a call's arguments ([`ArgView`]) its plan text and effect are computed from.

use crate::effect::Effect;
use crate::value_type::Type;

/// The signature of one op.
#[derive(Debug)]
pub struct OpSig {
    /// The name runbooks call it by.
    pub name: &'static str,
    /// One line on what it does.
    pub about: &'static str,
    /// Its arguments.
    pub args: &'static [ArgSig],
    /// Groups of arguments of which exactly one must be given.
    pub one_of: &'static [&'static [&'static str]],
    /// What it hands back.
    pub outputs: &'static [OutSig],
    /// The output a bare reference to the step (`img` rather than `img.dest`) means.
    pub value: Option<&'static str>,
    /// The highest effect class it can have; [`OpSig::effect_of`] narrows it per call.
    pub effect: Effect,
    /// How one call's arguments narrow `effect`.
    pub(crate) effect_rule: fn(&dyn ArgView) -> Effect,
    /// The commands one call makes, as the plan prints them.
    pub(crate) commands: fn(&dyn ArgView) -> Vec<String>,
    /// The undo actions one call registers.
    pub(crate) cleanup: fn(&dyn ArgView) -> Vec<String>,
}

/// One argument of an op.
#[derive(Debug)]
pub struct ArgSig {
    /// Its name.
    pub name: &'static str,
    /// The element type, or the type itself when `list` is false.
    pub ty: Type,
    /// Whether it is a list of `ty`.
    pub list: bool,
    /// Whether it must be given.
    pub required: bool,
    /// The default when not given, as the plan shows it.
    pub default: Option<&'static str>,
    /// What it means.
    pub about: &'static str,
    /// The words it may be, when it is one of a fixed set.
    pub choices: &'static [&'static str],
}

/// One output of an op.
#[derive(Debug)]
pub struct OutSig {
    /// Its name.
    pub name: &'static str,
    /// Its element type, or its type when `list` is false.
    pub ty: Type,
    /// Whether it is a list of `ty`.
    pub list: bool,
    /// When the output is just an argument handed through, that argument: its value is then
    /// known at plan time.
    pub from_arg: Option<&'static str>,
    /// What it means.
    pub about: &'static str,
}

impl ArgSig {
    /// The full type, lists included.
    pub fn full_type(&self) -> Type {
        if self.list {
            Type::List(Box::new(self.ty.clone()))
        } else {
            self.ty.clone()
        }
    }
}

impl OutSig {
    /// The full type, lists included.
    pub fn full_type(&self) -> Type {
        if self.list {
            Type::List(Box::new(self.ty.clone()))
        } else {
            self.ty.clone()
        }
    }
}

/// What the plan knows of a step's arguments, for rendering commands and choosing effects.
pub trait ArgView {
    /// The argument's value as text, when it is known now (given or defaulted, no unknowns).
    fn known(&self, name: &str) -> Option<String>;
    /// The argument as the plan shows it: the value, or `(known after STEP)`; `None` if absent.
    fn shown(&self, name: &str) -> Option<String>;
    /// The list argument's items as shown, when it is a list.
    fn shown_list(&self, name: &str) -> Option<Vec<String>>;
}

impl OpSig {
    /// Looks an argument up by name.
    pub fn arg(&self, name: &str) -> Option<&'static ArgSig> {
        self.args.iter().find(|a| a.name == name)
    }

    /// Looks an output up by name.
    pub fn output(&self, name: &str) -> Option<&'static OutSig> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The effect class of one call, from its arguments.
    pub fn effect_of(&self, args: &dyn ArgView) -> Effect {
        (self.effect_rule)(args)
    }

    /// The exact commands or system calls the call will make, as the plan prints them.
    pub fn commands(&self, args: &dyn ArgView) -> Vec<String> {
        (self.commands)(args)
    }

    /// The undo actions the call registers, run in reverse order at the end.
    pub fn cleanup(&self, args: &dyn ArgView) -> Vec<String> {
        (self.cleanup)(args)
    }
}
