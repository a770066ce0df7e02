//! A day and a half of steady simulated traffic through HEC: what the sink holds for windows
//! still to run, and the journal the service keeps for them, stay bounded by the window length
//! instead of growing with uptime (memory and disk are flat over a long run).

mod common;

use cimhunt_spl::Timestamp;
use common::*;

const HOURS: i64 = 36;
const T0: i64 = 1_767_571_200; // 2026-01-05T00:00:00Z

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

/// One seed true positive per minute, each from another host.
fn hour_of_events(model: &cimhunt_model::Model, h: i64) -> Vec<Sent> {
    let template = seed_fixture_texts()
        .into_iter()
        .find(|(t, _)| t.contains("b-renamed"))
        .expect("a fixture event to copy")
        .0;
    (0..60)
        .map(|m| {
            let t = jiff::Timestamp::from_second(T0 + h * HOUR + m * 60).unwrap();
            let text = template
                .replace(
                    "2026-01-05T10:01:00.000000000Z",
                    &t.strftime("%Y-%m-%dT%H:%M:%S.000000000Z").to_string(),
                )
                .replace("b-renamed", &format!("host-{h}-{m}"));
            sent(model, &text, false)
        })
        .collect()
}

#[test]
fn held_state_and_journal_stay_bounded_over_a_day_and_a_half() {
    let model = model();
    let (job, details) = seed(&model);
    let svc = Service::start(&job, &details, secs(T0), |c| {
        c.journal.segment_bytes = 64 << 10;
    });
    let journal = svc.dir.path().join("state").join("journal");
    let segments = || std::fs::read_dir(&journal).unwrap().count();
    let (mut sent_events, mut max_held, mut max_segments) = (0u64, 0, 0);
    for hour in 0..HOURS {
        let events = hour_of_events(&model, hour);
        assert_eq!(
            events[0].time.as_secs(),
            T0 + hour * HOUR,
            "the copy is retimed"
        );
        for chunk in events.chunks(10) {
            let body: String = chunk.iter().map(|e| e.envelope.as_str()).collect();
            assert_eq!(post(svc.addr(), &body), 200);
        }
        sent_events += events.len() as u64;
        wait_until("the hour's events", || {
            svc.sink.events_received() == sent_events
        });
        // The run at the next hour covers this hour's first fifty minutes.
        let next = T0 + (hour + 1) * HOUR;
        svc.clock.set(secs(next));
        wait_until("the hour's window", || {
            svc.sink.ran_until() >= Some(secs(next - 10 * 60))
        });
        max_held = max_held.max(svc.sink.held());
        max_segments = max_segments.max(segments());
    }
    let (report, outputs) = svc.stop();
    let risk = outputs.risk.len() as u64;
    println!(
        "{sent_events} events, {} windows, {risk} risk events; at most {max_held} groups held and {max_segments} journal segments",
        report.windows_run
    );
    assert_eq!(report.late_events, 0);
    assert_eq!(
        risk,
        2 * sent_events,
        "each event raises its dest and user risk events"
    );
    assert!(max_held <= 60, "a window's worth at most, held {max_held}");
    assert!(
        max_segments <= 8,
        "the journal keeps about a window of events, not {max_segments} segments"
    );
}
