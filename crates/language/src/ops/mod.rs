//! The ops, one file each: its signature row, its plan text and the pure pieces (argument
//! struct, argv builders) its run shares with the plan. [`crate::op_table`] lists them.

#[cfg(test)]
mod arg_names;
pub mod arg_value;
pub mod copy;
pub mod damage;
pub mod exec;
pub mod fsck;
pub mod health;
pub mod image;
pub mod inspect;
pub mod mount;
pub mod partition_args;
pub mod partitions;
pub mod pipe;
mod plan_words;
pub mod raid;
mod sig_parts;
pub mod snapshot;
pub mod synth;
pub mod verify;
