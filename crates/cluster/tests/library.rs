//! The whole runnable ESCU library (every detection of `../shared` that compiles against the
//! model) over the seed fixtures and a slice of the shared EVTX corpus: a batch on 1, 2 and 4
//! workers prints what a local `hunt` prints, and live windows equal a local engine's.
//! Run with `cargo test -- --ignored` (they need `../shared`).

mod common;

use cimhunt_cluster::{Clock, Limits};
use common::*;

#[test]
#[ignore = "needs ../shared (ESCU content and the EVTX corpus)"]
fn library_batch_on_1_2_and_4_workers_prints_what_a_local_hunt_prints() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = library_job();
    let mut files = seed_fixtures();
    files.extend(corpus_slice());
    let (expected, local) = local_hunt(&job, &files);
    assert!(expected.rows.len() >= 50, "{} rows", expected.rows.len());
    assert!(!expected.risk.is_empty());
    let limits = Limits {
        max_bytes: 256 << 10,
        max_records: 4096,
    };
    for n in [1, 2, 4] {
        let nats = server.options(&prefix("lib"));
        let workers = start_workers(n, &nats, &job.cluster(now()), &test_config(Clock::Wall));
        let (got, outcome) = cluster_hunt(&nats, &job, &files, limits);
        workers.stop();
        assert_eq!(got.rows.len(), expected.rows.len(), "{n} workers");
        assert_eq!(got, expected, "{n} workers");
        assert_eq!(outcome.stats.records, local.records, "{n} workers");
        assert_eq!(outcome.stats.bytes, local.bytes, "{n} workers");
        assert_eq!(outcome.stats.events, local.events, "{n} workers");
        assert_eq!(outcome.stats.prefiltered, local.prefiltered, "{n} workers");
        assert_eq!(
            outcome.stats.skipped_records, local.skipped_records,
            "{n} workers"
        );
    }
}

#[test]
#[ignore = "needs ../shared (ESCU content)"]
fn library_live_windows_equal_a_local_engine_window_by_window() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = library_job();
    let dir = tempfile::tempdir().unwrap();
    let mut files = seed_fixtures();
    files.extend(synthetic(dir.path(), 2000, 2));
    let expected = local_windows(&job, &files);
    assert!(expected.len() >= 3, "{} windows", expected.len());
    let nats = server.options(&prefix("liblive"));
    let limits = Limits {
        max_bytes: 32 << 10,
        max_records: 4096,
    };
    publish_live(&nats, &files, "pub-1", limits);
    let workers = start_workers(2, &nats, &job.cluster(now()), &test_config(Clock::Events));
    wait_queue_empty(&nats, 600);
    workers.stop();
    drain(&nats, &job, Clock::Events);
    assert_windows_eq(&cluster_windows(&nats), &expected);
}
