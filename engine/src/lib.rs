//! The salvage engine: runs a checked plan and tells what happened.
//!
//! [`executor`] schedules the plan's steps with checkpoints in a journal that survives a crash
//! and undoes every attachment; [`ops`] are the steps' implementations on top of the imager,
//! partition and filesystem crates; [`event_log`] is the tamper-evident run log and [`review`]
//! its post-incident reading. See ARCHITECTURE.md for the code map.

pub mod disk_health;
pub mod event_log;
pub mod executor;
pub mod interrupts;
pub mod log_sink;
pub mod ops;
pub mod preflight;
pub mod probe;
pub mod progress;
pub mod prompter;
pub mod raid_array;
pub mod report;
pub mod resolve;
pub mod review;
pub mod runbook_file;
pub mod runbook_test;
pub mod saved_plan;
pub mod session;
pub mod state;
