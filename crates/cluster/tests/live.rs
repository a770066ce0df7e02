//! Live mode: events published over time, workers keeping one-minute buckets, windows reduced
//! on ESCU's schedule by whichever worker holds the lease — the rows, risk events and notables
//! of every window are those a single engine fed the same events gives for that window.

mod common;

use cimhunt_cluster::{Clock, Limits};
use common::*;

fn limits() -> Limits {
    Limits {
        max_bytes: 32 << 10,
        max_records: 4096,
    }
}

#[test]
fn live_windows_on_2_workers_equal_a_local_engine_window_by_window() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_job();
    let dir = tempfile::tempdir().unwrap();
    let mut files = synthetic(dir.path(), 3000, 3);
    files.extend(seed_fixtures());
    let expected = local_windows(&job, &files);
    assert!(expected.len() >= 5, "{} windows", expected.len());
    let nats = server.options(&prefix("live"));
    let published = publish_live(&nats, &files, "pub-1", limits());
    assert!(published >= 20, "{published} messages");
    let workers = start_workers(2, &nats, &job.cluster(now()), &test_config(Clock::Events));
    wait_queue_empty(&nats, 300);
    workers.stop();
    drain(&nats, &job, Clock::Events);
    let got = cluster_windows(&nats);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert_eq!(got, expected);
    let status = cimhunt_cluster::status(&nats).unwrap();
    let outputs: usize = got
        .values()
        .map(|p| p.rows.len() + p.risk.len() + p.notables.len())
        .sum();
    assert_eq!(
        status.outputs.messages, outputs as u64,
        "each output stored once"
    );
    assert_eq!(status.schedules.len(), 1);
    assert_eq!(status.schedules[0].pending, 0);
}
