//! A bounded load test of `cimhunt serve` with the real engine (loopback, a few seconds per
//! run; run with `cargo test --release -p cimhunt --test serve_load -- --ignored --nocapture`).
//! It prints sustained events per second, request latency and peak memory, with the seed
//! detection and with every detection of `../shared`'s security_content that runs; it asserts
//! only that the server accepted events, drained and exited cleanly.

mod serve_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serve_support::*;

const CLIENTS: usize = 4;
const BATCH: usize = 50;
/// How long the clients send: 8 s in an optimized build, 2 s in a debug build (where the
/// figures mean little and CI only checks that the test still runs).
const SEND_FOR: Duration = Duration::from_secs(if cfg!(debug_assertions) { 2 } else { 8 });
const T0: i64 = 1_767_603_600; // 2026-01-05T09:00:00Z

/// A benign Sysmon process creation (most of real traffic), on `host` at `secs`.
fn benign(host: &str, secs: i64, i: u64) -> String {
    sysmon_msiexec(host, secs)
        .replace("msiexec /i http://", "notepad.exe C:\\notes\\")
        .replace(
            "System32\\msiexec.exe",
            &format!("System32\\notepad{i}.exe"),
        )
        .replace("msiexec.exe</Data>", "notepad.exe</Data>")
}

fn body(next: &AtomicU64) -> String {
    let first = next.fetch_add(BATCH as u64, Ordering::Relaxed);
    (first..first + BATCH as u64)
        .map(|i| {
            // Ten events per simulated second; one in a hundred is the seed's true positive.
            let secs = T0 + (i / 10) as i64;
            let host = format!("ws{:03}", i % 500);
            let xml = if i % 100 == 0 {
                sysmon_msiexec(&host, secs)
            } else {
                benign(&host, secs, i % 7)
            };
            xml_envelope(&host, secs, &xml)
        })
        .collect()
}

struct Figures {
    accepted: u64,
    busy: u64,
    send_secs: f64,
    total_secs: f64,
    p50: Duration,
    p99: Duration,
    peak_rss_mib: f64,
    risk: usize,
}

fn measure(label: &str, detections: &[&str]) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let risk = dir.path().join("risk.jsonl");
    let mut args: Vec<String> = vec!["--clock".into(), "events".into()];
    args.push("--risk".into());
    args.push(risk.to_str().unwrap().into());
    args.extend(detections.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = spawn(&dir.path().join("state"), &args);
    let pid = server.child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (Arc::clone(&peak), Arc::clone(&watching));
        std::thread::spawn(move || {
            while watching.load(Ordering::Relaxed) {
                if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("VmHWM:"))
                            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    })
                {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let next = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (addr, next, busy) = (server.addr.clone(), Arc::clone(&next), Arc::clone(&busy));
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut accepted = 0u64;
                while start.elapsed() < SEND_FOR {
                    let b = body(&next);
                    let t = Instant::now();
                    match post(&addr, "/services/collector/event", &b) {
                        Some(200) => {
                            lat.push(t.elapsed());
                            accepted += BATCH as u64;
                        }
                        Some(503) => {
                            busy.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        other => panic!("unexpected reply {other:?}"),
                    }
                }
                (lat, accepted)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut accepted = 0;
    for c in clients {
        let (l, a) = c.join().unwrap();
        lat.extend(l);
        accepted += a;
    }
    let send_secs = start.elapsed().as_secs_f64();
    let (status, _) = server.terminate();
    let total_secs = start.elapsed().as_secs_f64();
    watching.store(false, Ordering::Relaxed);
    watcher.join().unwrap();
    assert!(status.success(), "{label}: {status:?}");
    assert!(accepted > 0);
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    Figures {
        accepted,
        busy: busy.load(Ordering::Relaxed),
        send_secs,
        total_secs,
        p50: p(0.5),
        p99: p(0.99),
        peak_rss_mib: peak.load(Ordering::Relaxed) as f64 / 1024.0,
        risk: std::fs::read_to_string(&risk)
            .unwrap_or_default()
            .lines()
            .count(),
    }
}

fn report(label: &str, f: &Figures) {
    println!(
        "serve load [{label}]: {} events accepted in {:.1} s ({:.0} events/s accepted), all processed and drained after {:.1} s ({:.0} events/s sustained); {} busy replies; request p50 {:?}, p99 {:?}; peak RSS {:.0} MiB; {} risk events",
        f.accepted,
        f.send_secs,
        f.accepted as f64 / f.send_secs,
        f.total_secs,
        f.accepted as f64 / f.total_secs,
        f.busy,
        f.p50,
        f.p99,
        f.peak_rss_mib,
        f.risk
    );
}

fn shared() -> PathBuf {
    std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

#[test]
#[ignore = "a load measurement: run it with --release --ignored --nocapture"]
fn load_figures() {
    let seed = measure("seed detection", &[]);
    report("seed detection", &seed);
    let content = shared().join("content/security_content");
    assert!(content.is_dir(), "{} not found", content.display());
    let detections = content.join("detections");
    let lib = measure(
        "whole runnable library",
        &[
            "--content",
            content.to_str().unwrap(),
            "--detection",
            detections.to_str().unwrap(),
        ],
    );
    report("whole runnable library", &lib);
}
