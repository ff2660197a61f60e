//! [`RunOptions`]: how a run behaves (parallel jobs, `--yes`, `--approve`, who runs it).

use std::collections::BTreeSet;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Independent steps run at once, up to this many.
    pub jobs: usize,
    /// Steps that modify existing data may run without asking.
    pub yes: bool,
    /// Manual steps approved on the command line.
    pub approve: BTreeSet<String>,
    /// Who approves (for the log).
    pub user: String,
    /// The saved plan this run carries out (`salvage run --plan`): its id, file and the
    /// partners' approvals, written into the log's `run_started`.
    pub saved_plan: Option<serde_json::Value>,
}
