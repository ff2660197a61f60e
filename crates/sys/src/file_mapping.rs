//! [`FileMapping`]: a read-only shared mapping of part of a file (`mmap`), whose bytes fault
//! in as they are read; unmapped when dropped.

use std::fs::File;
use std::os::fd::AsRawFd;

/// A read-only mapping of `[start, start + len)` of a file.
#[derive(Debug)]
pub struct FileMapping {
    start: u64,
    ptr: *mut libc::c_void,
    len: usize,
}

impl FileMapping {
    /// Maps `len` bytes of `file` from `start` (a multiple of the page size); `None` when the
    /// kernel refuses.
    pub fn new(file: &File, start: u64, len: usize) -> Option<Self> {
        let off = libc::off_t::try_from(start).ok()?;
        // SAFETY: a new read-only shared mapping of an open file; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                off,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(Self { start, ptr, len })
    }

    /// Whether the file's bytes `[pos, pos + len)` are inside the mapping.
    pub fn holds(&self, pos: u64, len: usize) -> bool {
        pos >= self.start && pos - self.start + len as u64 <= self.len as u64
    }

    /// The file's bytes `[pos, pos + len)`, or `None` when the mapping does not hold them.
    /// Only bytes inside the file may be read (a page past its end faults), and the caller
    /// must know nobody truncates the file meanwhile.
    pub fn bytes(&self, pos: u64, len: usize) -> Option<&[u8]> {
        if !self.holds(pos, len) {
            return None;
        }
        let at = usize::try_from(pos - self.start).ok()?;
        // SAFETY: `holds` keeps the slice inside the mapping, which lives as long as `self`.
        Some(unsafe { std::slice::from_raw_parts((self.ptr as *const u8).add(at), len) })
    }
}

impl Drop for FileMapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly this mapping; no slice of it outlives `&self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// The page size of this machine (4096 when it cannot be read).
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::{FileMapping, page_size};
    use std::io::Write;

    #[test]
    fn reads_the_bytes_it_holds_and_nothing_else() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let m = FileMapping::new(&f, 0, 8192).expect("mapping");
        assert_eq!(m.bytes(4000, 10), Some(&data[4000..4010]));
        assert_eq!(m.bytes(8190, 4), None);
        assert!(page_size() >= 4096);
    }
}
