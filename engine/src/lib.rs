//! salvage: a declarative recovery-runbook engine.
//!
//! The pipeline runs in one direction, one stage per module: the grammar crate parses a runbook
//! into an AST with byte spans, [`checker`] turns it into a typed [`plan::Plan`], [`graph`]
//! orders it, and the executor runs it through the ops. See ARCHITECTURE.md for the code map.

pub mod checker;
pub mod cli;
pub mod command;
pub mod diagnostic;
pub mod diagnostic_report;
pub mod duration_text;
pub mod effect;
pub mod env_item;
pub mod event_log;
pub mod executor;
pub mod filesystem;
pub mod graph;
pub mod image;
pub mod interrupt;
pub mod op_table;
pub mod open_source;
pub mod ops;
pub mod partition;
pub mod plan;
pub mod plan_json;
pub mod plan_text;
pub mod probe;
pub mod review;
pub mod runbook_test;
pub mod shell_quote;
pub mod source_file;
pub mod stdlib;
pub mod stdlib_define;
mod sys;
pub mod value_type;
