//! Groups beyond a memory budget, on disk as runs sorted in the rows' order and merged back as
//! the rows are made: an external merge sort whose merge also merges the groups' accumulators.
//!
//! `stats` over rows (after `eventstats`, say) holds a group per distinct combination of its
//! by-field values until its last row is in; ESCU's `Unusually Long Command Line` groups by
//! whole command lines, 211,261 groups on 2 GiB of a fleet's events. With a [`RowSpill`],
//! whenever the groups in memory hold more than its budget ([`Groups::approx_bytes`]) they are
//! written, in the rows' order, to a run (an unlinked temporary file) and memory starts afresh.
//! The rows are then made by merging the runs and what is left in memory: the smallest key of
//! all is taken, with the accumulators of that key in every run merged into it, so each group's
//! row is made once, in order, and only a buffer per run is held. More than [`FAN_IN`] runs are
//! first merged into one, so the buffers stay bounded however large the input.
//!
//! Key design decision: a run holds partial groups of the same kind workers and time buckets
//! produce ([`super::Acc::merge`] is commutative and associative; over rows, `first`, `last` and
//! `list` keep each value's place among all rows), and the order is the order of
//! [`Groups::into_ordered_rows`], which is total (equal keys only compare equal), so the rows
//! are those of one pass in memory. The limits hold on the merged groups: a merge that finds
//! more than `max_groups` groups, or a group with more than `max_values` values, fails the
//! command as it would have in memory.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use smallvec::SmallVec;

use super::acc::Acc;
use super::groups::{SortedEntries, group_row, key_numbers, key_order};
use super::key::GroupKey;
use super::{AggSpec, Groups};
use crate::command::{ExecError, Limits};
use crate::row::Row;
use crate::spill::RowSpill;

/// Runs merged at once; more are first merged into one.
pub const FAN_IN: usize = 16;

/// The buffer each run is read and written through.
const BUFFER: usize = 64 << 10;

/// One group as held in a run: its encoded key and accumulators.
type Entry = (GroupKey, Vec<Acc>);

/// The runs of one aggregation; see the module documentation.
#[derive(Debug)]
pub struct Runs {
    spill: Arc<RowSpill>,
    runs: Vec<File>,
}

impl Runs {
    /// No runs yet; they go to `spill`'s folder.
    pub fn new(spill: Arc<RowSpill>) -> Self {
        Runs {
            spill,
            runs: Vec::new(),
        }
    }

    /// Whether no group was written.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Writes `groups` to a new run, leaving them empty, when they hold more than the budget
    /// (an aggregation without by-fields has one group and is never written). When writing
    /// fails the groups stay in memory and writing stops for the run ([`RowSpill::failure`]).
    pub fn relieve(&mut self, groups: &mut Groups, spec: &AggSpec) {
        if groups.approx_bytes() > self.spill.budget() {
            self.write(groups, spec);
        }
    }

    /// Writes `groups` to a new run, leaving them empty (unless the aggregation has no
    /// by-fields, or writing has stopped or fails: then they stay). Whether they were written.
    pub fn write(&mut self, groups: &mut Groups, spec: &AggSpec) -> bool {
        if spec.by.is_empty() || groups.is_empty() {
            return false;
        }
        let Some(file) = self.spill.file() else {
            return false;
        };
        match write_run(file, groups.sorted_refs(spec).into_iter()) {
            Ok((file, bytes)) => {
                self.spill.wrote(bytes);
                groups.clear_groups();
                self.runs.push(file);
            }
            Err(e) => {
                self.spill.fail(e.to_string());
                return false;
            }
        }
        if self.runs.len() >= FAN_IN {
            self.merge_runs(spec);
        }
        true
    }

    /// Merges every run into one. When that fails (a full disk) the runs stay as they were.
    fn merge_runs(&mut self, spec: &AggSpec) {
        let Some(out) = self.spill.file() else {
            return;
        };
        let merged = (|| {
            // Handles of their own (sharing each file's offset), so that the runs stay if the
            // merge fails.
            let sources = self
                .runs
                .iter()
                .map(|f| Ok(Source::Disk(RunReader::new(f.try_clone()?))))
                .collect::<io::Result<_>>()?;
            let mut merger = Merger::new(spec, sources)?;
            let mut failed = None;
            let entries = std::iter::from_fn(|| match merger.next() {
                Ok(e) => e,
                Err(e) => {
                    failed = Some(e);
                    None
                }
            });
            let written = write_run(out, entries)?;
            match failed {
                Some(e) => Err(e),
                None => Ok(written),
            }
        })();
        match merged {
            Ok((file, bytes)) => {
                self.spill.wrote(bytes);
                self.runs = vec![file];
            }
            Err(e) => {
                self.spill.fail(e.to_string());
                for f in &mut self.runs {
                    // Read again from the start when the rows are made.
                    let _ = f.seek(SeekFrom::Start(0));
                }
            }
        }
    }

    /// The rows of the runs and of `groups` (what stayed in memory) merged, in the rows'
    /// order; `command` names the command in errors (a run that cannot be read back, a limit
    /// the merged groups exceed).
    pub fn into_rows<'s>(
        self,
        groups: Groups,
        spec: &'s AggSpec,
        limits: &Limits,
        command: &'static str,
    ) -> MergedRows<'s> {
        let fail = |e: io::Error| ExecError::Failed {
            command,
            message: format!("reading groups back from disk: {e}"),
        };
        let mut sources = vec![Source::Memory(groups.into_sorted(spec))];
        sources.extend(
            self.runs
                .into_iter()
                .map(|f| Source::Disk(RunReader::new(f))),
        );
        let (merger, error) = match Merger::new(spec, sources) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(fail(e))),
        };
        MergedRows {
            spec,
            merger,
            error,
            groups: 0,
            max_groups: limits.max_groups,
            max_values: limits.max_values,
            command,
        }
    }
}

/// Writes entries, in order, to `file`: each as its length (4 bytes, little-endian) and its
/// encoding. Gives the file, at its start, and the bytes written.
fn write_run<K, A>(file: File, entries: impl Iterator<Item = (K, A)>) -> io::Result<(File, u64)>
where
    K: AsRef<str>,
    A: AsRef<[Acc]>,
{
    let mut w = BufWriter::with_capacity(BUFFER, file);
    let mut buf = Vec::new();
    let mut bytes = 0u64;
    for (key, accs) in entries {
        buf.clear();
        buf = postcard::to_extend(&(key.as_ref(), accs.as_ref()), buf)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let len =
            u32::try_from(buf.len()).map_err(|_| io::Error::other("a group larger than 4 GiB"))?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(&buf)?;
        bytes += 4 + u64::from(len);
    }
    let mut file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, bytes))
}

/// Reads a run's entries in order.
struct RunReader<R> {
    r: BufReader<R>,
    buf: Vec<u8>,
}

impl<R: Read> RunReader<R> {
    fn new(r: R) -> Self {
        RunReader {
            r: BufReader::with_capacity(BUFFER, r),
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> io::Result<Option<Entry>> {
        if self.r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        self.buf.clear();
        // `take` reads what is there: a cut file gives a short buffer, not an allocation of
        // what the length says.
        (&mut self.r).take(len as u64).read_to_end(&mut self.buf)?;
        if self.buf.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a run ends mid-group",
            ));
        }
        let (key, accs): (&str, Vec<Acc>) = postcard::from_bytes(&self.buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(Some((GroupKey::from_encoded(key), accs)))
    }
}

/// Where the merge takes entries from.
enum Source {
    Memory(SortedEntries),
    Disk(RunReader<File>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Entry>> {
        match self {
            Source::Memory(e) => Ok(e.next()),
            Source::Disk(r) => r.next(),
        }
    }
}

/// The next entry of a source, with its key's numbers read once.
struct Head {
    key: GroupKey,
    numbers: SmallVec<[f64; 8]>,
    accs: Vec<Acc>,
    source: usize,
}

impl Head {
    fn new((key, accs): Entry, source: usize) -> Self {
        let mut numbers = SmallVec::new();
        key_numbers(key.as_str(), &mut numbers);
        Head {
            key,
            numbers,
            accs,
            source,
        }
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        key_order(
            self.key.as_str(),
            &self.numbers,
            other.key.as_str(),
            &other.numbers,
        )
        .then(self.source.cmp(&other.source))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

/// Sorted sources merged into one sorted sequence, equal keys' accumulators merged.
struct Merger<'s> {
    spec: &'s AggSpec,
    sources: Vec<Source>,
    heap: BinaryHeap<Reverse<Head>>,
}

impl<'s> Merger<'s> {
    fn new(spec: &'s AggSpec, mut sources: Vec<Source>) -> io::Result<Self> {
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(e) = s.next()? {
                heap.push(Reverse(Head::new(e, i)));
            }
        }
        Ok(Merger {
            spec,
            sources,
            heap,
        })
    }

    fn refill(&mut self, source: usize) -> io::Result<()> {
        if let Some(e) = self.sources[source].next()? {
            self.heap.push(Reverse(Head::new(e, source)));
        }
        Ok(())
    }

    fn next(&mut self) -> io::Result<Option<Entry>> {
        let Some(Reverse(first)) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(first.source)?;
        let (key, mut accs) = (first.key, first.accs);
        while self.heap.peek().is_some_and(|Reverse(h)| h.key == key) {
            let Some(Reverse(more)) = self.heap.pop() else {
                break;
            };
            self.refill(more.source)?;
            if more.accs.len() != accs.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a group with another number of accumulators",
                ));
            }
            for ((acc, other), call) in accs.iter_mut().zip(more.accs).zip(&self.spec.calls) {
                acc.merge(call, other)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
        }
        Ok(Some((key, accs)))
    }
}

/// The merged rows of [`Runs::into_rows`], each made when it is taken. After an error it gives
/// nothing more.
pub struct MergedRows<'s> {
    spec: &'s AggSpec,
    merger: Option<Merger<'s>>,
    error: Option<ExecError>,
    groups: usize,
    max_groups: usize,
    max_values: usize,
    command: &'static str,
}

impl std::fmt::Debug for MergedRows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedRows")
            .field("groups", &self.groups)
            .field("error", &self.error)
            .finish()
    }
}

impl MergedRows<'_> {
    fn check(&self, accs: &[Acc]) -> Result<(), ExecError> {
        if self.groups > self.max_groups {
            return Err(ExecError::Limit {
                command: self.command,
                message: format!(
                    "more than {} groups (the max_groups limit)",
                    self.max_groups
                ),
            });
        }
        if accs.iter().any(|a| a.distinct_len() > self.max_values) {
            return Err(ExecError::Limit {
                command: self.command,
                message: format!(
                    "a values()/dc() of one group holds more than {} distinct values (the \
                     max_values limit)",
                    self.max_values
                ),
            });
        }
        Ok(())
    }
}

impl Iterator for MergedRows<'_> {
    type Item = Result<Row, ExecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            return Some(Err(e));
        }
        let merger = self.merger.as_mut()?;
        let next = merger.next();
        let (key, accs) = match next {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                self.merger = None;
                return None;
            }
            Err(e) => {
                self.merger = None;
                return Some(Err(ExecError::Failed {
                    command: self.command,
                    message: format!("reading groups back from disk: {e}"),
                }));
            }
        };
        self.groups += 1;
        if let Err(e) = self.check(&accs) {
            self.merger = None;
            return Some(Err(e));
        }
        Some(Ok(group_row(self.spec, key.as_str(), accs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run cut short (or whose bytes are not what was written) is an error naming it, and a
    /// length that says more than the file holds allocates only what is there.
    #[test]
    fn a_run_cut_short_is_an_error_not_a_group() {
        let accs = vec![Acc::Count(3)];
        let entries = vec![(GroupKey::from_parts(&["a"]), accs.clone())];
        let (file, bytes) = write_run(tempfile::tempfile().unwrap(), entries.into_iter()).unwrap();
        let mut whole = RunReader::new(&file);
        let (key, back) = whole.next().unwrap().unwrap();
        assert_eq!((key.parts().collect::<Vec<_>>(), back), (vec!["a"], accs));
        assert!(whole.next().unwrap().is_none());

        file.set_len(bytes - 1).unwrap();
        let mut f = &file;
        f.seek(SeekFrom::Start(0)).unwrap();
        let err = RunReader::new(&file).next().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

        let mut huge = tempfile::tempfile().unwrap();
        huge.write_all(&u32::MAX.to_le_bytes()).unwrap();
        huge.write_all(b"xy").unwrap();
        huge.seek(SeekFrom::Start(0)).unwrap();
        let mut r = RunReader::new(&huge);
        assert!(r.next().is_err());
        assert!(r.buf.capacity() < 1 << 20, "{}", r.buf.capacity());
    }
}
