//! [`GroupCommit`]: makes finished steps durable in the background. A step's `finished`
//! record and its log events are written at once (a killed process keeps them: they are in
//! the page cache); a thread then syncs the log (and its anchor), then the journal, as soon as
//! it can, one `fdatasync` per file covering every step that finished meanwhile. So a trivial
//! step does not wait for the disk, and steps finishing together share one sync.
//!
//! Architecture invariant: what a power cut may lose is only the last steps that finished
//! (they run again); before any step that is not read-only starts, and before the run ends,
//! everything written is synced (see `Scheduler::launch` and `Scheduler::finish`).

use crate::log_sink::LogSink;
use crate::state::journal::Journal;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// The background syncer of one run.
pub(super) struct GroupCommit {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

struct Inner {
    journal: Arc<Journal>,
    log: Arc<dyn LogSink>,
    wanted: Mutex<Wanted>,
    wake: Condvar,
}

#[derive(Default)]
struct Wanted {
    /// Something was written since the last sync began.
    sync: bool,
    /// The run is over: sync what is left and stop.
    stop: bool,
    /// The first journal sync that failed.
    error: Option<String>,
}

impl Inner {
    /// The log (and its anchor), then the journal: a step the journal calls finished has its
    /// events in the log too.
    fn sync_all(&self) -> Result<(), String> {
        self.log.sync();
        self.journal.sync().map_err(|e| e.to_string())
    }
}

impl GroupCommit {
    /// Starts the syncer (a thread of its own: an `fdatasync` blocks).
    pub(super) fn start(journal: Arc<Journal>, log: Arc<dyn LogSink>) -> GroupCommit {
        let inner = Arc::new(Inner {
            journal,
            log,
            wanted: Mutex::new(Wanted::default()),
            wake: Condvar::new(),
        });
        let worker = inner.clone();
        let thread = std::thread::Builder::new()
            .name("salvage-sync".into())
            .spawn(move || run(&worker))
            .ok();
        GroupCommit { inner, thread }
    }

    /// Asks for a sync of everything written so far, without waiting for it.
    pub(super) fn request(&self) {
        if self.thread.is_none() {
            // No thread (it could not be started): sync here.
            let _ = self.barrier();
            return;
        }
        if let Ok(mut w) = self.inner.wanted.lock() {
            w.sync = true;
            self.inner.wake.notify_one();
        }
    }

    /// Syncs everything written so far before returning.
    pub(super) fn barrier(&self) -> Result<(), String> {
        self.inner.sync_all()
    }

    /// Syncs what is left and stops the thread; the first failed sync, if any.
    pub(super) fn stop(mut self) -> Result<(), String> {
        if let Ok(mut w) = self.inner.wanted.lock() {
            w.stop = true;
            self.inner.wake.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let earlier = self
            .inner
            .wanted
            .lock()
            .ok()
            .and_then(|mut w| w.error.take());
        self.barrier()?;
        earlier.map_or(Ok(()), Err)
    }
}

/// The thread: waits for a request, syncs, and again, until stopped.
fn run(inner: &Inner) {
    loop {
        let Ok(mut w) = inner.wanted.lock() else {
            return;
        };
        while !w.sync && !w.stop {
            w = match inner.wake.wait(w) {
                Ok(w) => w,
                Err(_) => return,
            };
        }
        if !w.sync {
            return;
        }
        w.sync = false;
        drop(w);
        if let Err(e) = inner.sync_all()
            && let Ok(mut w) = inner.wanted.lock()
            && w.error.is_none()
        {
            eprintln!("salvage: WARNING: the journal could not be synced to disk ({e})");
            w.error = Some(e);
        }
    }
}
