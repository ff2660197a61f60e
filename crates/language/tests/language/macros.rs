//! Small test macros that read like data: `accepts!` and `rejects!` a runbook source.

/// The error messages checking `src` gives (no file access; the embedded stdlib only).
pub(crate) fn errors(src: &str) -> Vec<String> {
    let checked = salvage_language::checker::check(
        salvage_language::source_file::SourceFile::new("test.salvage", src),
        None,
        &salvage_language::stdlib::EmbeddedLoader,
    );
    checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect()
}

/// `accepts!(name, "source")`: the source checks without error.
#[macro_export]
macro_rules! accepts {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            let errs = $crate::macros::errors($src);
            assert!(errs.is_empty(), "expected no errors, got {errs:#?}");
        }
    };
}

/// `rejects!(name, "source", "needle", ...)`: checking gives errors containing every needle,
/// each `file:line:col`-located.
#[macro_export]
macro_rules! rejects {
    ($name:ident, $src:expr, $($needle:expr),+ $(,)?) => {
        #[test]
        fn $name() {
            let errs = $crate::macros::errors($src);
            assert!(!errs.is_empty(), "expected errors, got none");
            $(
                assert!(
                    errs.iter().any(|e| e.contains($needle)),
                    "no error contains {:?}; errors: {errs:#?}", $needle
                );
            )+
            for e in &errs {
                assert!(e.starts_with("test.salvage:"), "not located: {e}");
            }
        }
    };
}
