//! Finishing: a detection's merged state into its rows, with its subsearches finished when a
//! command first reads them.
//!
//! Key design decision: a state is taken (read back from disk) only when finishing needs it,
//! and a subsearch only when a command is about to read its rows, so what cannot change a
//! detection's rows is never computed (docs/spl.md, "Subsearches"). A finish-time key filter
//! (an inner `join` on by-fields, [`cimhunt_spl::KeyFilter::at_finish`]) runs on each part of
//! a state as it is read back, before the parts are merged, so the merged state holds only
//! the groups that can give a row; unless the subsearches' states are larger than the
//! detection's, in which case its rows are made first and each subsearch keeps only the rows
//! its `join` reads of them ([`rows_before_subsearches`]).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use cimhunt_spl::agg::Runs;
use cimhunt_spl::command::RowTest;
use cimhunt_spl::pipeline::{CHUNK_ROWS, RowIter, run_post_into};
use cimhunt_spl::{Command, ExecCtx, ExecError, Row, RowSpill, Source};

use crate::finished::FinishedRows;
use crate::job::{Detection, Job};
use crate::keeping::Keep;
use crate::spill::{EachPart, Finals};
use crate::state::State;

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
    collected(|out| {
        finish_with(
            detection,
            (state, None),
            ctx,
            How::LAZY,
            &mut |_, _| Ok(None),
            out,
        )
    })
}

/// Where finishing hands a detection's result rows, a chunk at a time, in order.
type Sink<'a> = dyn FnMut(&mut Vec<Row>) -> Result<(), ExecError> + 'a;

/// The rows `finishing` hands its sink, in one vector.
fn collected(finishing: impl FnOnce(&mut Sink<'_>) -> Result<(), ExecError>) -> Rows {
    let mut all = Vec::new();
    finishing(&mut |chunk| {
        all.append(chunk);
        Ok(())
    })?;
    Ok(all)
}

/// A subsearch's rows as finishing provides them: all of them, or only those its reader uses
/// and whether rows past the reader's cut were dropped ([`ExecCtx::provide_subsearch_used`]).
struct Subsearch {
    rows: Vec<Row>,
    cut: bool,
}

/// Where [`finish_with`] gets a subsearch's rows, given the test of the rows its reader uses
/// (when it said, [`Command::subsearch_rows_used`]): `Ok(None)` when the context holds them
/// already (or nobody can provide them, which the command that reads them reports).
type SubsearchRows<'a> =
    dyn FnMut(usize, Option<RowTest>) -> Result<Option<Subsearch>, ExecError> + 'a;

/// How [`finish_with`] finishes.
#[derive(Debug, Clone, Copy)]
struct How {
    /// Subsearches are finished when a command first reads them (else all of them first).
    lazy: bool,
    /// Only the first this many rows are read by whoever asked (the detection is a
    /// subsearch): see [`first_rows`].
    first: Option<usize>,
    /// The detection's finish-time key filter runs on its merged groups (false when its
    /// subsearches are finished after its rows, to keep only what they join: see
    /// [`rows_before_subsearches`]).
    filter_keys: bool,
}

impl How {
    const LAZY: How = How {
        lazy: true,
        first: None,
        filter_keys: true,
    };
}

/// [`finish`], with `subsearch` asked for the rows of a subsearch when a command first needs
/// them (`how.lazy`), or for every subsearch first; they are then provided to `ctx` (which
/// holds room for them).
fn finish_with(
    detection: &Detection,
    state: Merged,
    ctx: &ExecCtx,
    how: How,
    subsearch: &mut SubsearchRows<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), ExecError> {
    let own = ctx.clone().with_own_warnings();
    let out = finish_quietly(detection, state, &own, how, subsearch, sink);
    // A command run on rows in chunks may warn once a chunk: each warning is given once.
    let mut seen = std::collections::HashSet::new();
    for w in own.take_warnings() {
        if seen.insert(w.clone()) {
            ctx.warn(format!("{}: {w}", detection.name()));
        }
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
    (state, runs): Merged,
    ctx: &ExecCtx,
    how: How,
    subsearch: &mut SubsearchRows<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), ExecError> {
    let How { lazy, first, .. } = how;
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
    let mut need = |i: usize, test: Option<RowTest>| -> Result<(), ExecError> {
        if !ctx.has_subsearch(i)
            && let Some(sub) = subsearch(i, test)?
        {
            ctx.provide_subsearch_used(i, sub.rows, sub.cut);
        }
        Ok(())
    };
    if !lazy {
        for i in 0..plan.subsearches.len() {
            need(i, None)?;
        }
    }
    let mut state = state;
    if let (State::Stats(groups), Some(filter), true) =
        (&mut state, detection.finish_filter(), how.filter_keys)
        && !groups.is_empty()
    {
        for i in 0..plan.subsearches.len() {
            need(i, None)?;
        }
        groups.retain_keys(|keys| filter.keeps_all(keys, ctx));
    }
    // Commands run in chunks read no subsearch (those that do run whole): `first_rows`
    // provides none.
    let streaming = plan.post.iter().all(|c| c.in_chunks());
    let rows: RowIter<'_> = match (&plan.source, first) {
        (Source::Inputlookup(lookup), _) => Box::new(lookup.rows().into_iter().map(Ok)),
        (_, Some(first)) if streaming => {
            let made = made_rows(detection, (state, runs), ctx);
            return first_rows(made, &plan.post, first, ctx, sink);
        }
        _ => made_rows(detection, (state, runs), ctx),
    };
    // The rows are made as the commands take them, and held whole only by a command that
    // needs them whole (docs/spl.md, "Rows after merging").
    let mut before_whole = |i: usize, rows: &[Row]| {
        let cmd = &plan.post[i];
        if lazy && rows.is_empty() && cmd.empty_gives_empty() {
            return Ok(false);
        }
        for s in cmd.subsearches() {
            // Only a subsearch's one reader can say which of its rows are read.
            let test = if lazy && sole_reader(detection, s).is_some() {
                cmd.subsearch_rows_used(s, rows)
            } else {
                None
            };
            need(s, test)?;
        }
        Ok(true)
    };
    run_post_into(rows, &plan.post, ctx, CHUNK_ROWS, &mut before_whole, sink)
}

/// A state taken whole: what is in memory, and the groups of an aggregation written to runs
/// on disk while its parts were merged ([`crate::spill::Taken::merge_each_into`]).
type Merged = (State, Option<Runs>);

/// The rows of a merged state, in order, each made when it is taken.
fn made_rows<'a>(detection: &'a Detection, (state, runs): Merged, ctx: &ExecCtx) -> RowIter<'a> {
    match (state, runs, detection.agg()) {
        (State::Stats(groups), Some(runs), Some(spec)) => {
            let command = if matches!(detection.plan().source, Source::Tstats(_)) {
                "tstats"
            } else {
                "stats"
            };
            Box::new(runs.into_rows(groups, spec, ctx.limits(), command))
        }
        (state, _, spec) => Box::new(state.into_ordered_rows(spec).map(Ok)),
    }
}

/// The first rows of a subsearch whose reader reads only its first `first` rows (`join`'s
/// 50,000, a search term's 10,000; [`Command::subsearch_rows_read`]), and one
/// more when there are more, so that the reader still reports its cut, given to `sink` a
/// chunk at a time. The commands after the
/// aggregation are all streaming, so they run on the rows in order, a chunk at a time, and
/// give for each chunk what they give for it among all rows (`Kind::Streaming`): the rows up to
/// where making stops are the whole result's first rows. Those past it are never made, so
/// their warnings and limit hits are not counted (they could not change a row).
fn first_rows(
    mut made: RowIter<'_>,
    post: &[std::sync::Arc<dyn Command>],
    first: usize,
    ctx: &ExecCtx,
    sink: &mut Sink<'_>,
) -> Result<(), ExecError> {
    let mut given = 0;
    loop {
        let mut chunk: Vec<Row> = made.by_ref().take(CHUNK_ROWS).collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            return Ok(());
        }
        for cmd in post {
            cmd.run(&mut chunk, ctx)?;
        }
        chunk.truncate(first + 1 - given);
        given += chunk.len();
        sink(&mut chunk)?;
        if given > first {
            return Ok(());
        }
    }
}

/// The commands of `det` that read its subsearch `i`.
fn readers(det: &Detection, i: usize) -> impl Iterator<Item = &std::sync::Arc<dyn Command>> {
    det.plan()
        .post
        .iter()
        .filter(move |c| c.subsearches().contains(&i))
}

/// The command of `det` that reads its subsearch `i`, when exactly one does.
fn sole_reader(det: &Detection, i: usize) -> Option<&std::sync::Arc<dyn Command>> {
    let mut r = readers(det, i);
    r.next().filter(|_| r.next().is_none())
}

/// Finishes detection `d`, whose state is taken from `states` (a missing one counts as
/// empty), and, when one of its commands first reads it, each of its subsearches (hidden
/// detections of the job), whose states are taken from `states` in turn. A subsearch whose
/// rows cannot change the result (a `join` reached by no rows) is not finished, and its state
/// is left in `states`.
pub fn finish_tree(job: &Job, d: usize, states: &mut HashMap<usize, State>, ctx: &ExecCtx) -> Rows {
    collected(|sink| finish_tree_from(job, d, states, ctx, None, sink))
}

/// Where [`finish_tree_into`] takes the states of a detection's tree, each when finishing first
/// needs it: a service window whose states are still in parts (its time buckets).
pub trait TreeStates {
    /// Whether detection `d`'s state may hold anything (false when it is known to be empty).
    fn may_hold(&mut self, d: usize) -> bool;

    /// Detection `d`'s state, `None` for none: the groups in memory, and those written to runs
    /// on disk when there were more than a budget ([`Runs`]; together they are the whole
    /// state). With `keep`, only the groups it says yes to are needed (no row of the result can
    /// come from the others: a `join`'s groups whose key no subsearch row has), and the others
    /// are best dropped as soon as they are read, before they are merged
    /// ([`crate::decode_parts_keeping`]).
    fn take(&mut self, d: usize, keep: Option<Keep<'_>>) -> Result<Option<TreeState>, ExecError>;

    /// About how many bytes detection `d`'s state is (`None`: not known), before it is taken:
    /// finishing compares a detection's with its subsearches' to choose which to finish first.
    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        let _ = d;
        None
    }
}

/// A state a [`TreeStates`] gives: the groups in memory, and any runs on disk.
pub type TreeState = (State, Option<Runs>);

impl StateSource for &mut dyn TreeStates {
    fn may_hold(&mut self, d: usize) -> bool {
        (**self).may_hold(d)
    }

    /// `part` sees the groups in memory only; finishing passes one that does nothing (a filter
    /// goes through [`StateSource::take_keeping`], which the states apply as they are read).
    fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState {
        Ok((**self).take(d, None)?.map(|(mut s, runs)| {
            part(&mut s);
            (s, runs)
        }))
    }

    fn take_keeping(&mut self, d: usize, keep: Keep<'_>) -> TakenState {
        (**self).take(d, Some(keep))
    }

    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        (**self).state_bytes(d)
    }
}

/// [`finish_tree`] over states taken from `states` as they are needed, giving the rows to
/// `rows` a chunk at a time as they are made (each chunk is taken from the vector, which `rows`
/// may empty), so that a detection with many rows is never held whole. When a `join` can
/// filter the detection's groups by their keys, its subsearches are finished first and the
/// detection's parts filtered before they are merged. What finishing did not take is left in
/// `states`.
pub fn finish_tree_into(
    job: &Job,
    d: usize,
    mut states: &mut dyn TreeStates,
    ctx: &ExecCtx,
    rows: &mut dyn FnMut(&mut Vec<Row>) -> Result<(), ExecError>,
) -> Result<(), ExecError> {
    finish_tree_from(job, d, &mut states, ctx, None, rows)
}

/// Where finishing takes the detections' merged states, each only when it is needed.
trait StateSource {
    /// Whether detection `d`'s state may hold anything: false when it is known to be empty
    /// (or was taken before).
    fn may_hold(&mut self, d: usize) -> bool;

    /// Detection `d`'s merged state, `None` for none; each part of it (what stayed in
    /// memory, each part read back from disk) goes through `part` before it is merged.
    fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState;

    /// [`StateSource::take`], keeping only the groups `keep` says yes to: by default, each
    /// part is filtered before it is merged.
    fn take_keeping(&mut self, d: usize, keep: Keep<'_>) -> TakenState {
        self.take(d, &mut |part| {
            part.retain_keys(&mut *keep);
        })
    }

    /// About how many bytes detection `d`'s state is, in memory and on disk (`None`: not
    /// known): see [`TreeStates::state_bytes`].
    fn state_bytes(&mut self, d: usize) -> Option<u64>;

    /// Detection `d`'s state is not needed: none of its groups can give a row
    /// ([`cimhunt_spl::KeyFilter::keeps_none`]). By default it is taken keeping nothing;
    /// a batch run's drops it without reading its parts on disk.
    fn discard(&mut self, d: usize) -> Result<(), ExecError> {
        self.take_keeping(d, &mut |keys| vec![false; keys.len()])
            .map(drop)
    }
}

/// A state taken from a [`StateSource`].
type TakenState = Result<Option<Merged>, ExecError>;

impl StateSource for HashMap<usize, State> {
    fn may_hold(&mut self, d: usize) -> bool {
        self.get(&d).is_some_and(|s| !s.is_empty())
    }

    fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState {
        Ok(self.remove(&d).map(|mut s| {
            part(&mut s);
            (s, None)
        }))
    }

    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        self.get(&d).map(|s| s.approx_bytes() as u64)
    }

    fn discard(&mut self, d: usize) -> Result<(), ExecError> {
        self.remove(&d);
        Ok(())
    }
}

/// The states of a batch run, shared by the threads that finish detections.
struct SharedFinals<'a> {
    job: &'a Job,
    finals: &'a Mutex<Finals>,
    /// Where merged groups beyond a budget go ([`ExecCtx::row_spill`]).
    rows: Option<&'a Arc<RowSpill>>,
}

impl SharedFinals<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Finals> {
        self.finals.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateSource for SharedFinals<'_> {
    fn may_hold(&mut self, d: usize) -> bool {
        self.lock().may_hold(d)
    }

    fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState {
        // Only the taking holds the lock: reading back, filtering and merging run beside the
        // other finishing threads.
        let taken = self.lock().take_out(d);
        merge_taken(self.job, d, taken, EachPart::Whole(part), self.rows)
    }

    fn take_keeping(&mut self, d: usize, keep: Keep<'_>) -> TakenState {
        let taken = self.lock().take_out(d);
        merge_taken(self.job, d, taken, EachPart::Keeping(keep), self.rows)
    }

    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        self.lock().state_bytes(d)
    }

    fn discard(&mut self, d: usize) -> Result<(), ExecError> {
        self.lock().discard(d);
        Ok(())
    }
}

/// A state taken out of [`Finals`], merged with its parts on disk.
fn merge_taken(
    job: &Job,
    d: usize,
    taken: Option<crate::spill::Taken>,
    each: EachPart<'_>,
    rows: Option<&Arc<RowSpill>>,
) -> TakenState {
    taken
        .map(|t| t.merge_each_into(job, d, each, rows))
        .transpose()
        .map_err(|e| ExecError::Failed {
            command: "finish",
            message: e.to_string(),
        })
}

/// The states of one caller, finishing one detection at a time ([`finish_one`]).
struct OwnFinals<'a> {
    job: &'a Job,
    finals: &'a mut Finals,
    rows: Option<&'a Arc<RowSpill>>,
}

impl StateSource for OwnFinals<'_> {
    fn may_hold(&mut self, d: usize) -> bool {
        self.finals.may_hold(d)
    }

    fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState {
        let taken = self.finals.take_out(d);
        merge_taken(self.job, d, taken, EachPart::Whole(part), self.rows)
    }

    fn take_keeping(&mut self, d: usize, keep: Keep<'_>) -> TakenState {
        let taken = self.finals.take_out(d);
        merge_taken(self.job, d, taken, EachPart::Keeping(keep), self.rows)
    }

    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        self.finals.state_bytes(d)
    }

    fn discard(&mut self, d: usize) -> Result<(), ExecError> {
        self.finals.discard(d);
        Ok(())
    }
}

/// Finishes detection `d` (added to the job, or hidden) and its subsearches from `finals`, as
/// [`finish_each`] finishes each detection, on the calling thread; what its tree did not need
/// is dropped. For a caller that finishes some detections of a job, not all (a cluster's
/// reducer finishes a window's group).
pub fn finish_one(job: &Job, d: usize, finals: &mut Finals, ctx: &ExecCtx) -> Finished {
    let mut rows = FinishedRows::new(ctx);
    let done = {
        let mut src = OwnFinals {
            job,
            finals,
            rows: ctx.row_spill(),
        };
        finish_tree_from(job, d, &mut src, ctx, None, &mut |chunk| {
            rows.append(chunk);
            Ok(())
        })
    };
    discard_tree(job, d, finals);
    done.map(|()| rows)
}

/// Drops what detection `d`'s tree (it and its subsearches) did not take: once it is
/// finished, it is not needed any more.
fn discard_tree(job: &Job, d: usize, finals: &mut Finals) {
    let mut stack = vec![d];
    while let Some(x) = stack.pop() {
        finals.discard(x);
        stack.extend(job.detections()[x].subsearches());
    }
}

/// [`finish_tree`] over any source of states, asked for each state only when it is needed:
/// the state of a subsearch that is not finished is never taken (nor read back from disk).
///
/// A detection with a finish-time key filter ([`Detection::finish_filter`]) whose state may
/// hold groups has its subsearches finished first, and the filter runs on each part of its
/// state as the part is taken, so that groups no row can come from are never merged (the
/// filter decides by a group's key alone, so a part's verdicts are the merged state's). With
/// lazy subsearches off ([`crate::JobBuilder::lazy_subsearches`]) the filter runs on the
/// merged state instead, as it always does in [`finish`].
/// With `first`, whoever asked reads only the first `first` rows (see [`first_rows`]).
fn finish_tree_from(
    job: &Job,
    d: usize,
    src: &mut dyn StateSource,
    ctx: &ExecCtx,
    first: Option<usize>,
    sink: &mut Sink<'_>,
) -> Result<(), ExecError> {
    let det = &job.detections()[d];
    let subs = det.subsearches();
    let empty = || (State::new(det.agg().is_some()), None);
    let how = How { first, ..How::LAZY };
    if subs.is_empty() {
        let state = src.take(d, &mut |_| {})?.unwrap_or_else(empty);
        return finish_with(det, state, ctx, how, &mut |_, _| Ok(None), sink);
    }
    let mine = ctx.clone().with_subsearch_slots(subs.len());
    let filter = det.finish_filter().filter(|_| job.lazy_subsearches());
    let rows_first = filter.is_some() && rows_before_subsearches(job, d, src);
    let state = match filter {
        Some(filter) if src.may_hold(d) && !rows_first => {
            for i in 0..subs.len() {
                if let Some(sub) = subsearch_rows(job, det, i, src, ctx, None)? {
                    mine.provide_subsearch(i, sub.rows);
                }
            }
            if filter.keeps_none(&mine) {
                // No group can give a row: its parts are not read back.
                src.discard(d)?;
                None
            } else {
                src.take_keeping(d, &mut |keys| filter.keeps_all(keys, &mine))?
            }
        }
        _ => src.take(d, &mut |_| {})?,
    };
    let state = state.unwrap_or_else(empty);
    let how = How {
        lazy: job.lazy_subsearches(),
        filter_keys: !rows_first,
        ..how
    };
    let mut subsearch = |i, test| subsearch_rows(job, det, i, src, ctx, test);
    finish_with(det, state, &mine, how, &mut subsearch, sink)
}

/// Whether detection `d`, whose `join` could filter its groups by its subsearches' keys
/// ([`Detection::finish_filter`]), is better finished the other way round: its rows first,
/// then each subsearch keeping only the rows that its reader joins to them
/// ([`Command::subsearch_rows_used`]). So when its subsearches' states are more than twice
/// its own (by [`StateSource::state_bytes`]): a `join` of a few `.lnk` files to the process that
/// made each, whose subsearch groups every process (`Process Creating LNK File in Suspicious
/// Location`), held that subsearch's 50,000 rows to filter a handful of groups.
fn rows_before_subsearches(job: &Job, d: usize, src: &mut dyn StateSource) -> bool {
    let det = &job.detections()[d];
    let subs = det.subsearches();
    let each_filtered = (0..subs.len())
        .all(|i| sole_reader(det, i).is_some_and(|cmd| cmd.subsearch_rows_used(i, &[]).is_some()));
    if !each_filtered {
        return false;
    }
    let Some(mine) = src.state_bytes(d) else {
        return false;
    };
    let theirs: Option<u64> = subs.iter().map(|&h| src.state_bytes(h)).sum();
    theirs.is_some_and(|theirs| theirs > mine.saturating_mul(2))
}

/// The rows of subsearch `i` of detection `det`: `Ok(None)` when there is no such subsearch.
/// When the commands that read it read only its first rows, only those (and one more) are
/// made, where its own commands allow ([`first_rows`]); not with lazy subsearches off
/// ([`crate::JobBuilder::lazy_subsearches`]), which makes every subsearch whole. With `test`,
/// only the rows among those first ones that pass it are kept, as they are made, and the
/// rows past them dropped (`cut` says there were some).
fn subsearch_rows(
    job: &Job,
    det: &Detection,
    i: usize,
    src: &mut dyn StateSource,
    ctx: &ExecCtx,
    test: Option<RowTest>,
) -> Result<Option<Subsearch>, ExecError> {
    let Some(&h) = det.subsearches().get(i) else {
        return Ok(None);
    };
    let first = rows_read(det, i).filter(|_| job.lazy_subsearches());
    let failed = |e: ExecError| ExecError::Failed {
        command: "subsearch",
        message: format!("subsearch {}: {e}", i + 1),
    };
    let Some(test) = test else {
        return collected(|sink| finish_tree_from(job, h, src, ctx, first, sink))
            .map(|rows| Some(Subsearch { rows, cut: false }))
            .map_err(failed);
    };
    let (mut rows, mut seen, mut cut) = (Vec::new(), 0usize, false);
    let read = first.unwrap_or(usize::MAX);
    finish_tree_from(job, h, src, ctx, first, &mut |chunk| {
        for row in chunk.drain(..) {
            if seen >= read {
                cut = true;
            } else if test(&row) {
                rows.push(row);
            }
            seen += 1;
        }
        Ok(())
    })
    .map_err(failed)?;
    Ok(Some(Subsearch { rows, cut }))
}

/// At most how many of subsearch `i`'s first rows `det`'s commands read: `None` when one of
/// them reads all (or none of them reads it).
fn rows_read(det: &Detection, i: usize) -> Option<usize> {
    let mut most: Option<usize> = None;
    for cmd in readers(det, i) {
        let n = cmd.subsearch_rows_read(i)?;
        most = Some(most.map_or(n, |m| m.max(n)));
    }
    most
}

/// The rows of every detection added to the job (not its hidden subsearches), in the order
/// they were added, from the merged states of all its detections (as [`crate::RunResult::states`]
/// holds them). See [`finish_each`], which this collects.
pub fn finish_all(
    job: &Job,
    states: impl Into<Finals>,
    ctx: &ExecCtx,
    threads: usize,
) -> Vec<Rows> {
    let mut all = Vec::with_capacity(job.visible().len());
    finish_each(job, states, ctx, threads, |_, rows| {
        all.push(rows.and_then(FinishedRows::into_vec));
        true
    });
    all
}

/// A detection's rows as [`finish_each`] hands them on, or why it could not be finished.
pub type Finished = Result<FinishedRows, ExecError>;

/// Finishes every detection added to the job (not its hidden subsearches) and hands its rows
/// to `each` with its index, in the order they were added; each detection's subsearches are
/// finished when its commands first read them ([`finish_tree`]). Up to `threads` detections
/// are finished at once (each by one thread, so rows do not depend on the count), so no more
/// than that many whole states read back from disk are held beyond what `each` keeps; a
/// detection that may read more than a quarter of the state budget back from disk is never
/// finished beside another such one ([`Finals::is_large`]).
/// Finished rows wait to be handed on in order: at most 64 detections per thread ahead of the
/// next, and past 100,000 rows or 16 MiB waiting only the next is finished (see `Turns`). A state is
/// taken (read back) only when finishing needs it, and what a detection's tree did not need is
/// dropped once it is finished. Stops when `each` returns `false`.
///
/// The threads take detections in order as they become free (a detection waits only for its
/// turn, not for the others of a batch); a thread that finished a large detection ends and
/// another takes its place. `each` runs on the calling thread; with one thread everything runs
/// on the calling thread.
pub fn finish_each(
    job: &Job,
    states: impl Into<Finals>,
    ctx: &ExecCtx,
    threads: usize,
    mut each: impl FnMut(usize, Finished) -> bool,
) {
    let states: Mutex<Finals> = Mutex::new(states.into());
    let lock = || states.lock().unwrap_or_else(|e| e.into_inner());
    let visible = job.visible().len();
    let one = |d: usize| -> Finished {
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut src = SharedFinals {
                job,
                finals: &states,
                rows: ctx.row_spill(),
            };
            let mut rows = FinishedRows::new(ctx);
            finish_tree_from(job, d, &mut src, ctx, None, &mut |chunk| {
                rows.append(chunk);
                Ok(())
            })
            .map(|()| rows)
        }));
        discard_tree(job, d, &mut lock());
        finished.unwrap_or_else(|_| {
            Err(ExecError::Failed {
                command: "finish",
                message: "the detection's final stages panicked".into(),
            })
        })
    };
    let window = threads.clamp(1, visible.max(1));
    if window == 1 {
        for d in 0..visible {
            if !each(d, one(d)) {
                return;
            }
        }
        return;
    }
    let large: Vec<bool> = {
        let finals = lock();
        (0..visible).map(|d| finals.is_large(job, d)).collect()
    };
    let turns = Turns::new(large, window);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Finished, Held)>();
    std::thread::scope(|scope| {
        for _ in 0..window {
            let tx = tx.clone();
            let (turns, one) = (&turns, &one);
            scope.spawn(move || finish_in_turn(scope, turns, one, tx));
        }
        drop(tx);
        // Rows reach `each` in the detections' order, whatever order they are finished in.
        let mut ready = std::collections::BTreeMap::new();
        let mut emitted = 0;
        for (d, rows, held) in rx.iter() {
            ready.insert(d, (rows, held));
            while let Some((rows, held)) = ready.remove(&emitted) {
                let go = each(emitted, rows);
                emitted += 1;
                turns.emitted(emitted, held, !go);
                if !go {
                    return;
                }
            }
        }
    });
}

/// A finishing thread: takes detections in turn and sends their rows on, until none is left.
/// After a large detection it ends and starts another in its place: the allocator keeps what a
/// thread freed for that thread (tens of MiB after a large state), and gives it back when the
/// thread ends.
fn finish_in_turn<'scope, 'env, F>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    turns: &'scope Turns,
    one: &'scope F,
    tx: std::sync::mpsc::Sender<(usize, Finished, Held)>,
) where
    F: Fn(usize) -> Finished + Sync,
{
    while let Some(d) = turns.take() {
        let rows = one(d);
        // Counted once: the same figure is taken off when the rows are handed on.
        let held = Held::of(&rows);
        turns.done(d, held);
        if tx.send((d, rows, held)).is_err() {
            return;
        }
        if turns.large[d] {
            scope.spawn(move || finish_in_turn(scope, turns, one, tx));
            return;
        }
    }
}

/// Finished rows waiting to be handed on: how many, and the bytes they take in memory (their
/// compact form's, not what waits on disk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Held {
    rows: usize,
    bytes: usize,
}

impl Held {
    fn of(rows: &Finished) -> Held {
        let Ok(rows) = rows else {
            return Held::default();
        };
        Held {
            rows: rows.len(),
            bytes: rows.memory_bytes(),
        }
    }
}

/// How many detections per finishing thread may be taken ahead of the one to hand on next.
const AHEAD_PER_THREAD: usize = 64;
/// Rows finished and not yet handed on beyond which only the next to hand on is taken.
const MAX_HELD_ROWS: usize = 100_000;
/// The same in bytes: a few thousand rows of PowerShell script blocks take 40 MiB, which
/// another detection's finish should not add to.
const MAX_HELD_BYTES: usize = 16 << 20;

/// Whose turn it is to be finished: detections are taken in order, and a large one (see
/// [`Finals::is_large`]) never beside another large one. Small ones are finished beside a
/// large one: finished alone, the library's 39 large detections on the 1 GiB mixed corpus
/// (5.6 s of its finishing) left the other thread idle. Beside them, finishing took 5.3 s
/// instead of 6.5 s (medians of three alternated runs), for a peak about 8 MiB higher.
///
/// Finishing runs ahead of handing on, so that a thread is not idle while the rows of a
/// detection are written (most detections finish in microseconds, writing a table of rows
/// takes milliseconds; with only `threads` detections ahead, finishing the endpoint library's
/// states took as long on two threads as on one). How far ahead is bounded: at most
/// [`AHEAD_PER_THREAD`] detections per thread, and rows waiting to be handed on (or being
/// handed on) past [`MAX_HELD_ROWS`] or [`MAX_HELD_BYTES`] stop all but the next detection
/// to hand on.
struct Turns {
    large: Vec<bool>,
    /// Detections that may be taken ahead of the next to hand on.
    ahead: usize,
    state: Mutex<TurnState>,
    changed: Condvar,
}

#[derive(Default)]
struct TurnState {
    /// The next detection to take.
    next: usize,
    /// How many detections have been handed on.
    emitted: usize,
    /// How many are being finished.
    running: usize,
    /// Whether a large one is being finished.
    large_running: bool,
    /// Set when no more should be taken.
    stop: bool,
    /// Rows finished and not yet handed on.
    held: Held,
}

impl Turns {
    fn new(large: Vec<bool>, threads: usize) -> Turns {
        Turns {
            large,
            ahead: threads.saturating_mul(AHEAD_PER_THREAD),
            state: Mutex::new(TurnState::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TurnState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next detection to finish, once it may start; `None` when there is none left.
    fn take(&self) -> Option<usize> {
        let mut s = self.lock();
        loop {
            let d = s.next;
            if s.stop || d >= self.large.len() {
                return None;
            }
            if self.may_start(&s) {
                s.next += 1;
                s.running += 1;
                s.large_running |= self.large[d];
                return Some(d);
            }
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Whether the next detection may start now.
    fn may_start(&self, s: &TurnState) -> bool {
        let d = s.next;
        let room = d == s.emitted
            || (d < s.emitted + self.ahead
                && s.held.rows < MAX_HELD_ROWS
                && s.held.bytes < MAX_HELD_BYTES);
        room && !(self.large[d] && s.large_running)
    }

    /// Detection `d` is finished, with `rows`.
    fn done(&self, d: usize, rows: Held) {
        let mut s = self.lock();
        s.running -= 1;
        s.held.rows += rows.rows;
        s.held.bytes += rows.bytes;
        if self.large[d] {
            s.large_running = false;
        }
        drop(s);
        self.changed.notify_all();
    }

    /// `emitted` detections have been handed on, the last with `rows`; `stop`: take no more.
    fn emitted(&self, emitted: usize, rows: Held, stop: bool) {
        let mut s = self.lock();
        s.emitted = emitted;
        s.held.rows = s.held.rows.saturating_sub(rows.rows);
        s.held.bytes = s.held.bytes.saturating_sub(rows.bytes);
        s.stop |= stop;
        drop(s);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Arc;

    use cimhunt_spl::{Groups, MacroSet, Sym, compile};

    use crate::state::OrderKey;

    /// A job of one detection, `search`.
    fn job_of(search: &str) -> Job {
        let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
        let c = compile(search, &MacroSet::with_builtins(), model.as_ref()).expect("compiles");
        Job::builder(model)
            .detection("d", c.plan, &c.expanded)
            .build()
            .expect("job")
    }

    /// Rows with `n` from 0 to `count - 1`, counting in `made` how many were taken.
    fn numbered<'a>(count: usize, made: &'a Cell<usize>) -> impl Iterator<Item = Row> + 'a {
        (0..count).map(move |i| {
            made.set(made.get() + 1);
            Row::from_texts(&[("n", &i.to_string())])
        })
    }

    /// Regression: `Process Creating LNK File in Suspicious Location` joins a few files to a
    /// subsearch over every process, and its 50,000 rows were held whole for the join to read
    /// a handful. Kept by the join's test of its left rows, the subsearch's rows are those the
    /// join reads, and the cut past its 50,000 is still reported.
    #[test]
    fn a_subsearch_kept_by_its_join_s_test_gives_the_join_s_rows_and_its_cut() {
        use cimhunt_spl::command::JOIN_MAXOUT;
        let job = job_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | rename Processes.dest as dest \
             | join dest [search index=main | fields dest n]",
        );
        let det = &job.visible()[0];
        let join = &det.plan().post[1];
        let h = det.subsearches()[0];
        // 50,010 rows in the subsearch's order, over 100 hosts.
        let subsearch_state = |count: usize| {
            let rows = (0..count)
                .map(|n| {
                    let key = OrderKey {
                        time: None,
                        input: 0,
                        record: n as u64,
                    };
                    let row = Row::from_texts(&[
                        ("dest", &format!("h{}", n % 100)),
                        ("n", &n.to_string()),
                    ]);
                    (key, row)
                })
                .collect();
            HashMap::from([(h, State::Collect(rows))])
        };
        let left = vec![
            Row::from_texts(&[("dest", "h7"), ("count", "1")]),
            Row::from_texts(&[("dest", "h42"), ("count", "2")]),
            Row::from_texts(&[("dest", "elsewhere"), ("count", "3")]),
        ];
        let ctx = ExecCtx::default();
        let mut whole = subsearch_state(JOIN_MAXOUT + 10);
        let all = subsearch_rows(&job, det, 0, &mut whole, &ctx, None)
            .unwrap()
            .unwrap();
        // Made one past the cut, so that the join reports it.
        assert_eq!((all.rows.len(), all.cut), (JOIN_MAXOUT + 1, false));
        let mut kept = subsearch_state(JOIN_MAXOUT + 10);
        let test = join
            .subsearch_rows_used(0, &left)
            .expect("a join on dest tests");
        let used = subsearch_rows(&job, det, 0, &mut kept, &ctx, Some(test))
            .unwrap()
            .unwrap();
        // h7 and h42 among the first 50,000 rows, in order.
        assert_eq!(used.rows.len(), 1_000);
        assert!(used.cut);
        let n = |r: &Row| r.get(Sym::new("n")).unwrap().to_string();
        assert_eq!(n(&used.rows[0]), "7");
        assert_eq!(n(&used.rows[999]), "49942");
        // The join gives the same rows, and says the same, from either.
        let joined = |rows: Vec<Row>, cut: bool| {
            let ctx = ExecCtx::default().with_subsearch_slots(1);
            ctx.provide_subsearch_used(0, rows, cut);
            let mut out = left.clone();
            join.run(&mut out, &ctx).unwrap();
            (out, ctx.take_warnings())
        };
        let (from_all, said) = joined(all.rows, all.cut);
        assert_eq!(from_all.len(), 2);
        assert_eq!(said.len(), 1, "{said:?}");
        assert_eq!(joined(used.rows, used.cut), (from_all, said));
    }

    /// States in memory that note what finishing does with each ("take", "keeping",
    /// "discard"), as a batch run's do with parts on disk.
    struct Noted {
        states: HashMap<usize, State>,
        done: Vec<(&'static str, usize)>,
    }

    impl StateSource for Noted {
        fn may_hold(&mut self, d: usize) -> bool {
            self.states.may_hold(d)
        }

        fn take(&mut self, d: usize, part: &mut dyn FnMut(&mut State)) -> TakenState {
            self.done.push(("take", d));
            self.states.take(d, part)
        }

        fn take_keeping(&mut self, d: usize, keep: Keep<'_>) -> TakenState {
            self.done.push(("keeping", d));
            self.states.take_keeping(d, keep)
        }

        fn state_bytes(&mut self, d: usize) -> Option<u64> {
            self.states.state_bytes(d)
        }

        fn discard(&mut self, d: usize) -> Result<(), ExecError> {
            self.done.push(("discard", d));
            self.states.discard(d)
        }
    }

    /// A detection joined to a subsearch that gave no rows has no row, whatever its groups:
    /// its state is dropped, not read back and filtered group by group, and its rows are what
    /// reading it whole gives (none). With one subsearch row, it is read through the filter.
    #[test]
    fn a_join_to_an_empty_subsearch_drops_the_state_unread() {
        let search = "| tstats count from datamodel=Endpoint.Processes \
             by Processes.dest Processes.process_name | rename Processes.* as * \
             | join process_name [| tstats count from datamodel=Endpoint.Processes \
             where Processes.dest=c by Processes.process_name | rename Processes.* as *]";
        let job = job_of(search);
        let eager = {
            let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
            let c = compile(search, &MacroSet::with_builtins(), model.as_ref()).expect("compiles");
            Job::builder(model)
                .lazy_subsearches(false)
                .detection("d", c.plan, &c.expanded)
                .build()
                .expect("job")
        };
        let d = 0;
        let h = job.detections()[d].subsearches()[0];
        let ctx = ExecCtx::default();
        let states = |sub: &[&str]| {
            let mut groups = Groups::new();
            let spec = job.detections()[d].agg().unwrap();
            for (dest, name) in [("a", "calc.exe"), ("b", "cmd.exe"), ("c", "lsass.exe")] {
                let row = Row::from_texts(&[("dest", dest), ("process_name", name)]);
                groups.add(spec, &row, &ctx);
            }
            let mut sub_groups = Groups::new();
            let sub_spec = job.detections()[h].agg().unwrap();
            for name in sub {
                let row = Row::from_texts(&[("dest", "c"), ("process_name", name)]);
                sub_groups.add(sub_spec, &row, &ctx);
            }
            HashMap::from([(d, State::Stats(groups)), (h, State::Stats(sub_groups))])
        };
        let finish = |sub: &[&str]| {
            let mut noted = Noted {
                states: states(sub),
                done: Vec::new(),
            };
            let rows =
                collected(|sink| finish_tree_from(&job, d, &mut noted, &ctx, None, sink)).unwrap();
            // Without the shortcuts: every group merged and run through the join.
            let whole = finish_tree(&eager, d, &mut states(sub), &ctx).unwrap();
            (rows, whole, noted.done)
        };
        let (rows, whole, done) = finish(&[]);
        assert!(rows.is_empty());
        assert_eq!(rows, whole);
        assert!(done.contains(&("discard", d)), "{done:?}");
        assert!(!done.contains(&("keeping", d)), "{done:?}");
        let (rows, whole, done) = finish(&["lsass.exe"]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows, whole);
        assert!(done.contains(&("keeping", d)), "{done:?}");
        assert!(!done.contains(&("discard", d)), "{done:?}");
    }

    #[test]
    fn a_subsearch_read_in_part_is_made_only_as_far_as_it_is_read() {
        // Streaming commands that drop a tenth of the rows and add a field.
        let job = job_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | where NOT like(n, \"%7\") | eval m = n * 2",
        );
        let post = &job.detections()[0].plan().post;
        let ctx = ExecCtx::default();
        let unused = Cell::new(0);
        let mut whole: Vec<Row> = numbered(40_000, &unused).collect();
        for cmd in post {
            cmd.run(&mut whole, &ctx).unwrap();
        }
        assert_eq!(whole.len(), 36_000);
        // The rows `first_rows` gives with a cut at `first`, counting in `made` those made.
        let cut_at = |first: usize, made: &Cell<usize>| {
            let made = Box::new(numbered(40_000, made).map(Ok));
            collected(|sink| first_rows(made, post, first, &ctx, sink)).unwrap()
        };
        let made = Cell::new(0);
        let first = cut_at(10_000, &made);
        // The whole result's first rows, and one more to show there are more.
        assert_eq!(first.len(), 10_001);
        assert_eq!(first[..], whole[..10_001]);
        // Only the chunks that reach the cut were made.
        assert!(made.get() <= 11_112 + CHUNK_ROWS, "{} made", made.get());
        // Fewer rows than the cut: all of them, as without one.
        let made = Cell::new(0);
        let all = cut_at(36_000, &made);
        assert_eq!(all, whole);
        assert_eq!(made.get(), 40_000);
    }

    #[test]
    fn only_readers_of_a_subsearch_s_first_rows_let_it_be_cut() {
        let join = job_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | join Processes.dest [| tstats count from datamodel=Endpoint.Processes \
             by Processes.dest]",
        );
        let d = &join.visible()[0];
        assert_eq!(rows_read(d, 0), Some(cimhunt_spl::command::JOIN_MAXOUT));
        let term = job_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | search [| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | rename Processes.dest as dest]",
        );
        let d = &term.visible()[0];
        assert_eq!(rows_read(d, 0), Some(cimhunt_spl::search::SUBSEARCH_MAXOUT));
        // `map` runs a search per row of its input: it reads every row.
        let map = job_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | appendpipe [| map search=\"search EventCode=13 host=$dest$\"]",
        );
        let d = &map.visible()[0];
        assert!(d.plan().post.iter().any(|c| c.subsearches().contains(&0)));
        assert_eq!(rows_read(d, 0), None);
    }

    /// Takes the next detection if it may start now (never waits).
    fn take_now(turns: &Turns) -> Option<usize> {
        let may = turns.may_start(&turns.lock());
        may.then(|| turns.take()).flatten()
    }

    #[test]
    fn finishing_runs_ahead_of_handing_on_up_to_its_bounds() {
        let many = Held {
            rows: MAX_HELD_ROWS,
            bytes: 0,
        };
        let turns = Turns::new(vec![false; 1000], 2);
        // Detection 0 is slow: 128 others may be finished meanwhile, and no more.
        assert_eq!(take_now(&turns), Some(0));
        for d in 1..128 {
            assert_eq!(take_now(&turns), Some(d));
            turns.done(d, Held::default());
        }
        assert_eq!(take_now(&turns), None);
        turns.done(0, Held::default());
        turns.emitted(1, Held::default(), false);
        assert_eq!(take_now(&turns), Some(128));
        turns.done(128, many);
        // Too many rows wait to be handed on: only the next to hand on may start.
        for e in 2..=128 {
            turns.emitted(e, Held::default(), false);
            assert_eq!(take_now(&turns), None, "{e} handed on");
        }
        turns.emitted(129, many, false);
        assert_eq!(take_now(&turns), Some(129));
    }

    /// Regression: a few thousand rows of script blocks (40 MiB) waited to be written while
    /// another detection's large finish ran beside them, and the two made the run's peak.
    #[test]
    fn rows_of_many_bytes_waiting_to_be_handed_on_stop_all_but_the_next() {
        let turns = Turns::new(vec![false; 10], 2);
        assert_eq!(take_now(&turns), Some(0));
        let mut rows = FinishedRows::new(&ExecCtx::default());
        rows.append(&mut vec![Row::from_texts(&[(
            "ScriptBlockText",
            &"x".repeat(MAX_HELD_BYTES),
        )])]);
        let heavy = Held::of(&Ok(rows));
        assert_eq!(heavy.rows, 1);
        assert!(heavy.bytes > MAX_HELD_BYTES);
        turns.done(0, heavy);
        // 0 is being handed on: 1 waits until it has been.
        assert_eq!(take_now(&turns), None);
        turns.emitted(1, heavy, false);
        assert_eq!(take_now(&turns), Some(1));
        assert_eq!(take_now(&turns), Some(2), "light rows do not stop the next");
    }

    #[test]
    fn a_large_detection_is_never_finished_beside_another_large_one() {
        let turns = Turns::new(vec![false, true, false, true, true, false, false], 2);
        assert_eq!(take_now(&turns), Some(0));
        assert_eq!(take_now(&turns), Some(1), "a large one beside a small one");
        assert_eq!(
            take_now(&turns),
            Some(2),
            "a small one beside the large one"
        );
        turns.done(0, Held::default());
        turns.done(2, Held::default());
        assert_eq!(take_now(&turns), None, "3 is large: it waits for 1");
        turns.done(1, Held::default());
        assert_eq!(take_now(&turns), Some(3));
        assert_eq!(take_now(&turns), None, "4 is large: it waits for 3");
        turns.done(3, Held::default());
        assert_eq!(take_now(&turns), Some(4));
        assert_eq!(
            take_now(&turns),
            Some(5),
            "a small one beside the large one"
        );
        turns.emitted(4, Held::default(), true);
        assert_eq!(turns.take(), None, "stopped before 6");
    }
}
