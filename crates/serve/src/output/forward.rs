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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use super::spool::{Spool, SpoolRecord};
use crate::config::ForwardConfig;

/// A queued record: its position, the position after it, its envelopes (`None`: beyond the
/// budget, read back from the spool when its turn comes).
type Queued = (u64, u64, Option<Arc<[String]>>);

/// Records waiting to be forwarded, shared by the scheduler (producer) and the forwarder.
///
/// The envelopes of at most [`ForwardConfig::max_held_bytes`] wait in memory; a spool record
/// queued beyond that waits as its position only, and the forwarder reads it back from the spool
/// (which keeps every record from the forward cursor on) when it reaches it. Without a spool
/// ([`ForwardQueue::with_cursor`], the cluster's outputs), every envelope is held.
#[derive(Debug)]
pub struct ForwardQueue {
    /// The queued records (the front one's envelopes shared with the sender while it sends).
    items: Mutex<VecDeque<Queued>>,
    /// The bytes of the envelopes held in `items`.
    held: AtomicUsize,
    notify: Notify,
    next: AtomicU64,
    cursor_path: PathBuf,
    /// Where records beyond the budget are read back from.
    spool: Option<PathBuf>,
    config: ForwardConfig,
}

impl ForwardQueue {
    /// A queue whose cursor lives in `state_dir`, forwarding the records of the spool there;
    /// `spool_next` is where a first run starts.
    pub fn open(config: ForwardConfig, state_dir: &Path, spool_next: u64) -> ForwardQueue {
        let mut q = ForwardQueue::with_cursor(config, state_dir.join("forward.cursor"), spool_next);
        q.spool = Some(state_dir.join("spool"));
        q
    }

    /// A queue whose cursor (the position of the next record to forward) is kept in the file
    /// `cursor_path`; `first` is where a first run starts.
    pub fn with_cursor(config: ForwardConfig, cursor_path: PathBuf, first: u64) -> ForwardQueue {
        let saved = std::fs::read_to_string(&cursor_path)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        let next = saved.unwrap_or(first);
        if saved.is_none()
            && let Err(e) = crate::fsutil::write_atomic(&cursor_path, next.to_string().as_bytes())
        {
            tracing::warn!("forward cursor {}: {e}", cursor_path.display());
        }
        ForwardQueue {
            items: Mutex::new(VecDeque::new()),
            held: AtomicUsize::new(0),
            notify: Notify::new(),
            next: AtomicU64::new(next),
            cursor_path,
            spool: None,
            config,
        }
    }

    /// The next spool record not yet forwarded.
    pub fn next(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Queues spool record `seq` (ignored when already forwarded). Fails when the record's
    /// texts cannot be read back from its window's temporary file; the record stays in the
    /// spool, where a restart finds it.
    pub fn push(&self, seq: u64, record: &SpoolRecord) -> std::io::Result<()> {
        let sends = !(record.risk_events.is_empty() && record.notables.is_empty());
        if sends
            && self.spool.is_some()
            && self.held.load(Ordering::Acquire) >= self.config.max_held_bytes
        {
            self.queue(seq, seq + 1, None);
            return Ok(());
        }
        self.push_span(seq, seq + 1, envelopes(&self.config, record)?);
        Ok(())
    }

    /// Queues `envelopes`, the record at position `at`; once they are sent the cursor moves
    /// to `next` (ignored when `at` was already forwarded).
    pub fn push_span(&self, at: u64, next: u64, envelopes: Vec<String>) {
        self.queue(at, next, Some(envelopes))
    }

    fn queue(&self, at: u64, next: u64, envelopes: Option<Vec<String>>) {
        if at < self.next() {
            return;
        }
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if envelopes.as_ref().is_some_and(Vec::is_empty) && items.is_empty() {
            drop(items);
            self.advance(next);
            return;
        }
        let envelopes = envelopes.map(|e| {
            self.held.fetch_add(bytes(&e), Ordering::AcqRel);
            Arc::from(e)
        });
        items.push_back((at, next, envelopes));
        drop(items);
        self.notify.notify_one();
    }

    /// How many queued records wait in the spool rather than in memory.
    pub fn on_disk(&self) -> usize {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.iter().filter(|(.., e)| e.is_none()).count()
    }

    /// The envelopes of spool record `at`, read back; `None` when the spool does not hold it.
    fn read_back(&self, at: u64) -> Result<Option<Vec<String>>, String> {
        let Some(dir) = &self.spool else {
            return Ok(None);
        };
        match Spool::read(dir, at) {
            Ok(Some(record)) => envelopes(&self.config, &record)
                .map(Some)
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The settings the queue forwards with.
    pub fn config(&self) -> &ForwardConfig {
        &self.config
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

/// The bytes of `envelopes`' texts.
fn bytes(envelopes: &[String]) -> usize {
    envelopes.iter().map(String::len).sum()
}

/// Which index an output goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardKind {
    /// A risk event: `risk_index`.
    Risk,
    /// A notable: `notable_index`.
    Notable,
}

/// The HEC envelopes of a record's risk events and notables, or why its texts could not be
/// read back.
pub fn envelopes(config: &ForwardConfig, record: &SpoolRecord) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let run_time = record.scheduled as f64 / 1e9;
    for (kind, items) in [
        (ForwardKind::Risk, &record.risk_events),
        (ForwardKind::Notable, &record.notables),
    ] {
        let name = match kind {
            ForwardKind::Risk => "risk",
            ForwardKind::Notable => "notable",
        };
        for (i, item) in items.iter().enumerate() {
            let item = item?;
            let id = format!("{}|{}|{name}|{i}", record.detection, record.latest);
            out.push(envelope(
                config,
                kind,
                item.value(),
                id,
                run_time,
                &record.detection,
            ));
        }
    }
    Ok(out)
}

/// The HEC envelope of one risk event or notable `event`: `time` from its `_time` (else
/// `fallback_time`, epoch seconds), `source` from its `source` or `search_name` (else
/// `fallback_source`), and `cimhunt_id` = `id` added to it.
pub fn envelope(
    config: &ForwardConfig,
    kind: ForwardKind,
    mut event: Value,
    id: String,
    fallback_time: f64,
    fallback_source: &str,
) -> String {
    let index = match kind {
        ForwardKind::Risk => &config.risk_index,
        ForwardKind::Notable => &config.notable_index,
    };
    let time = event
        .get("_time")
        .and_then(|t| match t {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .unwrap_or(fallback_time);
    let source = ["source", "search_name"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| fallback_source.to_owned());
    if let Value::Object(map) = &mut event {
        map.insert("cimhunt_id".into(), Value::String(id));
    }
    json!({
        "time": time,
        "index": index,
        "sourcetype": config.sourcetype,
        "source": source,
        "event": event,
    })
    .to_string()
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
            let Some((at, next, envelopes)) = front else {
                if deadline.is_some() {
                    return;
                }
                tokio::select! {
                    _ = self.queue.notify.notified() => {}
                    _ = stop.changed() => {}
                }
                continue;
            };
            let envelopes = match envelopes {
                Some(e) => Ok(e),
                None => self.load(at).await,
            };
            let (envelopes, mut ok) = match envelopes {
                Ok(e) => (e, true),
                Err(e) => {
                    tracing::warn!("forwarding: {e}; retrying in {backoff:?}");
                    (Arc::from(Vec::new()), false)
                }
            };
            let chunk = self.queue.config.batch_events.max(1);
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
                let popped = self
                    .queue
                    .items
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front();
                if let Some((.., Some(e))) = popped {
                    self.queue.held.fetch_sub(bytes(&e), Ordering::AcqRel);
                }
                sent_in_front = 0;
                let q = Arc::clone(&self.queue);
                let _ = tokio::task::spawn_blocking(move || q.advance(next)).await;
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

    /// The envelopes of the front record, which waited in the spool: read back and held in
    /// its place (so a failed send does not read it again). A record the spool no longer holds
    /// cannot be sent: that is logged as an error and it is passed over.
    async fn load(&self, at: u64) -> Result<Arc<[String]>, String> {
        let q = Arc::clone(&self.queue);
        let read = tokio::task::spawn_blocking(move || q.read_back(at))
            .await
            .map_err(|e| format!("reading spool record {at} back: {e}"))??;
        let Some(envelopes) = read else {
            tracing::error!(
                "forwarding: spool record {at} is no longer in the spool; its risk events and \
                 notables were not forwarded"
            );
            return Ok(Arc::from(Vec::new()));
        };
        let envelopes: Arc<[String]> = Arc::from(envelopes);
        let mut items = self.queue.items.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(front) = items.front_mut()
            && front.0 == at
            && front.2.is_none()
        {
            self.queue
                .held
                .fetch_add(bytes(&envelopes), Ordering::AcqRel);
            front.2 = Some(Arc::clone(&envelopes));
        }
        Ok(envelopes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JsonText, Texts};

    fn record(detection: &str, risk: usize) -> SpoolRecord {
        let texts = |kind: &str, n: usize| -> Texts {
            (0..n)
                .map(|i| JsonText::new(&format!(r#"{{"{kind}":{i},"_time":1}}"#)).unwrap())
                .collect::<Vec<_>>()
                .into()
        };
        SpoolRecord {
            detection: detection.into(),
            scheduled: 0,
            earliest: 0,
            latest: 60,
            rows: texts("row", risk),
            risk_events: texts("risk", risk),
            notables: texts("notable", 1),
        }
    }

    #[test]
    fn records_beyond_the_budget_wait_in_the_spool_and_read_back_as_they_were_queued() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(&dir.path().join("spool"), |_, _| {}).unwrap();
        let mut config = ForwardConfig::new("http://127.0.0.1:9", "t");
        config.max_held_bytes = 1;
        let q = ForwardQueue::open(config.clone(), dir.path(), 0);
        let records: Vec<SpoolRecord> = (0..4).map(|i| record(&format!("D{i}"), i + 1)).collect();
        for r in &records {
            let seq = spool.append(r).unwrap();
            q.push(seq, r).unwrap();
        }
        // The first is held; the budget is then spent, and the others wait on disk.
        assert_eq!(q.len(), 4);
        assert_eq!(q.on_disk(), 3);
        for (seq, r) in records.iter().enumerate() {
            let back = q.read_back(seq as u64).unwrap();
            assert_eq!(back, Some(envelopes(&config, r).unwrap()), "record {seq}");
        }
        // A record the spool does not hold reads as none (the forwarder says so and moves on).
        assert_eq!(q.read_back(99).unwrap(), None);
        // Without a budget to spend, every record is held.
        let mut roomy = config.clone();
        roomy.max_held_bytes = 1 << 20;
        let all = ForwardQueue::open(roomy, &dir.path().join("other"), 0);
        for (seq, r) in records.iter().enumerate() {
            all.push(seq as u64, r).unwrap();
        }
        assert_eq!(all.on_disk(), 0);
    }
}
