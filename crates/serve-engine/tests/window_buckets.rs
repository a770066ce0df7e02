//! What a window does with the time buckets it reads: a bucket no later window of the
//! detection reads is moved into the window's state (held once while the window is finished),
//! and a bucket a later, overlapping window also reads stays for it.

mod common;

use cimhunt_serve::{DetectionId, Sink, Window, WindowOutput};
use cimhunt_serve_engine::EngineSink;
use cimhunt_spl::Timestamp;

/// 2026-01-05T11:00:00Z, a whole hour.
const HOUR_11: i64 = 1_767_610_800;
const HOUR: i64 = 3600;

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

/// A sink running `stats count by message` every hour over `-{earliest}m@m` to `-10m@m`.
fn sink(earliest_minutes: i64) -> EngineSink {
    common::one_detection_sink(&format!(
        "name: Probe\ntype: TTP\nsearch: 'index=main | stats count by message'\ndeployment:\n  scheduling:\n    cron_schedule: '0 * * * *'\n    earliest_time: -{earliest_minutes}m@m\n    latest_time: -10m@m\n"
    ))
}

/// One event per message at `t`.
fn submit(sink: &EngineSink, seq: u64, t: i64, messages: &[&str]) {
    let events: Vec<(i64, String, &str)> =
        messages.iter().map(|m| (t, m.to_string(), "pc1")).collect();
    common::submit_messages(sink, seq, &events);
}

fn window(hour: i64, earliest_minutes: i64) -> Window {
    Window {
        detection: DetectionId::new("Probe"),
        scheduled: secs(hour),
        earliest: secs(hour - earliest_minutes * 60),
        latest: secs(hour - 10 * 60),
    }
}

/// The messages of a window's rows with their counts.
fn counts(out: &WindowOutput) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = out
        .rows
        .iter()
        .map(|r| {
            let v = r.unwrap().value();
            let message = v["message"].as_str().unwrap_or_default().to_owned();
            (message, v["count"].to_string())
        })
        .collect();
    got.sort();
    got
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(m, c)| (m.to_string(), c.to_string()))
        .collect()
}

#[test]
fn a_window_moves_the_buckets_no_later_window_reads() {
    let sink = sink(70);
    // 10:20 falls in the 11:00 window (09:50 to 10:50).
    submit(&sink, 0, HOUR_11 - 40 * 60, &["a", "b", "c"]);
    let w = window(HOUR_11, 70);
    let out = sink.run_window(&w).unwrap();
    assert_eq!(counts(&out), pairs(&[("a", "1"), ("b", "1"), ("c", "1")]));
    // No later window reads that bucket, so the window took it rather than a copy of it.
    assert_eq!(sink.held(), 0);
    sink.window_committed(&w);
    assert_eq!(sink.held(), 0);
}

#[test]
fn a_bucket_an_overlapping_window_also_reads_stays_for_it() {
    // Two-hour windows every hour: each bucket is read by two windows.
    let sink = sink(130);
    submit(&sink, 0, HOUR_11 - 40 * 60, &["a", "b", "c"]);
    let first = window(HOUR_11, 130);
    let out = sink.run_window(&first).unwrap();
    assert_eq!(counts(&out), pairs(&[("a", "1"), ("b", "1"), ("c", "1")]));
    sink.window_committed(&first);
    assert_eq!(sink.held(), 3);
    // The next run covers 09:50 to 11:50: the same bucket again, and two messages more.
    submit(&sink, 1, HOUR_11 + 5 * 60, &["a", "b"]);
    let second = window(HOUR_11 + HOUR, 130);
    let out = sink.run_window(&second).unwrap();
    assert_eq!(counts(&out), pairs(&[("a", "2"), ("b", "2"), ("c", "1")]));
    sink.window_committed(&second);
    // Only the newer bucket (its two groups) is left for the window after.
    assert_eq!(sink.held(), 2);
}

/// Regression guard for filtering a window's parts by a `join`'s subsearch rows before they are
/// merged: a bucket that a later window also reads is filtered as this window's copy, never in
/// the store, since the later window's subsearch may keep other keys.
#[test]
fn a_join_filters_this_windows_copy_of_a_bucket_not_the_bucket() {
    let sink = common::one_detection_sink(
        "name: Probe\ntype: TTP\nsearch: 'index=main | stats count by message | join message [search index=main host=pc2 | stats count as on_pc2 by message]'\ndeployment:\n  scheduling:\n    cron_schedule: '0 * * * *'\n    earliest_time: -130m@m\n    latest_time: -10m@m\n",
    );
    let at = HOUR_11 - 40 * 60;
    let events = [
        (at, "a".to_owned(), "pc1"),
        (at, "b".to_owned(), "pc1"),
        (at, "c".to_owned(), "pc1"),
        (at, "a".to_owned(), "pc2"),
    ];
    common::submit_messages(&sink, 0, &events);
    let first = window(HOUR_11, 130);
    let out = sink.run_window(&first).unwrap();
    // Only `a` was seen on pc2.
    assert_eq!(counts(&out), pairs(&[("a", "2")]));
    sink.window_committed(&first);
    // `b` is seen on pc2 in the next hour: the next window (09:50 to 11:50) reads the first
    // bucket again, and must find `b`'s earlier event there although the first window's
    // subsearch had no `b`.
    common::submit_messages(&sink, 1, &[(HOUR_11 + 5 * 60, "b".to_owned(), "pc2")]);
    let second = window(HOUR_11 + HOUR, 130);
    let out = sink.run_window(&second).unwrap();
    assert_eq!(counts(&out), pairs(&[("a", "2"), ("b", "2")]));
}

/// Regression guard for leaving a window's buckets without merging them when finishing does
/// not read them (a `join`'s subsearch, not made when the search before the `join` found no
/// event): the buckets a later window reads must still be kept for it, and only those.
#[test]
fn buckets_finishing_did_not_read_are_kept_for_later_windows_and_the_rest_dropped() {
    let sink = common::one_detection_sink(
        "name: Probe\ntype: TTP\nsearch: 'index=main host=pc2 | join message [search index=main | stats count as seen by message]'\ndeployment:\n  scheduling:\n    cron_schedule: '0 * * * *'\n    earliest_time: -130m@m\n    latest_time: -10m@m\n",
    );
    // The 11:00 window reads 08:50 to 10:50; the next one reads from 09:50 on.
    let overlap = HOUR_11 - 40 * 60;
    let only_this = HOUR_11 - 120 * 60;
    let events = [
        (overlap, "a".to_owned(), "pc1"),
        (overlap, "b".to_owned(), "pc1"),
        (only_this, "d".to_owned(), "pc1"),
    ];
    common::submit_messages(&sink, 0, &events);
    let first = window(HOUR_11, 130);
    // Nothing was seen on pc2: no row, and the subsearch was never made.
    let out = sink.run_window(&first).unwrap();
    assert_eq!(out.rows.len(), 0);
    sink.window_committed(&first);
    // The overlapping bucket's two groups wait for the next window; `d`'s bucket is gone.
    assert_eq!(sink.held(), 2);
    common::submit_messages(&sink, 1, &[(HOUR_11 + 5 * 60, "b".to_owned(), "pc2")]);
    let second = window(HOUR_11 + HOUR, 130);
    let out = sink.run_window(&second).unwrap();
    let rows: Vec<String> = out
        .rows
        .iter()
        .map(|r| {
            let v = r.unwrap().value();
            format!("{} {}", v["message"], v["seen"])
        })
        .collect();
    // `b`'s event of the first hour is in the subsearch's count.
    assert_eq!(rows, ["\"b\" 2"]);
}
