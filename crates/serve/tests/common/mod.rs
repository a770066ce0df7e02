//! Test helpers: a fake engine that records what it gets, and a server on a loopback port.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cimhunt_serve::{
    Batch, Busy, ClockSpec, EventBody, HecEvent, ScheduledDetection, ServeConfig, ServeHandle,
    Sink, SinkStats, TokenConfig, Window, WindowError, WindowOutput,
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
}

impl FakeSink {
    pub fn new(detections: Vec<ScheduledDetection>) -> Arc<FakeSink> {
        Arc::new(FakeSink {
            detections,
            ..FakeSink::default()
        })
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
        EventBody::Json(v) => v
            .get("id")
            .or_else(|| v.get("message"))
            .and_then(|x| x.as_str().map(str::to_owned))
            .unwrap_or_else(|| v.to_string()),
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

    fn run_window(&self, window: &Window) -> Result<WindowOutput, WindowError> {
        self.windows.lock().unwrap().push(window.clone());
        let mut out = WindowOutput::default();
        for e in self.events() {
            let Some(t) = e.time else { continue };
            if t >= window.earliest && t < window.latest {
                let id = text(&e);
                out.rows
                    .push(json!({"detection": window.detection.as_str(), "id": id}));
                out.risk_events.push(json!({
                    "search_name": format!("ESCU - {} - Rule", window.detection),
                    "risk_object": id,
                    "risk_object_type": "system",
                    "risk_score": 35,
                    "_time": window.scheduled.as_secs(),
                }));
                out.notables
                    .push(json!({"rule_title": window.detection.as_str(), "id": id}));
            }
        }
        Ok(out)
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
