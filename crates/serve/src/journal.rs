//! The write-ahead journal of accepted events, and the feeder that hands them to the engine.
//!
//! A request's events are encoded on the request's task, sent to the journal thread, appended
//! and synced together with whatever other requests arrived meanwhile (group commit: one
//! `fsync` per group, not per request), and only then is the request answered. The journal
//! thread passes each durable batch to the feeder thread, which offers it to the [`Sink`] and
//! retries while the sink is [`Busy`]. The events accepted but not yet taken by the sink are
//! bounded in number (`max_pending_events`) and in journaled bytes (`max_pending_bytes`, which
//! bounds their memory whatever their size); a request that would exceed either is answered
//! 503 before anything is written (unless nothing is pending: one request always fits).
//!
//! Key design decision: the sink only ever sees durable batches, in journal order, each once
//! per process; on start every batch from the persisted watermark on is replayed before the
//! listener opens.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use cimhunt_spl::time::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::engine::{Batch, Busy, EventBody, HecEvent, JsonText, Sink};
use crate::log::{LogError, SegmentLog};

/// A journaled event. Written borrowing the event it comes from (no copy of every event's text
/// on the request's thread before it is written); read back owned.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    text: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    json: Option<Cow<'a, JsonText>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    time: Option<(i64, u8)>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    host: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    source: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    sourcetype: Option<Cow<'a, str>>,
    index: Cow<'a, str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty", default)]
    fields: Cow<'a, [(String, String)]>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    received: Option<(i64, u8)>,
}

impl<'a> Stored<'a> {
    fn of(e: &'a HecEvent) -> Self {
        let (text, json) = match &e.body {
            EventBody::Text(t) => (Some(Cow::Borrowed(t.as_str())), None),
            EventBody::Json(v) => (None, Some(Cow::Borrowed(v))),
        };
        Stored {
            text,
            json,
            time: e.time.map(|t| (t.as_nanos(), t.digits())),
            host: e.host.as_deref().map(Cow::Borrowed),
            source: e.source.as_deref().map(Cow::Borrowed),
            sourcetype: e.sourcetype.as_deref().map(Cow::Borrowed),
            index: Cow::Borrowed(&e.index),
            fields: Cow::Borrowed(&e.fields),
            received: e.received.map(|t| (t.as_nanos(), t.digits())),
        }
    }
}

/// Encodes a request's events as one journal record.
pub fn encode(events: &[HecEvent]) -> Vec<u8> {
    let stored: Vec<Stored<'_>> = events.iter().map(Stored::of).collect();
    serde_json::to_vec(&stored).expect("journal records always serialize")
}

/// Decodes one journal record.
pub fn decode(bytes: &[u8]) -> Result<Vec<HecEvent>, serde_json::Error> {
    let stored: Vec<Stored<'static>> = serde_json::from_slice(bytes)?;
    Ok(stored
        .into_iter()
        .map(|s| HecEvent {
            body: match (s.text, s.json) {
                (Some(t), _) => EventBody::Text(t.into_owned()),
                (None, Some(v)) => EventBody::Json(v.into_owned()),
                (None, None) => EventBody::Text(String::new()),
            },
            time: s.time.map(|(n, d)| Timestamp::from_nanos(n, d)),
            host: s.host.map(Cow::into_owned),
            source: s.source.map(Cow::into_owned),
            sourcetype: s.sourcetype.map(Cow::into_owned),
            index: s.index.into_owned(),
            fields: s.fields.into_owned(),
            received: s.received.map(|(n, d)| Timestamp::from_nanos(n, d)),
        })
        .collect())
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The log failed.
    #[error("journal: {0}")]
    Log(#[from] LogError),
    /// A record that is not a batch of events.
    #[error("journal record {seq}: {source}")]
    Decode {
        /// Which record.
        seq: u64,
        /// The decoder's error.
        source: serde_json::Error,
    },
    /// The journal thread has stopped.
    #[error("the journal is closed")]
    Closed,
}

enum Msg {
    Append {
        payload: Vec<u8>,
        events: Vec<HecEvent>,
        done: oneshot::Sender<Result<u64, String>>,
    },
    Truncate(u64),
    Close,
}

/// The server's handle on the journal.
#[derive(Debug, Clone)]
pub struct Journal {
    tx: mpsc::Sender<Msg>,
    pending: Arc<AtomicUsize>,
    max_pending: usize,
    pending_bytes: Arc<AtomicUsize>,
    max_pending_bytes: usize,
    submitted_to: Arc<AtomicU64>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// What [`Journal::open`] started.
#[derive(Debug)]
pub struct JournalThreads {
    /// The journal thread (ends when every [`Journal`] handle is dropped).
    pub writer: thread::JoinHandle<()>,
    /// The feeder thread (ends after the writer, once every batch reached the sink).
    pub feeder: thread::JoinHandle<()>,
    /// The first sequence number of this process.
    pub first_seq: u64,
    /// How many batches and events were replayed.
    pub replayed: (u64, u64),
}

impl Journal {
    /// Opens the journal in `dir`, replays every batch from `watermark` on into `sink`, and
    /// starts the journal and feeder threads. At most `max_pending` events and
    /// `max_pending_bytes` of their journaled bytes wait for the sink.
    pub fn open(
        dir: &Path,
        segment_bytes: u64,
        fsync: bool,
        watermark: u64,
        (max_pending, max_pending_bytes): (usize, usize),
        sink: Arc<dyn Sink>,
    ) -> Result<(Journal, JournalThreads), JournalError> {
        let mut replayed = (0u64, 0u64);
        let mut decode_error = None;
        let log = SegmentLog::open(dir, segment_bytes, fsync, |seq, payload| {
            if seq < watermark || decode_error.is_some() {
                return Ok(());
            }
            match decode(payload) {
                Ok(events) => {
                    replayed.0 += 1;
                    replayed.1 += events.len() as u64;
                    submit_until_taken(
                        sink.as_ref(),
                        Batch {
                            seq,
                            events,
                            replayed: true,
                        },
                    );
                }
                Err(source) => decode_error = Some(JournalError::Decode { seq, source }),
            }
            Ok(())
        })?;
        if let Some(e) = decode_error {
            return Err(e);
        }
        let first_seq = log.next_seq();
        let (tx, rx) = mpsc::channel::<Msg>();
        let (feed_tx, feed_rx) = mpsc::channel::<(Batch, usize)>();
        let pending = Arc::new(AtomicUsize::new(0));
        let pending_bytes = Arc::new(AtomicUsize::new(0));
        let submitted_to = Arc::new(AtomicU64::new(first_seq));
        let writer = thread::Builder::new()
            .name("cimhunt-journal".into())
            .spawn(move || write_loop(log, rx, feed_tx))
            .map_err(|e| {
                JournalError::Log(LogError::Io {
                    path: dir.to_owned(),
                    source: e,
                })
            })?;
        let feeder_pending = Arc::clone(&pending);
        let feeder_bytes = Arc::clone(&pending_bytes);
        let feeder_submitted = Arc::clone(&submitted_to);
        let feeder = thread::Builder::new()
            .name("cimhunt-feeder".into())
            .spawn(move || {
                for (batch, bytes) in feed_rx {
                    let n = batch.events.len();
                    let seq = batch.seq;
                    submit_until_taken(sink.as_ref(), batch);
                    feeder_submitted.store(seq + 1, Ordering::Release);
                    feeder_pending.fetch_sub(n, Ordering::AcqRel);
                    feeder_bytes.fetch_sub(bytes, Ordering::AcqRel);
                }
            })
            .map_err(|e| {
                JournalError::Log(LogError::Io {
                    path: dir.to_owned(),
                    source: e,
                })
            })?;
        Ok((
            Journal {
                tx,
                pending,
                max_pending,
                pending_bytes,
                max_pending_bytes,
                submitted_to,
            },
            JournalThreads {
                writer,
                feeder,
                first_seq,
                replayed,
            },
        ))
    }

    /// Reserves room for `n` events of `bytes` journaled bytes, or refuses (server busy).
    /// When nothing is pending, any one request fits.
    pub fn reserve(&self, n: usize, bytes: usize) -> bool {
        let before = self.pending.fetch_add(n, Ordering::AcqRel);
        let before_bytes = self.pending_bytes.fetch_add(bytes, Ordering::AcqRel);
        let over = before + n > self.max_pending || before_bytes + bytes > self.max_pending_bytes;
        if over && (before > 0 || before_bytes > 0) {
            self.release(n, bytes);
            return false;
        }
        true
    }

    /// Gives back a reservation that was not used.
    pub fn release(&self, n: usize, bytes: usize) {
        self.pending.fetch_sub(n, Ordering::AcqRel);
        self.pending_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Journaled bytes of the events accepted and not yet taken by the sink.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes.load(Ordering::Acquire)
    }

    /// Events accepted and not yet taken by the sink.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Whether the queue to the sink is full.
    pub fn is_full(&self) -> bool {
        self.pending() >= self.max_pending || self.pending_bytes() >= self.max_pending_bytes
    }

    /// Every batch below this sequence number has been taken by the sink.
    pub fn submitted_to(&self) -> u64 {
        self.submitted_to.load(Ordering::Acquire)
    }

    /// Appends a reserved batch; resolves with its sequence number once it is durable.
    pub async fn append(&self, events: Vec<HecEvent>, payload: Vec<u8>) -> Result<u64, String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Append {
                payload,
                events,
                done,
            })
            .map_err(|_| "the journal is closed".to_owned())?;
        wait.await.map_err(|_| "the journal is closed".to_owned())?
    }

    /// Stops the journal thread once everything sent before is written.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
    }

    /// Deletes the journal segments wholly below `seq`.
    pub fn truncate(&self, seq: u64) {
        let _ = self.tx.send(Msg::Truncate(seq));
    }
}

fn submit_until_taken(sink: &dyn Sink, mut batch: Batch) {
    let mut wait = Duration::from_millis(1);
    loop {
        match sink.submit(batch) {
            Ok(()) => return,
            Err(Busy(b)) => {
                batch = b;
                thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(100));
            }
        }
    }
}

const GROUP_MAX: usize = 1024;

fn write_loop(mut log: SegmentLog, rx: mpsc::Receiver<Msg>, feed: mpsc::Sender<(Batch, usize)>) {
    let mut group = Vec::new();
    let mut truncate_to = None;
    let mut closing = false;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Append {
                    payload,
                    events,
                    done,
                } => group.push((payload, events, done)),
                Msg::Truncate(seq) => truncate_to = Some(seq),
                Msg::Close => closing = true,
            }
            next = if group.len() < GROUP_MAX && !closing {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !group.is_empty() {
            let payloads: Vec<&[u8]> = group.iter().map(|(p, _, _)| p.as_slice()).collect();
            match log.append(&payloads) {
                Ok(first_seq) => {
                    for (i, (payload, events, done)) in group.drain(..).enumerate() {
                        let seq = first_seq + i as u64;
                        let batch = Batch {
                            seq,
                            events,
                            replayed: false,
                        };
                        let _ = feed.send((batch, payload.len()));
                        let _ = done.send(Ok(seq));
                    }
                }
                Err(e) => {
                    tracing::error!("journal append failed: {e}");
                    let text = e.to_string();
                    for (_, _, done) in group.drain(..) {
                        let _ = done.send(Err(text.clone()));
                    }
                }
            }
        }
        if let Some(seq) = truncate_to.take() {
            match log.remove_before(seq) {
                Ok(n) if n > 0 => tracing::debug!("journal: removed {n} segment(s) below {seq}"),
                Ok(_) => {}
                Err(e) => tracing::warn!("journal truncation failed: {e}"),
            }
        }
        if closing {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_every_member() {
        let events = vec![
            HecEvent {
                body: EventBody::Text("<Event/>".into()),
                time: Some(Timestamp::from_nanos(1_700_000_000_123_000_000, 3)),
                host: Some("h".into()),
                source: None,
                sourcetype: Some("XmlWinEventLog".into()),
                index: "main".into(),
                fields: vec![("a".into(), "b".into())],
                received: None,
            },
            HecEvent {
                body: EventBody::Json(JsonText::new(r#"{"k": [1, "x"]}"#).unwrap()),
                time: None,
                host: None,
                source: Some("s".into()),
                sourcetype: None,
                index: "win".into(),
                fields: vec![],
                received: Some(Timestamp::from_nanos(1_700_000_100_000_000_000, 0)),
            },
        ];
        assert_eq!(decode(&encode(&events)).unwrap(), events);
        // The bytes written, pinned, so that journals written by earlier builds read the same.
        assert_eq!(
            String::from_utf8(encode(&events)).unwrap(),
            r#"[{"text":"<Event/>","time":[1700000000123000000,3],"host":"h","sourcetype":"XmlWinEventLog","index":"main","fields":[["a","b"]]},{"json":{"k": [1, "x"]},"source":"s","index":"win","received":[1700000100000000000,0]}]"#
        );
    }
}
