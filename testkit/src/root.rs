//! The gate for tests that need root (loop devices, mounts, FUSE).
//!
//! A root test calls [`require_root`] first. Without root it prints why it skips and returns
//! false; with `SALVAGE_REQUIRE_ROOT_TESTS=1` (set by `.ci/run`) a skip is a failure instead.

/// Returns true when the test may go on as root. Without root: prints why the test is skipped
/// and returns false, or panics when `SALVAGE_REQUIRE_ROOT_TESTS=1` says skips are failures.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc_geteuid() };
    if euid == 0 {
        return true;
    }
    let required = std::env::var("SALVAGE_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: needs root (loop devices, mounts or FUSE) and SALVAGE_REQUIRE_ROOT_TESTS=1 forbids skipping"
    );
    eprintln!("SKIP {test}: needs root (loop devices, mounts or FUSE); run as root to include it");
    false
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
