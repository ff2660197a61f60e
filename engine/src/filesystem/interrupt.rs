//! `Interrupt`: turns Ctrl-C and SIGTERM into a flag the standalone commands poll, so they stop
//! between two reads and their cleanup (unmount, detach) still runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic load and store: async-signal-safe.
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// The process-wide interrupt flag, set by SIGINT and SIGTERM once [`Interrupt::install`] ran.
pub(crate) struct Interrupt;

impl Interrupt {
    /// Installs the handlers (once) and returns the flag.
    pub(crate) fn install() -> Arc<AtomicBool> {
        let flag = FLAG
            .get_or_init(|| Arc::new(AtomicBool::new(false)))
            .clone();
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for signal in [Signal::SIGINT, Signal::SIGTERM] {
            // SAFETY: the handler only touches an already-initialised atomic.
            let _ = unsafe { sigaction(signal, &action) };
        }
        flag
    }
}
