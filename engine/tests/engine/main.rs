//! The integration tests of salvage-engine, one binary: the executor on real processes and the
//! golden plan/diagnostic snapshots of every runbook (`engine/tests/runbooks/`).

mod executor;
mod golden;
mod grouped_sync;
