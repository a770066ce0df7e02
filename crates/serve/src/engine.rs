//! The boundary between the HEC service and the detection engine.
//!
//! The service owns the network, the journal, the schedule and the outputs; the engine owns
//! decoding, normalisation and detection state. They meet at [`Sink`]:
//!
//! 1. **Events in.** Every request the service accepts is journaled (durably, before the client
//!    gets its 200) and then offered to the sink as a [`Batch`] with its journal sequence number.
//!    Batches are offered in sequence order, each exactly once per process. A sink whose queue
//!    is full refuses with [`Busy`], handing the batch back; the service keeps it and offers it
//!    again, and meanwhile answers new requests with HEC's 503 "Server is busy", so memory does
//!    not grow.
//! 2. **Windows out.** On each detection's cron schedule the service asks the sink to run one
//!    [`Window`] and receives its rows, risk events and notables ([`WindowOutput`]). Once those
//!    are durably written, the service calls [`Sink::window_committed`].
//! 3. **Forgetting.** [`Sink::needed_from`] tells the service the smallest journal sequence
//!    number the sink still needs (an event in it falls in a window that has not been
//!    committed). The service deletes older journal segments and, after a restart, replays
//!    every batch from that point on (with [`Batch::replayed`] set).
//!
//! Key design decision: the sink never sees an event that is not already durable, and the
//! service never forgets an event the sink still needs, so a `kill -9` at any point loses
//! nothing the client was told was accepted (see `docs/serve.md`, "Durability").

use std::fmt;

pub use crate::texts::Texts;
use cimhunt_spl::time::{TimeModifier, TimeModifierError, Timestamp};

/// One event as a HEC client sent it, with the metadata Splunk would index it with.
///
/// `index`, `host`, `source` and `sourcetype` are already resolved: the envelope's value, else
/// the request's query parameter, else the token's default. `_time` is the envelope's `time`
/// when it has one, else the event's own timestamp (per sourcetype), else `received`
/// (`docs/serve.md`, "`_time`").
#[derive(Debug, Clone, PartialEq)]
pub struct HecEvent {
    /// The event itself.
    pub body: EventBody,
    /// The envelope's `time`, when it had one (`/raw` events never do).
    pub time: Option<Timestamp>,
    /// `host`: envelope, `host` query parameter or token default.
    pub host: Option<String>,
    /// `source`: envelope, `source` query parameter or token default.
    pub source: Option<String>,
    /// `sourcetype`: envelope, `sourcetype` query parameter or token default.
    pub sourcetype: Option<String>,
    /// The index the event is written to (`main` when nothing names one, as in Splunk).
    pub index: String,
    /// The envelope's `fields` (indexed fields), in order; an array value gives one pair per
    /// element, as a multi-value field.
    pub fields: Vec<(String, String)>,
    /// When the service accepted the request, by its clock; set only for events without
    /// `time` (`_time` of an event that has no timestamp of its own). Journaled, so a replay
    /// gives the same `_time`.
    pub received: Option<Timestamp>,
}

/// The event data of one HEC event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventBody {
    /// A string `event`, or one line of a `/raw` request: Splunk's `_raw` exactly.
    Text(String),
    /// Any other JSON `event` (object, array, number, boolean). Splunk's `_raw` is its JSON
    /// text; an object is what evtx_dump JSON or CrowdStrike FDR senders produce.
    Json(JsonText),
}

/// A JSON `event` exactly as the client wrote it (key order and spacing kept, so `_raw` is the
/// sender's text, as a file's JSON line would be), already checked to be valid JSON.
#[derive(Debug, Clone)]
pub struct JsonText(Box<serde_json::value::RawValue>);

impl JsonText {
    /// Checks and keeps a JSON text.
    pub fn new(text: &str) -> Result<JsonText, serde_json::Error> {
        JsonText::from_string(text.to_owned())
    }

    /// Checks and keeps a JSON text, without copying it.
    pub fn from_string(text: String) -> Result<JsonText, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(JsonText)
    }

    /// The text as sent.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The text of a JSON value.
    pub fn from_value(value: &serde_json::Value) -> JsonText {
        JsonText::new(&value.to_string()).expect("a JSON value's text is JSON")
    }

    /// The text parsed (for callers that want to look inside).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl serde::Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<serde_json::value::RawValue>::deserialize(d).map(JsonText)
    }
}

/// Accepted events, durably journaled, in the order the service accepted them.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The journal sequence number of this batch (strictly increasing, never reused).
    pub seq: u64,
    /// The events of one HTTP request.
    pub events: Vec<HecEvent>,
    /// Whether this batch is being replayed from the journal after a restart. A replayed event
    /// whose windows already ran is not "late": it was on time in the previous process.
    pub replayed: bool,
}

/// The sink's queue is full; the batch is handed back untouched.
#[derive(Debug)]
pub struct Busy(pub Batch);

/// A detection's name as the engine knows it (the detection YAML's `name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DetectionId(String);

impl DetectionId {
    /// A detection id from its name.
    pub fn new(name: impl Into<String>) -> DetectionId {
        DetectionId(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DetectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How one detection is scheduled: a saved search's `cron_schedule`,
/// `dispatch.earliest_time` and `dispatch.latest_time`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledDetection {
    /// Which detection.
    pub id: DetectionId,
    /// A 5-field cron expression (minute hour day-of-month month day-of-week), in UTC.
    pub cron_schedule: String,
    /// The window's start, resolved at the scheduled time.
    pub earliest: TimeModifier,
    /// The window's end (exclusive), resolved at the scheduled time.
    pub latest: TimeModifier,
}

/// ESCU's default schedule, from contentctl's `ESCU Default Configuration` deployments.
pub const ESCU_CRON: &str = "0 * * * *";
/// ESCU's default `earliest_time`.
pub const ESCU_EARLIEST: &str = "-70m@m";
/// ESCU's default `latest_time`.
pub const ESCU_LATEST: &str = "-10m@m";

impl ScheduledDetection {
    /// A detection on ESCU's default schedule: hourly at minute 0 over `-70m@m` to `-10m@m`.
    pub fn escu_default(id: DetectionId) -> ScheduledDetection {
        ScheduledDetection::new(id, ESCU_CRON, ESCU_EARLIEST, ESCU_LATEST)
            .expect("the ESCU defaults are valid")
    }

    /// A detection with its own schedule; the modifiers are checked here, the cron expression
    /// when the service starts.
    pub fn new(
        id: DetectionId,
        cron_schedule: &str,
        earliest: &str,
        latest: &str,
    ) -> Result<ScheduledDetection, TimeModifierError> {
        Ok(ScheduledDetection {
            id,
            cron_schedule: cron_schedule.to_owned(),
            earliest: TimeModifier::parse(earliest)?,
            latest: TimeModifier::parse(latest)?,
        })
    }
}

/// One run of one detection: the events whose `_time` is in `[earliest, latest)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Window {
    /// Which detection.
    pub detection: DetectionId,
    /// The cron time this run belongs to ("now" for the time modifiers, and the risk events'
    /// run time).
    pub scheduled: Timestamp,
    /// Inclusive start.
    pub earliest: Timestamp,
    /// Exclusive end.
    pub latest: Timestamp,
}

/// What one window produced. Each value is a JSON object, kept as the engine wrote it (so the
/// output files hold exactly the text `cimhunt hunt` would print); a sink may keep much of it
/// on disk ([`Texts::spilling`]).
#[derive(Debug, Default, PartialEq)]
pub struct WindowOutput {
    /// The search's result rows.
    pub rows: Texts,
    /// Risk events, as ES's risk action writes them to `index=risk`.
    pub risk_events: Texts,
    /// Notables, as ES writes them to `index=notable`.
    pub notables: Texts,
}

impl WindowOutput {
    /// Whether the window produced nothing.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.risk_events.is_empty() && self.notables.is_empty()
    }
}

/// Counters the sink keeps and the service reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// The largest `_time` among the events submitted so far (drives `--clock events` and
    /// the final drain).
    pub latest_event_time: Option<Timestamp>,
    /// The smallest `_time` among the events submitted so far (where a `--clock events`
    /// replay starts its first window).
    pub earliest_event_time: Option<Timestamp>,
    /// Events that arrived after every window that could contain them had run (not counting
    /// replayed ones). ES would miss them too.
    pub late_events: u64,
    /// Events the engine could not use (not an event format it reads, not decodable, or
    /// without a time), each also reported in the log.
    pub skipped_events: u64,
}

/// A window the engine could not run.
#[derive(Debug, thiserror::Error)]
#[error("detection `{detection}` failed on window {earliest}..{latest}: {message}")]
pub struct WindowError {
    /// Which detection.
    pub detection: DetectionId,
    /// Window start.
    pub earliest: Timestamp,
    /// Window end.
    pub latest: Timestamp,
    /// What went wrong.
    pub message: String,
}

/// The detection engine as the service drives it. Implementations must be cheap to call from
/// several threads: `submit` runs on the service's feeder thread, `run_window` on threads of
/// its scheduler (up to [`Sink::window_threads`] windows of different detections at once).
pub trait Sink: Send + Sync + 'static {
    /// The detections to schedule. Called once at start.
    fn detections(&self) -> Vec<ScheduledDetection>;

    /// The last window of each detection whose outputs were durable before this process
    /// started (from the state directory), given before any batch is replayed: events those
    /// windows covered are no longer needed. Detections that never ran are absent.
    fn resume(&self, _committed: &[Window]) {}

    /// Takes a durable batch, or refuses it with [`Busy`] when the engine's queue is full.
    fn submit(&self, batch: Batch) -> Result<(), Busy>;

    /// Runs one window. Called in scheduled-time order per detection, each window once per
    /// process; after a crash, a window whose outputs were not yet durable runs again. Windows
    /// of different detections may run at the same time, never two of one detection.
    fn run_window(&self, window: &Window) -> Result<WindowOutput, WindowError>;

    /// How many windows (of different detections) may run at the same time. Their outputs
    /// are committed in scheduled order whatever order they finish in. Default: one.
    fn window_threads(&self) -> usize {
        1
    }

    /// The window's outputs are durable; state kept only for it may be dropped.
    fn window_committed(&self, window: &Window);

    /// The smallest journal sequence number whose events are still needed (`u64::MAX` or the
    /// next sequence when none is). Must never decrease.
    fn needed_from(&self) -> u64;

    /// Counters for `--clock events`, the final drain and the report.
    fn stats(&self) -> SinkStats;
}
