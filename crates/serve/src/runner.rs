//! The scheduler thread: reads the clock, runs due windows on the engine, commits their
//! outputs (spool, then files and forwarder), persists the schedule state, and lets the
//! journal and the spool forget what nobody needs any more.
//!
//! Windows of different detections due together run on up to [`Sink::window_threads`]
//! threads (a replay's final drain runs every detection's window at once, and finishing them
//! one by one left all but one core idle); their outputs are committed in the order the
//! scheduler gives them one at a time ([`Scheduler::due_run`]), so the outputs and the state
//! are the same for every thread count.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::engine::{Sink, Window, WindowOutput};
use crate::journal::Journal;
use crate::log::LogError;
use crate::output::{FileOutput, ForwardQueue, OutputError, Spool, SpoolRecord};
use crate::schedule::{Clock, ScheduleError, ScheduleState, Scheduler, StateError};

/// Counters shared by the server's parts.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests answered with code 0.
    pub requests_accepted: AtomicU64,
    /// Requests refused (any non-zero code).
    pub requests_refused: AtomicU64,
    /// Events accepted.
    pub events_accepted: AtomicU64,
    /// Windows run and committed.
    pub windows_run: AtomicU64,
    /// Windows the engine failed to run (committed with no output, and logged).
    pub windows_failed: AtomicU64,
}

/// Why the scheduler stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// A schedule problem.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The spool failed.
    #[error("output spool: {0}")]
    Spool(#[from] LogError),
    /// An output file failed.
    #[error("output: {0}")]
    Output(#[from] OutputError),
    /// The state file failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A window's output could not be read back to be forwarded (its spool record is written:
    /// a restart forwards it).
    #[error("forwarding: {0}")]
    Forward(std::io::Error),
}

/// The most windows chosen at once to run on several threads: those done before an earlier one
/// of the run wait, with their outputs, for it to be committed first.
const MAX_RUN: usize = 64;

/// Runs one window; a failure is logged and counted, and gives no output.
fn run_window(sink: &dyn Sink, w: &Window, counters: &Counters) -> WindowOutput {
    match sink.run_window(w) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("{e}");
            counters.windows_failed.fetch_add(1, Ordering::Relaxed);
            WindowOutput::default()
        }
    }
}

pub(crate) enum Control {
    /// Run every window that holds a received event, then stop.
    Drain,
}

pub(crate) struct Runner {
    pub sink: Arc<dyn Sink>,
    pub scheduler: Scheduler,
    pub clock: Clock,
    pub spool: Spool,
    pub files: Vec<FileOutput>,
    pub forward: Option<Arc<ForwardQueue>>,
    pub state: ScheduleState,
    pub state_path: PathBuf,
    pub journal: Journal,
    pub counters: Arc<Counters>,
    pub tick: Duration,
}

impl Runner {
    pub(crate) fn run(mut self, control: mpsc::Receiver<Control>) -> Result<(), RunnerError> {
        loop {
            match control.recv_timeout(self.tick) {
                Ok(Control::Drain) => {
                    let horizon = self.sink.stats().latest_event_time;
                    self.tick(horizon)?;
                    self.save()?;
                    return Ok(());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.tick(None)?,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    fn tick(&mut self, horizon: Option<cimhunt_spl::time::Timestamp>) -> Result<(), RunnerError> {
        let Some(mut now) = self.clock.now() else {
            return Ok(());
        };
        if let Some(h) = horizon {
            now = now.max(h);
        }
        if !self.scheduler.is_anchored() {
            let oldest = if self.clock.follows_events() {
                self.sink.stats().earliest_event_time
            } else {
                None
            };
            self.scheduler.anchor(now, oldest);
        }
        let threads = self.sink.window_threads().max(1);
        let mut ran = 0u64;
        loop {
            let run = self.scheduler.due_run(now, horizon, MAX_RUN)?;
            if run.is_empty() {
                break;
            }
            if threads == 1 || run.len() == 1 || !self.run_on_threads(&run, threads, &mut ran)? {
                for w in &run {
                    let output = run_window(&*self.sink, w, &self.counters);
                    self.commit(w, output, &mut ran)?;
                }
            }
        }
        self.save()
    }

    /// Runs the windows of `run` (of different detections) on up to `threads` threads, and
    /// commits each in `run`'s order as soon as it and those before it are done. False (and
    /// nothing run) when no thread could be started.
    fn run_on_threads(
        &mut self,
        run: &[Window],
        threads: usize,
        ran: &mut u64,
    ) -> Result<bool, RunnerError> {
        let sink = Arc::clone(&self.sink);
        let counters = Arc::clone(&self.counters);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<(usize, WindowOutput)>();
            let mut started = 0;
            for _ in 0..threads.min(run.len()) {
                let tx = tx.clone();
                let (sink, counters, next, stop) = (&sink, &counters, &next, &stop);
                let worker = move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(w) = run.get(i) else { return };
                        if tx.send((i, run_window(&**sink, w, counters))).is_err() {
                            return;
                        }
                    }
                };
                let spawned = std::thread::Builder::new()
                    .name("cimhunt-window".into())
                    .spawn_scoped(scope, worker);
                match spawned {
                    Ok(_) => started += 1,
                    Err(e) => tracing::warn!("could not start a thread to run windows: {e}"),
                }
            }
            drop(tx);
            if started == 0 {
                return Ok(false);
            }
            let mut done: Vec<Option<WindowOutput>> = run.iter().map(|_| None).collect();
            let mut committed = 0;
            for (i, output) in rx {
                done[i] = Some(output);
                while let Some(output) = done.get_mut(committed).and_then(Option::take) {
                    if let Err(e) = self.commit(&run[committed], output, ran) {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    committed += 1;
                }
            }
            Ok(true)
        })
    }

    /// Makes a window's outputs durable (spool, then files and forwarder) and commits it.
    fn commit(
        &mut self,
        w: &Window,
        output: WindowOutput,
        ran: &mut u64,
    ) -> Result<(), RunnerError> {
        if !output.is_empty() {
            let record = SpoolRecord::new(w, output);
            let seq = self.spool.append(&record)?;
            for f in &mut self.files {
                f.write(seq, &record)?;
            }
            if let Some(q) = &self.forward {
                q.push(seq, &record).map_err(RunnerError::Forward)?;
            }
        }
        self.scheduler.commit(w);
        self.sink.window_committed(w);
        self.counters.windows_run.fetch_add(1, Ordering::Relaxed);
        *ran += 1;
        if ran.is_multiple_of(256) {
            self.save()?;
        }
        Ok(())
    }

    /// Persists the schedule state, then lets the journal and the spool forget.
    fn save(&mut self) -> Result<(), RunnerError> {
        let watermark = self
            .sink
            .needed_from()
            .min(self.journal.submitted_to())
            .max(self.state.journal_watermark);
        let next = ScheduleState {
            last_window: self.scheduler.last_windows(),
            journal_watermark: watermark,
            spool_next: self.spool.next_seq(),
        };
        if next != self.state {
            next.save(&self.state_path)?;
            self.state = next;
        }
        self.journal.truncate(self.state.journal_watermark);
        let mut keep = self.state.spool_next;
        for f in &self.files {
            keep = keep.min(f.next());
        }
        if let Some(q) = &self.forward {
            keep = keep.min(q.next());
        }
        self.spool.remove_before(keep)?;
        Ok(())
    }
}
