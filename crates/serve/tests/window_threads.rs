//! Windows of different detections run on several threads, and their outputs are committed in
//! the order the scheduler gives them one at a time: the same files and the same commits as
//! with one thread.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cimhunt_serve::{DetectionId, ScheduledDetection, SimClock, Window};
use common::*;

/// `Slow` first (its windows wait for another detection's window of the same time), then four
/// hourly detections and one every 30 minutes.
fn detections() -> Vec<ScheduledDetection> {
    let mut d: Vec<_> = ["Slow", "B", "C", "D", "E"]
        .into_iter()
        .map(|n| ScheduledDetection::escu_default(DetectionId::new(n)))
        .collect();
    d.push(
        ScheduledDetection::new(DetectionId::new("Half"), "*/30 * * * *", "-30m@m", "@m").unwrap(),
    );
    d
}

/// One event every 10 minutes from 00:00 to 05:50 on 2024-05-01.
fn events() -> String {
    (0..36)
        .map(|i| {
            let secs = 1_714_521_600 + i * 600 + 60;
            format!(r#"{{"event":"e{i:02}","time":{secs}}}"#)
        })
        .collect()
}

/// Sends the events at 00:00, moves the clock to 06:00 at once (every window of six hours is
/// due together), waits for the windows, stops; the committed windows and the risk file.
async fn replay(dir: &Path, sink: Arc<FakeSink>) -> (Vec<Window>, String) {
    let clock = SimClock::new(t("2024-05-01T00:00:00Z"));
    let mut c = sim_config(&dir.join("state"), &clock);
    c.outputs.risk = Some(dir.join("risk.jsonl"));
    let mut h = start(c, sink.clone()).await;
    let r = client()
        .post(url(&h, "/services/collector/event"))
        .header("Authorization", format!("Splunk {TOKEN}"))
        .body(events())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("the events", || sink.events().len() == 36).await;
    clock.set(t("2024-05-01T06:00:00Z"));
    // Six hourly windows of five detections, twelve of `Half`.
    wait_until("the windows", || sink.committed.lock().unwrap().len() == 42).await;
    h.stop();
    h.wait().await.unwrap();
    let committed = sink.committed.lock().unwrap().clone();
    let risk = std::fs::read_to_string(dir.join("risk.jsonl")).unwrap();
    (committed, risk)
}

fn order(windows: &[Window]) -> Vec<(String, String)> {
    windows
        .iter()
        .map(|w| (w.scheduled.to_string(), w.detection.to_string()))
        .collect()
}

#[tokio::test]
async fn windows_run_on_threads_are_committed_as_one_thread_commits_them() {
    let one = tempfile::tempdir().unwrap();
    let (committed_one, risk_one) = replay(one.path(), FakeSink::new(detections())).await;

    let three = tempfile::tempdir().unwrap();
    let sink = FakeSink::with_threads(detections(), 3, "Slow");
    let (committed_three, risk_three) = replay(three.path(), sink.clone()).await;

    assert_eq!(order(&committed_three), order(&committed_one));
    assert_eq!(risk_three, risk_one, "the same outputs in the same order");
    assert_eq!(
        risk_one.lines().count(),
        6 * 36,
        "each event once per detection"
    );
    assert!(
        sink.most_running.load(Ordering::Relaxed) >= 2,
        "windows ran at the same time"
    );
    assert!(
        !sink.same_detection_overlap.load(Ordering::Relaxed),
        "never two windows of one detection at once"
    );
    // Each `Slow` window finished after another detection's of the same time, yet was
    // committed first.
    let finished = order(&sink.windows());
    assert_ne!(finished, order(&committed_three));
    let first_at_one = |w: &[(String, String)]| {
        w.iter()
            .find(|(at, _)| at.starts_with("2024-05-01T01:00"))
            .map(|(_, d)| d.clone())
    };
    assert_ne!(first_at_one(&finished).as_deref(), Some("Slow"));
    assert_eq!(
        first_at_one(&order(&committed_three)).as_deref(),
        Some("Slow")
    );
}
