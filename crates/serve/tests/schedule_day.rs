//! A simulated day: events over HEC, windows requested exactly as ES's scheduler would run
//! them, outputs written once, late events counted, and a graceful stop that runs the last
//! windows. Then forwarding to a second instance on loopback.

mod common;

use cimhunt_serve::config::ForwardConfig;
use cimhunt_serve::{DetectionId, ScheduledDetection, SimClock};
use common::*;

fn detections() -> Vec<ScheduledDetection> {
    vec![
        ScheduledDetection::escu_default(DetectionId::new("Hourly")),
        ScheduledDetection::new(DetectionId::new("HalfHour"), "*/30 * * * *", "-30m@m", "@m")
            .unwrap(),
    ]
}

/// One event every 30 minutes of 2024-05-01, at minute 5 and 35.
fn day_events() -> String {
    (0..48)
        .map(|i| {
            let secs = 1_714_521_600 + i * 1800 + 300;
            format!(r#"{{"event":"e{i:02}","time":{secs}}}"#)
        })
        .collect()
}

#[tokio::test]
async fn a_day_runs_every_window_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SimClock::new(t("2024-05-01T00:00:00Z"));
    let mut c = sim_config(&dir.path().join("state"), &clock);
    c.outputs.risk = Some(dir.path().join("risk.jsonl"));
    c.outputs.rows = Some(dir.path().join("rows.jsonl"));
    let sink = FakeSink::new(detections());
    let mut h = start(c, sink.clone()).await;
    let http = client();
    let r = http
        .post(url(&h, "/services/collector/event"))
        .header("Authorization", format!("Splunk {TOKEN}"))
        .body(day_events())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("48 events", || sink.events().len() == 48).await;

    // Advance a simulated day and an hour, an hour at a time.
    for hour in 1..=25 {
        clock.advance(3600);
        let expected = hour + 2 * hour;
        wait_until("the hour's windows", || sink.windows().len() == expected).await;
    }
    let windows = sink.windows();
    let hourly: Vec<_> = windows
        .iter()
        .filter(|w| w.detection.as_str() == "Hourly")
        .collect();
    assert_eq!(hourly.len(), 25);
    for (i, w) in hourly.iter().enumerate() {
        let at = t("2024-05-01T01:00:00Z").as_secs() + 3600 * i as i64;
        assert_eq!(w.scheduled.as_secs(), at);
        assert_eq!(w.earliest.as_secs(), at - 70 * 60, "earliest = -70m@m");
        assert_eq!(w.latest.as_secs(), at - 10 * 60, "latest = -10m@m");
    }
    // Windows reach the engine in scheduled order, ties in detection order.
    let order: Vec<_> = windows
        .iter()
        .map(|w| (w.scheduled, w.detection.clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|(s, d)| (*s, d.as_str() != "Hourly"));
    assert_eq!(order, sorted);

    // Every event is in exactly one window of each detection.
    let risk = json_lines(&dir.path().join("risk.jsonl"));
    let by_object = count_by(&risk, "risk_object");
    assert_eq!(by_object.len(), 48);
    assert!(by_object.values().all(|&n| n == 2), "{by_object:?}");

    // An event whose windows have run is late; the engine counts it.
    let r = http
        .post(url(&h, "/services/collector/event"))
        .header("Authorization", format!("Splunk {TOKEN}"))
        .body(r#"{"event":"late","time":1714525200}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.stop();
    let report = h.wait().await.unwrap();
    assert_eq!(report.late_events, 1);
    assert_eq!(report.events_accepted, 49);
    assert_eq!(report.windows_run, 75);
}

#[tokio::test]
async fn graceful_stop_runs_the_windows_of_received_events_and_restart_repeats_none() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let risk_path = dir.path().join("risk.jsonl");
    let clock = SimClock::new(t("2024-05-01T10:00:00Z"));
    let mut c = sim_config(&state, &clock);
    c.outputs.risk = Some(risk_path.clone());
    let sink = FakeSink::new(vec![ScheduledDetection::escu_default(DetectionId::new(
        "Hourly",
    ))]);
    let mut h = start(c.clone(), sink.clone()).await;
    let http = client();
    // 10:20 and 11:30: in the windows of 11:00 ([09:50, 10:50)) and 12:00 ([10:50, 11:50)),
    // both still in the future at 10:00.
    let r = http
        .post(url(&h, "/services/collector/event"))
        .header("Authorization", format!("Splunk {TOKEN}"))
        .body(r#"{"event":"a","time":1714558800}{"event":"b","time":1714563000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.stop();
    let report = h.wait().await.unwrap();
    let risk = json_lines(&risk_path);
    assert_eq!(
        count_by(&risk, "risk_object").len(),
        2,
        "both events' windows ran at stop"
    );
    assert_eq!(
        report.windows_run, 2,
        "11:00 and 12:00, not 13:00 ([11:50, 12:50))"
    );

    // A restart at 14:30 neither repeats those windows nor skips 13:00 and 14:00.
    clock.set(t("2024-05-01T14:30:00Z"));
    let sink2 = FakeSink::new(vec![ScheduledDetection::escu_default(DetectionId::new(
        "Hourly",
    ))]);
    let mut h = start(c, sink2.clone()).await;
    wait_until("the 13:00 and 14:00 windows", || sink2.windows().len() == 2).await;
    h.stop();
    h.wait().await.unwrap();
    let ran: Vec<_> = sink2
        .windows()
        .iter()
        .map(|w| w.scheduled.to_string())
        .collect();
    assert_eq!(ran, ["2024-05-01T13:00:00Z", "2024-05-01T14:00:00Z"]);
    assert!(
        sink2.events().is_empty(),
        "committed events are not replayed"
    );
    assert_eq!(json_lines(&risk_path).len(), 2, "no output written twice");
}

#[tokio::test]
async fn forwarding_survives_an_unreachable_receiver_and_a_restart() {
    forwarding_survives(None).await;
}

/// Regression: every window waiting for an unreachable Splunk was held in memory, as envelopes,
/// however long Splunk stayed away. Beyond the budget they now wait in the spool, and each is
/// read back from it when its turn comes (here: all but the first).
#[tokio::test]
async fn windows_waiting_beyond_the_forward_budget_are_read_back_from_the_spool() {
    forwarding_survives(Some(1)).await;
}

/// Forwards a day of windows to a receiver that is down until the sender restarts, with
/// `max_held` bytes of envelopes held in memory when given; every risk event and notable must
/// arrive once.
async fn forwarding_survives(max_held: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    // Reserve a port for the receiver, which starts only later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clock = SimClock::new(t("2024-05-01T00:00:00Z"));
    let mut c = sim_config(&dir.path().join("a"), &clock);
    let mut fwd = ForwardConfig::new(format!("http://127.0.0.1:{port}"), TOKEN);
    fwd.max_backoff_ms = 200;
    if let Some(bytes) = max_held {
        fwd.max_held_bytes = bytes;
    }
    c.forward = Some(fwd);
    let sender = FakeSink::new(vec![ScheduledDetection::escu_default(DetectionId::new(
        "Hourly",
    ))]);
    let mut a = start(c.clone(), sender.clone()).await;
    let http = client();
    let r = http
        .post(url(&a, "/services/collector/event"))
        .header("Authorization", format!("Splunk {TOKEN}"))
        .body(day_events())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("48 events", || sender.events().len() == 48).await;
    clock.advance(6 * 3600);
    wait_until("six windows", || sender.windows().len() == 6).await;
    // Nobody listens: stop A with its outputs still spooled.
    a.stop();
    let report = a.wait().await.unwrap();
    assert!(report.forward_pending > 0, "{report:?}");

    // The receiver comes up; A restarts and delivers everything, once.
    let mut rc = config(&dir.path().join("b"));
    rc.listen = format!("127.0.0.1:{port}").parse().unwrap();
    let receiver = FakeSink::new(vec![]);
    let mut b = start(rc, receiver.clone()).await;
    let mut a = start(c, sender.clone()).await;
    // A's stop ran every window holding an event (the whole day): 48 risk events and 48
    // notables, all spooled while the receiver was down.
    wait_until("forwarded events", || receiver.events().len() == 96).await;
    a.stop();
    a.wait().await.unwrap();
    b.stop();
    b.wait().await.unwrap();
    let events = receiver.events();
    let risk: Vec<_> = events.iter().filter(|e| e.index == "risk").collect();
    assert_eq!(risk.len(), 48);
    assert!(
        events
            .iter()
            .all(|e| e.sourcetype.as_deref() == Some("stash"))
    );
    assert!(events.iter().filter(|e| e.index == "notable").count() == 48);
    assert_eq!(risk[0].source.as_deref(), Some("ESCU - Hourly - Rule"));
    let ids: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| match &e.body {
            cimhunt_serve::EventBody::Json(v) => {
                v.value()["cimhunt_id"].as_str().unwrap().to_owned()
            }
            _ => panic!("forwarded events are JSON"),
        })
        .collect();
    assert_eq!(ids.len(), 96, "no duplicate");
}

/// Regression: the schedule was anchored at the scheduler thread's first tick, so a clock moved
/// on right after the service started (before that tick) skipped the windows in between.
#[tokio::test]
async fn a_clock_moved_at_once_after_start_still_runs_the_windows_since_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SimClock::new(t("2024-05-01T00:00:00Z"));
    let mut c = sim_config(&dir.path().join("state"), &clock);
    // A long tick: the scheduler's first tick comes well after the clock has moved.
    c.tick_ms = 300;
    let sink = FakeSink::new(detections());
    let mut h = start(c, sink.clone()).await;
    clock.advance(3 * 3600);
    // Hourly at 01:00, 02:00, 03:00; half-hourly at 00:30 ... 03:00.
    wait_until("the windows since start", || sink.windows().len() == 3 + 6).await;
    let first_hourly = sink
        .windows()
        .into_iter()
        .find(|w| w.detection.as_str() == "Hourly")
        .unwrap();
    assert_eq!(first_hourly.scheduled, t("2024-05-01T01:00:00Z"));
    h.stop();
    h.wait().await.unwrap();
}
