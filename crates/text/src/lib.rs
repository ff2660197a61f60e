//! How salvage writes words for a shell, durations and calendar dates: one implementation each,
//! shared by the plan, the run log, the review and the imager's map.

pub mod calendar;
pub mod duration_text;
pub mod shell_quote;
