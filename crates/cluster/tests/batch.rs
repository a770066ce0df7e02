//! `hunt --nats`: a batch distributed over 1, 2 and 4 workers prints exactly what a local
//! `hunt` prints over the same inputs.

mod common;

use cimhunt_cluster::{Clock, Limits};
use cimhunt_engine::SpillOptions;
use common::*;

/// Small messages, so that even the seed fixtures spread over several messages and workers.
fn small() -> Limits {
    Limits {
        max_bytes: 4096,
        max_records: 3,
    }
}

#[test]
fn seed_batch_on_1_2_and_4_workers_prints_what_a_local_hunt_prints() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_job();
    let files = seed_fixtures();
    let (expected, local) = local_hunt(&job, &files);
    assert!(expected.rows.len() >= 5, "the seed's rows");
    let size: u64 = files.iter().map(|f| f.metadata().unwrap().len()).sum();
    assert_eq!(local.bytes, size, "the inputs' whole size");
    for n in [1, 2, 4] {
        let nats = server.options(&prefix("seed"));
        let workers = start_workers(n, &nats, &job.cluster(now()), &test_config(Clock::Wall));
        let (got, outcome) = cluster_hunt(&nats, &job, &files, small());
        let summaries = workers.stop();
        assert_eq!(got, expected, "{n} workers");
        assert_eq!(outcome.stats.records, local.records, "{n} workers");
        assert_eq!(outcome.stats.bytes, local.bytes, "{n} workers");
        assert_eq!(outcome.stats.events, local.events, "{n} workers");
        assert_eq!(outcome.stats.inputs, local.inputs, "{n} workers");
        assert!(outcome.messages >= 5, "{} messages", outcome.messages);
        let processed: u64 = summaries.iter().map(|s| s.messages).sum();
        assert!(processed >= outcome.messages, "{summaries:?}");
    }
}

#[test]
fn detections_with_one_plan_or_one_state_get_the_rows_of_a_local_hunt() {
    // Regressions: partial states went to the first detection with their plan's fingerprint,
    // so a second detection with the same search printed nothing and the first counted its
    // events twice; and a lane took each detection's states from its engine, which holds none
    // for a detection that shares another's state.
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_copies_job();
    let files = seed_fixtures();
    let (expected, _) = local_hunt(&job, &files);
    let of = |name: &str| {
        expected
            .rows
            .iter()
            .filter(|r| r.contains(&format!("\"detection\":\"{name}\"")))
            .count()
    };
    let seed = job.detections[0].name.clone();
    assert!(of(&seed) >= 5, "{expected:?}");
    assert_eq!(of(&format!("{seed} (copy)")), of(&seed));
    assert_eq!(of(&format!("{seed} (variant)")), of(&seed));
    let nats = server.options(&prefix("twice"));
    let workers = start_workers(2, &nats, &job.cluster(now()), &test_config(Clock::Wall));
    let (got, _) = cluster_hunt(&nats, &job, &files, small());
    assert_eq!(got, expected);
    // Regression: the collecting process held every merged state; beyond a budget (here one
    // byte: every state) they now wait on disk, shared plans too, and finish to the same rows.
    let dir = tempfile::tempdir().unwrap();
    let spill = SpillOptions {
        dir: dir.path().to_path_buf(),
        budget_bytes: 1,
    };
    let (got, _, spilled) = cluster_hunt_with(&nats, &job, &files, small(), Some(spill));
    workers.stop();
    assert!(spilled.bytes > 0, "{spilled:?}");
    assert_eq!(got, expected);
}

#[test]
fn a_batch_reports_unreadable_inputs_and_bad_records_as_a_local_hunt_does() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = seed_fixtures();
    let broken = dir.path().join("broken.log");
    let sysmon = std::fs::read_to_string(&good[0]).unwrap();
    // A record that is an event element but not well-formed XML, among good ones.
    let bad = sysmon.replacen("<EventData>", "<EventData><Data Name='x'>unclosed", 1);
    std::fs::write(&broken, bad).unwrap();
    let missing = dir.path().join("missing.log");
    let files = vec![broken.clone(), missing, good[2].clone()];
    let job = seed_job();
    let (expected, local) = local_hunt(&job, &files);
    let nats = server.options(&prefix("errs"));
    let workers = start_workers(2, &nats, &job.cluster(now()), &test_config(Clock::Wall));
    let (got, outcome) = cluster_hunt(&nats, &job, &files, small());
    workers.stop();
    assert_eq!(got, expected);
    assert_eq!(outcome.stats.skipped_records, local.skipped_records);
    assert_eq!(outcome.stats.inputs_failed, local.inputs_failed);
    assert_eq!(outcome.failed_inputs.len(), 1);
    assert!(
        outcome.errors.iter().any(|e| e
            .to_string()
            .starts_with(&format!("{}:1 (record 1)", broken.display()))),
        "{:?}",
        outcome
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
}
