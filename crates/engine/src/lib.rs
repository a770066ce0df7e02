//! The engine: runs compiled detections over events that arrive over time — read, prefilter,
//! decode, present (the data model's view), match, aggregate — on several threads, keeping each
//! detection's partial state in time buckets.
//!
//! One reader thread cuts inputs (files, request bodies, messages, each with its [`Meta`]) into
//! batches of raw records (inputs already cut into records, each with its own [`Meta`] —
//! [`Records`], the events of an HTTP Event Collector request — become batches directly); worker threads take batches from a bounded queue and run every
//! record through the [`Job`]'s detections, each worker keeping its own partial state per
//! detection and time bucket; reports (counters, errors, events for `cimhunt events`) reach an
//! [`Observer`] in input order, through a bounded reordering window. A batch run ([`run`]) is
//! this engine fed a list of inputs and finished once; a service ([`Engine`]) feeds it for as
//! long as it runs and takes the buckets of each scheduled window as the window closes.
//!
//! Key design decision: nothing here knows about files or schedules. Inputs are byte streams,
//! the work unit is a batch, and results are mergeable, serializable states
//! ([`state::Partial`], checked against the plan's fingerprint), so the same engine serves a
//! stream received over HTTP, and its states can be merged across threads, time buckets and
//! machines into exactly the rows of one pass.

mod collect;
mod deliver;
mod encoded;
mod finish;
mod finished;
mod gate;
mod job;
mod keeping;
mod origin;
mod prefilter;
mod records;
mod run;
mod service;
mod spill;
pub mod state;
mod stats;
mod worker;

#[cfg(test)]
mod test_support {
    use cimhunt_spl::Sym;
    use cimhunt_spl::search::{Literal, RecordLiterals, ValueLiterals};

    /// Clauses whose literals are all in `process`, except those written `name:text`
    /// (in `process_name`).
    fn clauses(clauses: &[&[&str]]) -> Vec<Vec<Literal>> {
        let literal = |s: &&str| match s.split_once(':') {
            Some(("name", t)) => Literal {
                text: t.to_owned(),
                field: Sym::new("process_name"),
                evtx_safe: true,
            },
            _ => Literal {
                text: s.to_string(),
                field: Sym::new("process"),
                evtx_safe: true,
            },
        };
        clauses
            .iter()
            .map(|c| c.iter().map(literal).collect())
            .collect()
    }

    pub(crate) fn req(c: &[&[&str]]) -> ValueLiterals {
        ValueLiterals {
            clauses: clauses(c),
        }
    }

    pub(crate) fn raw_req(c: &[&[&str]]) -> RecordLiterals {
        RecordLiterals {
            clauses: clauses(c),
        }
    }
}

use std::sync::Arc;

use cimhunt_model::DatasetId;
pub use cimhunt_model::Meta;
use cimhunt_spl::{ExecCtx, Limits, Sym, Timestamp, Value};
use jiff::tz::TimeZone;

pub use collect::Collector;
pub use finish::{
    Finished, Rows, TreeState, TreeStates, finish, finish_all, finish_each, finish_one,
    finish_tree, finish_tree_into,
};
pub use finished::FinishedRows;
pub use gate::{Gate, GateScratch};
pub use job::{Detection, DetectionSource, Job, JobBuilder, JobError};
pub use keeping::{Keep, lend};
pub use origin::{Origin, Place, RecordError};
pub use prefilter::Prefilter;
pub use records::{RecordFormat, Records};
pub use run::{RunResult, run};
pub use service::{Engine, FeedError, TakenParts, decode_parts_keeping};
pub use spill::{Finals, SpillOptions, SpillReport};
pub use state::{Buckets, Partial, State, StateError, bucket_start};
pub use stats::Stats;

/// How a run behaves, apart from what it runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Width of the time buckets partial states are kept in, in seconds; `None` keeps one bucket
    /// for all time (a batch run).
    pub bucket_secs: Option<i64>,
    /// Where the time buckets start: at this many seconds plus whole multiples of
    /// `bucket_secs` after the epoch (so that a service's windows, e.g. ESCU's hourly ones from
    /// minute 50 to minute 50, are each one whole bucket).
    pub bucket_offset_secs: i64,
    /// Decode every record, prefilter or not (`--strict`, `--no-prefilter`).
    pub decode_all: bool,
    /// Which events to hand the observer.
    pub events: EventsView,
    /// The run's time, for `now()` and `relative_time()`.
    pub now: Timestamp,
    /// The display time zone (`convert ctime`, `strftime`).
    pub tz: TimeZone,
    /// Reader settings.
    pub reader: cimhunt_read::ReaderOptions,
    /// How many batches may wait for delivery before the reader waits (bounds memory when one
    /// record is slow to process).
    pub reorder_window: u64,
    /// The budgets of a search: groups per aggregation, values per `values()`/`dc()`, rows
    /// collected by a search without aggregation.
    pub limits: Limits,
    /// Where and beyond what aggregation state moves to disk while events are read; `None`
    /// keeps it all in memory. A batch run ([`run`]) merges it back when it finishes each
    /// detection, a service ([`Engine`]) when a window takes a detection's buckets.
    pub spill: Option<SpillOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            bucket_secs: None,
            bucket_offset_secs: 0,
            decode_all: false,
            events: EventsView::None,
            now: now(),
            tz: TimeZone::UTC,
            reader: cimhunt_read::ReaderOptions::default(),
            reorder_window: 64,
            limits: Limits::default(),
            spill: None,
        }
    }
}

impl Options {
    /// The context commands run in, with [`Options::row_spill`].
    pub fn exec_ctx(&self) -> ExecCtx {
        let ctx = ExecCtx::new(self.now, self.tz.clone()).with_limits(self.limits);
        match self.row_spill() {
            Some(spill) => ctx.with_row_spill(spill),
            None => ctx,
        }
    }

    /// With [`Options::spill`], where what is held while detections are finished (merged
    /// groups, what `stats` and `eventstats` over rows hold, result rows) goes beyond the same
    /// budget, in the same folder ([`cimhunt_spl::RowSpill`]); each call makes a new one,
    /// which counts what is written through it.
    pub fn row_spill(&self) -> Option<std::sync::Arc<cimhunt_spl::RowSpill>> {
        self.spill
            .as_ref()
            .map(|s| std::sync::Arc::new(cimhunt_spl::RowSpill::new(s.dir.clone(), s.budget_bytes)))
    }
}

/// The current time.
pub fn now() -> Timestamp {
    let n = jiff::Timestamp::now().as_nanosecond();
    Timestamp::from_nanos(i64::try_from(n).unwrap_or(i64::MAX), 0)
}

/// Which events an observer sees (for `cimhunt events`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EventsView {
    /// None.
    #[default]
    None,
    /// Every event, with all its search-time fields.
    Raw,
    /// The events of a dataset, with the dataset's fields.
    Dataset(DatasetId),
}

/// Receives what a run finds, in input order.
pub trait Observer {
    /// A record was skipped (or a stretch of bytes that held no record).
    fn error(&mut self, _error: &RecordError) {}
    /// An input could not be opened, recognised or read to its end.
    fn input_failed(&mut self, _error: &RecordError) {}
    /// Damage the reader worked around without losing records (a damaged EVTX header, a chunk
    /// whose checksum fails, invalid UTF-16).
    fn notice(&mut self, _notice: &RecordError) {}
    /// An event, when the run collects them ([`Options::events`]).
    fn event(&mut self, _origin: &Origin, _fields: &[(Sym, Value<'static>)]) {}
    /// Counters after another batch; for progress displays.
    fn progress(&mut self, _stats: &Stats) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// Merges the states of one detection (from workers or buckets) into one.
pub(crate) fn merge_states(
    detection: &Detection,
    states: impl IntoIterator<Item = State>,
) -> Result<State, StateError> {
    let mut out = State::new(detection.agg().is_some());
    for s in states {
        out.merge(detection.agg(), s)?;
    }
    Ok(out)
}

/// Merges one detection's states by time bucket: `(bucket start, state)` pairs, in any order
/// and with any bucket more than once, into one state per bucket, in bucket order. Each item is
/// merged as it comes (a part decoded from disk is held alone beside the merged states), and
/// the first error ends the merge.
pub fn merge_by_bucket(
    detection: &Detection,
    buckets: impl IntoIterator<Item = Result<(i64, State), StateError>>,
) -> Result<Vec<(i64, State)>, StateError> {
    let mut by_bucket: std::collections::BTreeMap<i64, State> = Default::default();
    for item in buckets {
        let (b, s) = item?;
        match by_bucket.entry(b) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(s);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                e.get_mut().merge(detection.agg(), s)?
            }
        }
    }
    Ok(by_bucket.into_iter().collect())
}

/// Metadata of an input shared by its batches.
pub(crate) type SharedMeta = Arc<Meta>;
