//! Forwarding risk events and notables to a Splunk HEC endpoint, as ES writes them: risk
//! events to `index=risk`, notables to `index=notable`, both with `sourcetype=stash` and the
//! search's name as `source` (SPLUNK_SEMANTICS.md §7.3; ES's risk action).
//!
//! The forwarder reads the spool from its cursor (`forward.cursor` in the state directory),
//! sends each record's events as concatenated HEC envelopes, and moves the cursor only after
//! the receiver answered code 0. Failures are retried with exponential backoff (100 ms
//! doubling up to `max_backoff_ms`), forever: an unreachable Splunk delays, never loses. Each
//! event carries `cimhunt_id` (detection, window end, kind, position), the same on every
//! resend, so a receiver can drop the duplicates a crash between "sent" and "cursor saved"
//! can cause.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use super::spool::SpoolRecord;
use crate::config::ForwardConfig;

/// Records waiting to be forwarded, shared by the scheduler (producer) and the forwarder.
#[derive(Debug)]
pub struct ForwardQueue {
    items: Mutex<VecDeque<(u64, Vec<String>)>>,
    notify: Notify,
    next: AtomicU64,
    cursor_path: PathBuf,
    config: ForwardConfig,
}

impl ForwardQueue {
    /// A queue whose cursor lives in `state_dir`; `spool_next` is where a first run starts.
    pub fn open(config: ForwardConfig, state_dir: &Path, spool_next: u64) -> ForwardQueue {
        let cursor_path = state_dir.join("forward.cursor");
        let saved = std::fs::read_to_string(&cursor_path)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        let next = saved.unwrap_or(spool_next);
        if saved.is_none()
            && let Err(e) = crate::fsutil::write_atomic(&cursor_path, next.to_string().as_bytes())
        {
            tracing::warn!("forward cursor {}: {e}", cursor_path.display());
        }
        ForwardQueue {
            items: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            next: AtomicU64::new(next),
            cursor_path,
            config,
        }
    }

    /// The next spool record not yet forwarded.
    pub fn next(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Queues spool record `seq` (ignored when already forwarded).
    pub fn push(&self, seq: u64, record: &SpoolRecord) {
        if seq < self.next() {
            return;
        }
        let envelopes = envelopes(&self.config, record);
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if envelopes.is_empty() && items.is_empty() {
            drop(items);
            self.advance(seq + 1);
            return;
        }
        items.push_back((seq, envelopes));
        drop(items);
        self.notify.notify_one();
    }

    /// Records queued and not yet forwarded.
    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn advance(&self, next: u64) {
        self.next.fetch_max(next, Ordering::AcqRel);
        let text = self.next().to_string();
        if let Err(e) = crate::fsutil::write_atomic(&self.cursor_path, text.as_bytes()) {
            tracing::warn!("forward cursor {}: {e}", self.cursor_path.display());
        }
    }
}

/// The HEC envelopes of a record's risk events and notables.
pub fn envelopes(config: &ForwardConfig, record: &SpoolRecord) -> Vec<String> {
    let mut out = Vec::new();
    let run_time = record.scheduled as f64 / 1e9;
    for (kind, index, items) in [
        ("risk", &config.risk_index, &record.risk_events),
        ("notable", &config.notable_index, &record.notables),
    ] {
        for (i, item) in items.iter().enumerate() {
            let mut event = item.clone();
            let id = format!("{}|{}|{kind}|{i}", record.detection, record.latest);
            let time = event
                .get("_time")
                .and_then(|t| match t {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .unwrap_or(run_time);
            let source = ["source", "search_name"]
                .iter()
                .find_map(|k| event.get(*k).and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| record.detection.clone());
            if let Value::Object(map) = &mut event {
                map.insert("cimhunt_id".into(), Value::String(id));
            }
            out.push(
                json!({
                    "time": time,
                    "index": index,
                    "sourcetype": config.sourcetype,
                    "source": source,
                    "event": event,
                })
                .to_string(),
            );
        }
    }
    out
}

/// The task that sends queued records.
#[derive(Debug)]
pub struct Forwarder {
    queue: Arc<ForwardQueue>,
    client: reqwest::Client,
    url: String,
    auth: String,
}

impl Forwarder {
    /// A forwarder for `queue`.
    pub fn new(queue: Arc<ForwardQueue>) -> Result<Forwarder, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("forwarding client: {e}"))?;
        let url = format!(
            "{}/services/collector/event",
            queue.config.url.trim_end_matches('/')
        );
        let auth = format!("Splunk {}", queue.config.token);
        Ok(Forwarder {
            queue,
            client,
            url,
            auth,
        })
    }

    /// Sends until `stop` turns true and then, for at most `grace`, until the queue is empty.
    pub async fn run(self, mut stop: watch::Receiver<bool>, grace: Duration) {
        let max_backoff = Duration::from_millis(self.queue.config.max_backoff_ms.max(100));
        let mut backoff = Duration::from_millis(100);
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut sent_in_front = 0usize;
        loop {
            if deadline.is_none() && *stop.borrow() {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return;
            }
            let front = {
                let items = self.queue.items.lock().unwrap_or_else(|p| p.into_inner());
                items.front().cloned()
            };
            let Some((seq, envelopes)) = front else {
                if deadline.is_some() {
                    return;
                }
                tokio::select! {
                    _ = self.queue.notify.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            };
            let chunk = self.queue.config.batch_events.max(1);
            let mut ok = true;
            while sent_in_front < envelopes.len() {
                let end = (sent_in_front + chunk).min(envelopes.len());
                let body = envelopes[sent_in_front..end].join("\n");
                match self.send(body).await {
                    Ok(()) => sent_in_front = end,
                    Err(e) => {
                        tracing::warn!(
                            "forwarding to {} failed, retrying in {backoff:?}: {e}",
                            self.url
                        );
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                self.queue
                    .items
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front();
                sent_in_front = 0;
                let q = Arc::clone(&self.queue);
                let _ = tokio::task::spawn_blocking(move || q.advance(seq + 1)).await;
                backoff = Duration::from_millis(100);
            } else {
                let wait = match deadline {
                    Some(d) => {
                        backoff.min(d.saturating_duration_since(tokio::time::Instant::now()))
                    }
                    None => backoff,
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed(), if deadline.is_none() => {}
                }
                backoff = (backoff * 2).min(max_backoff);
            }
        }
    }

    async fn send(&self, body: String) -> Result<(), String> {
        let resp = self
            .client
            .post(&self.url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_i64));
        if status.is_success() && code == Some(0) {
            Ok(())
        } else {
            Err(format!("HTTP {status}: {text}"))
        }
    }
}
