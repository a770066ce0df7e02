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

mod deliver;
mod gate;
mod job;
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cimhunt_model::DatasetId;
pub use cimhunt_model::Meta;
use cimhunt_spl::{ExecCtx, ExecError, Limits, Row, Source, Sym, Timestamp, Value};
use jiff::tz::TimeZone;

pub use gate::{Gate, GateScratch};
pub use job::{Detection, DetectionSource, Job, JobBuilder, JobError};
pub use origin::{Origin, Place, RecordError};
pub use prefilter::Prefilter;
pub use records::{RecordFormat, Records};
pub use run::{RunResult, run};
pub use service::{Engine, FeedError};
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
    /// The context commands run in.
    pub fn exec_ctx(&self) -> ExecCtx {
        ExecCtx::new(self.now, self.tz.clone()).with_limits(self.limits)
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

/// One detection's result rows, or why they could not be produced.
pub type Rows = Result<Vec<Row>, ExecError>;

/// Turns a detection's merged state into its rows: the state's rows (a lookup table's, for
/// `| inputlookup`), then the commands that run after merging.
///
/// Fails when the state holds more than the context's limits allow (the error names the
/// limit), and when the detection has subsearches whose rows `ctx` does not hold
/// ([`ExecCtx::with_subsearch_rows`]): finish such a detection with [`finish_all`]. What the
/// commands had to cut is reported in `ctx`'s warnings, prefixed with the detection's name.
pub fn finish(detection: &Detection, state: State, ctx: &ExecCtx) -> Rows {
    finish_with(detection, state, ctx, true, &mut |_| Ok(None))
}

/// Where [`finish_with`] gets a subsearch's rows: `Ok(None)` when the context holds them
/// already (or nobody can provide them, which the command that reads them reports).
type SubsearchRows<'a> = dyn FnMut(usize) -> Result<Option<Vec<Row>>, ExecError> + 'a;

/// [`finish`], with `subsearch` asked for the rows of a subsearch when a command first needs
/// them (`lazy`), or for every subsearch first; they are then provided to `ctx` (which holds
/// room for them).
fn finish_with(
    detection: &Detection,
    state: State,
    ctx: &ExecCtx,
    lazy: bool,
    subsearch: &mut SubsearchRows<'_>,
) -> Rows {
    let own = ctx.clone().with_own_warnings();
    let out = finish_quietly(detection, state, &own, lazy, subsearch);
    for w in own.take_warnings() {
        ctx.warn(format!("{}: {w}", detection.name()));
    }
    let hits = detection.plan().limit_hits();
    if hits > 0 {
        ctx.warn(format!(
            "{}: {hits} evaluations hit a limit (a regular expression that gave up, a value \
             cut) and gave no value; see docs/spl.md, \"Limits\"",
            detection.name()
        ));
    }
    out
}

fn finish_quietly(
    detection: &Detection,
    state: State,
    ctx: &ExecCtx,
    lazy: bool,
    subsearch: &mut SubsearchRows<'_>,
) -> Rows {
    let limits = ctx.limits();
    let plan = detection.plan();
    match &state {
        State::Stats(groups) => {
            groups
                .check_limits(limits)
                .map_err(|message| ExecError::Limit {
                    command: if matches!(plan.source, Source::Tstats(_)) {
                        "tstats"
                    } else {
                        "stats"
                    },
                    message,
                })?;
        }
        State::Collect(rows) if rows.len() > limits.max_rows => {
            return Err(ExecError::Limit {
                command: "search",
                message: format!(
                    "more than {} events to keep as rows (the max_rows limit)",
                    limits.max_rows
                ),
            });
        }
        State::Collect(_) => {}
    }
    // A subsearch is finished only when a command is about to read it (docs/spl.md,
    // "Subsearches"): one whose rows cannot change the result is never finished.
    let mut need = |i: usize| -> Result<(), ExecError> {
        if !ctx.has_subsearch(i)
            && let Some(rows) = subsearch(i)?
        {
            ctx.provide_subsearch(i, rows);
        }
        Ok(())
    };
    if !lazy {
        for i in 0..plan.subsearches.len() {
            need(i)?;
        }
    }
    let mut state = state;
    if let (State::Stats(groups), Some(filter)) = (&mut state, detection.finish_filter())
        && !groups.is_empty()
    {
        for i in 0..plan.subsearches.len() {
            need(i)?;
        }
        groups.retain_keys(|keys| filter.keeps_all(keys, ctx));
    }
    let mut rows = match &plan.source {
        Source::Inputlookup(lookup) => lookup.rows(),
        _ => state.into_rows(detection.agg()),
    };
    for cmd in &plan.post {
        if lazy && rows.is_empty() && cmd.empty_gives_empty() {
            continue;
        }
        for i in cmd.subsearches() {
            need(i)?;
        }
        cmd.run(&mut rows, ctx)?;
    }
    Ok(rows)
}

/// Finishes detection `d`, whose state is taken from `states` (a missing one counts as
/// empty), and, when one of its commands first reads it, each of its subsearches (hidden
/// detections of the job), whose states are taken from `states` in turn. A subsearch whose
/// rows cannot change the result (a `join` reached by no rows) is not finished, and its state
/// is left in `states`.
pub fn finish_tree(job: &Job, d: usize, states: &mut HashMap<usize, State>, ctx: &ExecCtx) -> Rows {
    finish_tree_from(job, d, &mut |x| Ok(states.remove(&x)), ctx)
}

/// Where [`finish_tree_from`] takes a detection's merged state: `Ok(None)` for none.
type TakeState<'a> = dyn FnMut(usize) -> Result<Option<State>, ExecError> + 'a;

/// [`finish_tree`] over any source of states, asked for each state only when it is needed:
/// the state of a subsearch that is not finished is never taken (nor read back from disk).
fn finish_tree_from(job: &Job, d: usize, take: &mut TakeState<'_>, ctx: &ExecCtx) -> Rows {
    let det = &job.detections()[d];
    let state = take(d)?.unwrap_or_else(|| State::new(det.agg().is_some()));
    let subs = det.subsearches();
    if subs.is_empty() {
        return finish(det, state, ctx);
    }
    let mine = ctx.clone().with_subsearch_slots(subs.len());
    finish_with(det, state, &mine, job.lazy_subsearches(), &mut |i| {
        let Some(&h) = subs.get(i) else {
            return Ok(None);
        };
        finish_tree_from(job, h, take, ctx)
            .map(Some)
            .map_err(|e| ExecError::Failed {
                command: "subsearch",
                message: format!("subsearch {}: {e}", i + 1),
            })
    })
}

/// The rows of every detection added to the job (not its hidden subsearches), in the order
/// they were added, from the merged states of all its detections (as [`RunResult::states`]
/// holds them). See [`finish_each`], which this collects.
pub fn finish_all(
    job: &Job,
    states: impl Into<Finals>,
    ctx: &ExecCtx,
    threads: usize,
) -> Vec<Rows> {
    let mut all = Vec::with_capacity(job.visible().len());
    finish_each(job, states, ctx, threads, |_, rows| {
        all.push(rows);
        true
    });
    all
}

/// Finishes every detection added to the job (not its hidden subsearches) and hands its rows
/// to `each` with its index, in the order they were added; each detection's subsearches are
/// finished when its commands first read them ([`finish_tree`]). Up to `threads` detections
/// are finished at once (each by one thread, so rows do not depend on the count), so no more
/// than that many detections' rows, and whole states read back from disk, are held beyond what
/// `each` keeps; a detection that may read more than the state budget back from disk is
/// finished alone. A state is taken (read back) only when finishing needs it, and what a
/// detection's tree did not need is dropped once it is finished. Stops when `each` returns
/// `false`.
pub fn finish_each(
    job: &Job,
    states: impl Into<Finals>,
    ctx: &ExecCtx,
    threads: usize,
    mut each: impl FnMut(usize, Rows) -> bool,
) {
    let states: Mutex<Finals> = Mutex::new(states.into());
    let lock = || states.lock().unwrap_or_else(|e| e.into_inner());
    let visible = job.visible().len();
    let window = threads.max(1);
    let mut next = 0;
    while next < visible {
        // Up to `window` detections at once, but one whose states on disk exceed the budget
        // alone, so that two large merged states are never held at once.
        let mut end = next + 1;
        {
            let finals = lock();
            if !finals.is_large(job, next) {
                while end < visible && end - next < window && !finals.is_large(job, end) {
                    end += 1;
                }
            }
        }
        let one = |d: usize| {
            let mut take = |x: usize| {
                lock()
                    .take(job, x)
                    .transpose()
                    .map_err(|e| ExecError::Failed {
                        command: "finish",
                        message: e.to_string(),
                    })
            };
            let rows = finish_tree_from(job, d, &mut take, ctx);
            // What the tree did not need is not needed any more.
            let mut finals = lock();
            let mut stack = vec![d];
            while let Some(x) = stack.pop() {
                finals.discard(x);
                stack.extend(job.detections()[x].subsearches());
            }
            rows
        };
        let done: Vec<(usize, Rows)> = if end - next == 1 {
            vec![(next, one(next))]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (next..end)
                    .map(|d| (d, scope.spawn(move || one(d))))
                    .collect();
                handles
                    .into_iter()
                    .map(|(d, h)| {
                        let rows = h.join().unwrap_or_else(|_| {
                            Err(ExecError::Failed {
                                command: "finish",
                                message: "the detection's final stages panicked".into(),
                            })
                        });
                        (d, rows)
                    })
                    .collect()
            })
        };
        for (d, rows) in done {
            if !each(d, rows) {
                return;
            }
        }
        next = end;
    }
}

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

/// Metadata of an input shared by its batches.
pub(crate) type SharedMeta = Arc<Meta>;
