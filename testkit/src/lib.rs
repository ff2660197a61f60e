//! Test support for salvage: the root-test gate, the optional-program gate, a deadline for
//! child processes, ext4 images made from a tree, and a FUSE failing disk.

mod deadline;
mod ext4_image;
mod fail_disk;
mod root;
mod tool;

pub use deadline::wait_with_deadline;
pub use ext4_image::ext4_image;
pub use fail_disk::{FAIL_DISK_FILE, FailDisk, FailDiskSpec, FailDiskStats, SlowRange};
pub use root::require_root;
pub use tool::{find_tool, require_tool};
