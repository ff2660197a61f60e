//! The salvage runbook language: from a parsed runbook to a checked, ordered plan.
//!
//! The grammar crate parses a runbook into an AST with byte spans; [`checker`] turns it into a
//! typed [`plan::Plan`] against the [`op_table`], [`graph`] orders it, and [`plan_text`] /
//! [`plan_json`] show it. [`diagnostic`] carries every error, rendered by
//! [`diagnostic_report`].
//!
//! Architecture invariant: this crate performs no IO of its own: no file, process, clock or
//! async runtime. `use` files come through [`loader::Loader`]; the embedded stdlib is compiled
//! in. Its dependency tree holds no tokio and no nix.

pub mod check_loaded;
pub mod checker;
pub mod diagnostic;
pub mod diagnostic_report;
pub mod effect;
pub mod env_item;
pub mod graph;
pub mod loader;
pub mod op_reference;
pub mod op_sig;
pub mod op_table;
pub mod operation;
pub mod ops;
pub mod plan;
pub mod plan_json;
pub mod plan_text;
pub mod source_file;
pub mod stdlib;
pub mod stdlib_define;
pub mod value_type;
