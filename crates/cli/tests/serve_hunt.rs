//! `cimhunt serve` against `cimhunt hunt`, both as the binary: the seed's fixtures are sent
//! through HEC (a replay of old data under `--clock events`, stopped with SIGTERM, which runs
//! every window holding a received event); for each scheduled window, `cimhunt hunt --now
//! <scheduled time>` over that window's events gives exactly the same rows, risk events and
//! notables, line for line.

mod serve_support;

use std::path::{Path, PathBuf};

use serve_support::*;

const HOUR: i64 = 3600;

struct Event {
    line: String,
    json: bool,
    secs: f64,
    envelope: String,
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    let end = start + text[start..].find(close).unwrap();
    &text[start..end]
}

fn fixtures() -> Vec<Event> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/seed");
    let mut out = Vec::new();
    for (file, json) in [
        ("sysmon.log", false),
        ("security.log", false),
        ("crowdstrike.jsonl", true),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        // JSON lines, or `<Event>` elements (two share a line and one spans several).
        let pieces: Vec<&str> = if json {
            text.lines().collect()
        } else {
            text.split_inclusive("</Event>").collect()
        };
        for line in pieces.into_iter().map(str::trim).filter(|l| !l.is_empty()) {
            let (secs, envelope) = if json {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let ms: f64 = v["timestamp"].as_str().unwrap().parse().unwrap();
                let secs = ms / 1000.0;
                (
                    secs,
                    format!(
                        r#"{{"time":{secs},"sourcetype":"crowdstrike:events:sensor","event":{line}}}"#
                    ),
                )
            } else {
                let t: jiff::Timestamp = between(line, "SystemTime='", "'").parse().unwrap();
                let secs = t.as_nanosecond() as f64 / 1e9;
                let channel = between(line, "<Channel>", "</Channel>");
                let host = between(line, "<Computer>", "</Computer>");
                (
                    secs,
                    format!(
                        r#"{{"time":{secs},"host":"{host}","source":"XmlWinEventLog:{channel}","sourcetype":"XmlWinEventLog","event":{}}}"#,
                        serde_json::Value::String(line.to_owned())
                    ),
                )
            };
            out.push(Event {
                line: line.to_owned(),
                json,
                secs,
                envelope,
            });
        }
    }
    out
}

/// `cimhunt hunt --now <t>` over `events`: rows, risk events, notables.
fn hunt(dir: &Path, t: i64, events: &[&Event]) -> [Vec<String>; 3] {
    let xml: Vec<&str> = events
        .iter()
        .filter(|e| !e.json)
        .map(|e| e.line.as_str())
        .collect();
    let json: Vec<&str> = events
        .iter()
        .filter(|e| e.json)
        .map(|e| e.line.as_str())
        .collect();
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, part) in [(format!("w{t}.log"), xml), (format!("w{t}.jsonl"), json)] {
        if !part.is_empty() {
            let path = dir.join(name);
            std::fs::write(&path, part.join("\n") + "\n").unwrap();
            files.push(path);
        }
    }
    hunt_at(dir, t, &files)
}

#[test]
fn each_window_of_serve_equals_hunt_over_that_windows_events() {
    let events = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let out = |f: &str| dir.path().join(f);
    let (rows, risk, notable) = (out("rows.jsonl"), out("risk.jsonl"), out("notable.jsonl"));
    let server = spawn(
        &out("state"),
        &[
            "--clock",
            "events",
            "--rows",
            rows.to_str().unwrap(),
            "--risk",
            risk.to_str().unwrap(),
            "--notable",
            notable.to_str().unwrap(),
        ],
    );
    let body: String = events.iter().map(|e| e.envelope.as_str()).collect();
    assert_eq!(
        post(&server.addr, "/services/collector/event", &body),
        Some(200)
    );
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");

    // ESCU's windows: at each hour T, [T-70m, T-10m).
    let first =
        (events.iter().map(|e| e.secs).fold(f64::MAX, f64::min) as i64).div_euclid(HOUR) * HOUR;
    let mut expected: [Vec<String>; 3] = Default::default();
    let mut windows_with_events = 0;
    for k in 0..48 {
        let t = first + k * HOUR;
        let inside: Vec<&Event> = events
            .iter()
            .filter(|e| e.secs >= (t - 70 * 60) as f64 && e.secs < (t - 10 * 60) as f64)
            .collect();
        if inside.is_empty() {
            continue;
        }
        windows_with_events += 1;
        for (all, part) in expected.iter_mut().zip(hunt(dir.path(), t, &inside)) {
            all.extend(part);
        }
    }
    assert!(
        windows_with_events >= 2,
        "the fixtures span several windows"
    );
    assert!(!expected[1].is_empty(), "hunt raises risk events");
    assert_eq!(lines(&rows), expected[0], "rows");
    assert_eq!(lines(&risk), expected[1], "risk events");
    assert_eq!(lines(&notable), expected[2], "notables");
}
