//! [`wait_readable`]: waits a little for a descriptor (the terminal) to have input, so a
//! question at the terminal can also watch for an interrupt instead of blocking in `read`.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Whether `fd` has input within `timeout`. `EINTR` (a signal arrived) reads as "no input
/// yet"; any other failure is returned.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut pollfd, 1, ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::EINTR) {
            Ok(false)
        } else {
            Err(err)
        };
    }
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::wait_readable;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    #[test]
    fn sees_input_on_a_pipe_and_times_out_without() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let fd = reader.as_raw_fd();
        assert!(!wait_readable(fd, Duration::from_millis(10)).unwrap());
        writer.write_all(b"y\n").unwrap();
        assert!(wait_readable(fd, Duration::from_millis(10)).unwrap());
    }
}
