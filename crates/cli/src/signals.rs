//! `Interrupt`: the one signal mechanism of the workspace, owned by the binary. SIGINT (Ctrl-C),
//! SIGTERM and SIGHUP (a dropped SSH session) set one process-wide flag that every standalone
//! command watches and count into the engine's [`Interrupts`] that `run` watches, so they stop
//! between two reads or waits and their cleanup (unmount, loop detach, map save, journal) still
//! runs. Installed once; every later call returns the same flag.
//!
//! Architecture invariant: no library crate of the workspace installs a signal handler; they
//! take a cancel flag or an [`Interrupts`] from here.

use salvage_engine::interrupts::Interrupts;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static HANDLES: OnceLock<(Arc<AtomicBool>, Interrupts)> = OnceLock::new();
static EXIT_ON_SECOND: AtomicBool = AtomicBool::new(false);

/// The signals that interrupt salvage.
pub(crate) const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The exit code of a command that stopped because of a signal (as a shell reports Ctrl-C).
pub(crate) const EXIT_INTERRUPTED: i32 = 130;

/// The process-wide interrupt flag (see the module doc).
pub(crate) struct Interrupt;

impl Interrupt {
    /// Installs the handlers (once) and returns the flag.
    pub(crate) fn install() -> Arc<AtomicBool> {
        Self::handles().0.clone()
    }

    /// Installs the handlers (once) and returns the count `run` hands to the engine.
    pub(crate) fn interrupts() -> Interrupts {
        Self::handles().1.clone()
    }

    /// Makes a second signal end the process at once (exit 130), for commands with nothing to
    /// undo whose first signal already started a clean stop (`salvage image` saving its map).
    pub(crate) fn exit_on_second_signal() {
        EXIT_ON_SECOND.store(true, Ordering::SeqCst);
    }

    fn handles() -> &'static (Arc<AtomicBool>, Interrupts) {
        let mut fresh = false;
        let handles = HANDLES.get_or_init(|| {
            fresh = true;
            (Arc::new(AtomicBool::new(false)), Interrupts::new())
        });
        if fresh {
            for signal in SIGNALS {
                let (flag, interrupts) = (Arc::clone(&handles.0), handles.1.clone());
                // SAFETY: the action only does atomic loads, stores and adds and, when asked
                // for, `_exit`: all async-signal-safe.
                let _ = unsafe {
                    signal_hook::low_level::register(signal, move || {
                        interrupts.raise();
                        if flag.swap(true, Ordering::SeqCst)
                            && EXIT_ON_SECOND.load(Ordering::SeqCst)
                        {
                            signal_hook::low_level::exit(EXIT_INTERRUPTED);
                        }
                    })
                };
            }
        }
        handles
    }
}
