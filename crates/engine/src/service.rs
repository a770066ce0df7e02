//! A long-running engine: inputs are fed while it runs, and a scheduled window's states are
//! taken out of the time buckets when the window closes, while input continues.
//!
//! One reader thread serves every input fed, with one [`Reader`] (and so one pool of block
//! buffers) for the engine's lifetime; inputs already cut into records ([`Records`]) skip it
//! and become batches directly.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use cimhunt_read::{Input, Reader};
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::deliver::{Credits, Deliverer, Message};
use crate::encoded::Encoded;
use crate::job::Job;
use crate::keeping::Keep;
use crate::records::Records;
use crate::run::{RunResult, Work, read_inputs};
use crate::spill::SpillFile;
use crate::state::{State, StateError};
use crate::stats::Stats;
use crate::worker::States;
use crate::{Meta, Observer, Options, merge_states};

/// The engine refused an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Its queue is full; try again later (HTTP Event Collector answers "server is busy").
    #[error("the engine's input queue is full")]
    Busy,
    /// It has been finished.
    #[error("the engine has stopped")]
    Stopped,
}

#[derive(Debug, Default)]
struct Progress {
    /// Inputs fed.
    fed: u64,
    /// Inputs the reader has cut completely.
    read: u64,
    /// Messages the reader has numbered so far.
    seq: u64,
}

#[derive(Debug, Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
    stats: Mutex<Stats>,
}

/// What is fed: a byte stream with the metadata of all its records, or records with their own.
enum Fed {
    Stream(Input, Meta),
    Records(Records),
}

/// A running engine. See the crate documentation.
pub struct Engine {
    job: Arc<Job>,
    inputs: Option<Sender<Fed>>,
    states: Arc<Vec<Mutex<States>>>,
    /// Where workers move buckets beyond [`Options::spill`]'s budget; windows take them back.
    spill: Option<Arc<SpillFile>>,
    credits: Arc<Credits>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    deliverer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the threads. `queue` bounds how many inputs may wait to be read.
    pub fn start(
        job: Arc<Job>,
        options: Options,
        queue: usize,
        observer: Box<dyn Observer + Send>,
    ) -> Engine {
        let options = Arc::new(options);
        let threads_n = options.threads.max(1);
        let (input_tx, input_rx) = bounded::<Fed>(queue.max(1));
        let (work_tx, work_rx) = bounded::<Work>(threads_n * 2);
        let (msg_tx, msg_rx) = bounded::<(u64, Message)>(threads_n * 4);
        let credits = Arc::new(Credits::default());
        let shared = Arc::new(Shared::default());
        let states: Arc<Vec<Mutex<States>>> = Arc::new(
            (0..threads_n)
                .map(|_| {
                    Mutex::new(States::new(
                        &job,
                        options.bucket_secs,
                        options.bucket_offset_secs,
                    ))
                })
                .collect(),
        );
        let spill = options
            .spill
            .as_ref()
            .map(|o| Arc::new(SpillFile::new(o, threads_n)));
        let mut threads = Vec::new();
        {
            let (options, credits, shared, msgs) = (
                Arc::clone(&options),
                Arc::clone(&credits),
                Arc::clone(&shared),
                msg_tx.clone(),
            );
            threads.push(thread::spawn(move || {
                reader_loop(&input_rx, &options, &work_tx, &msgs, &credits, &shared);
            }));
        }
        for w in 0..threads_n {
            let (job, options, rx, tx, states, spill) = (
                Arc::clone(&job),
                Arc::clone(&options),
                work_rx.clone(),
                msg_tx.clone(),
                Arc::clone(&states),
                spill.clone(),
            );
            threads.push(thread::spawn(move || {
                worker_loop(&job, &options, &rx, &tx, &states[w], spill.as_deref());
            }));
        }
        drop(msg_tx);
        let deliverer = {
            let (credits, shared) = (Arc::clone(&credits), Arc::clone(&shared));
            let mut observer = observer;
            thread::spawn(move || {
                let mut d = Deliverer::new(Arc::clone(&credits));
                for (seq, msg) in msg_rx {
                    d.take(seq, msg, observer.as_mut());
                    *shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = d.stats.clone();
                }
                credits.close();
            })
        };
        Engine {
            job,
            inputs: Some(input_tx),
            states,
            spill,
            credits,
            shared,
            threads,
            deliverer: Some(deliverer),
        }
    }

    /// The job.
    pub fn job(&self) -> &Arc<Job> {
        &self.job
    }

    /// Feeds an input, waiting while the queue is full.
    pub fn feed(&self, input: Input, meta: Meta) -> Result<(), FeedError> {
        self.send(Fed::Stream(input, meta))
    }

    /// Feeds records that carry their own metadata (the events of an HTTP Event Collector
    /// request), waiting while the queue is full.
    pub fn feed_records(&self, records: Records) -> Result<(), FeedError> {
        self.send(Fed::Records(records))
    }

    fn send(&self, fed: Fed) -> Result<(), FeedError> {
        let tx = self.inputs.as_ref().ok_or(FeedError::Stopped)?;
        self.count_fed();
        tx.send(fed).map_err(|_| FeedError::Stopped)
    }

    /// Feeds an input unless the queue is full.
    pub fn try_feed(&self, input: Input, meta: Meta) -> Result<(), FeedError> {
        let tx = self.inputs.as_ref().ok_or(FeedError::Stopped)?;
        match tx.try_send(Fed::Stream(input, meta)) {
            Ok(()) => {
                self.count_fed();
                Ok(())
            }
            Err(TrySendError::Full(_)) => Err(FeedError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(FeedError::Stopped),
        }
    }

    fn count_fed(&self) {
        self.shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fed += 1;
    }

    /// Waits until every input fed so far has been processed and its reports delivered.
    pub fn flush(&self) {
        let seq = {
            let mut p = self
                .shared
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            while p.read < p.fed {
                p = self
                    .shared
                    .changed
                    .wait(p)
                    .unwrap_or_else(|e| e.into_inner());
            }
            p.seq
        };
        self.credits.wait_delivered(seq);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes out one detection's buckets whose start lies in `[from, to)` (seconds), from every
    /// worker, each bucket's states merged: what a window covering them needs. Call
    /// [`Engine::flush`] first to include everything fed so far.
    pub fn take(
        &self,
        detection: usize,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, State)>, StateError> {
        self.take_parts(detection, from, to)?.merge()
    }

    /// [`Engine::take`] in two steps: the buckets are taken out of the workers and the parts
    /// on disk read now, and decoded and merged by [`TakenParts::merge`], which needs nothing
    /// of the engine's: a service takes the parts while it holds events back, and merges them
    /// after.
    pub fn take_parts(
        &self,
        detection: usize,
        from: i64,
        to: i64,
    ) -> Result<TakenParts, StateError> {
        let mut held = Vec::new();
        for w in self.states.iter() {
            held.extend(
                w.lock().unwrap_or_else(|e| e.into_inner()).buckets[detection].take_range(from, to),
            );
        }
        let encoded = match &self.spill {
            Some(spill) => spill.take_encoded(detection, from, to)?,
            None => Vec::new(),
        };
        Ok(TakenParts {
            job: Arc::clone(&self.job),
            detection,
            held,
            encoded,
        })
    }

    /// Whether taking the buckets of `detections` takes much state: what the workers hold of
    /// them (their estimate, [`State::approx_bytes`]) and the bytes of their parts on disk,
    /// with `beside` bytes of their state taken out earlier ([`TakenParts::bytes`]), together
    /// more than a quarter of the state budget ([`Options::spill`]). A service never runs two
    /// such windows at once (a batch run finishes a detection with that much on disk alone,
    /// [`crate::Finals::is_large`]), so that two large merged states (and their rows) are not
    /// held at once. Never, without a budget.
    pub fn takes_much(&self, detections: &[usize], beside: u64) -> bool {
        let Some(spill) = &self.spill else {
            return false;
        };
        let mut bytes = spill.bytes_of(detections) + beside;
        for w in self.states.iter() {
            let states = w.lock().unwrap_or_else(|e| e.into_inner());
            for &d in detections {
                bytes += states.buckets[d].approx_bytes() as u64;
            }
        }
        spill.is_large_share(bytes)
    }

    /// What moving state to disk ([`Options::spill`]) has done so far.
    pub fn spill_report(&self) -> crate::SpillReport {
        self.spill.as_ref().map(|s| s.report()).unwrap_or_default()
    }

    /// Drops every bucket that starts before `before`, for every detection (no window will need
    /// them again), returning how many groups or rows that released in memory (and parts on
    /// disk).
    pub fn evict_before(&self, before: i64) -> usize {
        let mut n = 0;
        for w in self.states.iter() {
            let mut states = w.lock().unwrap_or_else(|e| e.into_inner());
            for b in &mut states.buckets {
                n += b
                    .take_range(i64::MIN, before)
                    .iter()
                    .map(|(_, s)| s.len())
                    .sum::<usize>();
            }
        }
        if let Some(spill) = &self.spill {
            n += spill.evict_before(before);
        }
        n
    }

    /// Stops taking input, processes everything fed, and returns every detection's merged
    /// state (all buckets still held) with the counters.
    pub fn finish(mut self) -> RunResult {
        self.inputs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(d) = self.deliverer.take() {
            let _ = d.join();
        }
        let n = self.job.detections().len();
        let mut matched = vec![0u64; n];
        let mut per: Vec<Vec<State>> = (0..n).map(|_| Vec::new()).collect();
        for w in self.states.iter() {
            let mut states = w.lock().unwrap_or_else(|e| e.into_inner());
            for d in 0..n {
                per[d].extend(states.buckets[d].take_all().into_iter().map(|(_, s)| s));
                matched[d] += states.matched[d];
            }
        }
        let mut errors = Vec::new();
        if let Some(spill) = &self.spill {
            for (d, mine) in per.iter_mut().enumerate() {
                let taken = spill.take_range(d, i64::MIN, i64::MAX, |_, s| {
                    mine.push(s);
                    Ok(())
                });
                if let Err(e) = taken {
                    errors.push((d, e.to_string()));
                }
            }
        }
        let states: Vec<State> = per
            .into_iter()
            .enumerate()
            .map(|(d, s)| {
                let det = &self.job.detections()[d];
                merge_states(det, s).unwrap_or_else(|e| {
                    errors.push((d, e.to_string()));
                    State::new(det.agg().is_some())
                })
            })
            .collect();
        RunResult {
            states: states.into(),
            matched,
            stats: self.stats(),
            errors,
        }
    }
}

/// One detection's buckets taken out of the engine ([`Engine::take_parts`]): the states the
/// workers held, and the parts on disk, still encoded.
#[derive(Debug)]
pub struct TakenParts {
    job: Arc<Job>,
    detection: usize,
    held: Vec<(i64, State)>,
    encoded: Vec<(i64, Encoded)>,
}

impl TakenParts {
    /// The state taken: the estimate of the states held ([`State::approx_bytes`]) and the
    /// bytes of the parts read from disk.
    pub fn bytes(&self) -> u64 {
        let held: usize = self.held.iter().map(|(_, s)| s.approx_bytes()).sum();
        held as u64 + self.encoded.iter().map(|(_, e)| e.len()).sum::<u64>()
    }

    /// Each bucket's states merged, in bucket order. Each part on disk is decoded and merged
    /// into its bucket's state as it comes, so that no more than one is held decoded beside
    /// the merged states.
    pub fn merge(self) -> Result<Vec<(i64, State)>, StateError> {
        let job = Arc::clone(&self.job);
        let det = &job.detections()[self.detection];
        crate::merge_by_bucket(det, self.into_parts_keeping(|_| false, None))
    }

    /// The parts one at a time, not merged: the held states (in the buckets `filtered` says
    /// yes to, only the groups `keep` says yes to), then the parts on disk, each decoded (and
    /// filtered so) as it comes, for a reader that merges them its own way (a service window,
    /// which bounds what it holds).
    pub fn into_parts_keeping(
        self,
        filtered: impl Fn(i64) -> bool,
        mut keep: Option<Keep<'_>>,
    ) -> impl Iterator<Item = Result<(i64, State), StateError>> {
        let held = self.held.into_iter().map(|(b, s)| Ok((b, Ok(s))));
        let encoded = self
            .encoded
            .into_iter()
            .map(|(b, e)| e.into_bytes().map(|bytes| (b, Err(bytes))));
        held.chain(encoded).map(
            move |part: Result<(i64, Result<State, Vec<u8>>), StateError>| {
                let (b, part) = part?;
                let keep = crate::lend(&mut keep).filter(|_| filtered(b));
                let state = match (part, keep) {
                    (Ok(mut state), Some(keep)) => {
                        state.retain_keys(keep);
                        state
                    }
                    (Ok(state), None) => state,
                    (Err(bytes), Some(keep)) => crate::keeping::decode_state_keeping(&bytes, keep)?,
                    (Err(bytes), None) => crate::spill::decode(&bytes)?,
                };
                Ok((b, state))
            },
        )
    }

    /// Buckets of `detection`'s state that are not (or no longer) in an engine, as parts taken
    /// from one: held in memory.
    pub fn from_states(job: Arc<Job>, detection: usize, held: Vec<(i64, State)>) -> TakenParts {
        TakenParts {
            job,
            detection,
            held,
            encoded: Vec::new(),
        }
    }

    /// Every part encoded as a part on disk is, one at a time and not merged: a held state is
    /// encoded (and dropped) when the iterator reaches it. [`decode_parts_keeping`] reads them
    /// back as [`TakenParts::into_parts_keeping`] gives them, so parts can wait compactly (a
    /// service's shared state) and be merged by each reader with its own filter.
    pub fn into_encoded(self) -> impl Iterator<Item = Result<(i64, Vec<u8>), StateError>> {
        let held = self.held.into_iter().map(|(b, state)| {
            postcard::to_allocvec(&state)
                .map(|bytes| (b, bytes))
                .map_err(|e| StateError::Decode(format!("a state could not be encoded: {e}")))
        });
        let encoded = self
            .encoded
            .into_iter()
            .map(|(b, e)| e.into_bytes().map(|bytes| (b, bytes)));
        held.chain(encoded)
    }
}

/// Parts as [`TakenParts::into_encoded`] gives them, each decoded as it comes: in the buckets
/// `filtered` says yes to, keeping only the groups `keep` says yes to.
pub fn decode_parts_keeping<'k>(
    parts: impl IntoIterator<Item = Result<(i64, Vec<u8>), StateError>>,
    filtered: impl Fn(i64) -> bool,
    mut keep: Option<Keep<'k>>,
) -> impl Iterator<Item = Result<(i64, State), StateError>> {
    parts.into_iter().map(move |part| {
        let (b, bytes) = part?;
        match crate::lend(&mut keep).filter(|_| filtered(b)) {
            Some(keep) => crate::keeping::decode_state_keeping(&bytes, keep),
            None => crate::spill::decode(&bytes),
        }
        .map(|s| (b, s))
    })
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.inputs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(d) = self.deliverer.take() {
            let _ = d.join();
        }
    }
}

fn reader_loop(
    inputs: &Receiver<Fed>,
    options: &Options,
    work: &Sender<Work>,
    msgs: &Sender<(u64, Message)>,
    credits: &Credits,
    shared: &Shared,
) {
    let mut seq = 0u64;
    let reader = Reader::new(options.reader.clone());
    for (input_no, fed) in inputs.iter().enumerate() {
        let input_no = input_no as u64;
        let ok = match fed {
            Fed::Stream(input, meta) => {
                let one = std::iter::once((input_no, input, Arc::new(meta)));
                read_inputs(&reader, one, options, work, msgs, credits, &mut seq)
            }
            Fed::Records(records) => {
                send_records(records, input_no, options, work, msgs, credits, &mut seq)
            }
        };
        {
            let mut p = shared.progress.lock().unwrap_or_else(|e| e.into_inner());
            p.read += 1;
            p.seq = seq;
        }
        shared.changed.notify_all();
        if !ok {
            break;
        }
    }
}

/// Sends a [`Records`] input's batches to the workers, as the reader does a stream's.
fn send_records(
    records: Records,
    input_no: u64,
    options: &Options,
    work: &Sender<Work>,
    msgs: &Sender<(u64, Message)>,
    credits: &Credits,
    seq: &mut u64,
) -> bool {
    if !credits.wait_for_room(*seq, options.reorder_window)
        || msgs.send((*seq, Message::Opened)).is_err()
    {
        return false;
    }
    *seq += 1;
    for (metas, batch) in records.into_batches() {
        if !credits.wait_for_room(*seq, options.reorder_window)
            || work.send((*seq, input_no, metas, batch)).is_err()
        {
            return false;
        }
        *seq += 1;
    }
    true
}

fn worker_loop(
    job: &Job,
    options: &Options,
    batches: &Receiver<Work>,
    msgs: &Sender<(u64, Message)>,
    states: &Mutex<States>,
    spill: Option<&SpillFile>,
) {
    let mut worker = crate::worker::Worker::new(job, options);
    for (seq, input_no, metas, batch) in batches {
        let msg = {
            let mut s = states.lock().unwrap_or_else(|e| e.into_inner());
            let msg = crate::run::process_one(&mut worker, input_no, &metas, &batch, &mut s);
            // Under the same lock: a window taking this worker's buckets waits, then finds
            // on disk what went there.
            if let Some(spill) = spill {
                spill.relieve(&mut s);
            }
            msg
        };
        drop(batch);
        if msgs.send((seq, msg)).is_err() {
            break;
        }
    }
}
