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

/// The first byte of a journal record in the binary encoding ([`Packed`], postcard). A record
/// written as JSON (by builds before 2026-12-04) starts with `[` and is still read.
///
/// Binary, because writing each event's text as a JSON string escaped every quote of its XML
/// on the request's thread: a quarter of the HTTP threads' time when the library was served.
const BINARY: u8 = 0xB1;

/// A journaled event in the binary encoding: every text as its bytes, borrowed both ways (from
/// the event when written, from the record when read).
#[derive(Serialize, Deserialize)]
struct Packed<'a> {
    text: Option<&'a str>,
    /// A JSON `event`'s text, checked again when read.
    json: Option<&'a str>,
    time: Option<(i64, u8)>,
    host: Option<&'a str>,
    source: Option<&'a str>,
    sourcetype: Option<&'a str>,
    index: &'a str,
    fields: Vec<(&'a str, &'a str)>,
    received: Option<(i64, u8)>,
}

impl<'a> Packed<'a> {
    fn of(e: &'a HecEvent) -> Self {
        let (text, json) = match &e.body {
            EventBody::Text(t) => (Some(t.as_str()), None),
            EventBody::Json(v) => (None, Some(v.get())),
        };
        Packed {
            text,
            json,
            time: e.time.map(|t| (t.as_nanos(), t.digits())),
            host: e.host.as_deref(),
            source: e.source.as_deref(),
            sourcetype: e.sourcetype.as_deref(),
            index: &e.index,
            fields: e
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            received: e.received.map(|t| (t.as_nanos(), t.digits())),
        }
    }

    fn event(self) -> Result<HecEvent, DecodeError> {
        let body = match (self.text, self.json) {
            (Some(t), _) => EventBody::Text(t.to_owned()),
            (None, Some(v)) => EventBody::Json(JsonText::new(v)?),
            (None, None) => EventBody::Text(String::new()),
        };
        Ok(HecEvent {
            body,
            time: self.time.map(|(n, d)| Timestamp::from_nanos(n, d)),
            host: self.host.map(str::to_owned),
            source: self.source.map(str::to_owned),
            sourcetype: self.sourcetype.map(str::to_owned),
            index: self.index.to_owned(),
            fields: self
                .fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            received: self.received.map(|(n, d)| Timestamp::from_nanos(n, d)),
        })
    }
}

/// A journaled event as builds before 2026-12-04 wrote it (JSON, members left out when empty);
/// only read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Stored {
    text: Option<String>,
    json: Option<JsonText>,
    time: Option<(i64, u8)>,
    host: Option<String>,
    source: Option<String>,
    sourcetype: Option<String>,
    index: String,
    fields: Vec<(String, String)>,
    received: Option<(i64, u8)>,
}

/// Encodes a request's events as one journal record.
pub fn encode(events: &[HecEvent]) -> Vec<u8> {
    let packed: Vec<Packed<'_>> = events.iter().map(Packed::of).collect();
    let text: usize = events
        .iter()
        .map(|e| match &e.body {
            EventBody::Text(t) => t.len(),
            EventBody::Json(v) => v.get().len(),
        })
        .sum();
    let mut out = Vec::with_capacity(text + 64 * events.len() + 16);
    out.push(BINARY);
    postcard::to_io(&packed, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Why a journal record could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A record in the binary encoding that does not decode.
    #[error("{0}")]
    Binary(#[from] postcard::Error),
    /// A record written as JSON that does not decode, or a JSON event that is not JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A record that starts with neither encoding's first byte.
    #[error("a record in no known encoding (first byte {0:#04x})")]
    Unknown(u8),
    /// A record of no bytes.
    #[error("an empty record")]
    Empty,
}

/// Decodes one journal record, in either encoding.
pub fn decode(bytes: &[u8]) -> Result<Vec<HecEvent>, DecodeError> {
    match bytes.first() {
        Some(&BINARY) => postcard::from_bytes::<Vec<Packed<'_>>>(&bytes[1..])?
            .into_iter()
            .map(Packed::event)
            .collect(),
        Some(b'[') => Ok(serde_json::from_slice::<Vec<Stored>>(bytes)?
            .into_iter()
            .map(|s| HecEvent {
                body: match (s.text, s.json) {
                    (Some(t), _) => EventBody::Text(t),
                    (None, Some(v)) => EventBody::Json(v),
                    (None, None) => EventBody::Text(String::new()),
                },
                time: s.time.map(|(n, d)| Timestamp::from_nanos(n, d)),
                host: s.host,
                source: s.source,
                sourcetype: s.sourcetype,
                index: s.index,
                fields: s.fields,
                received: s.received.map(|(n, d)| Timestamp::from_nanos(n, d)),
            })
            .collect()),
        Some(&other) => Err(DecodeError::Unknown(other)),
        None => Err(DecodeError::Empty),
    }
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
        source: DecodeError,
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
        let written = encode(&events);
        assert_eq!(written[0], BINARY);
        assert_eq!(decode(&written).unwrap(), events);
        // The bytes written, pinned, so that journals written by this build read the same
        // in later ones: the text of the event as it is, no escaping.
        let mut pinned = vec![BINARY, 2, 1, 8];
        pinned.extend_from_slice(b"<Event/>");
        assert_eq!(written[..pinned.len()], pinned[..]);
        // The tag, the count, 53 and 40 bytes for the two events (times as 9-byte varints).
        assert_eq!(written.len(), 95);
        // Journals written as JSON by builds before 2026-12-04 read the same events.
        let json = r#"[{"text":"<Event/>","time":[1700000000123000000,3],"host":"h","sourcetype":"XmlWinEventLog","index":"main","fields":[["a","b"]]},{"json":{"k": [1, "x"]},"source":"s","index":"win","received":[1700000100000000000,0]}]"#;
        assert_eq!(decode(json.as_bytes()).unwrap(), events);
    }

    #[test]
    fn a_record_in_no_known_encoding_or_cut_short_is_an_error_not_a_panic() {
        let events = vec![HecEvent {
            body: EventBody::Json(JsonText::new(r#"{"k": 1}"#).unwrap()),
            time: None,
            host: None,
            source: None,
            sourcetype: None,
            index: "main".into(),
            fields: vec![],
            received: None,
        }];
        let written = encode(&events);
        for cut in 0..written.len() {
            assert!(decode(&written[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(decode(b""), Err(DecodeError::Empty)));
        let err = decode(b"{}").unwrap_err();
        assert!(err.to_string().contains("0x7b"), "{err}");
        // A JSON event whose text is not JSON is refused when read back.
        let mut bad = written.clone();
        let at = bad.windows(8).position(|w| w == br#"{"k": 1}"#).unwrap();
        bad[at] = b'[';
        assert!(matches!(decode(&bad), Err(DecodeError::Json(_))));
    }
}
