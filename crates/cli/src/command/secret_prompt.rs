//! Asking for a missing secret param at the terminal: no echo, and the terminal restored
//! whatever happens (Enter, Ctrl-C, Ctrl-D, an error, a panic).
//!
//! The terminal is put in a raw-ish mode (no echo, no line editing, no signal keys) for the
//! read, so Ctrl-C arrives as a byte this code handles instead of a SIGINT that would kill the
//! process with echo still off. SIGTERM and SIGHUP (sent by another process, or a dropped SSH
//! session) interrupt the read through handlers installed for the prompt's duration. A guard
//! puts the saved settings (and the signal dispositions) back when it is dropped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGTERM/SIGHUP while the prompt waits.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// SIGTERM and SIGHUP handled without SA_RESTART (so a blocked read returns EINTR) until
/// dropped, when the previous dispositions come back.
struct Signals {
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl Signals {
    fn install() -> Signals {
        let mut saved = Vec::new();
        for sig in [libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a plain sigaction with a handler that only stores to an atomic.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as *const () as usize;
                libc::sigemptyset(&mut new.sa_mask);
                new.sa_flags = 0;
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &new, &mut old) == 0 {
                    saved.push((sig, old));
                }
            }
        }
        Signals { saved }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for (sig, old) in &self.saved {
            // SAFETY: restores a disposition sigaction returned.
            unsafe {
                libc::sigaction(*sig, old, std::ptr::null_mut());
            }
        }
    }
}

/// What the person did at the prompt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Typed a value and Enter.
    Value(String),
    /// Pressed Ctrl-C (or Ctrl-D on an empty line).
    Interrupted,
}

/// Restores the terminal's settings when dropped.
struct Restore {
    tty: File,
    saved: libc::termios,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // SAFETY: tcsetattr on an open descriptor with settings tcgetattr filled in.
        unsafe {
            libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved);
        }
    }
}

/// Asks for `name` on the controlling terminal (`/dev/tty`) without echo. An error when there
/// is no terminal or it cannot be set up.
pub(crate) fn ask(name: &str) -> std::io::Result<Answer> {
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for an open descriptor.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut raw = saved;
    raw.c_lflag &= !(libc::ECHO | libc::ICANON | libc::ISIG | libc::IEXTEN);
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    let guard = Restore {
        tty: tty.try_clone()?,
        saved,
    };
    // SAFETY: as above; TCSAFLUSH drops anything typed (and echoed) before the prompt.
    if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &raw) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = &tty;
    write!(
        out,
        "salvage: secret param `{name}` (not echoed; Enter to finish, Ctrl-C to stop): "
    )?;
    out.flush()?;
    let mut typed: Vec<u8> = Vec::new();
    let mut input = &tty;
    SIGNALLED.store(false, Ordering::SeqCst);
    let signals = Signals::install();
    let answer = loop {
        if SIGNALLED.load(Ordering::SeqCst) {
            break Answer::Interrupted;
        }
        let mut b = [0u8; 1];
        let n = match input.read(&mut b) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                if SIGNALLED.load(Ordering::SeqCst) {
                    break Answer::Interrupted;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            break Answer::Interrupted;
        }
        match b[0] {
            b'\r' | b'\n' => break Answer::Value(String::new()),
            0x03 => break Answer::Interrupted,
            0x04 if typed.is_empty() => break Answer::Interrupted,
            0x7f | 0x08 => {
                // Remove one whole character.
                while let Some(last) = typed.pop() {
                    if last & 0xC0 != 0x80 {
                        break;
                    }
                }
            }
            0x15 => typed.clear(),
            c => typed.push(c),
        }
    };
    let _ = writeln!(out);
    drop(guard);
    drop(signals);
    match answer {
        Answer::Value(_) => String::from_utf8(typed).map(Answer::Value).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "what was typed is not UTF-8 text",
            )
        }),
        other => Ok(other),
    }
}
