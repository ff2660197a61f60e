//! The salvage runbook grammar (`runbook.pest`) and the AST it produces, with byte spans.
//!
//! Architecture invariant: this crate never touches a disk, a process or the clock. It turns
//! text into an [`ast::File`] or a [`ParseError`] with a span (and [`more_syntax_errors`] finds
//! the later ones); meaning is the engine's job.

pub mod ast;
mod parse_error;
mod parser;

pub use parse_error::{ParseError, ParseErrorKind};
pub use parser::{MAX_NESTING, more_syntax_errors, parse, parse_duration, parse_size};
