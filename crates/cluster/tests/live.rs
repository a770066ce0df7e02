//! Live mode: events published over time, workers keeping one-minute buckets, windows reduced
//! on ESCU's schedule by whichever worker holds the lease — the rows, risk events and notables
//! of every window are those a single engine fed the same events gives for that window.

mod common;

use cimhunt_cluster::{Clock, Limits};
use cimhunt_engine::SpillOptions;
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
    assert_windows_eq(&got, &expected);
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

#[test]
fn live_windows_of_detections_with_one_plan_or_one_state_equal_a_local_engine() {
    // The live side of `detections_with_one_plan_or_one_state_get_the_rows_of_a_local_hunt`: a
    // window merges the one partial sent per plan into every detection with that plan, and the
    // lanes give a detection sharing another's state its copy.
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_copies_job();
    let dir = tempfile::tempdir().unwrap();
    let mut files = synthetic(dir.path(), 1000, 2);
    files.extend(seed_fixtures());
    let expected = local_windows(&job, &files);
    let rows = |p: &std::collections::BTreeMap<_, Printed>, name: &str| {
        let tag = format!("\"detection\":\"{name}\"");
        p.values()
            .flat_map(|w| &w.rows)
            .filter(|r| r.contains(&tag))
            .count()
    };
    let seed = job.detections[0].name.clone();
    assert!(rows(&expected, &seed) >= 5, "{expected:?}");
    assert_eq!(
        rows(&expected, &format!("{seed} (copy)")),
        rows(&expected, &seed)
    );
    assert_eq!(
        rows(&expected, &format!("{seed} (variant)")),
        rows(&expected, &seed)
    );
    let nats = server.options(&prefix("livecopies"));
    publish_live(&nats, &files, "pub-1", limits());
    let workers = start_workers(2, &nats, &job.cluster(now()), &test_config(Clock::Events));
    wait_queue_empty(&nats, 300);
    workers.stop();
    // Regression: a reducer held a window's merged states and all its outputs in memory. The
    // one reducing here has a one-byte budget: every state goes to disk, shared plans too.
    let dir = tempfile::tempdir().unwrap();
    let spill = SpillOptions {
        dir: dir.path().to_path_buf(),
        budget_bytes: 1,
    };
    let drained = drain_with(&nats, job.cluster_with(now(), Some(spill)), Clock::Events);
    assert!(drained.spilled_bytes.0 > 0, "{drained:?}");
    assert_windows_eq(&cluster_windows(&nats), &expected);
}

/// Regression: on the events clock a schedule started from the earliest minute acknowledged so
/// far, so a replay whose later events were published (or processed) first began after the
/// earlier ones, and their windows never ran. It now starts once the queue is processed.
#[test]
fn a_replay_published_late_events_first_runs_the_windows_of_the_early_ones() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_job();
    let dir = tempfile::tempdir().unwrap();
    // One file in time order, cut in two halves: the later half is published first.
    let whole = std::fs::read_to_string(&synthetic(dir.path(), 1_600, 1)[0]).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    let (early, late) = lines.split_at(lines.len() / 2);
    let mut files = Vec::new();
    for (name, half) in [("late.log", late), ("early.log", early)] {
        let p = dir.path().join(name);
        std::fs::write(&p, half.join("\n") + "\n").unwrap();
        files.push(p);
    }
    let expected = local_windows(&job, &files);
    let late_first = local_windows(&job, &files[..1]).keys().next().copied();
    assert!(
        expected.keys().next().copied() < late_first,
        "the early events have windows before the late ones'"
    );
    let nats = server.options(&prefix("order"));
    let small = Limits {
        max_bytes: 8 << 10,
        max_records: 4096,
    };
    assert!(publish_live(&nats, &files, "pub-1", small) >= 100);
    let workers = start_workers(1, &nats, &job.cluster(now()), &test_config(Clock::Events));
    wait_queue_empty(&nats, 300);
    workers.stop();
    drain(&nats, &job, Clock::Events);
    assert_windows_eq(&cluster_windows(&nats), &expected);
}
