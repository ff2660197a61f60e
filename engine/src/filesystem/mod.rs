//! Working inside a filesystem of an image: loop devices, fsck, read-only mounts, the userspace
//! ext reader, copy out, verify, inspect.
