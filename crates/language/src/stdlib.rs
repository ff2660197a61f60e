//! The stdlib embedded in the binary, so one file carries every definition onto a broken
//! machine; and [`EmbeddedLoader`], the [`Loader`] that knows only it (the engine's loader also
//! reads files beside the runbook).

use crate::diagnostic::Diagnostic;
use crate::loader::Loader;
use crate::source_file::SourceFile;

/// Every stdlib file: its `use` path and its text.
pub static FILES: &[(&str, &str)] = &[
    (
        "stdlib/lvm.salvage",
        include_str!("../../../stdlib/lvm.salvage"),
    ),
    (
        "stdlib/mount.salvage",
        include_str!("../../../stdlib/mount.salvage"),
    ),
    (
        "stdlib/rescue.salvage",
        include_str!("../../../stdlib/rescue.salvage"),
    ),
    (
        "stdlib/restore.salvage",
        include_str!("../../../stdlib/restore.salvage"),
    ),
];

/// Finds a stdlib file by its `use` path.
pub fn find(path: &str) -> Option<&'static str> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t)
}

/// A loader that only knows the embedded stdlib (for fuzzing and tests: no file access).
#[derive(Debug, Default, Clone, Copy)]
pub struct EmbeddedLoader;

impl Loader for EmbeddedLoader {
    fn load(&self, path: &str, _from: &SourceFile) -> Option<Result<SourceFile, Diagnostic>> {
        find(path).map(|text| Ok(SourceFile::new(path, text)))
    }
}
