//! Events without an envelope `time` are stamped with the time the service received them, by
//! its clock, so the engine can date an event that has no timestamp of its own; events with
//! `time` are not stamped.

mod common;

use cimhunt_serve::SimClock;
use common::*;

#[tokio::test]
async fn events_without_time_carry_their_receipt_time() {
    let dir = tempfile::tempdir().unwrap();
    let now = t("2026-01-05T11:00:00Z");
    let clock = SimClock::new(now);
    let sink = FakeSink::new(vec![]);
    let mut h = start(sim_config(dir.path(), &clock), sink.clone()).await;
    let http = client();
    let auth = format!("Splunk {TOKEN}");
    let body = r#"{"time":1767600000.25,"event":"timed"}{"event":"untimed"}"#;
    let r = http
        .post(url(&h, "/services/collector/event"))
        .header("Authorization", &auth)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(url(&h, "/services/collector/raw"))
        .header("Authorization", &auth)
        .body("raw line")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("three events", || sink.events().len() == 3).await;
    let stamped: Vec<(String, Option<_>, Option<_>)> = sink
        .events()
        .iter()
        .map(|e| (text(e), e.time, e.received))
        .collect();
    assert_eq!(
        stamped,
        [
            ("timed".to_owned(), Some(t("2026-01-05T08:00:00.25Z")), None),
            ("untimed".to_owned(), None, Some(now)),
            ("raw line".to_owned(), None, Some(now)),
        ]
    );
    h.stop();
    h.wait().await.unwrap();
}
