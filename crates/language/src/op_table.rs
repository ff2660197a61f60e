//! The op table: every op's arguments, their types, outputs, effect class, the commands it will
//! run and the cleanup it registers. The checker, the plan, the docs and the executor all read
//! this one table; each op's row is written in its own file under [`crate::ops`].

use crate::ops::{
    copy, damage, exec, fsck, health, image, inspect, mount, partitions, pipe, raid, snapshot,
    synth, verify,
};

pub use crate::op_sig::{ArgSig, ArgView, OpSig, OutSig};

static OPS: &[OpSig] = &[
    image::SIG,
    partitions::SIG,
    inspect::SIG,
    fsck::SIG,
    mount::SIG,
    copy::SIG,
    verify::SIG,
    damage::SIG,
    health::SIG,
    raid::SIG,
    snapshot::SIG,
    exec::SIG,
    pipe::SIG,
    synth::SIG,
];

impl OpSig {
    /// Looks an op up by name.
    pub fn find(name: &str) -> Option<&'static OpSig> {
        OPS.iter().find(|op| op.name == name)
    }

    /// Every op, in the table's order.
    pub fn all() -> &'static [OpSig] {
        OPS
    }
}
