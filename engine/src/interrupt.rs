//! `Interrupt`: the one signal mechanism of the binary. SIGINT (Ctrl-C), SIGTERM and SIGHUP (a
//! dropped SSH session) set one process-wide flag that `run` and every standalone command
//! watch, so they stop between two reads or waits and their cleanup (unmount, loop detach, map
//! save, journal) still runs. Installed once; every later call returns the same flag.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
static COUNT: AtomicUsize = AtomicUsize::new(0);
static EXIT_ON_SECOND: AtomicBool = AtomicBool::new(false);

/// The signals that interrupt salvage.
pub const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The exit code of a command that stopped because of a signal (as a shell reports Ctrl-C).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The process-wide interrupt flag (see the module doc).
pub struct Interrupt;

impl Interrupt {
    /// Installs the handlers (once) and returns the flag.
    pub fn install() -> Arc<AtomicBool> {
        let mut fresh = false;
        let flag = FLAG
            .get_or_init(|| {
                fresh = true;
                Arc::new(AtomicBool::new(false))
            })
            .clone();
        if fresh {
            for signal in SIGNALS {
                let flag = Arc::clone(&flag);
                // SAFETY: the action only does atomic loads and stores and, when asked for,
                // `_exit`: all async-signal-safe.
                let _ = unsafe {
                    signal_hook::low_level::register(signal, move || {
                        COUNT.fetch_add(1, Ordering::SeqCst);
                        if flag.swap(true, Ordering::SeqCst)
                            && EXIT_ON_SECOND.load(Ordering::SeqCst)
                        {
                            signal_hook::low_level::exit(EXIT_INTERRUPTED);
                        }
                    })
                };
            }
        }
        flag
    }

    /// How many interrupting signals arrived so far.
    pub fn count() -> usize {
        COUNT.load(Ordering::SeqCst)
    }

    /// Makes a second signal end the process at once (exit 130), for commands with nothing to
    /// undo whose first signal already started a clean stop (`salvage image` saving its map).
    pub fn exit_on_second_signal() {
        EXIT_ON_SECOND.store(true, Ordering::SeqCst);
    }
}
