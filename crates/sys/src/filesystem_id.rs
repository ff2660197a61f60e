//! `filesystem_id`: the kernel's id of the filesystem a path is on (`statfs`'s `f_fsid`). ext2/3/4
//! fold it from the superblock's UUID, so a mounted directory can be matched with a filesystem
//! read from an image without opening its block device.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The two 32-bit words of `f_fsid` for the filesystem holding `path`.
pub fn filesystem_id(path: &Path) -> io::Result<[u32; 2]> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` points to a `struct statfs` the call fills.
    let rc = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statfs returned 0, so it filled the struct.
    let st = unsafe { st.assume_init() };
    // SAFETY: `fsid_t` is `struct { int __val[2]; }` (its field is private in the libc crate).
    let val: [i32; 2] = unsafe { std::mem::transmute(st.f_fsid) };
    Ok([val[0] as u32, val[1] as u32])
}

/// The `f_fsid` ext2/3/4 report for a filesystem with this UUID (`ext4_statfs`: the UUID's two
/// little-endian 64-bit halves XORed, split into its low and high 32 bits).
pub fn ext_filesystem_id(uuid: &[u8; 16]) -> [u32; 2] {
    let lo = u64::from_le_bytes(uuid[0..8].try_into().unwrap_or([0; 8]));
    let hi = u64::from_le_bytes(uuid[8..16].try_into().unwrap_or([0; 8]));
    let v = lo ^ hi;
    [v as u32, (v >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_has_a_filesystem_id_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(filesystem_id(dir.path()).is_ok());
        assert!(filesystem_id(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn the_ext_id_folds_the_uuid_halves() {
        let mut uuid = [0u8; 16];
        uuid[0] = 1;
        uuid[8] = 3;
        uuid[12] = 0x10;
        assert_eq!(ext_filesystem_id(&uuid), [2, 0x10]);
    }
}
