//! The raw kernel interfaces salvage uses, in one place: block-device geometry, reflinks, the
//! loop-device ioctls, and opening a rescue source without blocking. Every `ioctl` of the
//! workspace is declared here, behind a safe wrapper or a documented `unsafe fn`; the crates
//! that use them say what they mean, not how.
//!
//! Architecture invariant: no other crate of the workspace declares an ioctl.

pub mod block_device;
pub mod loop_ioctl;
pub mod open_source;
pub mod reflink;
