//! The raw kernel interfaces salvage uses, in one place: block-device geometry, reflinks and
//! the loop-device ioctls. Every `ioctl` of the crate is declared here, behind a safe wrapper
//! or a documented `unsafe fn`; the modules that use them say what they mean, not how.

pub(crate) mod block_device;
pub(crate) mod loop_ioctl;
pub(crate) mod reflink;
