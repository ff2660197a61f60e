//! Why a source could not be turned into an AST, with the byte span to point at.

use crate::ast::Span;
use std::fmt;

/// A parse failure: where, and what kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where to point the caret.
    pub span: Span,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// Every way parsing can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The grammar expected one of these things here.
    Expected {
        /// Human descriptions of what would have been accepted, sorted and deduplicated.
        expected: Vec<String>,
        /// What was found instead, described.
        found: String,
    },
    /// Brackets, braces or parentheses nested deeper than [`MAX_NESTING`](crate::MAX_NESTING).
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A bracket that is never closed.
    Unclosed {
        /// The opening character.
        open: char,
    },
    /// An integer that does not fit in 64 bits.
    NumberTooLarge,
    /// A size whose byte count does not fit in 64 bits.
    SizeTooLarge,
    /// A `\x` escape the language does not know.
    UnknownEscape {
        /// The character after the backslash.
        escape: char,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Expected { expected, found } => {
                write!(f, "expected ")?;
                match expected.as_slice() {
                    [] => write!(f, "something else")?,
                    [one] => write!(f, "{one}")?,
                    [init @ .., last] => write!(f, "{} or {last}", init.join(", "))?,
                }
                write!(f, ", found {found}")
            }
            ParseErrorKind::TooDeep { limit } => write!(
                f,
                "brackets nested more than {limit} deep; a runbook never needs this, split the value up"
            ),
            ParseErrorKind::Unclosed { open } => {
                let close = match open {
                    '[' => ']',
                    '(' => ')',
                    '"' => '"',
                    _ => '}',
                };
                if *open == '"' {
                    return write!(f, "this string is never closed; add the closing `\"`");
                }
                write!(f, "`{open}` is never closed; add the matching `{close}`")
            }
            ParseErrorKind::NumberTooLarge => {
                write!(f, "number does not fit in a 64-bit integer")
            }
            ParseErrorKind::SizeTooLarge => {
                write!(
                    f,
                    "size is larger than 16 EiB, the most a 64-bit byte count holds"
                )
            }
            ParseErrorKind::UnknownEscape { escape } => write!(
                f,
                "unknown escape `\\{}`; the escapes are \\\" \\\\ \\n \\t \\$",
                escape.escape_debug()
            ),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for ParseError {}
