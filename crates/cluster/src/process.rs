//! Processing one event message on a worker: its records go through a local engine as one
//! small input of their format, and every detection's partial states for the message's time
//! buckets are taken out, each tied to the original input's places.
//!
//! A lane owns an engine (one thread) per kind of message: live messages are kept in one-minute
//! buckets (the windows ESCU schedules are whole minutes), a batch's in one bucket for all time.
//! Each message is fed, flushed and its states taken before the next, so every partial state
//! holds exactly one message's events, which is what makes its identity depend on the message
//! alone (see the crate documentation).
//!
//! Collected rows carry an order key (time, input, record) that a single process takes from the
//! order it read its inputs in. Here the engine sees one message per input, so the keys are
//! rewritten: the input becomes the batch's input number (or, live, the message's stream
//! sequence), the record its number in the original input, so that rows of equal time come
//! out in the order a local `hunt` gives them.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use cimhunt_engine::state::OrderKey;
use cimhunt_engine::{Engine, Job, Observer, Options, Place, RecordError, State, Stats};
use cimhunt_read::{Input, InputName};
use cimhunt_spl::Timestamp;
use jiff::tz::TimeZone;

use crate::error::ClusterError;
use crate::wire::{EventMessage, Position, RecordFormat, Report, WirePlace, WireRecordError};

/// Width of live time buckets, in seconds.
pub const LIVE_BUCKET_SECS: i64 = 60;

/// The partial states of one message: `(detection index, bucket start, state)`, non-empty.
pub type MessageStates = Vec<(usize, i64, State)>;

/// What one message produced.
#[derive(Debug)]
pub struct Processed {
    /// The partial states to send: one set per plan fingerprint, under the first detection
    /// with that plan (whoever merges them gives a copy to the others,
    /// [`crate::ClusterJob::by_fingerprint`]).
    pub states: MessageStates,
    /// Counters and errors.
    pub report: Report,
}

#[derive(Debug, Default)]
struct Seen {
    errors: Vec<RecordError>,
    stats: Stats,
}

/// Hands a lane what its engine reports.
struct LaneObserver(Arc<Mutex<Seen>>);

impl Observer for LaneObserver {
    fn error(&mut self, error: &RecordError) {
        lock(&self.0).errors.push(error.clone());
    }
    fn input_failed(&mut self, error: &RecordError) {
        lock(&self.0).errors.push(error.clone());
    }
    fn progress(&mut self, stats: &Stats) {
        lock(&self.0).stats = stats.clone();
    }
}

fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Slot {
    engine: Engine,
    fed: u64,
    seen: Arc<Mutex<Seen>>,
    stats: Stats,
}

impl Slot {
    fn start(job: &Arc<Job>, options: Options) -> Slot {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let engine = Engine::start(
            Arc::clone(job),
            options,
            2,
            Box::new(LaneObserver(Arc::clone(&seen))),
        );
        Slot {
            engine,
            fed: 0,
            seen,
            stats: Stats::default(),
        }
    }
}

/// A worker's unit of parallelism: one message at a time.
pub struct Lane {
    job: Arc<Job>,
    /// Whether each detection is the first with its plan's fingerprint: only those send states.
    sends: Arc<[bool]>,
    base: Options,
    live: Option<Slot>,
    batch: Option<((i64, String, bool), Slot)>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane").finish_non_exhaustive()
    }
}

impl Lane {
    /// A lane running `job` with `options` (its thread count and bucket width are the lane's).
    pub fn new(job: Arc<Job>, options: Options) -> Lane {
        let mut plans = std::collections::HashSet::new();
        let sends = job
            .detections()
            .iter()
            .map(|d| plans.insert(d.fingerprint()))
            .collect();
        Lane {
            job,
            sends,
            base: options,
            live: None,
            batch: None,
        }
    }

    /// Processes one message. `order_input` is the input number its collected rows are ordered
    /// by.
    pub fn process(
        &mut self,
        msg: EventMessage,
        order_input: u64,
    ) -> Result<Processed, ClusterError> {
        let job = Arc::clone(&self.job);
        let sends = Arc::clone(&self.sends);
        let slot = self.slot(&msg)?;
        let feed_no = slot.fed;
        slot.fed += 1;
        let input = Input::reader(msg.input.clone(), Box::new(Cursor::new(msg.data)));
        slot.engine
            .feed(input, msg.meta.to_meta())
            .map_err(|e| ClusterError::Config(format!("worker engine: {e}")))?;
        slot.engine.flush();
        let mut states: MessageStates = Vec::new();
        // Where each detection's states start in `states`, for the detections that share them.
        let mut first_of = vec![0usize; job.detections().len()];
        for (d, det) in job.detections().iter().enumerate() {
            first_of[d] = states.len();
            if let Some(o) = job.alias_of(d) {
                // The engine holds no state for a detection that shares another's (an earlier
                // one): it gets a copy of what that one's events made, unless an earlier
                // detection with its plan sends them for it.
                if !sends[d] {
                    continue;
                }
                let end = first_of.get(o + 1).copied().unwrap_or(first_of[d]);
                let copies: Vec<_> = states[first_of[o]..end]
                    .iter()
                    .map(|(_, bucket, state)| (d, *bucket, state.clone()))
                    .collect();
                states.extend(copies);
                continue;
            }
            let taken =
                slot.engine
                    .take(d, i64::MIN, i64::MAX)
                    .map_err(|e| ClusterError::State {
                        detection: det.name().to_owned(),
                        message: e.to_string(),
                    })?;
            for (bucket, mut state) in taken {
                if state.is_empty() {
                    continue;
                }
                remap(&mut state, feed_no, order_input, msg.format, &msg.positions);
                states.push((d, bucket, state));
            }
        }
        // A detection with an earlier one's plan had its engine state taken, not sent.
        states.retain(|(d, _, _)| sends[*d]);
        let (errors, stats) = {
            let mut seen = lock(&slot.seen);
            (std::mem::take(&mut seen.errors), seen.stats.clone())
        };
        let report = report(&slot.stats, &stats, errors, &msg.positions, msg.format);
        slot.stats = stats;
        Ok(Processed { states, report })
    }

    fn slot(&mut self, msg: &EventMessage) -> Result<&mut Slot, ClusterError> {
        match &msg.batch {
            None => {
                let (job, base) = (&self.job, &self.base);
                Ok(self.live.get_or_insert_with(|| {
                    let options = Options {
                        threads: 1,
                        bucket_secs: Some(LIVE_BUCKET_SECS),
                        ..base.clone()
                    };
                    Slot::start(job, options)
                }))
            }
            Some(b) => {
                let key = (b.now_nanos, b.tz.clone(), b.decode_all);
                if self.batch.as_ref().is_none_or(|(k, _)| *k != key) {
                    let tz = TimeZone::get(&b.tz).map_err(|e| ClusterError::Wire {
                        id: msg.id.clone(),
                        message: format!("time zone {}: {e}", b.tz),
                    })?;
                    let options = Options {
                        threads: 1,
                        bucket_secs: None,
                        now: Timestamp::from_nanos(b.now_nanos, b.now_digits),
                        tz,
                        decode_all: self.base.decode_all || b.decode_all,
                        ..self.base.clone()
                    };
                    self.batch = Some((key, Slot::start(&self.job, options)));
                }
                Ok(&mut self.batch.as_mut().expect("just set").1)
            }
        }
    }
}

/// Rewrites collected rows' order keys from the message's place to the original input's.
fn remap(
    state: &mut State,
    feed_no: u64,
    input: u64,
    format: RecordFormat,
    positions: &[Position],
) {
    let State::Collect(rows) = state else { return };
    for (key, _) in rows.iter_mut() {
        if key.input != feed_no {
            continue;
        }
        *key = OrderKey {
            time: key.time,
            input,
            record: original_record(key.record, format, positions),
        };
    }
}

/// A record key of the message (a 1-based record number; for EVTX, chunk << 24 | number in
/// chunk) as the original input's.
fn original_record(record: u64, format: RecordFormat, positions: &[Position]) -> u64 {
    match format {
        RecordFormat::Evtx => {
            let chunk = record >> 24;
            let nth = record & 0xff_ffff;
            let original = usize::try_from(chunk)
                .ok()
                .and_then(|c| positions.get(c))
                .map_or(chunk, |p| p.line);
            (original << 24) | nth
        }
        _ => usize::try_from(record)
            .ok()
            .and_then(|r| r.checked_sub(1))
            .and_then(|i| positions.get(i))
            .map_or(record, |p| p.ordinal),
    }
}

fn original_place(place: Place, format: RecordFormat, positions: &[Position]) -> WirePlace {
    match (place, format) {
        (
            Place::Evtx {
                chunk,
                record,
                event_record_id,
            },
            _,
        ) => WirePlace::Evtx {
            chunk: usize::try_from(chunk)
                .ok()
                .and_then(|c| positions.get(c))
                .map_or(chunk, |p| p.line),
            record,
            event_record_id,
        },
        (Place::Text { line, record }, _) => {
            match record
                .and_then(|r| usize::try_from(r).ok())
                .and_then(|r| r.checked_sub(1))
                .and_then(|i| positions.get(i))
            {
                Some(p) => WirePlace::Text {
                    line: p.line,
                    record: Some(p.ordinal),
                },
                None => WirePlace::Text { line, record },
            }
        }
    }
}

/// The counters one message added, and its errors at their original places.
fn report(
    before: &Stats,
    after: &Stats,
    errors: Vec<RecordError>,
    positions: &[Position],
    format: RecordFormat,
) -> Report {
    let reasons = after
        .skipped_reasons
        .iter()
        .filter_map(|(k, v)| {
            let was = before.skipped_reasons.get(k).copied().unwrap_or(0);
            (*v > was).then(|| ((*k).to_owned(), v - was))
        })
        .collect();
    Report {
        bytes: after.record_bytes.saturating_sub(before.record_bytes),
        records: after.records.saturating_sub(before.records),
        prefiltered: after.prefiltered.saturating_sub(before.prefiltered),
        events: after.events.saturating_sub(before.events),
        skipped_records: after.skipped_records.saturating_sub(before.skipped_records),
        skipped_reasons: reasons,
        failed_batches: after.failed_batches.saturating_sub(before.failed_batches),
        errors: errors
            .into_iter()
            .map(|e| WireRecordError {
                input: input_name(&e.input),
                place: e.place.map(|p| original_place(p, format, positions)),
                message: e.message,
                skipped: e.skipped,
            })
            .collect(),
    }
}

fn input_name(name: &InputName) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_records_map_to_their_original_numbers() {
        let positions = [
            Position {
                line: 10,
                ordinal: 7,
            },
            Position {
                line: 12,
                ordinal: 9,
            },
        ];
        assert_eq!(original_record(2, RecordFormat::Xml, &positions), 9);
        assert_eq!(
            original_place(
                Place::Text {
                    line: 2,
                    record: Some(1)
                },
                RecordFormat::Xml,
                &positions
            ),
            WirePlace::Text {
                line: 10,
                record: Some(7)
            }
        );
    }

    #[test]
    fn evtx_records_keep_their_place_in_the_chunk() {
        let positions = [
            Position {
                line: 5,
                ordinal: 4,
            },
            Position {
                line: 8,
                ordinal: 5,
            },
        ];
        let local = (1u64 << 24) | 3;
        assert_eq!(
            original_record(local, RecordFormat::Evtx, &positions),
            (8 << 24) | 3
        );
    }
}
