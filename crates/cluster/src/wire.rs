//! What travels on the streams, and how: raw records going to the workers
//! ([`EventMessage`]), partial states coming back ([`Bundle`]), and the pieces a message is cut
//! into when it is larger than the server accepts.
//!
//! Everything is postcard (the engine's partial-state encoding) with a format version, and
//! zstd-compressed. An [`EventMessage`] carries records exactly as the reader cut them from
//! their input (text records as they are, EVTX chunks whole), joined into a small input of the
//! same format that the worker's engine reads again, with each record's original position, so
//! that the rows and the errors a worker reports name the place in the original input and
//! collected rows keep the order a single process gives them.
//!
//! Key design decision: a bundle's identity is the identity of the event message it was
//! computed from, never the worker that computed it or when, so every copy of it (a redelivered
//! message, a duplicate publish) carries the same id and is merged once.

use std::io::Read;

use cimhunt_engine::Meta;
use cimhunt_spl::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ClusterError;

/// The format version of everything here. Bump it when any of these types change.
pub const VERSION: u32 = 4;

/// The largest decompressed message this build accepts (a bound against compression bombs).
pub const MAX_DECOMPRESSED: u64 = 512 << 20;

/// Header naming the id of the whole a piece belongs to.
pub const HEADER_BASE: &str = "Cimhunt-Base";
/// Header of a piece of a larger whole: `k/n/digest`.
pub const HEADER_CHUNK: &str = "Cimhunt-Chunk";
/// Header naming a message's batch.
pub const HEADER_BATCH: &str = "Cimhunt-Batch";
/// Header naming a reduced window: `group/scheduled/earliest/latest` (epoch seconds).
pub const HEADER_WINDOW: &str = "Cimhunt-Window";
/// Header naming a detection.
pub const HEADER_DETECTION: &str = "Cimhunt-Detection";

/// The format of a message's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordFormat {
    /// EVTX chunks (64 KiB each).
    Evtx,
    /// Windows event XML, one `<Event>` element per record.
    Xml,
    /// JSON objects.
    Json,
}

impl From<cimhunt_read::Format> for RecordFormat {
    fn from(f: cimhunt_read::Format) -> Self {
        match f {
            cimhunt_read::Format::Evtx => RecordFormat::Evtx,
            cimhunt_read::Format::XmlEvents => RecordFormat::Xml,
            cimhunt_read::Format::Json => RecordFormat::Json,
        }
    }
}

/// An input's metadata as it travels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMeta {
    /// `source`.
    pub source: Option<String>,
    /// `sourcetype`.
    pub sourcetype: Option<String>,
    /// `host`.
    pub host: Option<String>,
    /// `index`.
    pub index: Option<String>,
    /// `_time` stated by the input (a HEC envelope's `time`): wins over the event's own.
    #[serde(default)]
    pub time: Option<Timestamp>,
    /// `_time` for an event with none of its own (a HEC request's receipt time).
    #[serde(default)]
    pub fallback_time: Option<Timestamp>,
    /// Indexed fields (a HEC envelope's `fields`), in order.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
}

impl WireMeta {
    /// From the engine's metadata.
    pub fn from_meta(m: &Meta) -> WireMeta {
        let s = |v: &Option<std::sync::Arc<str>>| v.as_deref().map(str::to_owned);
        WireMeta {
            source: s(&m.source),
            sourcetype: s(&m.sourcetype),
            host: s(&m.host),
            index: s(&m.index),
            time: m.time,
            fallback_time: m.fallback_time,
            fields: m
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// To the engine's metadata.
    pub fn to_meta(&self) -> Meta {
        let a = |v: &Option<String>| v.as_deref().map(std::sync::Arc::from);
        Meta {
            source: a(&self.source),
            sourcetype: a(&self.sourcetype),
            host: a(&self.host),
            index: a(&self.index),
            time: self.time,
            fallback_time: self.fallback_time,
            fields: self
                .fields
                .iter()
                .map(|(k, v)| {
                    (
                        std::sync::Arc::from(k.as_str()),
                        std::sync::Arc::from(v.as_str()),
                    )
                })
                .collect(),
        }
    }
}

/// What a batch run (`hunt --nats`) asks of the workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCtx {
    /// The batch id.
    pub id: String,
    /// The search time (`--now`), epoch nanoseconds.
    pub now_nanos: i64,
    /// Its fractional digits.
    pub now_digits: u8,
    /// The display time zone (`--tz`).
    pub tz: String,
    /// Decode every record, whatever the prefilter says (`--strict`, `--no-prefilter`).
    pub decode_all: bool,
}

/// Where a record was in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Text: the 1-based line the record starts on; EVTX: the 0-based chunk number.
    pub line: u64,
    /// The record's 1-based number among its input's records.
    pub ordinal: u64,
}

/// Raw records of one input, for one worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    /// [`VERSION`].
    pub version: u32,
    /// The message id (also its `Nats-Msg-Id`): publisher, input, first position.
    pub id: String,
    /// The input's name, as errors show it.
    pub input: String,
    /// The input's number among the inputs of a batch (collected rows are ordered by it).
    pub input_no: u64,
    /// The records' format.
    pub format: RecordFormat,
    /// The input's metadata.
    pub meta: WireMeta,
    /// The batch, for a batch run.
    pub batch: Option<BatchCtx>,
    /// Each record's position in the input, in order.
    pub positions: Vec<Position>,
    /// The records as an input of their format, zstd-compressed.
    pub data: Vec<u8>,
}

/// One detection's partial state for one time bucket ([`cimhunt_engine::Partial::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WirePartial {
    /// The detection's plan fingerprint.
    pub fingerprint: String,
    /// The bucket's start (seconds).
    pub bucket: i64,
    /// The encoded partial state.
    pub bytes: Vec<u8>,
}

/// The partial states computed from one event message (for a live message: those of one hour
/// of buckets), and for a batch the message's counters and errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`VERSION`].
    pub version: u32,
    /// The event message's id.
    pub message: String,
    /// The partial states.
    pub partials: Vec<WirePartial>,
    /// Counters and errors (batch messages).
    pub report: Option<Report>,
}

/// What processing one event message counted and what went wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Bytes of records read (an input's whole size is counted by its publisher, as a local
    /// run counts it).
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Records the prefilter skipped undecoded.
    pub prefiltered: u64,
    /// Events presented to the detections.
    pub events: u64,
    /// Records skipped because they could not be decoded.
    pub skipped_records: u64,
    /// Skipped records by reason.
    pub skipped_reasons: Vec<(String, u64)>,
    /// Batches whose processing failed.
    pub failed_batches: u64,
    /// The errors, at their places in the original input.
    pub errors: Vec<WireRecordError>,
}

/// A skipped record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRecordError {
    /// The input.
    pub input: String,
    /// Where.
    pub place: Option<WirePlace>,
    /// What happened.
    pub message: String,
    /// How many records it cost.
    pub skipped: u64,
}

/// A place in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WirePlace {
    /// A text record.
    Text {
        /// Line.
        line: u64,
        /// Record number (`None` for bytes that held no complete record).
        record: Option<u64>,
    },
    /// An EVTX record.
    Evtx {
        /// Chunk.
        chunk: u64,
        /// The number in the record's header, when readable.
        record: Option<u64>,
        /// `EventRecordID`, when readable.
        event_record_id: Option<u64>,
    },
}

fn wire_error(id: &str, message: impl std::fmt::Display) -> ClusterError {
    ClusterError::Wire {
        id: id.to_owned(),
        message: message.to_string(),
    }
}

/// postcard, then zstd.
fn pack<T: Serialize>(value: &T) -> Vec<u8> {
    let plain = postcard::to_allocvec(value).unwrap_or_default();
    zstd::bulk::compress(&plain, 1).unwrap_or_default()
}

/// Decompresses at most [`MAX_DECOMPRESSED`] bytes.
pub(crate) fn unzstd(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let decoder = zstd::stream::read::Decoder::new(bytes)?;
    decoder.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(std::io::Error::other(format!(
            "decompresses to more than {MAX_DECOMPRESSED} bytes"
        )));
    }
    Ok(out)
}

fn unpack<T: for<'de> Deserialize<'de>>(bytes: &[u8], id: &str) -> Result<T, ClusterError> {
    let plain = unzstd(bytes).map_err(|e| wire_error(id, e))?;
    postcard::from_bytes(&plain).map_err(|e| wire_error(id, e))
}

fn check_version(found: u32, id: &str) -> Result<(), ClusterError> {
    if found == VERSION {
        Ok(())
    } else {
        Err(wire_error(
            id,
            format!("format version {found}, this build reads version {VERSION}"),
        ))
    }
}

impl EventMessage {
    /// The bytes to publish.
    pub fn encode(&self) -> Vec<u8> {
        pack(self)
    }

    /// Reads a published message; `id` names it in errors.
    pub fn decode(bytes: &[u8], id: &str) -> Result<EventMessage, ClusterError> {
        let m: EventMessage = unpack(bytes, id)?;
        check_version(m.version, id)?;
        Ok(m)
    }
}

impl Bundle {
    /// The bytes to publish.
    pub fn encode(&self) -> Vec<u8> {
        pack(self)
    }

    /// Reads a published bundle.
    pub fn decode(bytes: &[u8], id: &str) -> Result<Bundle, ClusterError> {
        let b: Bundle = unpack(bytes, id)?;
        check_version(b.version, id)?;
        Ok(b)
    }
}

/// One message to publish: its id, headers and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// `Nats-Msg-Id`.
    pub id: String,
    /// Other headers.
    pub headers: Vec<(&'static str, String)>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Cuts a whole into pieces of at most `limit` bytes. A whole that fits is one piece whose id is
/// `base`; a larger one is `n` pieces `base~digest.k`, the digest (of the whole) keeping the
/// pieces of two different encodings of the same whole apart: a reader assembles the first
/// whole that is complete and ignores the rest.
pub fn pieces(base: &str, whole: Vec<u8>, limit: usize) -> Vec<Piece> {
    let limit = limit.max(1);
    if whole.len() <= limit {
        return vec![Piece {
            id: base.to_owned(),
            headers: vec![(HEADER_BASE, base.to_owned())],
            payload: whole,
        }];
    }
    let digest: String = Sha256::digest(&whole)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let n = whole.len().div_ceil(limit);
    whole
        .chunks(limit)
        .enumerate()
        .map(|(k, part)| Piece {
            id: format!("{base}~{digest}.{k}"),
            headers: vec![
                (HEADER_BASE, base.to_owned()),
                (HEADER_CHUNK, format!("{k}/{n}/{digest}")),
            ],
            payload: part.to_vec(),
        })
        .collect()
}

/// A piece as read back: its base id and, for part of a larger whole, `(k, n, digest)`.
pub fn parse_chunk(value: &str) -> Option<(usize, usize, String)> {
    let mut it = value.splitn(3, '/');
    let k = it.next()?.parse().ok()?;
    let n: usize = it.next()?.parse().ok()?;
    let digest = it.next()?.to_owned();
    (k < n && n > 1).then_some((k, n, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> EventMessage {
        EventMessage {
            version: VERSION,
            id: "b:0:1".into(),
            input: "a.log".into(),
            input_no: 3,
            format: RecordFormat::Xml,
            meta: WireMeta {
                host: Some("h".into()),
                ..WireMeta::default()
            },
            batch: None,
            positions: vec![Position {
                line: 1,
                ordinal: 1,
            }],
            data: b"<Event/>".to_vec(),
        }
    }

    #[test]
    fn an_event_message_round_trips() {
        let m = message();
        assert_eq!(EventMessage::decode(&m.encode(), "x").unwrap(), m);
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut m = message();
        m.version = VERSION + 1;
        let e = EventMessage::decode(&m.encode(), "b:0:1").unwrap_err();
        assert!(e.to_string().contains("b:0:1") && e.to_string().contains("version"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(EventMessage::decode(b"not zstd", "x").is_err());
        let bomb = zstd::bulk::compress(&[0u8; 1024], 1).unwrap();
        assert!(Bundle::decode(&bomb, "x").is_err());
    }

    #[test]
    fn pieces_are_one_when_the_whole_fits_and_reassemble_otherwise() {
        let one = pieces("m1", vec![1, 2, 3], 10);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].id, "m1");
        let whole: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let ps = pieces("m2", whole.clone(), 300);
        assert_eq!(ps.len(), 4);
        let chunk = &ps[3].headers[1].1;
        let (k, n, digest) = parse_chunk(chunk).unwrap();
        assert_eq!((k, n), (3, 4));
        assert!(ps[0].id.ends_with(&format!("~{digest}.0")));
        let joined: Vec<u8> = ps.iter().flat_map(|p| p.payload.clone()).collect();
        assert_eq!(joined, whole);
    }
}
