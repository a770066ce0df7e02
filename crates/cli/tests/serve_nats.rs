//! `cimhunt serve --nats` with the binaries: HEC requests go to a real `nats-server -js` on
//! loopback, one `cimhunt worker --drain` processes them and runs their windows, and the
//! service writes the cluster's outputs to `--rows/--risk/--notable`: for each window, the
//! lines `cimhunt hunt --now <window time>` writes over that window's events. After a restart
//! the service writes a later window's outputs and none of the earlier ones again. Risk events
//! and notables are forwarded to a stand-in for Splunk's HEC, each once across the restart.

mod serve_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serve_support::*;

const HOUR: i64 = 3600;

/// `cimhunt hunt --now <t>` over the XML events: rows, risk events, notables.
fn hunt(dir: &Path, t: i64, events: &[&str]) -> [Vec<String>; 3] {
    let input = dir.join(format!("w{t}.log"));
    std::fs::write(&input, events.join("\n") + "\n").unwrap();
    hunt_at(dir, t, &[input])
}

#[test]
fn serve_nats_and_one_worker_write_what_hunt_writes_for_each_window_once() {
    let Some(nats) = Nats::start() else {
        return;
    };
    let url = nats.url();
    let splunk = FakeHec::start();
    let dir = tempfile::tempdir().unwrap();
    let out = |f: &str| dir.path().join(f);
    let (rows, risk, notable) = (out("rows.jsonl"), out("risk.jsonl"), out("notable.jsonl"));
    let args: Vec<String> = [
        "--nats",
        &url,
        "--nats-prefix",
        "servenats",
        "--nats-events-mib",
        "64",
        "--rows",
        rows.to_str().unwrap(),
        "--risk",
        risk.to_str().unwrap(),
        "--notable",
        notable.to_str().unwrap(),
        "--forward-hec",
        &splunk.url,
        "--forward-token",
        "receiver-token",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Seed true positives on six hosts, twenty minutes apart: they span three hourly windows.
    let start = 1_767_607_200; // 2026-01-05T10:00:00Z
    let events: Vec<(i64, String)> = (0..6)
        .map(|k| {
            let t = start + k * 20 * 60 + 30;
            (t, sysmon_msiexec(&format!("ws-{k:02}"), t))
        })
        .collect();
    let server = spawn(&out("state"), &args);
    let body: String = events
        .iter()
        .enumerate()
        .map(|(k, (t, xml))| xml_envelope(&format!("ws-{k:02}"), *t, xml))
        .collect();
    assert_eq!(
        post(&server.addr, "/services/collector/event", &body),
        Some(200)
    );

    drain_worker(&url);

    // ESCU's windows: at each hour T, [T-70m, T-10m).
    let mut expected: [Vec<String>; 3] = Default::default();
    let mut windows = 0;
    for k in 0..6 {
        let t = (start / HOUR + k) * HOUR;
        let inside: Vec<&str> = events
            .iter()
            .filter(|(s, _)| *s >= t - 70 * 60 && *s < t - 10 * 60)
            .map(|(_, e)| e.as_str())
            .collect();
        if inside.is_empty() {
            continue;
        }
        windows += 1;
        for (all, part) in expected.iter_mut().zip(hunt(dir.path(), t, &inside)) {
            all.extend(part);
        }
    }
    assert!(windows >= 2, "{windows} windows");
    assert!(!expected[1].is_empty(), "hunt raises risk events");

    let deadline = Instant::now() + Duration::from_secs(180);
    while lines(&notable).len() < expected[2].len() {
        assert!(Instant::now() < deadline, "the outputs were not written");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}: {log:?}");
    let got = |files: &[&PathBuf]| files.iter().map(|f| lines(f)).collect::<Vec<_>>();
    assert_eq!(got(&[&rows, &risk, &notable]), expected.to_vec());

    // A restart reads the stream from where it stopped: a later event's window is written,
    // nothing before it again.
    let again = spawn(&out("state"), &args);
    let t = start + 5 * HOUR + 60;
    let xml = sysmon_msiexec("ws-late", t);
    assert_eq!(
        post(
            &again.addr,
            "/services/collector/event",
            &xml_envelope("ws-late", t, &xml)
        ),
        Some(200)
    );
    drain_worker(&url);
    let window = (t / HOUR + 1) * HOUR;
    for (all, part) in expected.iter_mut().zip(hunt(dir.path(), window, &[&xml])) {
        all.extend(part);
    }
    while lines(&notable).len() < expected[2].len() {
        assert!(Instant::now() < deadline, "the outputs were not written");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, log) = again.terminate();
    assert!(status.success(), "{status:?}: {log:?}");
    assert_eq!(got(&[&rows, &risk, &notable]), expected.to_vec());

    // Every risk event and notable was forwarded once, across the restart, as ES writes them.
    let forwarded = splunk.envelopes();
    let of = |index: &str| -> Vec<serde_json::Value> {
        forwarded
            .iter()
            .filter(|e| e["index"] == index)
            .map(|e| {
                assert_eq!(e["sourcetype"], "stash");
                let mut event = e["event"].clone();
                let id = event
                    .as_object_mut()
                    .and_then(|m| m.remove("cimhunt_id"))
                    .expect("a cimhunt_id");
                assert!(id.is_string());
                event
            })
            .collect()
    };
    let parsed = |lines: &[String]| -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(forwarded.len(), expected[1].len() + expected[2].len());
    assert_eq!(of("risk"), parsed(&expected[1]));
    assert_eq!(of("notable"), parsed(&expected[2]));
}

/// One worker: processes the queue, runs every window holding an event, exits.
fn drain_worker(url: &str) {
    let worker = Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .args(["worker", "--nats", url, "--nats-prefix", "servenats"])
        .args(["--nats-events-mib", "64"])
        .args(["--clock", "events", "--drain", "-j", "1", "--quiet"])
        .output()
        .unwrap();
    assert!(
        worker.status.success(),
        "{}",
        String::from_utf8_lossy(&worker.stderr)
    );
}
