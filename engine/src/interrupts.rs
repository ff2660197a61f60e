//! `Interrupts`: how the engine hears that the operator wants it to stop. The binary's signal
//! handlers (SIGINT, SIGTERM, SIGHUP) count into it; the session hands the first one to the
//! executor's cancel flag, and a question at the terminal returns at once. The engine installs
//! no handler of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A shared count of interrupting signals (clones see the same count).
#[derive(Debug, Clone, Default)]
pub struct Interrupts(Arc<AtomicUsize>);

impl Interrupts {
    /// A count that starts at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more interrupt. One atomic add: safe inside a signal handler.
    pub fn raise(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// How many interrupts arrived so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Whether any interrupt arrived.
    pub fn any(&self) -> bool {
        self.count() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::Interrupts;

    #[test]
    fn clones_share_one_count() {
        let a = Interrupts::new();
        let b = a.clone();
        assert!(!b.any());
        a.raise();
        a.raise();
        assert_eq!(b.count(), 2);
        assert!(b.any());
    }
}
