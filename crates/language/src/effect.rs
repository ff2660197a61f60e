//! Effect classes: what a step may do to the machine, declared before it runs.

use serde::Serialize;
use std::fmt;

/// What a step may do, from harmless to dangerous. Ordered: a higher class needs more care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Reads only.
    Read,
    /// A human step: waits for approval, changes nothing.
    Manual,
    /// Makes new files in a work directory.
    Create,
    /// Reversible system state (loop devices, mounts, snapshots); always has an undo.
    Attach,
    /// Changes something that existed; needs explicit confirmation (`--yes`).
    Modify,
}

impl Effect {
    /// Parses the name a runbook uses for `effect:` on `exec` and `pipe`.
    pub fn from_name(name: &str) -> Option<Effect> {
        Some(match name {
            "read" => Effect::Read,
            "create" => Effect::Create,
            "attach" => Effect::Attach,
            "modify" => Effect::Modify,
            _ => return None,
        })
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Manual => "manual",
            Effect::Create => "create",
            Effect::Attach => "attach",
            Effect::Modify => "modify",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
