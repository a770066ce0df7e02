//! Publishing raw events: inputs are read with the read crate, their records (text records as
//! they are, EVTX chunks whole) gathered into messages of a few hundred KiB with each record's
//! position, and published to the events stream with an id made of the publisher, the input and
//! the position of the message's first record, so that publishing the same input again is
//! dropped by JetStream's de-duplication (and, past its window, by the reducers).
//!
//! Reading runs on its own thread; publishing keeps a window of acknowledgements in flight
//! (CRATES.md pitfall 17: waiting for each acknowledgement in turn costs most of the time) and
//! publishes a message again, under the same id, when its acknowledgement fails.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use cimhunt_engine::{Meta, Place, RecordError, Stats};
use cimhunt_read::{Format, Input, ReadErrorKind, ReadEvent, Reader, ReaderOptions};
use sha2::{Digest, Sha256};

use crate::connect::Cluster;
use crate::error::ClusterError;
use crate::names::{PARTITIONS, is_token};
use crate::wire::{
    BatchCtx, EventMessage, HEADER_BATCH, Position, RecordFormat, VERSION, WireMeta,
};

/// The EVTX file header a message of chunks starts with: the magic, then zeros (the reader
/// trusts nothing else in it).
const EVTX_HEADER_LEN: usize = 4096;

/// How large the messages a publisher makes may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Raw bytes of records per message (before compression); clamped to what the server
    /// accepts.
    pub max_bytes: usize,
    /// Records per message.
    pub max_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512 << 10,
            max_records: 4096,
        }
    }
}

/// One input to publish.
#[derive(Debug)]
pub struct Source {
    /// The bytes.
    pub input: Input,
    /// Its metadata.
    pub meta: Meta,
    /// What identifies the input among the publisher's inputs, stable across runs (a hash of
    /// its canonical path, a batch's input number, a HEC request's journal number).
    pub key: String,
    /// Its number among the inputs of a batch (ordering of collected rows); 0 otherwise.
    pub input_no: u64,
}

impl Source {
    /// A file, keyed by its canonical path.
    pub fn file(input: Input, meta: Meta) -> Source {
        let name = input.name.to_string();
        let canonical = std::fs::canonicalize(&name)
            .map(|p| p.display().to_string())
            .unwrap_or(name);
        Source {
            input,
            meta,
            key: short_hash(canonical.as_bytes()),
            input_no: 0,
        }
    }
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The live stream, for the scheduled windows.
    Live,
    /// One batch (`hunt --nats`).
    Batch(BatchCtx),
}

/// What publishing did.
#[derive(Debug, Default)]
pub struct Published {
    /// Messages published (including those the server recognised as duplicates).
    pub messages: u64,
    /// Of which the server already had.
    pub duplicates: u64,
    /// Records published.
    pub records: u64,
    /// Bytes of records published (before compression).
    pub bytes: u64,
    /// Bytes on the wire (compressed).
    pub wire_bytes: u64,
    /// Counters of what the reader found, as a local run counts them (inputs opened, failed,
    /// not event data; records lost to read errors).
    pub stats: Stats,
    /// Read errors that cost records (the input goes on).
    pub errors: Vec<RecordError>,
    /// Inputs that could not be read or recognised.
    pub failed_inputs: Vec<RecordError>,
    /// The published messages' ids, in order.
    pub ids: Vec<String>,
}

/// Publishes inputs to the events stream.
#[derive(Debug, Clone)]
pub struct Publisher {
    cluster: Cluster,
    id: String,
    limits: Limits,
    reader: ReaderOptions,
}

/// What the reading thread hands the publishing side.
enum Cut {
    Message(Box<EventMessage>, u64),
    Opened,
    /// An input ended: the bytes it held (after decompression).
    Read(u64),
    Error {
        error: RecordError,
        input_failed: bool,
        not_events: bool,
    },
}

impl Publisher {
    /// A publisher named `id` (letters, digits, `-`, `_`): message ids start with it, so two
    /// publishers of the same file do not hide each other's messages, and one publisher
    /// publishing a file again is recognised.
    pub fn new(cluster: Cluster, id: &str, limits: Limits) -> Result<Publisher, ClusterError> {
        if !is_token(id) {
            return Err(ClusterError::Config(format!(
                "publisher id {id:?}: expected 1 to 64 letters, digits, '-' or '_'"
            )));
        }
        let max = cluster.max_payload() * 3 / 4;
        let limits = Limits {
            max_bytes: limits.max_bytes.clamp(1, max),
            max_records: limits.max_records.max(1),
        };
        Ok(Publisher {
            cluster,
            id: id.to_owned(),
            limits,
            reader: ReaderOptions::default(),
        })
    }

    /// Publishes the inputs in order; `progress` sees the counters after every message.
    pub async fn publish(
        &self,
        sources: Vec<Source>,
        destination: &Destination,
        progress: &(dyn Fn(&Published) + Sync),
    ) -> Result<Published, ClusterError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Cut>(8);
        let reader = Reader::new(self.reader.clone());
        let (id, limits, batch) = (
            self.id.clone(),
            self.limits,
            match destination {
                Destination::Batch(b) => Some(b.clone()),
                Destination::Live => None,
            },
        );
        let cutter = std::thread::spawn(move || {
            for source in sources {
                if !cut(&reader, source, &id, limits, batch.as_ref(), &tx) {
                    break;
                }
            }
        });
        let mut out = Published::default();
        let mut window: VecDeque<(Outgoing, PublishAckFuture)> = VecDeque::new();
        let mut result = Ok(());
        while let Some(item) = rx.recv().await {
            match item {
                Cut::Opened => out.stats.inputs += 1,
                Cut::Read(bytes) => out.stats.bytes += bytes,
                Cut::Error {
                    error,
                    input_failed,
                    not_events,
                } => count_error(&mut out, error, input_failed, not_events),
                Cut::Message(msg, raw_bytes) => {
                    let outgoing = self.outgoing(&msg, destination);
                    out.messages += 1;
                    out.records += msg.positions.len() as u64;
                    out.bytes += raw_bytes;
                    out.wire_bytes += outgoing.payload.len() as u64;
                    out.ids.push(msg.id.clone());
                    if outgoing.payload.len() > self.cluster.max_payload() {
                        // One record larger than a message can be: reported, not published.
                        out.messages -= 1;
                        out.records -= msg.positions.len() as u64;
                        out.ids.pop();
                        count_error(
                            &mut out,
                            RecordError {
                                input: Arc::new(cimhunt_read::InputName::Named(msg.input.clone())),
                                place: msg.positions.first().map(|p| place(msg.format, p)),
                                message: format!(
                                    "record of {raw_bytes} bytes does not fit in a NATS message \
                                     (the server's max_payload is {} bytes); skipped",
                                    self.cluster.max_payload()
                                ),
                                skipped: msg.positions.len() as u64,
                            },
                            false,
                            false,
                        );
                        continue;
                    }
                    match self.send(&outgoing).await {
                        Ok(ack) => window.push_back((outgoing, ack)),
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                    while window.len() >= 64 {
                        let (o, ack) = window.pop_front().expect("non-empty window");
                        match self.settle(o, ack).await {
                            Ok(dup) => out.duplicates += u64::from(dup),
                            Err(e) => {
                                result = Err(e);
                                break;
                            }
                        }
                    }
                    if result.is_err() {
                        break;
                    }
                    progress(&out);
                }
            }
        }
        drop(rx);
        while let Some((o, ack)) = window.pop_front() {
            if result.is_err() {
                break;
            }
            match self.settle(o, ack).await {
                Ok(dup) => out.duplicates += u64::from(dup),
                Err(e) => result = Err(e),
            }
        }
        let _ = tokio::task::spawn_blocking(move || cutter.join()).await;
        progress(&out);
        result.map(|()| out)
    }

    fn outgoing(&self, msg: &EventMessage, destination: &Destination) -> Outgoing {
        let names = &self.cluster.names;
        let subject = match destination {
            Destination::Live => {
                let key = msg.meta.host.as_deref().unwrap_or(&msg.input);
                let partition = u64::from_str_radix(&short_hash(key.as_bytes())[..8], 16)
                    .unwrap_or(0)
                    % PARTITIONS;
                names.live_events(partition)
            }
            Destination::Batch(b) => names.batch_events(&b.id),
        };
        Outgoing {
            subject,
            id: msg.id.clone(),
            batch: msg.batch.as_ref().map(|b| b.id.clone()),
            payload: Bytes::from(msg.encode()),
        }
    }

    async fn send(&self, o: &Outgoing) -> Result<PublishAckFuture, ClusterError> {
        let mut last = String::new();
        for attempt in 0..5u32 {
            let mut m = PublishMessage::build()
                .payload(o.payload.clone())
                .message_id(&o.id);
            if let Some(b) = &o.batch {
                m = m.header(HEADER_BATCH, b.as_str());
            }
            match self.cluster.js.send_publish(o.subject.clone(), m).await {
                Ok(ack) => return Ok(ack),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(ClusterError::nats(format!("publishing {}", o.id), last))
    }

    /// Waits for a message's acknowledgement; publishes it again (same id) while it fails, for
    /// as long as the stream is full (workers are behind) or for a few attempts otherwise.
    async fn settle(&self, o: Outgoing, ack: PublishAckFuture) -> Result<bool, ClusterError> {
        let mut ack = ack;
        let mut attempt = 0u32;
        loop {
            match ack.await {
                Ok(a) => return Ok(a.duplicate),
                Err(e) => {
                    let text = e.to_string();
                    let full = text.contains("maximum") || text.contains("resource");
                    attempt += 1;
                    if !full && attempt >= 8 {
                        return Err(ClusterError::nats(format!("publishing {}", o.id), text));
                    }
                    tokio::time::sleep(backoff(attempt.min(6))).await;
                    ack = self.send(&o).await?;
                }
            }
        }
    }
}

struct Outgoing {
    subject: String,
    id: String,
    batch: Option<String>,
    payload: Bytes,
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64 << attempt.min(6))
}

/// 16 hex digits of SHA-256.
pub(crate) fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn place(format: RecordFormat, p: &Position) -> Place {
    match format {
        RecordFormat::Evtx => Place::Evtx {
            chunk: p.line,
            record: None,
            event_record_id: None,
        },
        _ => Place::Text {
            line: p.line,
            record: Some(p.ordinal),
        },
    }
}

/// Counts a read error as a local run's deliverer does.
fn count_error(out: &mut Published, error: RecordError, input_failed: bool, not_events: bool) {
    if not_events {
        out.stats.inputs_not_events += 1;
        return;
    }
    out.stats.records += error.skipped;
    if error.skipped > 0 {
        let reason = if error.place.is_some() {
            "malformed input"
        } else {
            "unreadable input"
        };
        out.stats.skipped_records += error.skipped;
        *out.stats.skipped_reasons.entry(reason).or_default() += error.skipped;
    }
    if input_failed {
        out.stats.inputs_failed += 1;
        out.failed_inputs.push(error);
    } else {
        out.errors.push(error);
    }
}

/// A message being filled.
struct Open {
    format: RecordFormat,
    data: Vec<u8>,
    positions: Vec<Position>,
    raw: u64,
}

/// Reads one input and hands its messages and errors over; false when the receiver is gone.
fn cut(
    reader: &Reader,
    source: Source,
    publisher: &str,
    limits: Limits,
    batch: Option<&BatchCtx>,
    tx: &tokio::sync::mpsc::Sender<Cut>,
) -> bool {
    let Source {
        input,
        meta,
        key,
        input_no,
    } = source;
    let explicit = input.explicit;
    let name = input.name.to_string();
    let meta = WireMeta::from_meta(&meta);
    let mut open: Option<Open> = None;
    let finish = |open: Open| -> Cut {
        let first = open.positions.first().map_or(0, |p| p.ordinal);
        let data = zstd::bulk::compress(&open.data, 1).unwrap_or(open.data);
        Cut::Message(
            Box::new(EventMessage {
                version: VERSION,
                id: format!("{publisher}:{key}:{first}"),
                input: name.clone(),
                input_no,
                format: open.format,
                meta: meta.clone(),
                batch: batch.cloned(),
                positions: open.positions,
                data,
            }),
            open.raw,
        )
    };
    for event in reader.read(input) {
        let item = match event {
            ReadEvent::Opened { .. } => Cut::Opened,
            ReadEvent::Finished { bytes } => Cut::Read(bytes),
            // Damage worked around without loss: reported with the input's errors, costing
            // no record.
            ReadEvent::Notice(notice) => Cut::Error {
                error: RecordError {
                    input: Arc::clone(&notice.input),
                    place: notice.at.and_then(place_of),
                    message: notice.kind.to_string(),
                    skipped: 0,
                },
                input_failed: false,
                not_events: false,
            },
            ReadEvent::Error {
                error,
                skipped_records,
            } => {
                let not_events = !explicit && error.kind == ReadErrorKind::UnknownFormat;
                let input_failed = error.kind.ends_input() && !not_events;
                Cut::Error {
                    error: RecordError {
                        input: Arc::clone(&error.input),
                        place: error.at.and_then(place_of),
                        message: error.kind.to_string(),
                        skipped: skipped_records,
                    },
                    input_failed,
                    not_events,
                }
            }
            ReadEvent::Batch(batch) => {
                let format = RecordFormat::from(batch.format);
                let mut lines = batch.lines();
                for (span, bytes) in batch.iter() {
                    let full = open.as_ref().is_some_and(|o| {
                        !o.positions.is_empty()
                            && (o.raw as usize + bytes.len() > limits.max_bytes
                                || o.positions.len() >= limits.max_records)
                    });
                    if full
                        && let Some(o) = open.take()
                        && tx.blocking_send(finish(o)).is_err()
                    {
                        return false;
                    }
                    let o = open.get_or_insert_with(|| new_open(format));
                    o.data.extend_from_slice(bytes);
                    if batch.format != Format::Evtx {
                        o.data.push(b'\n');
                    }
                    o.raw += bytes.len() as u64;
                    o.positions.push(Position {
                        line: lines.line(span).or(span.chunk()).unwrap_or(0),
                        ordinal: span.ordinal,
                    });
                }
                continue;
            }
            // A kind of item this version does not know carries no records.
            _ => continue,
        };
        if tx.blocking_send(item).is_err() {
            return false;
        }
    }
    if let Some(o) = open.take()
        && tx.blocking_send(finish(o)).is_err()
    {
        return false;
    }
    true
}

fn new_open(format: RecordFormat) -> Open {
    let mut data = Vec::new();
    if format == RecordFormat::Evtx {
        data.extend_from_slice(b"ElfFile\0");
        data.resize(EVTX_HEADER_LEN, 0);
    }
    Open {
        format,
        data,
        positions: Vec::new(),
        raw: 0,
    }
}

/// An engine place for a reader's location (`None` for a kind of place this version does not
/// know).
fn place_of(at: cimhunt_read::Location) -> Option<Place> {
    if let Some(line) = at.line() {
        return Some(Place::Text { line, record: None });
    }
    at.chunk().map(|chunk| Place::Evtx {
        chunk,
        record: None,
        event_record_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines (text) or chunk numbers (EVTX) of the records in the messages cut from
    /// `bytes`.
    fn positions(bytes: Vec<u8>) -> Vec<u64> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let source = Source {
            input: Input::reader("t", Box::new(std::io::Cursor::new(bytes))),
            meta: Meta::default(),
            key: "k".to_owned(),
            input_no: 0,
        };
        assert!(cut(
            &Reader::default(),
            source,
            "p",
            Limits::default(),
            None,
            &tx
        ));
        drop(tx);
        let mut lines = Vec::new();
        while let Ok(cut) = rx.try_recv() {
            if let Cut::Message(m, _) = cut {
                lines.extend(m.positions.iter().map(|p| p.line));
            }
        }
        lines
    }

    /// Regression: a message's positions held each record's text line, which an EVTX chunk
    /// does not have, so every chunk was chunk 0: a worker's errors named chunk 0 and its
    /// record keys (chunk and number in it) ran together across chunks.
    #[test]
    fn an_evtx_input_s_positions_are_its_chunk_numbers() {
        let mut bytes = vec![0u8; 4096];
        bytes[..8].copy_from_slice(b"ElfFile\0");
        for _ in 0..3 {
            let mut chunk = vec![0u8; 65536];
            chunk[..8].copy_from_slice(b"ElfChnk\0");
            bytes.extend_from_slice(&chunk);
        }
        assert_eq!(positions(bytes), vec![0, 1, 2]);
    }

    /// A text input's positions are its records' lines, counted as its messages are cut.
    #[test]
    fn a_text_input_s_positions_are_its_records_lines() {
        let text = "<Event><EventID>1</EventID></Event>\n\n<Event>\n<EventID>2</EventID></Event>\n<Event><EventID>3</EventID></Event>";
        assert_eq!(positions(text.as_bytes().to_vec()), vec![1, 3, 5]);
    }
}
