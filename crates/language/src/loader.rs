//! [`Loader`]: where `use` finds the files it imports (the checker asks it; the stdlib and the
//! engine implement it).

use crate::diagnostic::Diagnostic;
use crate::source_file::SourceFile;

/// Where `use` finds the files it imports.
pub trait Loader {
    /// Loads `path` as written in a `use` of `from`; `None` when there is no such file.
    fn load(&self, path: &str, from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>>;
}
