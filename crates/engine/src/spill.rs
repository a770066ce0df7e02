//! Aggregation state beyond a memory budget, moved to a temporary file while events are read
//! and merged back when it is needed: one detection at a time when a batch run finishes, one
//! detection's buckets at a time when a service's window takes them ([`crate::Engine::take`]).
//!
//! A detection that groups every process by nine fields holds one group per event until the
//! end, and a library of them holds most of a large input in memory. During a batch run each
//! worker watches an estimate of what its states hold ([`State::approx_bytes`]); past its
//! share of the budget it writes its largest states to a temporary file and starts them
//! afresh. When the run ends, [`Finals`] keeps what stayed in memory and, when a detection is
//! finished, reads its parts back and merges them; merged groups beyond the budget go on to
//! runs sorted in the rows' order, merged as the rows are made ([`Taken::merge_each_into`]).
//!
//! Key design decision: a part written to disk is exactly a partial state of the kind workers
//! and time buckets already produce ([`State::merge`] is commutative and associative), so a
//! run that spilled gives the rows of one that did not, as a run on more workers does. This is
//! an evaluation strategy, not Splunk behaviour: nothing a search returns depends on it. The
//! file is created unlinked (`tempfile`), so nothing is left behind, even after a crash. When
//! writing fails (a full disk), the state stays in memory, spilling stops, and the run says
//! why. A long-running service takes parts back (or evicts them) as windows close: the file is
//! emptied when no part is left in it, and rewritten with only the parts still wanted when the
//! space of those taken is larger than theirs, so it does not grow without end.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cimhunt_spl::RowSpill;
use cimhunt_spl::agg::Runs;

use crate::encoded::{Encoded, IN_FILE_AT, read_at};
use crate::job::Job;
use crate::keeping::{Keep, decode_state_keeping};
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
    /// The parts in the file not yet taken back or evicted, in the order written (the rest of
    /// the file is space to reclaim).
    parts: Vec<Part>,
    /// Parts and bytes written since the start (for the report).
    total_parts: u64,
    total_bytes: u64,
    /// Why writing stopped, once it failed.
    failed: Option<String>,
    /// Taken space beyond which the file is rewritten ([`COMPACT_AT`]; lower in tests).
    compact_at: u64,
    /// Bytes of parts taken at once past which they are copied to a file of their own
    /// ([`IN_FILE_AT`]; other values in tests).
    in_file_at: u64,
}

/// One partial state in the file.
#[derive(Debug, Clone, Copy)]
struct Part {
    detection: usize,
    /// The time bucket it belongs to.
    bucket: i64,
    start: u64,
    len: u64,
}

/// A file holding more taken space than this (and more than the parts left) is rewritten.
const COMPACT_AT: u64 = 64 << 20;

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
                total_parts: 0,
                total_bytes: 0,
                failed: None,
                compact_at: COMPACT_AT,
                in_file_at: IN_FILE_AT,
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
        let sizes = states.buckets.iter().map(|b| b.approx_bytes()).collect();
        self.relieve_largest(sizes, |d| {
            let taken = states.buckets[d].take_all();
            let mut kept = Vec::new();
            for (start, state) in taken {
                if !self.write(d, start, &state) {
                    kept.push((start, state));
                }
            }
            let written = kept.is_empty();
            for (start, state) in kept {
                // Back where it was: the bucket was just emptied, so this cannot clash.
                let _ = states.buckets[d].merge_bucket(None, start, state);
            }
            written
        });
    }

    /// When `sizes` (each detection's estimated bytes) add up to more than a worker's share of
    /// the budget, hands detections to `write_out`, largest first, until what stays takes half
    /// of it; stops at the first that `write_out` could not write.
    pub(crate) fn relieve_largest(
        &self,
        sizes: Vec<usize>,
        mut write_out: impl FnMut(usize) -> bool,
    ) {
        let mut sizes: Vec<(usize, usize)> = sizes
            .into_iter()
            .zip(0..)
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
            if !write_out(d) {
                return;
            }
            total -= bytes;
        }
    }

    /// Appends one state of detection `d`'s bucket `bucket`; false when it could not be
    /// written (the caller keeps it).
    pub(crate) fn write(&self, d: usize, bucket: i64, state: &State) -> bool {
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
                let len = bytes.len() as u64;
                inner.len += len;
                inner.total_parts += 1;
                inner.total_bytes += len;
                inner.parts.push(Part {
                    detection: d,
                    bucket,
                    start,
                    len,
                });
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
        for p in &lock(&self.inner).parts {
            if let Some(w) = per.get_mut(p.detection) {
                *w += p.len;
            }
        }
        per
    }

    pub(crate) fn report(&self) -> SpillReport {
        let inner = lock(&self.inner);
        SpillReport {
            parts: inner.total_parts,
            bytes: inner.total_bytes,
            error: inner.failed.clone(),
        }
    }

    /// Reads the parts written for detection `d` back, one at a time, handing each, still
    /// encoded, to `each` (so that only one part is decoded beside what `each` keeps).
    fn read_each(
        &self,
        d: usize,
        mut each: impl FnMut(&[u8], u64) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let wanted: Vec<(u64, u64)> = lock(&self.inner)
            .parts
            .iter()
            .filter(|p| p.detection == d)
            .map(|p| (p.start, p.len))
            .collect();
        for (start, len) in wanted {
            let buf = lock(&self.inner).read(start, len)?;
            each(&buf, len)?;
        }
        Ok(())
    }
}

impl SpillFile {
    /// Takes back the parts of detection `d` whose bucket starts in `[from, to)`, with their
    /// buckets, in the order written; they are then gone from the file. Each is decoded and
    /// handed to `each` in turn ([`SpillFile::take_encoded`], then [`decode`]).
    pub(crate) fn take_range(
        &self,
        d: usize,
        from: i64,
        to: i64,
        mut each: impl FnMut(i64, State) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        for (bucket, part) in self.take_encoded(d, from, to)? {
            each(bucket, decode(&part.into_bytes()?)?)?;
        }
        Ok(())
    }

    /// The parts [`SpillFile::take_range`] takes, still encoded: taken under the file's lock,
    /// decoded by the caller after it is released (and after the service's own lock, so that
    /// a window decoding its parts keeps neither another window nor the feeding of events
    /// waiting). Past [`IN_FILE_AT`] bytes they are copied to a file of their own rather than
    /// read into memory; when that file cannot be written they are read into memory, and
    /// spilling stops as it does when a write fails (the report says why).
    pub(crate) fn take_encoded(
        &self,
        d: usize,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, Encoded)>, StateError> {
        let wanted = |p: &Part| p.detection == d && (from..to).contains(&p.bucket);
        let mut inner = lock(&self.inner);
        let taken: Vec<Part> = inner.parts.iter().copied().filter(wanted).collect();
        let bytes: u64 = taken.iter().map(|p| p.len).sum();
        let mut copied = None;
        if bytes > inner.in_file_at {
            match inner.copy_out(&taken) {
                Ok(encoded) => copied = Some(encoded),
                Err(e) => {
                    let dir = inner.dir.display().to_string();
                    inner.failed.get_or_insert_with(|| {
                        format!("copying taken aggregation state to a temporary file in {dir}: {e}")
                    });
                }
            }
        }
        let encoded = match copied {
            Some(encoded) => encoded,
            None => taken
                .iter()
                .map(|p| Ok((p.bucket, Encoded::Held(inner.read(p.start, p.len)?))))
                .collect::<Result<_, StateError>>()?,
        };
        inner.parts.retain(|p| !wanted(p));
        inner.reclaim();
        Ok(encoded)
    }

    /// The bytes of the parts in the file for `detections` now.
    pub(crate) fn bytes_of(&self, detections: &[usize]) -> u64 {
        lock(&self.inner)
            .parts
            .iter()
            .filter(|p| detections.contains(&p.detection))
            .map(|p| p.len)
            .sum()
    }

    /// Whether `bytes` of state are more than [`LARGE_SHARE`] of the budget: a detection that
    /// large is never finished beside another that large ([`Finals::is_large`]), a service's
    /// window that large never beside another ([`crate::Engine::takes_much`]).
    pub(crate) fn is_large_share(&self, bytes: u64) -> bool {
        bytes > self.budget as u64 / LARGE_SHARE
    }

    /// Drops every part whose bucket starts before `before`; how many.
    pub(crate) fn evict_before(&self, before: i64) -> usize {
        let mut inner = lock(&self.inner);
        let held = inner.parts.len();
        inner.parts.retain(|p| p.bucket >= before);
        let n = held - inner.parts.len();
        inner.reclaim();
        n
    }
}

/// A part's bytes as the state they encode.
pub(crate) fn decode(bytes: &[u8]) -> Result<State, StateError> {
    postcard::from_bytes(bytes)
        .map_err(|e| StateError::Decode(format!("aggregation state read back from disk: {e}")))
}

impl Inner {
    fn read(&mut self, start: u64, len: u64) -> Result<Vec<u8>, StateError> {
        let Some(file) = self.file.as_mut() else {
            return Err(StateError::Decode("a spilled state's file is gone".into()));
        };
        read_at(file, start, len)
    }

    /// Empties the file when no part is left in it, and rewrites it with only the parts left
    /// when the space of those taken is larger than theirs and than [`COMPACT_AT`]. A rewrite
    /// that fails leaves the file as it was.
    fn reclaim(&mut self) {
        let held: u64 = self.parts.iter().map(|p| p.len).sum();
        if held == 0 {
            self.parts.clear();
            if self.len > 0 {
                self.len = 0;
                if let Some(f) = &self.file
                    && f.set_len(0).is_err()
                {
                    self.file = None;
                }
            }
            return;
        }
        let taken = self.len - held;
        if taken <= self.compact_at || taken <= held {
            return;
        }
        let Ok(mut fresh) = tempfile::tempfile_in(&self.dir) else {
            return;
        };
        let mut parts = Vec::new();
        let mut at = 0u64;
        for p in self.parts.clone() {
            let Ok(bytes) = self.read(p.start, p.len) else {
                return;
            };
            if fresh.write_all(&bytes).is_err() {
                return;
            }
            parts.push(Part { start: at, ..p });
            at += p.len;
        }
        self.file = Some(fresh);
        self.parts = parts;
        self.len = at;
    }

    /// `parts` copied, one after the other, to a new unlinked file in the folder.
    fn copy_out(&mut self, parts: &[Part]) -> std::io::Result<Vec<(i64, Encoded)>> {
        let mut fresh = tempfile::tempfile_in(&self.dir)?;
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other("a spilled state's file is gone"));
        };
        let mut at = 0u64;
        let mut placed = Vec::with_capacity(parts.len());
        for p in parts {
            file.seek(SeekFrom::Start(p.start))?;
            let copied = std::io::copy(&mut (&mut *file).take(p.len), &mut fresh)?;
            if copied != p.len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a spilled state is shorter than written",
                ));
            }
            placed.push((p.bucket, at, p.len));
            at += p.len;
        }
        let fresh = Arc::new(Mutex::new(fresh));
        Ok(placed
            .into_iter()
            .map(|(bucket, start, len)| {
                let file = Arc::clone(&fresh);
                (bucket, Encoded::InFile { file, start, len })
            })
            .collect())
    }

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

/// What is done to each part of a taken state (what stayed in memory, then each part read
/// back) before it is merged.
pub(crate) enum EachPart<'a> {
    /// Each part, decoded whole, goes through this.
    Whole(&'a mut dyn FnMut(&mut State)),
    /// Only the groups this says yes to are kept. A part read back keeps them as it is decoded
    /// ([`crate::keeping`]), so the groups it drops never enter a table, and the ones it keeps
    /// enter one once: decoding a part whole and then filtering it built its table, then built
    /// it again of the groups kept.
    Keeping(Keep<'a>),
}

impl EachPart<'_> {
    /// Applies this to a state already in memory.
    fn apply(&mut self, state: &mut State) {
        match self {
            EachPart::Whole(part) => part(state),
            EachPart::Keeping(keep) => state.retain_keys(&mut **keep),
        }
    }

    /// Decodes a part read back, applying this.
    fn decode(&mut self, bytes: &[u8]) -> Result<State, StateError> {
        match self {
            EachPart::Whole(part) => {
                let mut state = decode(bytes)?;
                part(&mut state);
                Ok(state)
            }
            EachPart::Keeping(keep) => decode_state_keeping(bytes, &mut **keep),
        }
    }
}

/// A detection's state taken out of [`Finals`] ([`Finals::take_out`]): what stayed in memory,
/// and where its parts on disk are.
#[derive(Debug)]
pub(crate) struct Taken {
    state: State,
    spill: Option<Arc<SpillFile>>,
    /// Whose parts on disk to read.
    owner: usize,
}

impl Taken {
    /// The whole state of detection `d`, each part (what stayed in memory, then each part
    /// read back) passed through `part` before it is merged.
    pub(crate) fn merge_each(
        self,
        job: &Job,
        d: usize,
        part: &mut dyn FnMut(&mut State),
    ) -> Result<State, StateError> {
        self.merge_each_into(job, d, EachPart::Whole(part), None)
            .map(|(state, _)| state)
    }

    /// [`Taken::merge_each`], where, given `rows`, merged groups beyond its budget go to runs on
    /// disk, sorted in the rows' order ([`Runs`]): the state and the runs together are the
    /// whole state, and [`Runs::into_rows`] merges them as the rows are made, so a detection
    /// whose groups grow with the input (a group per command line, per script block) is never
    /// held whole. What a part adds is estimated by its bytes on disk (a state read back does
    /// not count its own size).
    pub(crate) fn merge_each_into(
        self,
        job: &Job,
        d: usize,
        mut each: EachPart<'_>,
        rows: Option<&Arc<RowSpill>>,
    ) -> Result<(State, Option<Runs>), StateError> {
        let Taken {
            mut state,
            spill,
            owner,
        } = self;
        each.apply(&mut state);
        let Some(spill) = spill else {
            return Ok((state, None));
        };
        let det = &job.detections()[d];
        let mut runs: Option<Runs> = None;
        let mut merged = state.approx_bytes();
        spill.read_each(owner, |bytes, len| {
            let p = each.decode(bytes)?;
            state.merge(det.agg(), p)?;
            merged = merged.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            if let (Some(rows), Some(spec), State::Stats(groups)) = (rows, det.agg(), &mut state)
                && merged > rows.budget()
                && runs
                    .get_or_insert_with(|| Runs::new(rows.clone()))
                    .write(groups, spec)
            {
                merged = 0;
            }
            Ok(())
        })?;
        Ok((state, runs.filter(|r| !r.is_empty())))
    }
}

/// The share of the state budget beyond which a detection's parts on disk make it large
/// ([`Finals::is_large`]). Its rows take several times the bytes its parts take on disk: on the
/// 1 GiB mixed corpus `Common Ransomware Extensions` reads 12 MiB of parts (under a 16 MiB
/// budget) and its finish took the resident set from 146 to 185 MiB; beside another such
/// finish, the two made the run's peak.
const LARGE_SHARE: u64 = 4;

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
        self.take_each(job, d, &mut |_| {})
    }

    /// [`Finals::take`], with each part (what stayed in memory, then each part read back)
    /// passed through `part` before it is merged: a filter that drops groups bounds what is
    /// merged by what it keeps.
    pub fn take_each(
        &mut self,
        job: &Job,
        d: usize,
        part: &mut dyn FnMut(&mut State),
    ) -> Option<Result<State, StateError>> {
        Some(self.take_out(d)?.merge_each(job, d, part))
    }

    /// Detection `d`'s state, taken out with what is needed to read its parts on disk back
    /// ([`Taken::merge_each`]), so that the reading and merging need no borrow of `self`: the
    /// threads that finish detections take under a lock and merge beside each other.
    pub(crate) fn take_out(&mut self, d: usize) -> Option<Taken> {
        let state = self.held.get_mut(d)?.take()?;
        Some(Taken {
            state,
            spill: self.spill.clone(),
            owner: self.owner[d],
        })
    }

    /// Whether detection `d`'s state may hold anything: it has not been taken, and it kept
    /// something in memory or wrote something to disk.
    pub fn may_hold(&self, d: usize) -> bool {
        let held = self.held.get(d).and_then(Option::as_ref);
        held.is_some_and(|s| self.written_for(d) > 0 || !s.is_empty())
    }

    /// The bytes written to disk for detection `d` (for a state shared with others, its
    /// owner's).
    fn written_for(&self, d: usize) -> u64 {
        self.owner
            .get(d)
            .and_then(|&o| self.written.get(o))
            .copied()
            .unwrap_or(0)
    }

    /// About how many bytes detection `d`'s state is: the estimate of what stayed in memory
    /// ([`State::approx_bytes`]) and the bytes written to disk for it (for a state shared with
    /// others, its owner's). `None` when it was taken.
    pub fn state_bytes(&self, d: usize) -> Option<u64> {
        let held = self.held.get(d)?.as_ref()?;
        Some(held.approx_bytes() as u64 + self.written_for(d))
    }

    /// Drops detection `d`'s state without reading its parts on disk (a subsearch that was
    /// not needed).
    pub fn discard(&mut self, d: usize) {
        if let Some(held) = self.held.get_mut(d) {
            *held = None;
        }
    }

    /// Whether finishing detection `d` (with its subsearches) may read more from disk than
    /// [`LARGE_SHARE`] of the state budget: such a detection is never finished beside another
    /// such one, so that two large merged states (and their rows) are not held at once.
    pub fn is_large(&self, job: &Job, d: usize) -> bool {
        let Some(spill) = &self.spill else {
            return false;
        };
        let mut total = 0u64;
        let mut stack = vec![d];
        while let Some(x) = stack.pop() {
            total += self.written_for(x);
            stack.extend(job.detections()[x].subsearches());
        }
        spill.is_large_share(total)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::OrderKey;
    use cimhunt_spl::Row;

    /// A state of `n` collected rows, each naming `tag`.
    fn rows(tag: &str, n: usize) -> State {
        State::Collect(
            (0..n)
                .map(|i| {
                    let key = OrderKey {
                        time: None,
                        input: 0,
                        record: i as u64,
                    };
                    (key, Row::from_texts(&[("tag", tag), ("i", &i.to_string())]))
                })
                .collect(),
        )
    }

    /// The parts `take_range` hands on, in order.
    fn take(f: &SpillFile, d: usize, from: i64, to: i64) -> Vec<(i64, State)> {
        let mut out = Vec::new();
        f.take_range(d, from, to, |b, s| {
            out.push((b, s));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn a_files_large_share_is_counted_over_the_detections_asked() {
        let dir = tempfile::tempdir().unwrap();
        let f = SpillFile::new(
            &SpillOptions {
                dir: dir.path().to_path_buf(),
                budget_bytes: 4 * 1024,
            },
            1,
        );
        assert_eq!(f.bytes_of(&[0, 1]), 0, "an empty file");
        assert!(f.write(0, 0, &rows("a", 30)));
        assert!(f.write(1, 0, &rows("b", 30)));
        let each = lock(&f.inner).parts[0].len;
        assert!(each < 1024 && 2 * each > 1024, "{each} bytes a part");
        // A quarter of the budget is 1 KiB: one part is under it, both together over it.
        assert!(!f.is_large_share(f.bytes_of(&[0])));
        assert!(!f.is_large_share(f.bytes_of(&[1, 2])));
        assert!(f.is_large_share(f.bytes_of(&[0, 1])));
        take(&f, 1, 0, 1);
        assert_eq!(
            f.bytes_of(&[0, 1]),
            each,
            "parts taken back no longer count"
        );
    }

    fn file_len(f: &SpillFile) -> u64 {
        lock(&f.inner).len
    }

    /// A spill file in `dir` for one worker whose every state is over its budget.
    fn spill_in(dir: &std::path::Path) -> SpillFile {
        let options = SpillOptions {
            dir: dir.to_path_buf(),
            budget_bytes: 1,
        };
        SpillFile::new(&options, 1)
    }

    #[test]
    fn parts_taken_back_free_their_space_and_the_rest_read_back_after_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let f = spill_in(dir.path());
        lock(&f.inner).compact_at = 0;
        // Detection 0: buckets 0 (large) and 60; detection 1: bucket 0.
        assert!(f.write(0, 0, &rows("a", 200)));
        assert!(f.write(0, 60, &rows("b", 20)));
        assert!(f.write(1, 0, &rows("c", 3)));
        let full = file_len(&f);
        // Taking bucket 0 of detection 0 leaves more taken space than is left: rewritten.
        let taken = take(&f, 0, 0, 60);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].0, 0);
        assert_eq!(taken[0].1.len(), 200);
        assert!(file_len(&f) < full / 4, "{} of {full}", file_len(&f));
        // What stayed reads back whole after the rewrite.
        let later = take(&f, 0, 60, 120);
        assert_eq!(later[0].1, rows("b", 20));
        assert!(take(&f, 0, 0, i64::MAX).is_empty());
        // Evicting the last part empties the file; the report counts every part written.
        assert_eq!(f.evict_before(1), 1);
        assert_eq!(file_len(&f), 0);
        assert!(take(&f, 1, i64::MIN, i64::MAX).is_empty());
        assert_eq!(f.report().parts, 3);
        // The file is used again after being emptied.
        assert!(f.write(1, 0, &rows("d", 2)));
        assert_eq!(take(&f, 1, 0, 1)[0].1, rows("d", 2));
    }

    /// Regression: a service window read every part it took into memory (20 MiB at the peak
    /// of the bench's 1 GiB replay). Past a size they wait in a file of their own, and read
    /// back whole after the spill file was emptied and written again.
    #[test]
    fn parts_taken_past_a_size_wait_in_a_file_of_their_own_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = spill_in(dir.path());
        lock(&f.inner).in_file_at = 0;
        assert!(f.write(0, 0, &rows("a", 50)));
        assert!(f.write(1, 0, &rows("c", 3)));
        assert!(f.write(0, 60, &rows("b", 20)));
        let taken = f.take_encoded(0, 0, 120).unwrap();
        assert_eq!(taken.len(), 2);
        assert!(
            taken
                .iter()
                .all(|(_, e)| matches!(e, Encoded::InFile { .. }))
        );
        // The spill file moves on: emptied, then written again from its start.
        assert_eq!(f.evict_before(i64::MAX), 1);
        assert_eq!(file_len(&f), 0);
        assert!(f.write(1, 0, &rows("d", 40)));
        let back: Vec<(i64, State)> = taken
            .into_iter()
            .map(|(b, e)| (b, decode(&e.into_bytes().unwrap()).unwrap()))
            .collect();
        assert_eq!(back, [(0, rows("a", 50)), (60, rows("b", 20))]);
        // Under the size, parts are read into memory.
        lock(&f.inner).in_file_at = u64::MAX;
        let held = f.take_encoded(1, 0, 1).unwrap();
        assert!(matches!(held[0].1, Encoded::Held(_)));
        let (_, part) = held.into_iter().next().unwrap();
        assert_eq!(decode(&part.into_bytes().unwrap()).unwrap(), rows("d", 40));
    }

    /// Parts that cannot be copied to a file of their own (the folder is gone) are read into
    /// memory whole, and the report says why spilling stopped.
    #[test]
    fn parts_that_cannot_wait_in_a_file_are_read_into_memory_and_the_report_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let spill_dir = dir.path().join("spill");
        std::fs::create_dir(&spill_dir).unwrap();
        let f = spill_in(&spill_dir);
        lock(&f.inner).in_file_at = 0;
        assert!(f.write(0, 0, &rows("a", 50)));
        std::fs::remove_dir(&spill_dir).unwrap();
        let taken = f.take_encoded(0, 0, 60).unwrap();
        assert!(matches!(taken[0].1, Encoded::Held(_)));
        let (_, part) = taken.into_iter().next().unwrap();
        assert_eq!(decode(&part.into_bytes().unwrap()).unwrap(), rows("a", 50));
        let error = f.report().error.expect("the failed copy is reported");
        assert!(error.contains("copying taken aggregation state"), "{error}");
        assert!(!f.write(0, 60, &rows("b", 2)), "spilling stopped");
    }

    #[test]
    fn each_part_of_a_state_goes_through_the_filter_before_it_is_merged() {
        let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
        let macros = cimhunt_spl::MacroSet::with_builtins();
        let c = cimhunt_spl::compile("search EventCode=13", &macros, model.as_ref()).unwrap();
        let job = Job::builder(model)
            .detection("d0", c.plan.clone(), &c.expanded)
            .detection("d1", c.plan, &c.expanded)
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(spill_in(dir.path()));
        assert!(spill.write(0, 0, &rows("a", 5)));
        assert!(spill.write(0, 60, &rows("b", 7)));
        let held = vec![rows("c", 3), State::new(false)];
        let mut finals = Finals::new(held, Some(spill), vec![0, 1]);
        assert!(finals.may_hold(0));
        assert!(!finals.may_hold(1), "nothing held, nothing written");
        // What stayed in memory first, then each part in the order written.
        let mut seen = Vec::new();
        let state = finals
            .take_each(&job, 0, &mut |s| {
                seen.push(s.len());
                if let State::Collect(r) = s {
                    r.truncate(1);
                }
            })
            .unwrap()
            .unwrap();
        assert_eq!(seen, [3, 5, 7]);
        assert_eq!(state.len(), 3, "one row of each part was merged");
        assert!(!finals.may_hold(0), "taken");
    }
}
