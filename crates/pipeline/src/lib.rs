//! The pipeline: runs read → prefilter → decode → normalize → match → aggregate over many inputs
//! on several threads, and hands back each detection's merged aggregation state.
//!
//! One reader thread cuts inputs into batches of raw records; worker threads take batches from a
//! bounded queue and run every record through the stages, each worker keeping its own
//! aggregation state per detection; the calling thread receives per-batch reports (counts,
//! errors, and normalized events when asked for) and passes them to an [`Observer`] in input
//! order. When the inputs are done, the workers' states are merged.
//!
//! Key design decision: nothing here knows about files. Inputs are byte streams
//! ([`cimhunt_read::Input`]), the work unit is a batch, and results are mergeable states, so the
//! same pipeline can serve a stream of events received over the network, and its states can be
//! merged across machines.

mod finish;
mod gate;
mod origin;
mod prefilter;
mod stats;
mod worker;

#[cfg(test)]
mod test_support {
    use cimhunt_cim::Field;
    use cimhunt_spl::{Literal, RequiredLiterals};

    /// Requirements whose literals are all in `process`, except those written `name:text`
    /// (in `process_name`).
    pub(crate) fn req(clauses: &[&[&str]]) -> RequiredLiterals {
        let literal = |s: &&str| match s.split_once(':') {
            Some(("name", t)) => Literal {
                text: t.to_owned(),
                field: Field::ProcessName,
            },
            _ => Literal {
                text: s.to_string(),
                field: Field::Process,
            },
        };
        RequiredLiterals {
            clauses: clauses
                .iter()
                .map(|c| c.iter().map(literal).collect())
                .collect(),
        }
    }
}

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;

use cimhunt_cim::CimEvent;
use cimhunt_exec::{Executor, Groups};
use cimhunt_normalize::Normalizer;
use cimhunt_read::{Input, ReadErrorKind, ReadEvent, Reader, ReaderOptions};
use cimhunt_spl::Plan;
use crossbeam_channel::{Receiver, Sender, bounded};

pub use finish::{Rows, finish_all};
pub use gate::{Gate, GateScratch};
pub use origin::{Origin, Place, RecordError};
pub use prefilter::Prefilter;
pub use stats::Stats;

use worker::{BatchReport, Worker};

/// The number of detections from which events are gated by literals.
const GATE_FROM: usize = 16;

/// What to run.
#[derive(Debug)]
pub struct Job {
    /// The compiled detections.
    pub plans: Vec<Plan>,
    /// How events are normalized.
    pub normalizer: Normalizer,
    /// Which records to skip undecoded.
    pub prefilter: Prefilter,
    /// Which detections to evaluate per event; `None` evaluates all (best for a few).
    pub gate: Option<Gate>,
    /// Whether to pass every normalized event to the observer (for `cimhunt events`).
    pub collect_events: bool,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Reader settings.
    pub reader: ReaderOptions,
}

impl Job {
    /// A job over these plans with the prefilter they allow, default settings otherwise.
    pub fn new(plans: Vec<Plan>, normalizer: Normalizer) -> Job {
        let requirements: Vec<_> = plans.iter().map(Plan::required_literals).collect();
        let prefilter = Prefilter::new(&requirements);
        // Gating costs one multi-pattern pass per event; it pays from a few dozen detections.
        let gate = (plans.len() >= GATE_FROM).then(|| {
            let in_values: Vec<_> = plans.iter().map(Plan::value_literals).collect();
            Gate::new(&in_values)
        });
        Job {
            plans,
            normalizer,
            prefilter,
            gate,
            collect_events: false,
            threads: thread::available_parallelism().map_or(1, |n| n.get()),
            reader: ReaderOptions::default(),
        }
    }
}

/// Receives what a run finds, in input order, on the calling thread.
pub trait Observer {
    /// A record was skipped (or a stretch of bytes that held no record).
    fn error(&mut self, _error: &RecordError) {}
    /// An input could not be opened, recognised or read to its end: the run has failed,
    /// though the other inputs are still read.
    fn input_failed(&mut self, _error: &RecordError) {}
    /// A normalized process event (only when [`Job::collect_events`] is set).
    fn event(&mut self, _origin: &Origin, _event: &CimEvent<'_>) {}
    /// Counters after another batch; for progress displays.
    fn progress(&mut self, _stats: &Stats) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Each detection's merged aggregation state, in [`Job::plans`] order.
    pub groups: Vec<Groups>,
    /// How many events matched each detection's where-clause.
    pub matched: Vec<u64>,
    /// Counters.
    pub stats: Stats,
}

/// A message to the calling thread, numbered in input order.
enum Message {
    Report(BatchReport),
    Opened,
    Error {
        error: RecordError,
        input_failed: bool,
        not_events: bool,
    },
}

/// Runs the job over the inputs.
pub fn run(job: &Job, inputs: Vec<Input>, observer: &mut dyn Observer) -> RunResult {
    let threads = job.threads.max(1);
    let (work_tx, work_rx) = bounded::<(u64, cimhunt_read::Batch)>(threads * 2);
    let (msg_tx, msg_rx) = bounded::<(u64, Message)>(threads * 4);
    thread::scope(|scope| {
        let reader_msgs = msg_tx.clone();
        let reader_opts = job.reader.clone();
        scope.spawn(move || read_all(inputs, reader_opts, work_tx, reader_msgs));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = work_rx.clone();
                let tx = msg_tx.clone();
                scope.spawn(move || work(job, rx, tx))
            })
            .collect();
        drop(msg_tx);
        drop(work_rx);
        let stats = deliver(msg_rx, observer);
        let mut groups: Vec<Groups> = vec![Groups::new(); job.plans.len()];
        let mut matched = vec![0u64; job.plans.len()];
        for handle in workers {
            let (worker_groups, worker_matched) = match handle.join() {
                Ok(state) => state,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for (i, (g, m)) in worker_groups.into_iter().zip(worker_matched).enumerate() {
                Executor::new(&job.plans[i]).merge(&mut groups[i], g);
                matched[i] += m;
            }
        }
        RunResult {
            groups,
            matched,
            stats,
        }
    })
}

/// The reader thread: inputs in order, batches to the workers, notices to the caller.
fn read_all(
    inputs: Vec<Input>,
    options: ReaderOptions,
    work: Sender<(u64, cimhunt_read::Batch)>,
    msgs: Sender<(u64, Message)>,
) {
    let reader = Reader::new(options);
    let mut seq = 0u64;
    for input in inputs {
        let explicit = input.explicit;
        for event in reader.read(input) {
            let sent = match event {
                ReadEvent::Opened { .. } => msgs.send((seq, Message::Opened)).is_ok(),
                ReadEvent::Batch(batch) => work.send((seq, batch)).is_ok(),
                ReadEvent::Error {
                    error,
                    skipped_records,
                } => {
                    let not_events = !explicit && error.kind == ReadErrorKind::UnknownFormat;
                    let input_failed = error.kind.ends_input() && !not_events;
                    let place = error.at.and_then(place_of);
                    let error = RecordError {
                        input: Arc::clone(&error.input),
                        place,
                        message: error.kind.to_string(),
                        skipped: skipped_records,
                    };
                    msgs.send((
                        seq,
                        Message::Error {
                            error,
                            input_failed,
                            not_events,
                        },
                    ))
                    .is_ok()
                }
                // Damage the reader worked around (records kept): reported like an error that
                // cost nothing, until the summary counts notices of its own.
                ReadEvent::Notice(notice) => {
                    let error = RecordError {
                        input: Arc::clone(&notice.input),
                        place: notice.at.and_then(place_of),
                        message: notice.kind.to_string(),
                        skipped: 0,
                    };
                    let message = Message::Error {
                        error,
                        input_failed: false,
                        not_events: false,
                    };
                    msgs.send((seq, message)).is_ok()
                }
                _ => true,
            };
            if !sent {
                return;
            }
            seq += 1;
        }
    }
}

/// The place a reader error or notice names.
fn place_of(at: cimhunt_read::Location) -> Option<Place> {
    match at {
        cimhunt_read::Location::Line(line) => Some(Place::Text { line, record: 0 }),
        cimhunt_read::Location::Chunk(chunk) => Some(Place::Evtx {
            chunk,
            record_id: 0,
        }),
        _ => None,
    }
}

/// A worker thread: batches in, reports out; returns its aggregation state.
fn work(
    job: &Job,
    batches: Receiver<(u64, cimhunt_read::Batch)>,
    msgs: Sender<(u64, Message)>,
) -> (Vec<Groups>, Vec<u64>) {
    let mut worker = Worker::new(job);
    for (seq, batch) in batches {
        let report = worker.process(&batch);
        drop(batch);
        if msgs.send((seq, Message::Report(report))).is_err() {
            break;
        }
    }
    (worker.detections.groups, worker.detections.matched)
}

/// The calling thread: reorders messages into input order and hands them to the observer.
fn deliver(msgs: Receiver<(u64, Message)>, observer: &mut dyn Observer) -> Stats {
    let mut stats = Stats::default();
    let mut pending: BTreeMap<u64, Message> = BTreeMap::new();
    let mut next = 0u64;
    for (seq, msg) in msgs {
        pending.insert(seq, msg);
        while let Some(msg) = pending.remove(&next) {
            next += 1;
            match msg {
                Message::Opened => stats.inputs += 1,
                Message::Error {
                    error,
                    input_failed,
                    not_events,
                } => {
                    if not_events {
                        stats.inputs_not_events += 1;
                        continue;
                    }
                    stats.records += error.skipped;
                    if error.skipped > 0 {
                        stats.skip(skip_reason(&error), error.skipped);
                    }
                    if input_failed {
                        stats.inputs_failed += 1;
                        observer.input_failed(&error);
                    } else {
                        observer.error(&error);
                    }
                }
                Message::Report(report) => {
                    stats.merge(&report.stats);
                    for e in &report.errors {
                        observer.error(e);
                    }
                    for (origin, event) in &report.events {
                        observer.event(origin, event);
                    }
                    observer.progress(&stats);
                }
            }
        }
    }
    stats
}

fn skip_reason(error: &RecordError) -> &'static str {
    if error.place.is_some() {
        "malformed input"
    } else {
        "unreadable input"
    }
}
