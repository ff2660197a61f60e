//! The gate for tests that need an optional external program (mkfs.ext4, sfdisk, losetup,
//! ddrescue, ...): [`require_tool`] finds it on `PATH` or says, naming it, why the test skips.
//!
//! Without the program a test prints `SKIP <test>: needs <program>` and returns early; with
//! `SALVAGE_REQUIRE_ROOT_TESTS=1` (set by `.ci/run`, which installs every such program) a
//! missing program is a failure instead, so CI never passes by skipping.

use std::path::{Path, PathBuf};

/// Where `program` is on `PATH`, if anywhere (an executable regular file).
pub fn find_tool(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![PathBuf::from(program)]
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(program))
            .collect()
    };
    candidates.into_iter().find(|p| {
        Path::new(p)
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Returns true when every one of `programs` is on `PATH`. Otherwise prints which are missing
/// and that `test` is skipped, and returns false; or panics, naming them, when
/// `SALVAGE_REQUIRE_ROOT_TESTS=1` says skips are failures.
pub fn require_tool(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| find_tool(p).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let names = missing.join(", ");
    let required = std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: needs {names} (not on PATH) and SALVAGE_REQUIRE_ROOT_TESTS=1 forbids skipping; \
         install it (.ci/run lists the packages)"
    );
    eprintln!("SKIP {test}: needs {names} (not on PATH); install it to include this test");
    false
}
