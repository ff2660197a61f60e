//! The integration tests of salvage-filesystem, one binary: the damage map against debugfs, the
//! userspace readers and copy,
//! and the root path (loop devices, fsck, mounts). Shared helpers: `salvage_testkit::filesystem`.

mod damage;
mod root;
mod userspace;
