//! Test support for salvage: synthetic disks and a FUSE failing disk.
