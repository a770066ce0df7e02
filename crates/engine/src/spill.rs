//! Aggregation state beyond a memory budget, moved to a temporary file during a batch run and
//! merged back one detection at a time when the run finishes.
//!
//! A detection that groups every process by nine fields holds one group per event until the
//! end, and a library of them holds most of a large input in memory. During a batch run each
//! worker watches an estimate of what its states hold ([`State::approx_bytes`]); past its
//! share of the budget it writes its largest states to a temporary file and starts them
//! afresh. When the run ends, [`Finals`] keeps what stayed in memory and, when a detection is
//! finished, reads its parts back and merges them.
//!
//! Key design decision: a part written to disk is exactly a partial state of the kind workers
//! and time buckets already produce ([`State::merge`] is commutative and associative), so a
//! run that spilled gives the rows of one that did not, as a run on more workers does. This is
//! an evaluation strategy, not Splunk behaviour: nothing a search returns depends on it. The
//! file is created unlinked (`tempfile`), so nothing is left behind, even after a crash. When
//! writing fails (a full disk), the state stays in memory, spilling stops, and the run says
//! why.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::job::Job;
use crate::state::{State, StateError};
use crate::worker::States;

/// When and where a batch run moves aggregation state to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillOptions {
    /// The folder of the temporary file.
    pub dir: PathBuf,
    /// The estimated bytes of state all workers together keep in memory before writing the
    /// largest states out.
    pub budget_bytes: usize,
}

/// The temporary file of a run, shared by its workers.
#[derive(Debug)]
pub(crate) struct SpillFile {
    inner: Mutex<Inner>,
    budget_per_worker: usize,
    /// The whole budget (all workers).
    budget: usize,
}

#[derive(Debug)]
struct Inner {
    /// Created on the first write.
    file: Option<File>,
    dir: PathBuf,
    len: u64,
    /// Per part: the detection, where it starts, how long it is.
    parts: Vec<(usize, u64, u64)>,
    /// Why writing stopped, once it failed.
    failed: Option<String>,
}

/// What spilling did in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpillReport {
    /// Partial states written.
    pub parts: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Why spilling stopped, when a write failed (the states then stayed in memory).
    pub error: Option<String>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SpillFile {
    pub(crate) fn new(options: &SpillOptions, workers: usize) -> SpillFile {
        SpillFile {
            inner: Mutex::new(Inner {
                file: None,
                dir: options.dir.clone(),
                len: 0,
                parts: Vec::new(),
                failed: None,
            }),
            budget_per_worker: options.budget_bytes / workers.max(1),
            budget: options.budget_bytes,
        }
    }

    /// After a batch: when a worker's states hold more than its share of the budget, writes
    /// its largest states out until they hold half of it.
    pub(crate) fn relieve(&self, states: &mut States) {
        if lock(&self.inner).failed.is_some() {
            return;
        }
        let mut sizes: Vec<(usize, usize)> = states
            .buckets
            .iter()
            .enumerate()
            .map(|(d, b)| (b.approx_bytes(), d))
            .filter(|(bytes, _)| *bytes > 0)
            .collect();
        let mut total: usize = sizes.iter().map(|(b, _)| b).sum();
        if total <= self.budget_per_worker {
            return;
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        for (bytes, d) in sizes {
            if total <= self.budget_per_worker / 2 {
                break;
            }
            let taken = states.buckets[d].take_all();
            let mut kept = Vec::new();
            for (start, state) in taken {
                if !self.write(d, &state) {
                    kept.push((start, state));
                }
            }
            let failed = !kept.is_empty();
            for (start, state) in kept {
                // Back where it was: the bucket was just emptied, so this cannot clash.
                let _ = states.buckets[d].merge_bucket(None, start, state);
            }
            if failed {
                return;
            }
            total -= bytes;
        }
    }

    /// Appends one state of detection `d`; false when it could not be written (the caller
    /// keeps it).
    fn write(&self, d: usize, state: &State) -> bool {
        // Encoded before taking the lock, so that workers encode at the same time.
        let encoded = postcard::to_allocvec(state);
        let mut inner = lock(&self.inner);
        if inner.failed.is_some() {
            return false;
        }
        let bytes = match encoded {
            Ok(b) => b,
            Err(e) => {
                inner.failed = Some(format!("a state could not be encoded: {e}"));
                return false;
            }
        };
        let start = inner.len;
        match inner.append(&bytes) {
            Ok(()) => {
                inner.len += bytes.len() as u64;
                inner.parts.push((d, start, bytes.len() as u64));
                true
            }
            Err(e) => {
                inner.failed = Some(format!(
                    "writing aggregation state to a temporary file in {}: {e}",
                    inner.dir.display()
                ));
                false
            }
        }
    }

    /// The bytes written per detection, for `n` detections.
    fn written(&self, n: usize) -> Vec<u64> {
        let mut per = vec![0u64; n];
        for &(d, _, len) in &lock(&self.inner).parts {
            if let Some(w) = per.get_mut(d) {
                *w += len;
            }
        }
        per
    }

    fn report(&self) -> SpillReport {
        let inner = lock(&self.inner);
        SpillReport {
            parts: inner.parts.len() as u64,
            bytes: inner.len,
            error: inner.failed.clone(),
        }
    }

    /// Reads the parts written for detection `d` back, one at a time, handing each to `each`
    /// (so that only one part is decoded beside what `each` keeps).
    fn read_each(
        &self,
        d: usize,
        mut each: impl FnMut(State) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let wanted: Vec<(u64, u64)> = lock(&self.inner)
            .parts
            .iter()
            .filter(|(x, _, _)| *x == d)
            .map(|&(_, start, len)| (start, len))
            .collect();
        let mut buf = Vec::new();
        for (start, len) in wanted {
            buf.resize(len as usize, 0);
            {
                let mut inner = lock(&self.inner);
                let Some(file) = inner.file.as_mut() else {
                    return Ok(());
                };
                file.seek(SeekFrom::Start(start))
                    .and_then(|_| file.read_exact(&mut buf))
                    .map_err(|e| {
                        StateError::Decode(format!("reading aggregation state back from disk: {e}"))
                    })?;
            }
            let state: State = postcard::from_bytes(&buf).map_err(|e| {
                StateError::Decode(format!("aggregation state read back from disk: {e}"))
            })?;
            each(state)?;
        }
        Ok(())
    }
}

impl Inner {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile_in(&self.dir)?);
        }
        let len = self.len;
        let file = self.file.as_mut().expect("created above");
        file.seek(SeekFrom::Start(len))?;
        file.write_all(bytes)
    }
}

/// Every detection's final state after a run: what stayed in memory, and the parts a batch run
/// moved to disk, merged when the detection is taken.
#[derive(Debug)]
pub struct Finals {
    held: Vec<Option<State>>,
    spill: Option<Arc<SpillFile>>,
    /// Whose parts on disk a detection reads: its own, or those of the detection whose state
    /// it shares ([`crate::JobBuilder::share_states`]).
    owner: Vec<usize>,
    /// Per detection: the bytes written to disk for it.
    written: Vec<u64>,
    report: SpillReport,
}

impl From<Vec<State>> for Finals {
    fn from(states: Vec<State>) -> Finals {
        let owner = (0..states.len()).collect();
        Finals {
            written: vec![0; states.len()],
            held: states.into_iter().map(Some).collect(),
            spill: None,
            owner,
            report: SpillReport::default(),
        }
    }
}

impl Finals {
    pub(crate) fn new(
        states: Vec<State>,
        spill: Option<Arc<SpillFile>>,
        owner: Vec<usize>,
    ) -> Self {
        let report = spill.as_ref().map(|s| s.report()).unwrap_or_default();
        let written = spill
            .as_ref()
            .map_or_else(|| vec![0; states.len()], |s| s.written(states.len()));
        Finals {
            held: states.into_iter().map(Some).collect(),
            spill,
            owner,
            written,
            report,
        }
    }

    /// How many detections.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// What spilling did during the run.
    pub fn spill_report(&self) -> &SpillReport {
        &self.report
    }

    /// Detection `d`'s whole state, once: what stayed in memory merged with its parts on disk.
    /// `None` when it was taken before or `d` is out of range.
    pub fn take(&mut self, job: &Job, d: usize) -> Option<Result<State, StateError>> {
        let held = self.held.get_mut(d)?.take()?;
        let Some(spill) = &self.spill else {
            return Some(Ok(held));
        };
        let det = &job.detections()[d];
        let mut state = held;
        let merged = spill.read_each(self.owner[d], |part| state.merge(det.agg(), part));
        Some(merged.map(|()| state))
    }

    /// Drops detection `d`'s state without reading its parts on disk (a subsearch that was
    /// not needed).
    pub fn discard(&mut self, d: usize) {
        if let Some(held) = self.held.get_mut(d) {
            *held = None;
        }
    }

    /// Whether finishing detection `d` (with its subsearches) may read more from disk than the
    /// whole state budget: such a detection is finished on its own rather than beside others,
    /// so that two large merged states are not held at once.
    pub fn is_large(&self, job: &Job, d: usize) -> bool {
        let Some(spill) = &self.spill else {
            return false;
        };
        let mut total = 0u64;
        let mut stack = vec![d];
        while let Some(x) = stack.pop() {
            if let Some(&o) = self.owner.get(x) {
                total += self.written.get(o).copied().unwrap_or(0);
            }
            stack.extend(job.detections()[x].subsearches());
        }
        total > spill.budget as u64
    }

    /// Every detection's whole state, in order.
    pub fn into_states(mut self, job: &Job) -> Result<Vec<State>, StateError> {
        (0..self.held.len())
            .map(|d| {
                self.take(job, d)
                    .unwrap_or_else(|| Ok(State::new(job.detections()[d].agg().is_some())))
            })
            .collect()
    }
}
