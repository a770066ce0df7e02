//! Test helpers: a fake engine that records what it gets, and a server on a loopback port.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cimhunt_serve::{
    Batch, Busy, ClockSpec, EventBody, HecEvent, JsonText, ScheduledDetection, ServeConfig,
    ServeHandle, Sink, SinkStats, TokenConfig, Window, WindowError, WindowOutput,
};
use cimhunt_spl::time::Timestamp;
use serde_json::json;

/// A fake engine: keeps every event, answers each window with one row, one risk event and
/// one notable per event whose envelope `time` falls in it.
#[derive(Default)]
pub struct FakeSink {
    pub detections: Vec<ScheduledDetection>,
    pub batches: Mutex<Vec<Batch>>,
    pub windows: Mutex<Vec<Window>>,
    pub committed: Mutex<Vec<Window>>,
    /// Refuse every batch while set.
    pub busy: AtomicBool,
    pub late: AtomicU64,
    /// What [`Sink::window_threads`] answers (0 answers 1).
    pub window_threads: usize,
    /// A window of this detection waits (up to 10 s) until a window of another detection
    /// scheduled at the same time is done.
    pub slow: Option<String>,
    /// Detections whose windows are running now.
    pub running: Mutex<Vec<String>>,
    /// The most windows seen running at once.
    pub most_running: AtomicUsize,
    /// Set when a window started while another of the same detection ran.
    pub same_detection_overlap: AtomicBool,
}

impl FakeSink {
    pub fn new(detections: Vec<ScheduledDetection>) -> Arc<FakeSink> {
        Arc::new(FakeSink {
            detections,
            ..FakeSink::default()
        })
    }

    /// A fake engine that lets `threads` windows run at once, and holds each window of `slow`
    /// until a window of another detection scheduled at the same time is done.
    pub fn with_threads(
        detections: Vec<ScheduledDetection>,
        threads: usize,
        slow: &str,
    ) -> Arc<FakeSink> {
        Arc::new(FakeSink {
            detections,
            window_threads: threads,
            slow: Some(slow.to_owned()),
            ..FakeSink::default()
        })
    }

    /// Notes that a window of `detection` starts; the number now running.
    fn window_starts(&self, detection: &str) -> usize {
        let mut running = self.running.lock().unwrap();
        if running.iter().any(|r| r == detection) {
            self.same_detection_overlap.store(true, Ordering::Relaxed);
        }
        running.push(detection.to_owned());
        self.most_running
            .fetch_max(running.len(), Ordering::Relaxed);
        running.len()
    }

    fn window_ends(&self, detection: &str) {
        let mut running = self.running.lock().unwrap();
        if let Some(i) = running.iter().position(|r| r == detection) {
            running.remove(i);
        }
    }

    /// One row, risk event and notable per event in the window.
    fn window_output(&self, window: &Window) -> Result<WindowOutput, WindowError> {
        self.windows.lock().unwrap().push(window.clone());
        let mut out = WindowOutput::default();
        for e in self.events() {
            let Some(t) = e.time else { continue };
            if t >= window.earliest && t < window.latest {
                let id = text(&e);
                out.rows.push(JsonText::from_value(
                    &json!({"detection": window.detection.as_str(), "id": id}),
                ));
                out.risk_events.push(JsonText::from_value(&json!({
                    "search_name": format!("ESCU - {} - Rule", window.detection),
                    "risk_object": id,
                    "risk_object_type": "system",
                    "risk_score": 35,
                    "_time": window.scheduled.as_secs(),
                })));
                out.notables.push(JsonText::from_value(
                    &json!({"rule_title": window.detection.as_str(), "id": id}),
                ));
            }
        }
        Ok(out)
    }

    pub fn events(&self) -> Vec<HecEvent> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| b.events.clone())
            .collect()
    }

    pub fn texts(&self) -> Vec<String> {
        self.events().into_iter().map(|e| text(&e)).collect()
    }

    pub fn windows(&self) -> Vec<Window> {
        self.windows.lock().unwrap().clone()
    }

    fn committed_until(&self, detection: &str) -> Option<Timestamp> {
        self.committed
            .lock()
            .unwrap()
            .iter()
            .filter(|w| w.detection.as_str() == detection)
            .map(|w| w.latest)
            .max()
    }
}

/// An event's text (`Text`, or the JSON's `id`/`message` member, or its JSON).
pub fn text(e: &HecEvent) -> String {
    match &e.body {
        EventBody::Text(t) => t.clone(),
        EventBody::Json(v) => {
            let value = v.value();
            value
                .get("id")
                .or_else(|| value.get("message"))
                .and_then(|x| x.as_str().map(str::to_owned))
                .unwrap_or_else(|| v.get().to_owned())
        }
        _ => String::new(),
    }
}

impl Sink for FakeSink {
    fn detections(&self) -> Vec<ScheduledDetection> {
        self.detections.clone()
    }

    fn submit(&self, batch: Batch) -> Result<(), Busy> {
        if self.busy.load(Ordering::Acquire) {
            return Err(Busy(batch));
        }
        if !batch.replayed {
            for d in &self.detections {
                if let Some(until) = self.committed_until(d.id.as_str()) {
                    let late = batch
                        .events
                        .iter()
                        .filter(|e| e.time.is_some_and(|t| t < until))
                        .count();
                    self.late.fetch_add(late as u64, Ordering::Relaxed);
                    break;
                }
            }
        }
        self.batches.lock().unwrap().push(batch);
        Ok(())
    }

    fn window_threads(&self) -> usize {
        self.window_threads.max(1)
    }

    fn run_window(&self, window: &Window) -> Result<WindowOutput, WindowError> {
        let name = window.detection.as_str();
        self.window_starts(name);
        if self.slow.as_deref() == Some(name) {
            // Until a window of another detection scheduled at the same time is done.
            let other_done = || {
                self.windows
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|w| w.scheduled == window.scheduled && w.detection != window.detection)
            };
            let start = Instant::now();
            while !other_done() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let out = self.window_output(window);
        self.window_ends(name);
        out
    }

    fn window_committed(&self, window: &Window) {
        self.committed.lock().unwrap().push(window.clone());
    }

    fn needed_from(&self) -> u64 {
        let batches = self.batches.lock().unwrap();
        let until = self
            .detections
            .iter()
            .map(|d| self.committed_until(d.id.as_str()))
            .min()
            .flatten();
        let Some(until) = until else { return 0 };
        batches
            .iter()
            .filter(|b| b.events.iter().any(|e| e.time.is_none_or(|t| t >= until)))
            .map(|b| b.seq)
            .min()
            .unwrap_or(u64::MAX)
    }

    fn stats(&self) -> SinkStats {
        let times: Vec<Timestamp> = self.events().iter().filter_map(|e| e.time).collect();
        SinkStats {
            latest_event_time: times.iter().max().copied(),
            earliest_event_time: times.iter().min().copied(),
            late_events: self.late.load(Ordering::Relaxed),
            skipped_events: 0,
        }
    }
}

pub const TOKEN: &str = "11111111-2222-3333-4444-555555555555";

/// A configuration on an ephemeral loopback port with one unrestricted token.
pub fn config(state: &Path) -> ServeConfig {
    let mut c = ServeConfig::new(state);
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.tokens.push(TokenConfig::new(TOKEN));
    c.tick_ms = 5;
    c
}

pub fn sim_config(state: &Path, clock: &cimhunt_serve::SimClock) -> ServeConfig {
    let mut c = config(state);
    c.clock = ClockSpec::Simulated(clock.clone());
    c
}

pub async fn start(config: ServeConfig, sink: Arc<FakeSink>) -> ServeHandle {
    cimhunt_serve::start(config, sink)
        .await
        .expect("server starts")
}

pub fn url(h: &ServeHandle, path: &str) -> String {
    format!("http://{}{}", h.local_addr(), path)
}

/// Polls `cond` every 5 ms for up to 20 s (a bound, not a timing assertion).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// Lines of a JSON-lines file, parsed.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Counts values of `key` in JSON lines.
pub fn count_by(lines: &[serde_json::Value], key: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        let k = l[key].as_str().unwrap_or_default().to_owned();
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// An HTTP client (with the process's rustls provider installed).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
