//! The integration tests of salvage-filesystem, one binary: the userspace readers and copy,
//! and the root path (loop devices, fsck, mounts). Shared helpers: `salvage_testkit::filesystem`.

mod root;
mod userspace;
