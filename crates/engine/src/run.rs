//! A batch run: the engine fed a list of inputs and finished once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread;

use cimhunt_read::{Input, ReadErrorKind, ReadEvent, Reader};
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::deliver::{Credits, Deliverer, Message, batch_origin};
use crate::job::Job;
use crate::origin::{Place, RecordError};
use crate::records::Metas;
use crate::spill::{Finals, SpillFile};
use crate::state::State;
use crate::stats::Stats;
use crate::worker::{States, Worker};
use crate::{Meta, Observer, Options, SharedMeta, merge_states};

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Each detection's merged state (every time bucket), in the job's order; parts of it may
    /// be on disk ([`crate::Options::spill`]) until a detection is taken.
    pub states: Finals,
    /// How many events passed each detection's source filter.
    pub matched: Vec<u64>,
    /// Counters.
    pub stats: Stats,
    /// Detections whose states could not be merged, with why (a bug, never input).
    pub errors: Vec<(usize, String)>,
}

/// A unit of work for the workers: message number, input number, the records' metadata, the
/// batch.
pub(crate) type Work = (u64, u64, Metas, cimhunt_read::Batch);

/// Runs the job over the inputs (each with its metadata).
pub fn run(
    job: &Job,
    options: &Options,
    inputs: Vec<(Input, Meta)>,
    observer: &mut dyn Observer,
) -> RunResult {
    let threads = options.threads.max(1);
    let (work_tx, work_rx) = bounded::<Work>(threads * 2);
    let (msg_tx, msg_rx) = bounded::<(u64, Message)>(threads * 4);
    let credits = Arc::new(Credits::default());
    let spill = options
        .spill
        .as_ref()
        .map(|o| Arc::new(SpillFile::new(o, threads)));
    thread::scope(|scope| {
        let reader_msgs = msg_tx.clone();
        let reader_credits = Arc::clone(&credits);
        scope.spawn(move || {
            let inputs = inputs
                .into_iter()
                .enumerate()
                .map(|(i, (input, meta))| (i as u64, input, Arc::new(meta)));
            let mut seq = 0u64;
            let reader = Reader::new(options.reader.clone());
            read_inputs(
                &reader,
                inputs,
                options,
                &work_tx,
                &reader_msgs,
                &reader_credits,
                &mut seq,
            );
        });
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = work_rx.clone();
                let tx = msg_tx.clone();
                let spill = spill.clone();
                scope.spawn(move || {
                    let mut states =
                        States::new(job, options.bucket_secs, options.bucket_offset_secs);
                    work(job, options, &rx, &tx, &mut states, spill.as_deref());
                    states
                })
            })
            .collect();
        drop(msg_tx);
        drop(work_rx);
        let mut deliverer = Deliverer::new(Arc::clone(&credits));
        for (seq, msg) in msg_rx {
            deliverer.take(seq, msg, observer);
        }
        credits.close();
        let n = job.detections().len();
        let mut per_detection: Vec<Vec<State>> = (0..n).map(|_| Vec::new()).collect();
        let mut matched = vec![0u64; n];
        for handle in workers {
            // A worker catches panics per batch, so joining fails only on a bug in the worker
            // loop itself; its states are then lost and the run says so.
            let Ok(mut states) = handle.join() else {
                deliverer.stats.failed_batches += 1;
                continue;
            };
            for (d, buckets) in states.buckets.iter_mut().enumerate() {
                per_detection[d].extend(buckets.take_all().into_iter().map(|(_, s)| s));
                matched[d] += states.matched[d];
            }
        }
        let mut errors = Vec::new();
        let mut states: Vec<State> = per_detection
            .into_iter()
            .enumerate()
            .map(|(d, states)| {
                let det = &job.detections()[d];
                merge_states(det, states).unwrap_or_else(|e| {
                    errors.push((d, e.to_string()));
                    State::new(det.agg().is_some())
                })
            })
            .collect();
        // A detection that shared another's state gets a copy of it (and reads its parts on
        // disk), and its count.
        let mut owner: Vec<usize> = (0..n).collect();
        for d in 0..n {
            if let Some(o) = job.alias_of(d) {
                states[d] = states[o].clone();
                matched[d] = matched[o];
                owner[d] = o;
            }
        }
        RunResult {
            states: Finals::new(states, spill, owner),
            matched,
            stats: deliverer.stats,
            errors,
        }
    })
}

/// The reader: inputs in order, batches to the workers, notices to the deliverer; waits for
/// delivery credits so that at most the reorder window of batches is in flight. `reader` is
/// the caller's, so that one reader (and its pool of block buffers) serves every input a
/// thread reads.
pub(crate) fn read_inputs(
    reader: &Reader,
    inputs: impl Iterator<Item = (u64, Input, SharedMeta)>,
    options: &Options,
    work: &Sender<Work>,
    msgs: &Sender<(u64, Message)>,
    credits: &Credits,
    seq: &mut u64,
) -> bool {
    for (input_no, input, meta) in inputs {
        let explicit = input.explicit;
        for event in reader.read(input) {
            if !credits.wait_for_room(*seq, options.reorder_window) {
                return false;
            }
            let sent = match event {
                ReadEvent::Opened { .. } => msgs.send((*seq, Message::Opened)).is_ok(),
                ReadEvent::Batch(batch) => work
                    .send((*seq, input_no, Metas::Shared(Arc::clone(&meta)), batch))
                    .is_ok(),
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
                        *seq,
                        Message::Error {
                            error,
                            input_failed,
                            not_events,
                        },
                    ))
                    .is_ok()
                }
                ReadEvent::Notice(notice) => {
                    let kind = notice_kind(&notice.kind);
                    let message = notice.kind.to_string();
                    let notice = RecordError {
                        input: Arc::clone(&notice.input),
                        place: notice.at.and_then(place_of),
                        message,
                        skipped: 0,
                    };
                    msgs.send((*seq, Message::Notice { notice, kind })).is_ok()
                }
                ReadEvent::Finished { bytes } => msgs.send((*seq, Message::Read(bytes))).is_ok(),
                _ => true,
            };
            if !sent {
                return false;
            }
            *seq += 1;
        }
    }
    true
}

/// A reader location as a place.
fn place_of(at: cimhunt_read::Location) -> Option<Place> {
    match at {
        cimhunt_read::Location::Line(line) => Some(Place::Text { line, record: None }),
        cimhunt_read::Location::Chunk(chunk) => Some(Place::Evtx {
            chunk,
            record: None,
            event_record_id: None,
        }),
        _ => None,
    }
}

/// A stable name for a notice's kind, for the counters.
fn notice_kind(kind: &cimhunt_read::NoticeKind) -> &'static str {
    use cimhunt_read::NoticeKind;
    match kind {
        NoticeKind::DamagedFileHeader(_) => "EVTX file header damaged (chunks recovered)",
        NoticeKind::ChunkChecksum { .. } => "EVTX chunk checksum mismatch (records kept)",
        NoticeKind::TruncatedChunk(_) => "EVTX chunk cut short",
        NoticeKind::InvalidUtf16(_) => "invalid UTF-16 repaired",
        _ => "other damage worked around",
    }
}

/// A worker: batches in, reports out, states kept. A panic while processing a batch (inside a
/// third-party parser, say) is caught: the batch's records are reported as skipped and the
/// worker goes on (review finding Q4). With a spill file, states beyond the worker's share of
/// the budget go to disk after each batch.
pub(crate) fn work(
    job: &Job,
    options: &Options,
    batches: &Receiver<Work>,
    msgs: &Sender<(u64, Message)>,
    states: &mut States,
    spill: Option<&SpillFile>,
) {
    let mut worker = Worker::new(job, options);
    for (seq, input_no, metas, batch) in batches {
        let msg = process_one(&mut worker, input_no, &metas, &batch, states);
        drop(batch);
        if let Some(spill) = spill {
            spill.relieve(states);
        }
        if msgs.send((seq, msg)).is_err() {
            break;
        }
    }
}

/// Processes one batch, catching a panic.
pub(crate) fn process_one(
    worker: &mut Worker<'_>,
    input_no: u64,
    metas: &Metas,
    batch: &cimhunt_read::Batch,
    states: &mut States,
) -> Message {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        worker.process(input_no, metas, batch, states)
    }));
    match outcome {
        Ok(report) => Message::Report(report),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let origin = batch_origin(batch);
            Message::Failed {
                error: RecordError {
                    input: Arc::clone(&batch.input),
                    place: origin.map(|o| o.place),
                    message: format!("batch skipped: processing failed ({what})"),
                    skipped: batch.records.len() as u64,
                },
            }
        }
    }
}
