//! Test support for salvage, shared by every crate's integration tests: the root-test gate,
//! the optional-program gate, a deadline for child processes, the test data generator, ext4
//! images made from a tree, a FUSE failing disk, and the partition and filesystem fixture
//! builders ([`partition`], [`filesystem`]).

mod deadline;
mod ext4_image;
mod fail_disk;
pub mod filesystem;
pub mod md_member;
pub mod partition;
mod paths;
mod pattern;
mod root;
mod tool;

pub use deadline::wait_with_deadline;
pub use ext4_image::ext4_image;
pub use fail_disk::{FAIL_DISK_FILE, FailDisk, FailDiskSpec, FailDiskStats, SlowRange};
pub use paths::workspace_root;
pub use pattern::pattern;
pub use root::require_root;
pub use tool::{find_tool, require_tool};
