//! Where the executor sends run events: the hash-chained log in production, a vector in tests.

use serde_json::{Map, Value};
use std::sync::Mutex;

/// Receives run events (already redacted). Writing must not fail a rescue: a sink that cannot
/// write says so on stderr and goes on.
pub trait LogSink: Send + Sync {
    /// Records one event of kind `event` with its fields.
    fn event(&self, event: &str, fields: Map<String, Value>);

    /// Makes every event recorded so far durable (a sink that syncs each event, or keeps
    /// them in memory, has nothing to do). Failing says so on stderr, as `event` does.
    fn sync(&self) {}
}

/// Keeps events in memory (tests, and `--log -` style uses).
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<(String, Map<String, Value>)>>,
}

impl MemorySink {
    /// Every event so far.
    pub fn events(&self) -> Vec<(String, Map<String, Value>)> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl LogSink for MemorySink {
    fn event(&self, event: &str, fields: Map<String, Value>) {
        if let Ok(mut e) = self.events.lock() {
            e.push((event.to_string(), fields));
        }
    }
}

/// Builds a field map: `fields!{"step" => id, "status" => "ok"}`.
#[macro_export]
macro_rules! fields {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $( m.insert($k.to_string(), serde_json::json!($v)); )*
        m
    }};
}

impl LogSink for crate::event_log::EventLog {
    fn event(&self, event: &str, fields: Map<String, Value>) {
        if let Err(e) = self.append(event, fields) {
            eprintln!("salvage: WARNING: the run log could not be written ({e}); the run goes on");
        }
    }

    fn sync(&self) {
        if let Err(e) = crate::event_log::EventLog::sync(self) {
            eprintln!(
                "salvage: WARNING: the run log could not be synced to disk ({e}); the run goes on"
            );
        }
    }
}
