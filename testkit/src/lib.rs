//! Test support for salvage: the root-test gate, synthetic disks and a FUSE failing disk.

mod root;

pub use root::require_root;
