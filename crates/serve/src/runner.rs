//! The scheduler thread: reads the clock, runs due windows on the engine, commits their
//! outputs (spool, then files and forwarder), persists the schedule state, and lets the
//! journal and the spool forget what nobody needs any more.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::engine::{Sink, WindowOutput};
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
        let mut ran = 0u64;
        while let Some(w) = self.scheduler.next_due(now, horizon)? {
            let output = match self.sink.run_window(&w) {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!("{e}");
                    self.counters.windows_failed.fetch_add(1, Ordering::Relaxed);
                    WindowOutput::default()
                }
            };
            let empty = output.rows.is_empty()
                && output.risk_events.is_empty()
                && output.notables.is_empty();
            if !empty {
                let record = SpoolRecord::new(&w, output);
                let seq = self.spool.append(&record)?;
                for f in &mut self.files {
                    f.write(seq, &record)?;
                }
                if let Some(q) = &self.forward {
                    q.push(seq, &record);
                }
            }
            self.scheduler.commit(&w);
            self.sink.window_committed(&w);
            self.counters.windows_run.fetch_add(1, Ordering::Relaxed);
            ran += 1;
            if ran.is_multiple_of(256) {
                self.save()?;
            }
        }
        self.save()
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
