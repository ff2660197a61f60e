//! The raw kernel interfaces salvage uses, in one place: block-device geometry, reflinks, the
//! loop-device ioctls, in-kernel copies, sparse-file seeks, read-only mappings, waiting for
//! terminal input, a filesystem's id, and opening a rescue source without blocking. Every `ioctl` and raw system
//! call of the workspace's libraries is here, behind a safe wrapper or a documented
//! `unsafe fn`; the crates that use them say what they mean, not how.
//!
//! Architecture invariant: no other crate of the workspace declares an ioctl.

pub mod block_device;
pub mod copy_range;
pub mod file_mapping;
pub mod filesystem_id;
pub mod loop_ioctl;
pub mod open_source;
pub mod poll_input;
pub mod reflink;
pub mod seek_data;
