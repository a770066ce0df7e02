//! The HEC envelope's metadata reaches each event: `time` sets `_time` (and so the time bucket
//! and the scheduled window the event lands in), `host`/`source`/`sourcetype`/`index` select
//! the add-on stanzas and are the event's fields, `fields` are fields of the event, and an event
//! with neither an envelope `time` nor a timestamp of its own is dated by its receipt time.
//! Events of one request keep their own metadata, whatever their neighbours say.

mod common;

use cimhunt_serve::{
    Batch, DetectionId, EventBody, HecEvent, JsonText, Sink, Window, WindowOutput,
};
use cimhunt_serve_engine::EngineSink;
use cimhunt_spl::Timestamp;
use serde_json::Value;

/// 2026-01-05T11:00:00Z, the `SystemTime` of the events below.
const OWN_TIME: i64 = 1_767_610_800;
const HOUR: i64 = 3600;

fn xml(computer: &str, command: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><TimeCreated SystemTime='2026-01-05T11:00:00.000000000Z'/><Channel>Security</Channel><Computer>{computer}</Computer></System><EventData><Data Name='CommandLine'>{command}</Data></EventData></Event>"
    )
}

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

fn event(body: EventBody) -> HecEvent {
    HecEvent {
        body,
        time: None,
        host: None,
        source: None,
        sourcetype: Some("XmlWinEventLog".into()),
        index: "main".into(),
        fields: Vec::new(),
        received: None,
    }
}

/// A sink running one detection that reports, per command line, what each event looked like.
fn sink(search: &str) -> EngineSink {
    common::one_detection_sink(&format!("name: Probe\ntype: TTP\nsearch: '{search}'\n"))
}

/// The run of the ESCU schedule at `hour` (`-70m@m` to `-10m@m`).
fn run(sink: &EngineSink, hour: i64) -> WindowOutput {
    let w = Window {
        detection: DetectionId::new("Probe"),
        scheduled: secs(hour),
        earliest: secs(hour - 70 * 60),
        latest: secs(hour - 10 * 60),
    };
    let out = sink.run_window(&w).unwrap();
    sink.window_committed(&w);
    out
}

fn rows(out: &WindowOutput) -> Vec<Value> {
    out.rows.iter().map(|t| t.unwrap().value()).collect()
}

fn text(row: &Value, key: &str) -> String {
    match &row[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn time(row: &Value) -> f64 {
    text(row, "t").parse().unwrap()
}

#[test]
fn envelope_time_sets_the_window_an_event_lands_in() {
    let sink = sink("index=main EventCode=4688 | stats count min(_time) as t by CommandLine");
    // Both events say 11:00 themselves; the first one's envelope says 09:00:30.5.
    let mut early = event(EventBody::Text(xml("pc1", "early")));
    early.time = Some(Timestamp::from_nanos(
        (OWN_TIME - 2 * HOUR + 30) * 1_000_000_000 + 500_000_000,
        1,
    ));
    let own = event(EventBody::Text(xml("pc1", "own")));
    sink.submit(Batch {
        seq: 0,
        events: vec![early, own],
        replayed: false,
    })
    .unwrap();
    // 10:00 covers 08:50–09:50: the event the envelope dates.
    let r = rows(&run(&sink, OWN_TIME - HOUR));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(text(&r[0], "CommandLine"), "early");
    assert_eq!(time(&r[0]), 1_767_603_630.5);
    // 11:00 covers 09:50–10:50: nothing.
    assert!(rows(&run(&sink, OWN_TIME)).is_empty());
    // 12:00 covers 10:50–11:50: the event dated by its own SystemTime.
    let r = rows(&run(&sink, OWN_TIME + HOUR));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(text(&r[0], "CommandLine"), "own");
    assert_eq!(time(&r[0]), OWN_TIME as f64);
}

#[test]
fn envelope_metadata_and_indexed_fields_reach_each_event_of_a_request() {
    let sink = sink(
        "index=main EventCode=4688 | stats values(host) as host values(source) as source values(sourcetype) as st values(index) as idx values(env) as env by CommandLine",
    );
    let mut a = event(EventBody::Text(xml("pc1", "a")));
    a.host = Some("envelope-host".into());
    a.source = Some("XmlWinEventLog:Security".into());
    a.fields = vec![("env".into(), "prod".into()), ("env".into(), "eu".into())];
    // Its neighbour says nothing: host and source come from the event itself.
    let b = event(EventBody::Text(xml("pc2", "b")));
    let mut c = event(EventBody::Text(xml("pc3", "c")));
    c.host = Some("other-host".into());
    c.index = "windows".into();
    let mut c_main = c.clone();
    c_main.index = "main".into();
    c_main.body = EventBody::Text(xml("pc3", "c-main"));
    c_main.fields = vec![("env".into(), "test".into())];
    sink.submit(Batch {
        seq: 0,
        events: vec![a, b, c, c_main],
        replayed: false,
    })
    .unwrap();
    let r = rows(&run(&sink, OWN_TIME + HOUR));
    let by: std::collections::BTreeMap<String, &Value> = r
        .iter()
        .map(|row| (text(row, "CommandLine"), row))
        .collect();
    let keys: Vec<&str> = by.keys().map(String::as_str).collect();
    // `c` is in index `windows`, which the search does not read.
    assert_eq!(keys, ["a", "b", "c-main"]);
    let row = |k: &str| by[k];
    assert_eq!(text(row("a"), "host"), "envelope-host");
    assert_eq!(text(row("a"), "source"), "XmlWinEventLog:Security");
    assert_eq!(text(row("a"), "st"), "xmlwineventlog");
    assert_eq!(text(row("a"), "idx"), "main");
    assert_eq!(row("a")["env"], serde_json::json!(["eu", "prod"]));
    assert_eq!(text(row("b"), "host"), "pc2");
    assert_eq!(text(row("b"), "env"), "");
    assert_eq!(text(row("c-main"), "host"), "other-host");
    assert_eq!(text(row("c-main"), "env"), "test");
}

#[test]
fn receipt_time_dates_an_event_without_a_time_of_its_own() {
    let sink = sink("index=main | stats count min(_time) as t by message");
    let mut e = event(EventBody::Json(
        JsonText::new(r#"{"message":"no time here"}"#).unwrap(),
    ));
    e.sourcetype = Some("_json".into());
    e.received = Some(secs(OWN_TIME + 60));
    sink.submit(Batch {
        seq: 0,
        events: vec![e],
        replayed: false,
    })
    .unwrap();
    let r = rows(&run(&sink, OWN_TIME + HOUR));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(time(&r[0]), (OWN_TIME + 60) as f64);
    assert_eq!(sink.stats().skipped_events, 0);
}
