//! Test support for salvage: the root-test gate, the optional-program gate, a deadline for
//! child processes, and a FUSE failing disk.

mod deadline;
mod fail_disk;
mod root;
mod tool;

pub use deadline::wait_with_deadline;
pub use fail_disk::{FAIL_DISK_FILE, FailDisk, FailDiskSpec, FailDiskStats, SlowRange};
pub use root::require_root;
pub use tool::{find_tool, require_tool};
