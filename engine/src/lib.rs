//! salvage: a declarative recovery-runbook engine.
//!
//! The pipeline runs in one direction, one stage per module: the grammar crate parses a runbook
//! into an AST with byte spans, [`check`] turns it into a typed [`plan::Plan`], [`graph`] orders
//! it, and the executor runs it through the ops. See ARCHITECTURE.md for the code map.

pub mod cli;
pub mod filesystem;
pub mod image;
pub mod partition;
