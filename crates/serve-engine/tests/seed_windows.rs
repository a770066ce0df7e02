//! The seed's fixtures sent through HEC with a simulated clock: each scheduled window gives
//! exactly the rows, risk events and notables `cimhunt hunt --now <scheduled time>` gives for
//! the events of that window, whether sent as JSON envelopes or as `/raw` lines; events sent
//! after their window ran are counted late and change no output.

mod common;

use cimhunt_spl::Timestamp;
use common::*;

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

/// The seed's fixtures as a forwarder sends them.
fn fixtures(model: &cimhunt_model::Model) -> Vec<Sent> {
    seed_fixture_texts()
        .iter()
        .map(|(t, json)| sent(model, t, *json))
        .collect()
}

/// Sends `events` in requests of `per_request` events, moves the clock past their last
/// window and checks that the outputs are those `hunt` gives for each window's events, with
/// nothing late or skipped; `check` looks at what was expected, and at the windows, first.
/// How many inputs the engine was fed.
fn sent_gives_what_hunt_gives(
    events: &[Sent],
    per_request: usize,
    check: impl FnOnce(&Outputs, &[(Timestamp, Vec<&Sent>)]),
) -> u64 {
    let model = model();
    let (job, details) = seed(&model);
    let start = hour_floor(events.iter().map(|e| e.time).min().unwrap());
    let end = hour_floor(events.iter().map(|e| e.time).max().unwrap()) + 2 * HOUR;
    let windows = windows(events, start + HOUR, end);
    let expected = expected(&job, &details, &windows);
    check(&expected, &windows);

    let svc = Service::start(&job, &details, secs(start), |_| {});
    for chunk in events.chunks(per_request) {
        let body: String = chunk.iter().map(|e| e.envelope.as_str()).collect();
        assert_eq!(post(svc.addr(), &body), 200);
    }
    wait_until("every event submitted", || {
        svc.sink.events_received() == events.len() as u64
    });
    svc.clock.set(secs(end));
    wait_until("every window's outputs", || {
        Outputs::read(svc.dir.path()).rows.len() >= expected.rows.len()
    });
    let inputs = svc.sink.engine_stats().inputs;
    let (report, outputs) = svc.stop();
    assert_eq!((report.late_events, report.skipped_events), (0, 0));
    assert_eq!(outputs, expected);
    inputs
}

#[test]
fn every_window_gives_what_hunt_gives_for_its_events() {
    let model = model();
    let events: Vec<Sent> = fixtures(&model);
    // Requests of three events, as a shipper batches them.
    sent_gives_what_hunt_gives(&events, 3, |expected, windows| {
        assert!(
            expected.risk.len() >= 4 && windows.iter().filter(|w| !w.1.is_empty()).count() >= 2,
            "the fixtures raise risk events in several windows"
        );
    });
}

#[test]
fn events_after_their_window_ran_are_late_and_change_nothing() {
    let model = model();
    let (job, details) = seed(&model);
    let events: Vec<Sent> = fixtures(&model);
    let start = hour_floor(events.iter().map(|e| e.time).min().unwrap());
    let end = hour_floor(events.iter().map(|e| e.time).max().unwrap()) + 2 * HOUR;
    // The first window's events arrive on time; the others only after every window ran.
    let first_window_end = start + HOUR - 10 * 60;
    let (on_time, late): (Vec<Sent>, Vec<Sent>) = events
        .iter()
        .cloned()
        .partition(|e| e.time.as_secs() < first_window_end);
    assert!(!on_time.is_empty() && !late.is_empty());
    let expected = expected(&job, &details, &windows(&on_time, start + HOUR, end));

    let svc = Service::start(&job, &details, secs(start), |_| {});
    let body: String = on_time.iter().map(|e| e.envelope.as_str()).collect();
    assert_eq!(post(svc.addr(), &body), 200);
    wait_until("the on-time events", || {
        svc.sink.events_received() == on_time.len() as u64
    });
    svc.clock.set(secs(end));
    wait_until("the windows to run", || {
        svc.sink.ran_until() >= Some(secs(end - 10 * 60))
    });
    let body: String = late.iter().map(|e| e.envelope.as_str()).collect();
    assert_eq!(post(svc.addr(), &body), 200);
    wait_until("the late events", || {
        svc.sink.events_received() == events.len() as u64
    });
    let (report, outputs) = svc.stop();
    assert_eq!(report.late_events, late.len() as u64);
    assert_eq!(outputs, expected);
}

#[test]
fn raw_lines_with_query_metadata_give_what_hunt_gives() {
    let model = model();
    let (job, details) = seed(&model);
    // `/raw` breaks lines, so only the one-line Windows events go that way.
    let events: Vec<Sent> = seed_fixture_texts()
        .iter()
        .filter(|(t, json)| !json && !t.contains('\n'))
        .map(|(t, json)| sent(&model, t, *json))
        .collect();
    let start = hour_floor(events.iter().map(|e| e.time).min().unwrap());
    let end = hour_floor(events.iter().map(|e| e.time).max().unwrap()) + 2 * HOUR;
    let expected = expected(&job, &details, &windows(&events, start + HOUR, end));
    assert!(!expected.risk.is_empty());

    let svc = Service::start(&job, &details, secs(start), |_| {});
    for e in &events {
        let env: serde_json::Value = serde_json::from_str(&e.envelope).unwrap();
        let q = |k: &str| {
            env[k]
                .as_str()
                .unwrap()
                .replace('%', "%25")
                .replace(' ', "%20")
                .replace('/', "%2F")
        };
        let path = format!(
            "/services/collector/raw?sourcetype={}&source={}&host={}",
            q("sourcetype"),
            q("source"),
            q("host")
        );
        assert_eq!(post_to(svc.addr(), &path, &format!("{}\n", e.text)), 200);
    }
    wait_until("every event submitted", || {
        svc.sink.events_received() == events.len() as u64
    });
    svc.clock.set(secs(end));
    let (report, outputs) = svc.stop();
    assert_eq!((report.late_events, report.skipped_events), (0, 0));
    assert_eq!(outputs, expected);
}

/// Regression: the engine's queue was bounded in requests (64), not bytes, so 64 requests of
/// the largest size allowed (64 MiB decompressed) could wait in it. A request is now fed to the
/// engine in inputs of about 1 MiB of event text, in order: one request of more than that gives
/// the rows of the same events sent in small requests.
#[test]
fn a_request_fed_to_the_engine_in_several_inputs_gives_what_hunt_gives() {
    let model = model();
    let fixtures: Vec<Sent> = fixtures(&model);
    // Over 3 MiB of events that fire nothing ahead of the fixtures, so that the fixtures are
    // fed in a later input than the request's first events.
    let quiet = fixtures
        .iter()
        .find(|e| !e.json && e.text.contains("msiexec"))
        .map(|e| sent(&model, &e.text.replace("msiexec", "notepad"), false))
        .expect("an XML fixture naming msiexec");
    let copies = (3 << 20) / quiet.envelope.len() + 1;
    let events: Vec<Sent> = std::iter::repeat_n(quiet, copies).chain(fixtures).collect();
    // All in one request: its XML events over 3 MiB take at least three inputs, its JSON
    // events one more (one input per run of a format, as before, would be two).
    let inputs = sent_gives_what_hunt_gives(&events, events.len(), |expected, _| {
        assert!(expected.risk.len() >= 4, "the fixtures raise risk events");
    });
    assert!(inputs >= 4, "{inputs} inputs");
}
