//! The journal and the log with their syncs grouped: what is written without a sync is whole
//! and in order at every moment (what a killed process leaves), from several threads at once.

use salvage_engine::event_log::{EventLog, verify_with_key};
use salvage_engine::fields;
use salvage_engine::log_sink::LogSink;
use salvage_engine::state::journal::{self, Journal, Record};
use std::sync::Arc;

#[test]
fn a_deferred_log_and_its_anchor_verify_after_every_append_without_a_sync() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("log.jsonl");
    let key = [5u8; 32];
    let log = Arc::new(
        EventLog::open_append(&path)
            .expect("open")
            .with_anchor(Some(key))
            .expect("anchor")
            .with_deferred_sync(),
    );
    log.event("run_started", fields! {"runbook" => "t"});
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    log.event("step_finished", fields! {"step" => format!("t{t}-{i}")});
                    if i % 10 == 0 {
                        LogSink::sync(log.as_ref());
                    }
                }
            })
        })
        .collect();
    // Verify while the threads append: the log and its anchor agree whenever they are read
    // between two appends, and never show a problem other than the anchor lagging one append.
    for _ in 0..20 {
        let report = verify_with_key(&path, Some(&key));
        let others: Vec<_> = report
            .problems
            .iter()
            .filter(|p| {
                !matches!(
                    p.kind,
                    salvage_engine::event_log::FindingKind::AnchorExtra { extra: 1 }
                        | salvage_engine::event_log::FindingKind::AnchorEdited
                        | salvage_engine::event_log::FindingKind::AnchorCut { .. }
                )
            })
            .collect();
        assert!(others.is_empty(), "{others:?}");
    }
    for t in threads {
        t.join().expect("thread");
    }
    let report = verify_with_key(&path, Some(&key));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.anchored);
    assert_eq!(report.lines, 201);
    log.sync().expect("sync");
    assert!(verify_with_key(&path, Some(&key)).problems.is_empty());
}

#[test]
fn deferred_journal_records_from_many_threads_are_whole_and_read_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("journal.jsonl");
    let (j, _) = Journal::open(&path).expect("open");
    let j = Arc::new(j);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let j = j.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let step = format!("t{t}-{i}");
                    j.append_deferred(&Record::Started { step: step.clone() })
                        .expect("started");
                    let finished = Record::Finished {
                        step,
                        fingerprint: "fp".into(),
                        outputs: serde_json::json!({"i": i}),
                        time: "2026-12-03T00:00:00Z".into(),
                    };
                    j.append_deferred(&finished).expect("finished");
                    if i % 7 == 0 {
                        j.sync().expect("sync");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    // Read before any final sync: what a killed process leaves.
    let replay = journal::read(&path).expect("read");
    assert_eq!(replay.finished.len(), 400);
    assert!(replay.unfinished.is_empty());
    assert_eq!(replay.tail, None);
    j.sync().expect("sync");
    assert_eq!(journal::read(&path).expect("read").finished.len(), 400);
}
