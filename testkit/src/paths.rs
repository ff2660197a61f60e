//! Where the workspace is, for tests reading its files (runbooks, snapshots, fixture logs)
//! from any crate's test binary.

use std::path::PathBuf;

/// The workspace root (the directory holding `Cargo.lock`, `runbooks/`, `snapshots/`).
pub fn workspace_root() -> PathBuf {
    let testkit = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit
        .parent()
        .expect("testkit sits in the workspace root")
        .to_path_buf()
}
