//! Test support for salvage: the root-test gate, synthetic disks and a FUSE failing disk.

mod fail_disk;
mod root;

pub use fail_disk::{FAIL_DISK_FILE, FailDisk, FailDiskSpec, FailDiskStats, SlowRange};
pub use root::require_root;
