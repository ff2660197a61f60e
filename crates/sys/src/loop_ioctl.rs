//! The loop-device ioctls of `<linux/loop.h>` and the structures they take: LOOP_CTL_GET_FREE
//! on /dev/loop-control; LOOP_CONFIGURE (Linux 5.8), or LOOP_SET_FD + LOOP_SET_STATUS64; and
//! LOOP_CLR_FD. Each is an `unsafe fn` whose caller passes open descriptors and initialised
//! structures.

pub const LO_NAME_SIZE: usize = 64;
pub const LO_KEY_SIZE: usize = 32;
pub const LO_FLAGS_READ_ONLY: u32 = 1;
pub const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` of `<linux/loop.h>`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct LoopInfo64 {
    pub lo_device: u64,
    pub lo_inode: u64,
    pub lo_rdevice: u64,
    pub lo_offset: u64,
    pub lo_sizelimit: u64,
    pub lo_number: u32,
    pub lo_encrypt_type: u32,
    pub lo_encrypt_key_size: u32,
    pub lo_flags: u32,
    pub lo_file_name: [u8; LO_NAME_SIZE],
    pub lo_crypt_name: [u8; LO_NAME_SIZE],
    pub lo_encrypt_key: [u8; LO_KEY_SIZE],
    pub lo_init: [u64; 2],
}

/// `struct loop_config` of `<linux/loop.h>` (LOOP_CONFIGURE, Linux 5.8).
#[repr(C)]
pub struct LoopConfig {
    pub fd: u32,
    pub block_size: u32,
    pub info: LoopInfo64,
    pub reserved: [u64; 8],
}

mod numbers {
    //! Old-style numbers, hence the `_bad` macros.
    #![allow(unreachable_pub)]
    use super::{LoopConfig, LoopInfo64};
    nix::ioctl_none_bad!(loop_ctl_get_free, 0x4C82);
    nix::ioctl_write_int_bad!(loop_set_fd, 0x4C00);
    nix::ioctl_none_bad!(loop_clr_fd, 0x4C01);
    nix::ioctl_write_ptr_bad!(loop_set_status64, 0x4C04, LoopInfo64);
    nix::ioctl_write_ptr_bad!(loop_configure, 0x4C0A, LoopConfig);
}

pub use numbers::{loop_clr_fd, loop_configure, loop_ctl_get_free, loop_set_fd, loop_set_status64};
