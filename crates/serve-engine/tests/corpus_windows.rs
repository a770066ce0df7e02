//! Part of the shared corpus through HEC with a simulated clock, against every ESCU endpoint
//! detection that runs: each window gives exactly what `cimhunt hunt --now <scheduled time>`
//! gives for its events. Events are sent as shippers send them: evtx_dump JSON objects (the
//! sigma_regression twins of a week of October 2025) and XmlWinEventLog text rendered from
//! EVTX files. Needs `../shared` (run with `cargo test -- --ignored`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cimhunt_content::Detection;
use cimhunt_decode::{EvtxChunkDecoder, render_xml};
use cimhunt_engine::Job;
use cimhunt_model::Model;
use cimhunt_spl::Timestamp;
use common::*;

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The evtx_dump JSON objects of the sigma_regression twins, each as its text.
fn sigma_json(model: &Model) -> Vec<Sent> {
    let mut out = Vec::new();
    for f in files(&shared().join("corpus/sigma_regression"), "json") {
        let text = std::fs::read_to_string(&f).unwrap();
        let stream =
            serde_json::Deserializer::from_str(&text).into_iter::<&serde_json::value::RawValue>();
        for raw in stream {
            out.push(sent(model, raw.unwrap().get(), true));
        }
    }
    out
}

/// The records of an EVTX file as XmlWinEventLog text.
fn evtx_xml(model: &Model, path: &Path) -> Vec<Sent> {
    let bytes = std::fs::read(path).unwrap();
    let mut texts = Vec::new();
    let mut decoder = EvtxChunkDecoder::new();
    for chunk in bytes.get(4096..).unwrap_or_default().chunks(65_536) {
        let _ = decoder.decode_chunk(chunk, |_, record| {
            if let Ok(w) = record {
                let mut s = String::new();
                render_xml(&w, &mut s);
                texts.push(s);
            }
        });
    }
    texts.into_iter().map(|t| sent(model, &t, false)).collect()
}

fn secs(t: i64) -> Timestamp {
    Timestamp::from_nanos(t * 1_000_000_000, 0)
}

/// Sends `events` (in time order, 20 a request) to a fresh server with a simulated clock,
/// runs every window, and compares the outputs with hunt's, window by window.
fn compare(label: &str, job: &Arc<Job>, details: &[Detection], mut events: Vec<Sent>) {
    events.sort_by_key(|e| e.time);
    let start = hour_floor(events[0].time);
    let end = hour_floor(events.last().unwrap().time) + 2 * HOUR;
    let windows = windows(&events, start + HOUR, end);
    let expected = expected(job, details, &windows);

    let svc = Service::start(job, details, secs(start), |_| {});
    // The clock follows the events, two hours behind, so windows run while events arrive
    // (and none runs before the events it should hold are in).
    let mut sent = 0u64;
    for chunk in events.chunks(20) {
        let body: String = chunk.iter().map(|e| e.envelope.as_str()).collect();
        assert_eq!(post(svc.addr(), &body), 200);
        sent += chunk.len() as u64;
        let now = hour_floor(chunk.last().unwrap().time) - 2 * HOUR;
        if now > svc.clock.now().unwrap().as_secs() {
            wait_until("the batch", || svc.sink.events_received() == sent);
            svc.clock.set(secs(now));
        }
    }
    wait_until("every event submitted", || {
        svc.sink.events_received() == events.len() as u64
    });
    svc.clock.set(secs(end));
    let (report, outputs) = svc.stop();
    let got = outputs;
    println!(
        "{label}: {} events, {} windows with events, {} rows, {} risk events, {} skipped",
        events.len(),
        windows.iter().filter(|w| !w.1.is_empty()).count(),
        got.rows.len(),
        got.risk.len(),
        report.skipped_events
    );
    assert_eq!(report.late_events, 0, "{label}");
    assert_eq!(got.rows, expected.rows, "{label}: rows");
    assert_eq!(got.risk, expected.risk, "{label}: risk events");
    assert_eq!(got.notable, expected.notable, "{label}: notables");
}

#[test]
#[ignore = "needs ../shared"]
fn corpus_windows_equal_hunt_over_their_events() {
    let model = model();
    let content = shared().join("content/security_content");
    let (job, details) = library(&model, &content, &[content.join("detections/endpoint")]);
    println!("{} endpoint detections run", details.len());

    // A week of sigma_regression events (evtx_dump JSON), sent as JSON objects.
    let week: Vec<Sent> = sigma_json(&model)
        .into_iter()
        .filter(|e| {
            let s = e.time.as_secs();
            (1_761_091_200..1_761_696_000).contains(&s) // 2025-10-22 .. 2025-10-29
        })
        .collect();
    assert!(week.len() >= 100, "{} events in the week", week.len());
    compare("sigma_regression week (JSON)", &job, &details, week);

    // EVTX files rendered to XmlWinEventLog text, each replayed on its own.
    let evtx = shared().join("corpus/evtx/EVTX-to-MITRE-Attack");
    let mut done = 0;
    for f in files(&evtx, "evtx") {
        let events = evtx_xml(&model, &f);
        let span = events.iter().map(|e| e.time.as_secs()).max().unwrap_or(0)
            - events.iter().map(|e| e.time.as_secs()).min().unwrap_or(0);
        if events.len() < 5 || events.len() > 400 || span > 2 * 86_400 {
            continue;
        }
        let label = f.strip_prefix(shared()).unwrap_or(&f).display().to_string();
        compare(&label, &job, &details, events);
        done += 1;
        if done == 4 {
            break;
        }
    }
    assert_eq!(done, 4, "four EVTX files replayed");
}
