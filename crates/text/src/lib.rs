//! How salvage writes words for a shell, durations, calendar dates and byte counts: one
//! implementation each, shared by the plan, the run log, the review, the progress lines and the
//! imager's map.

pub mod calendar;
pub mod duration_text;
pub mod shell_quote;
pub mod size_text;
