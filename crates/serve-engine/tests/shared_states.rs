//! Detections that aggregate the same events the same way share one state in the engine
//! (`JobBuilder::share_states`): each window must still get every event of its buckets once,
//! as it does when each detection holds a state of its own, whatever the schedules.

mod common;

use std::path::Path;
use std::sync::Arc;

use cimhunt_engine::Job;
use cimhunt_model::Model;
use cimhunt_serve::{DetectionId, Sink, Window};
use cimhunt_serve_engine::EngineSink;
use cimhunt_spl::{MacroSet, Timestamp, compile};

/// 2026-01-05T11:00:00Z, a whole hour.
const HOUR_11: i64 = 1_767_610_800;
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

const COUNT: &str = "index=main | stats count by message";

/// Name, search, cron, earliest and latest minutes before the scheduled time.
const DETECTIONS: [Spec; 3] = [
    ("Hourly", COUNT, "0 * * * *", 70, 10),
    ("Half", COUNT, "*/30 * * * *", 40, 10),
    (
        "Parent",
        "index=main host=pc1 | stats count by message | join type=inner message [search index=main | stats count by message | rename count as all]",
        "0 * * * *",
        130,
        10,
    ),
];

/// A detection: name, search, cron, earliest and latest minutes before the scheduled time.
type Spec = (&'static str, &'static str, &'static str, i64, i64);

/// Per window: its detection, time and sorted rows.
type Windows = Vec<(String, i64, Vec<String>)>;

fn sink(detections: &[Spec], share: bool, spill: Option<&Path>) -> (Arc<Job>, EngineSink) {
    let model = Arc::new(Model::escu().unwrap());
    let mut b = Job::builder(Arc::clone(&model)).share_states(share);
    let mut details = Vec::new();
    for (name, search, cron, earliest, latest) in detections {
        let yaml = format!(
            "name: {name}\ntype: TTP\nsearch: '{search}'\ndeployment:\n  scheduling:\n    cron_schedule: '{cron}'\n    earliest_time: -{earliest}m@m\n    latest_time: -{latest}m@m\n"
        );
        let d = cimhunt_content::parse_detection(&yaml, Path::new("d.yml")).unwrap();
        let c = compile(&d.search, &MacroSet::new(), model.as_ref()).unwrap();
        b = b.detection(d.name.clone(), c.plan, &c.expanded);
        details.push(d);
    }
    let job = Arc::new(b.build().unwrap());
    let options = cimhunt_engine::Options {
        spill: spill.map(|dir| cimhunt_engine::SpillOptions {
            dir: dir.to_path_buf(),
            budget_bytes: 1,
        }),
        ..cimhunt_engine::Options::default()
    };
    let sink = EngineSink::builder(Arc::clone(&job), details)
        .options(options)
        .build()
        .unwrap();
    (job, sink)
}

/// Whether `cron` (one of the three this file uses) fires at `t`.
fn fires(cron: &str, t: i64) -> bool {
    let minute = t.rem_euclid(HOUR) / MINUTE;
    match cron {
        "0 * * * *" => minute == 0,
        "*/30 * * * *" => minute % 30 == 0,
        "0 0 * * *" => t.rem_euclid(24 * HOUR) == 0,
        _ => panic!("{cron}"),
    }
}

/// Every window of every detection, every half hour for `steps` steps from 11:00, with events
/// arriving every half hour (some of them late), committed in time order: per window, its
/// detection, time and sorted rows; and the most deltas owed at once.
fn run(detections: &[Spec], share: bool, steps: i64, shared: usize) -> (Windows, usize) {
    let (out, most_owed, ..) = run_spilling(detections, share, steps, shared, None);
    (out, most_owed)
}

/// [`run`], with state beyond a one-byte budget in `spill` when given; also the bytes written
/// there and how many rows the windows' outputs held on disk.
fn run_spilling(
    detections: &[Spec],
    share: bool,
    steps: i64,
    shared: usize,
    spill: Option<&Path>,
) -> (Windows, usize, u64, usize) {
    let (job, sink) = sink(detections, share, spill);
    if share {
        // Not vacuous: the job does share (these detections read the first one's state).
        let sharing = (0..job.detections().len())
            .filter(|&d| job.alias_of(d) == Some(0))
            .count();
        assert_eq!(sharing, shared, "detections sharing the first one's state");
    }
    let mut out = Vec::new();
    let mut most_owed = 0;
    let mut rows_on_disk = 0;
    for step in 0..steps {
        let now = HOUR_11 + step * 30 * MINUTE;
        // Events of the last half hour, and a few from further back.
        let mut events = Vec::new();
        for i in 0..12i64 {
            let t = now - 30 * MINUTE + i * 150;
            let m = format!("m{}", (i * 7 + step * 3) % 5);
            events.push((t, m, if i % 3 == 0 { "pc2" } else { "pc1" }));
        }
        events.push((now - 55 * MINUTE, format!("late{}", step % 2), "pc1"));
        common::submit_messages(&sink, step as u64, &events);
        for (name, _, cron, earliest, latest) in detections {
            if !fires(cron, now) {
                continue;
            }
            let w = Window {
                detection: DetectionId::new(*name),
                scheduled: secs(now),
                earliest: secs(now - earliest * MINUTE),
                latest: secs(now - latest * MINUTE),
            };
            let result = sink.run_window(&w).unwrap();
            rows_on_disk += result.rows.on_disk();
            let mut rows: Vec<String> = result
                .rows
                .iter()
                .map(|r| r.unwrap().get().to_owned())
                .collect();
            rows.sort();
            out.push((name.to_string(), now, rows));
            sink.window_committed(&w);
            most_owed = most_owed.max(sink.owed_deltas());
        }
    }
    (out, most_owed, sink.rows_spilled_bytes(), rows_on_disk)
}

fn assert_same_windows(
    detections: &[Spec],
    own: &[(String, i64, Vec<String>)],
    shared: &[(String, i64, Vec<String>)],
) {
    // Every detection had rows in some window (so the comparison says something).
    for (name, ..) in detections {
        assert!(
            own.iter().any(|(n, _, rows)| n == name && !rows.is_empty()),
            "{name} has no rows"
        );
    }
    assert_eq!(own.len(), shared.len());
    for (a, b) in own.iter().zip(shared) {
        assert_eq!(a, b);
    }
}

#[test]
fn detections_sharing_a_state_get_the_windows_of_detections_holding_their_own() {
    let (own, owed_without) = run(&DETECTIONS, false, 10, 0);
    let (shared, owed_with) = run(&DETECTIONS, true, 10, 2);
    assert_eq!(owed_without, 0);
    // The deltas were really passed on: the half-hourly detection's windows took buckets
    // that the hourly ones and the subsearch were owed.
    assert!(owed_with > 0);
    assert_same_windows(&DETECTIONS, &own, &shared);
}

#[test]
fn a_detection_with_rarer_windows_is_owed_few_deltas_and_all_their_events() {
    // The daily detection's windows come once for 48 of the half-hourly one's: the deltas owed
    // to it are merged as they pile up (beyond 16), not kept one per window.
    const RARE: [Spec; 2] = [
        ("Often", COUNT, "*/30 * * * *", 40, 10),
        ("Daily", COUNT, "0 0 * * *", 1450, 10),
    ];
    let (own, _) = run(&RARE, false, 60, 0);
    let (shared, most_owed) = run(&RARE, true, 60, 1);
    assert!(own.iter().any(|(n, ..)| n == "Daily"), "a daily window ran");
    assert!(most_owed > 8, "{most_owed} deltas owed at most");
    assert!(most_owed <= 17, "{most_owed} deltas owed at most");
    assert_same_windows(&RARE, &own, &shared);
}

#[test]
fn windows_holding_their_state_on_disk_get_the_rows_of_windows_in_memory() {
    // `stats` over rows after `eventstats`: a window's rows-side state goes to disk too.
    const ROWS_SIDE: [Spec; 2] = [
        (
            "Per host",
            "index=main | stats count by message host | eventstats sum(count) as total by host \
             | stats max(count) as top values(total) as total by host message",
            "0 * * * *",
            70,
            10,
        ),
        ("Half", COUNT, "*/30 * * * *", 40, 10),
    ];
    let (memory, _) = run(&ROWS_SIDE, false, 8, 0);
    let dir = tempfile::tempdir().unwrap();
    let (disk, _, written, rows_on_disk) = run_spilling(&ROWS_SIDE, false, 8, 0, Some(dir.path()));
    assert_same_windows(&ROWS_SIDE, &memory, &disk);
    assert!(written > 0, "the windows' rows-side state went to disk");
    // So did their output rows, which were read back in order (compared above).
    assert!(rows_on_disk > 0);
    // The files were unlinked when made: nothing is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn windows_of_joins_filtered_as_their_parts_are_read_get_the_rows_of_whole_reads() {
    // The same aggregation joined to different subsearches: shared, the later windows decode
    // their copy of a delta keeping only the groups their subsearch has; on disk, each part
    // is filtered as it is read back. Both must give what windows holding everything give.
    const JOINS: [Spec; 2] = [
        (
            "On pc2",
            "index=main | stats count by message | join message [search index=main host=pc2 | stats count as seen by message]",
            "0 * * * *",
            130,
            10,
        ),
        (
            "On pc1",
            "index=main | stats count by message | join message [search index=main host=pc1 | stats count as seen by message]",
            "*/30 * * * *",
            40,
            10,
        ),
    ];
    let (own, _) = run(&JOINS, false, 10, 0);
    let (shared, _) = run(&JOINS, true, 10, 1);
    assert_same_windows(&JOINS, &own, &shared);
    let dir = tempfile::tempdir().unwrap();
    let (disk, _, written, _) = run_spilling(&JOINS, false, 10, 0, Some(dir.path()));
    assert!(written > 0);
    assert_same_windows(&JOINS, &own, &disk);
    // Shared and spilling: the packed deltas wait on disk and are read back by each window.
    let dir = tempfile::tempdir().unwrap();
    let (shared_disk, _, written, _) = run_spilling(&JOINS, true, 10, 1, Some(dir.path()));
    assert!(written > 0);
    assert_same_windows(&JOINS, &own, &shared_disk);
    // Not vacuous: the joins dropped groups (messages never seen on pc2 in a window are in
    // its aggregation but in none of its rows).
    let rows = |windows: &Windows, name: &str| -> usize {
        windows
            .iter()
            .filter(|(n, ..)| n == name)
            .map(|(_, _, r)| r.len())
            .sum()
    };
    let (all, _) = run(&[("All", COUNT, "0 * * * *", 130, 10)], false, 10, 0);
    assert!(rows(&own, "On pc2") < rows(&all, "All"));
}
