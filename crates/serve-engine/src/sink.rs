//! [`EngineSink`]: the engine as `cimhunt serve`'s [`Sink`].
//!
//! **Events in** ([`Sink::submit`], on the service's feeder thread): each event is probed
//! (`probe`: format, metadata, `_time`), judged by the ledger (late, or needed), and the
//! events to feed are fed to the long-running [`Engine`] as [`Records`] (one per run of events
//! of the same format), each event with its own metadata built from its envelope — `host`,
//! `source`, `sourcetype`, `index`, `time`, `fields` — so the engine's `_time`, and so the time
//! bucket and window an event lands in, is the one the probe found. The engine's workers fold
//! each event into per-detection state in time buckets of [`EngineSink::bucket_secs`] (an hour from minute 50 for ESCU's
//! schedules).
//!
//! **Windows out** ([`Sink::run_window`], on the scheduler's threads, as many windows of
//! different detections at once as the engine has workers, but never two that each take more
//! than a quarter of the state budget, [`Engine::takes_much`]): the engine is flushed and
//! the detection's buckets before the window's end are taken out of it into the sink's own
//! store (so buckets a later, overlapping window also covers are kept); the buckets inside the
//! window are merged into one state and finished into rows with `now()` = the scheduled time;
//! each row gives its risk events and notable with `_time` = the scheduled time, exactly as
//! `cimhunt hunt --now <scheduled time>` writes them for the same events. Detections that
//! share one state (a job built with `share_states`) take it as the `shared` module describes.
//!
//! **Forgetting** ([`Sink::window_committed`]): buckets below the first bucket the detection's
//! next window covers are dropped; the ledger then lets the journal forget the batches whose
//! events are all in dropped buckets.
//!
//! Key design decision: the buckets lie on a grid (the `grid` module) on which the window
//! boundaries of every detection fall (checked when the sink is built and for every window),
//! so a window is exactly a set of whole buckets and its merged state is exactly the state of
//! one pass over its events. With ESCU's schedules a window is one bucket.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use cimhunt_content::Detection as ContentDetection;
use cimhunt_engine::{
    Detection, Engine, Job, Keep, Options, RecordFormat, Records, State, TreeState, TreeStates,
    finish_tree_into, lend,
};
use cimhunt_report::{AlertContext, notable_event, risk_events, row_json};
use cimhunt_serve::schedule::CronSchedule;
use cimhunt_serve::{
    Batch, Busy, DetectionId, JsonText, ScheduledDetection, Sink, SinkStats, Texts, Window,
    WindowError, WindowOutput,
};
use cimhunt_spl::{ExecCtx, ExecError, Timestamp};
use jiff::tz::TimeZone;

use crate::grid::{Grid, grid};
use crate::ledger::{Ledger, Verdict};
use crate::merging::Merging;
use crate::observer::{Errors, LogObserver, logs};
use crate::probe::{Kind, probe};
use crate::shared::{Sharing, Taken};

/// How many inputs may wait in the engine's queue. Each holds at most [`FEED_BYTES`] of event
/// text (and one event more), so this bounds their memory whatever the requests' size: the
/// journal bounds what waits before the engine takes it (`max_pending_bytes`), this what waits
/// inside it. Counted in requests, 64 requests of up to 64 MiB each could wait.
const ENGINE_QUEUE: usize = 16;

/// The event text fed to the engine as one input: a larger request is fed as several, in order.
const FEED_BYTES: usize = 1 << 20;

/// Why the sink cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The job and the detection details do not match.
    #[error(
        "the job has {job} detection(s) but {details} detail(s) and {schedules} schedule(s) were given"
    )]
    Mismatch {
        /// Detections in the job.
        job: usize,
        /// Content detections given.
        details: usize,
        /// Schedules given.
        schedules: usize,
    },
    /// Two detections with one name: windows, state and outputs are keyed by name.
    #[error("two detections are named `{0}`; names must be unique")]
    DuplicateName(String),
    /// A schedule the sink cannot serve.
    #[error("detection `{detection}`: {message}")]
    Schedule {
        /// The detection.
        detection: String,
        /// Why.
        message: String,
    },
}

/// Builds an [`EngineSink`].
#[derive(Debug)]
pub struct SinkBuilder {
    job: Arc<Job>,
    details: Vec<ContentDetection>,
    schedules: Option<Vec<ScheduledDetection>>,
    options: Options,
}

impl SinkBuilder {
    /// The schedule of each detection, in the job's order (default: each detection's own, from
    /// its content: [`content_schedule`]).
    pub fn schedules(mut self, schedules: Vec<ScheduledDetection>) -> Self {
        self.schedules = Some(schedules);
        self
    }

    /// Engine options (threads, time zone, reader); the bucket width is the sink's.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Starts the engine.
    pub fn build(self) -> Result<EngineSink, SinkError> {
        let SinkBuilder {
            job,
            details,
            schedules,
            mut options,
        } = self;
        // Served are the detections added to the job; their hidden subsearch detections are
        // finished with them, over the same window.
        let n = job.visible().len();
        let all = job.detections().len();
        let schedules = match schedules {
            Some(s) => s,
            None => job
                .visible()
                .iter()
                .zip(&details)
                .map(|(d, detail)| content_schedule(d.name(), detail))
                .collect::<Result<_, _>>()?,
        };
        if details.len() != n || schedules.len() != n {
            return Err(SinkError::Mismatch {
                job: n,
                details: details.len(),
                schedules: schedules.len(),
            });
        }
        let mut index = HashMap::with_capacity(n);
        let mut served = Vec::with_capacity(n);
        for (i, (detail, schedule)) in details.into_iter().zip(schedules).enumerate() {
            let name = job.detections()[i].name().to_owned();
            if index.insert(name.clone(), i).is_some() {
                return Err(SinkError::DuplicateName(name));
            }
            let cron =
                CronSchedule::parse(&schedule.cron_schedule).map_err(|e| SinkError::Schedule {
                    detection: name.clone(),
                    message: e.to_string(),
                })?;
            served.push(Served {
                detail,
                schedule,
                cron,
            });
        }
        let sampled: Vec<_> = served.iter().map(|s| (&s.cron, &s.schedule)).collect();
        let grid = grid(&sampled).map_err(|(i, message)| SinkError::Schedule {
            detection: job.detections()[i].name().to_owned(),
            message,
        })?;
        options.bucket_secs = Some(grid.span);
        options.bucket_offset_secs = grid.offset;
        let errors = Arc::new(Errors::default());
        let row_spill = options.row_spill();
        let engine = Engine::start(
            Arc::clone(&job),
            options.clone(),
            ENGINE_QUEUE,
            Box::new(LogObserver(Arc::clone(&errors))),
        );
        Ok(EngineSink {
            engine,
            sharing: Sharing::new(&job, row_spill.clone()),
            job,
            stores: (0..all).map(|_| Mutex::new(BTreeMap::new())).collect(),
            served,
            index,
            grid,
            tz: options.tz,
            window_threads: options.threads.max(1),
            large_window: Mutex::new(()),
            feeding: Mutex::new(()),
            spill_warned: Default::default(),
            row_spill,
            ledger: Mutex::new(Ledger::new(grid, n)),
            errors,
        })
    }
}

#[derive(Debug)]
struct Served {
    detail: ContentDetection,
    schedule: ScheduledDetection,
    cron: CronSchedule,
}

/// The engine as a [`Sink`]. See the module documentation.
pub struct EngineSink {
    engine: Engine,
    job: Arc<Job>,
    served: Vec<Served>,
    index: HashMap<String, usize>,
    grid: Grid,
    tz: TimeZone,
    /// Windows finished at the same time: as many as the engine has workers.
    window_threads: usize,
    /// Held by a window that takes much state ([`Engine::takes_much`]) while it runs.
    large_window: Mutex<()>,
    /// Held while events are fed and while a window takes its buckets, so that an event is
    /// either in the engine before a window's flush or judged against the window's horizon.
    feeding: Mutex<()>,
    /// Whether a failure to move state to disk has been logged (once).
    spill_warned: std::sync::atomic::AtomicBool,
    /// Where a window's `stats` and `eventstats` over rows keep what is beyond the state
    /// budget ([`cimhunt_spl::RowSpill`]), with the engine's budget and folder.
    row_spill: Option<Arc<cimhunt_spl::RowSpill>>,
    ledger: Mutex<Ledger>,
    /// Per detection: buckets taken from the engine that a window still to run may need.
    stores: Vec<Mutex<BTreeMap<i64, State>>>,
    /// Detections whose events one state holds (a job built with `share_states`).
    sharing: Sharing,
    errors: Arc<Errors>,
}

impl std::fmt::Debug for EngineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSink")
            .field("detections", &self.served.len())
            .field("grid", &self.grid)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl EngineSink {
    /// A sink for `job`'s detections; `details` are the same detections as loaded from content
    /// (for their risk and notable settings), in the job's order.
    pub fn builder(job: Arc<Job>, details: Vec<ContentDetection>) -> SinkBuilder {
        SinkBuilder {
            job,
            details,
            schedules: None,
            options: Options::default(),
        }
    }

    /// The width of the engine's time buckets, in seconds.
    pub fn bucket_secs(&self) -> i64 {
        self.grid.span
    }

    /// Where the engine's time buckets start: this many seconds plus whole multiples of
    /// [`EngineSink::bucket_secs`] after the epoch.
    pub fn bucket_offset_secs(&self) -> i64 {
        self.grid.offset
    }

    /// The engine's counters.
    pub fn engine_stats(&self) -> cimhunt_engine::Stats {
        self.engine.stats()
    }

    /// Events submitted so far, whatever became of them.
    pub fn events_received(&self) -> u64 {
        lock(&self.ledger).received
    }

    /// Events older than this are late: every window that could hold them has run (`None`
    /// until every detection has run a window).
    pub fn ran_until(&self) -> Option<Timestamp> {
        lock(&self.ledger)
            .ran_horizon()
            .map(|s| Timestamp::from_nanos(s.saturating_mul(1_000_000_000), 0))
    }

    /// Groups or rows taken from the engine and kept for windows still to run (a measure of
    /// the memory the windows hold).
    pub fn held(&self) -> usize {
        self.stores
            .iter()
            .map(|s| lock(s).values().map(State::len).sum::<usize>())
            .sum()
    }

    /// The bytes windows' commands over rows (`stats`, `eventstats`, a detection's merged
    /// groups) have written to disk beyond the state budget ([`cimhunt_spl::RowSpill`]).
    pub fn rows_spilled_bytes(&self) -> u64 {
        self.row_spill.as_ref().map_or(0, |s| s.written_bytes())
    }

    /// Buckets taken by one detection's window and owed to others that share its state (see
    /// [`cimhunt_engine::JobBuilder::share_states`]), waiting for their windows.
    pub fn owed_deltas(&self) -> usize {
        self.sharing.owed()
    }

    /// Detection `d` and its hidden subsearch detections, `d` first.
    fn tree(&self, d: usize) -> Vec<usize> {
        let mut out = vec![d];
        let mut i = 0;
        while i < out.len() {
            out.extend_from_slice(self.job.detections()[out[i]].subsearches());
            i += 1;
        }
        out
    }

    fn detection_of(&self, w: &Window) -> Result<usize, WindowError> {
        self.index
            .get(w.detection.as_str())
            .copied()
            .ok_or_else(|| window_error(w, "no such detection".into()))
    }

    /// The first bucket a window after `w` of detection `d` can need.
    fn horizon(&self, d: usize, w: &Window) -> i64 {
        let s = &self.served[d];
        let next_earliest = s
            .cron
            .next_after(w.scheduled)
            .and_then(|next| s.schedule.earliest.resolve(next, &TimeZone::UTC).ok());
        let h = next_earliest.map_or(w.latest, |e| e.min(w.latest));
        self.grid.bucket_of(h.as_secs())
    }

    fn aligned(&self, w: &Window) -> Result<(i64, i64), WindowError> {
        if !self.grid.is_boundary(w.earliest) || !self.grid.is_boundary(w.latest) {
            return Err(window_error(
                w,
                format!(
                    "window bounds are not on the buckets' grid ({} s from {} s)",
                    self.grid.span, self.grid.offset
                ),
            ));
        }
        Ok((w.earliest.as_secs(), w.latest.as_secs()))
    }

    fn skip(&self, batch: &Batch, i: usize, why: &dyn std::fmt::Display) {
        let mut ledger = lock(&self.ledger);
        ledger.skipped += 1;
        if logs(ledger.skipped) {
            tracing::warn!("HEC request {}, event {i}: skipped: {why}", batch.seq);
        }
    }
}

/// The records of one `submit` in one format, each with its own metadata.
struct Group {
    kind: Kind,
    records: Records,
}

impl Sink for EngineSink {
    fn detections(&self) -> Vec<ScheduledDetection> {
        self.served.iter().map(|s| s.schedule.clone()).collect()
    }

    fn resume(&self, committed: &[Window]) {
        for w in committed {
            if let Ok(d) = self.detection_of(w) {
                let h = self.horizon(d, w);
                lock(&self.ledger).committed(d, h);
            }
        }
    }

    fn submit(&self, batch: Batch) -> Result<(), Busy> {
        let model = self.job.model();
        let probed: Vec<_> = batch.events.iter().map(|e| probe(model, e)).collect();
        for (i, p) in probed.iter().enumerate() {
            if let Err(why) = p {
                self.skip(&batch, i, why);
            }
        }
        let _feeding = lock(&self.feeding);
        let mut groups: Vec<Group> = Vec::new();
        {
            let mut ledger = lock(&self.ledger);
            ledger.submitted(batch.seq);
            ledger.received += batch.events.len() as u64;
            for (i, p) in probed.into_iter().enumerate() {
                let Ok(p) = p else { continue };
                if ledger.event(batch.seq, p.time, batch.replayed) != Verdict::Feed {
                    continue;
                }
                if groups
                    .last()
                    .is_none_or(|g| g.kind != p.kind || g.records.text_len() >= FEED_BYTES)
                {
                    let name = format!("HEC request {}", batch.seq);
                    let format = match p.kind {
                        Kind::Xml => RecordFormat::Xml,
                        Kind::Json => RecordFormat::Json,
                    };
                    groups.push(Group {
                        kind: p.kind,
                        records: Records::new(name, format),
                    });
                }
                if let Some(g) = groups.last_mut() {
                    // Numbered from 1 in the request, as messages show them.
                    g.records.push(i as u64 + 1, p.text.as_bytes(), p.meta);
                }
            }
        }
        for g in groups {
            if let Err(e) = self.engine.feed_records(g.records) {
                tracing::error!("HEC request {}: {e}", batch.seq);
            }
        }
        Ok(())
    }

    fn run_window(&self, w: &Window) -> Result<WindowOutput, WindowError> {
        let d = self.detection_of(w)?;
        let (earliest, latest) = self.aligned(w)?;
        let horizon = self.horizon(d, w);
        let tree = self.tree(d);
        // A window that takes much state waits for any other such window to end, so that two
        // large merged states (and their rows) are not held at once; small ones run beside it.
        // A detection sharing another's state holds what that one's windows took for it.
        let _large = self
            .engine
            .takes_much(&self.sharing.sources(&tree), self.sharing.owed_bytes(&tree))
            .then(|| lock(&self.large_window));
        let taken = {
            let _feeding = lock(&self.feeding);
            self.engine.flush();
            let mut taken = Vec::with_capacity(tree.len());
            for &x in &tree {
                taken.push(
                    self.sharing
                        .take(&self.engine, x, latest)
                        .map_err(|e| window_error(w, e.to_string()))?,
                );
            }
            lock(&self.ledger).ran(d, horizon);
            taken
        };
        let rows_failed = self.row_spill.as_ref().and_then(|s| s.failure());
        if let Some(e) = self.engine.spill_report().error.or(rows_failed)
            && !self
                .spill_warned
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                "{e}; aggregation state stays in memory from now on (--state-memory, --spill-dir)"
            );
        }
        let det = &self.job.detections()[d];
        // Decoded and merged once events may be fed again (and other windows take theirs), and
        // each only when finishing needs it: a `join`'s subsearches first, so that the parts of
        // the detection's own state are filtered by their rows before they are merged.
        let mut states = WindowStates {
            sink: self,
            w,
            floor: lock(&self.ledger).committed_horizon(d),
            range: (earliest, latest),
            horizon,
            taken: tree.into_iter().zip(taken).collect(),
        };
        let mut ctx = ExecCtx::new(w.scheduled, self.tz.clone());
        if let Some(spill) = &self.row_spill {
            ctx = ctx.with_row_spill(Arc::clone(spill));
        }
        let alert = AlertContext::new(&self.served[d].detail, w.scheduled);
        let texts = || Texts::spilling(self.row_spill.clone());
        let mut out = WindowOutput {
            rows: texts(),
            risk_events: texts(),
            notables: texts(),
        };
        let json = |text: String| {
            JsonText::from_string(text).map_err(|e| ExecError::Failed {
                command: "output",
                message: e.to_string(),
            })
        };
        // The rows come a chunk at a time, each dropped once its texts are made, and the texts
        // beyond the row budget go to disk: a large window holds neither its rows nor their
        // JSON whole.
        let finished = finish_tree_into(&self.job, d, &mut states, &ctx, &mut |chunk| {
            for row in chunk.drain(..) {
                out.rows.push(json(row_json(det.name(), &row))?);
                for r in risk_events(&alert, &row) {
                    out.risk_events.push(json(r)?);
                }
                out.notables.push(json(notable_event(&alert, &row))?);
            }
            Ok(())
        });
        // What finishing did not take still moves into the detections' buckets (this window
        // consumed it), whether finishing failed or not.
        states.settle()?;
        finished.map_err(|e| window_error(w, e.to_string()))?;
        Ok(out)
    }

    fn window_threads(&self) -> usize {
        self.window_threads
    }

    fn window_committed(&self, w: &Window) {
        let Ok(d) = self.detection_of(w) else { return };
        let h = self.horizon(d, w);
        lock(&self.ledger).committed(d, h);
        for x in self.tree(d) {
            let mut store = lock(&self.stores[x]);
            *store = store.split_off(&h);
        }
    }

    fn needed_from(&self) -> u64 {
        lock(&self.ledger).needed_from()
    }

    fn stats(&self) -> SinkStats {
        let ledger = lock(&self.ledger);
        SinkStats {
            latest_event_time: ledger.latest,
            earliest_event_time: ledger.earliest,
            late_events: ledger.late,
            skipped_events: ledger.skipped + self.errors.records.load(Ordering::Relaxed),
        }
    }
}

/// A window's states, still as taken from the engine: each member of the detection's tree is
/// decoded, merged into its buckets and made the window's state when finishing first needs it.
struct WindowStates<'a> {
    sink: &'a EngineSink,
    w: &'a Window,
    floor: Option<i64>,
    range: (i64, i64),
    horizon: i64,
    taken: HashMap<usize, Taken>,
}

impl WindowStates<'_> {
    /// Member `x`'s state for this window: keeps the buckets taken from the engine for it
    /// (those before `floor` were already committed), and merges those of the window, each
    /// keeping only the groups `keep` says yes to, when given.
    ///
    /// A window's bucket below `horizon` is read by no later window (committing the window
    /// drops it), so it is moved into the window's state; only a bucket a later, overlapping
    /// window also reads is copied (and the copy filtered: the store keeps every group).
    /// Copying every bucket held each window's state twice while it was finished
    /// (`a_window_moves_the_buckets_no_later_window_reads`).
    ///
    /// The parts are merged into the window's state one at a time, and with a spill folder the
    /// merged groups beyond the budget go to runs on disk, as a batch run's do
    /// ([`cimhunt_spl::agg::Runs`]): a subsearch that groups every process of the window (a
    /// `join`'s, read whole) is not held whole while its rows are made.
    fn state(
        &mut self,
        x: usize,
        mut keep: Option<Keep<'_>>,
    ) -> Result<Option<TreeState>, WindowError> {
        let Some(taken) = self.taken.remove(&x) else {
            return Ok(None);
        };
        let (w, floor, horizon) = (self.w, self.floor, self.horizon);
        let (earliest, latest) = self.range;
        let det = &self.sink.job.detections()[x];
        let fail = |e: String| window_error(w, e);
        let mut mine = Merging::new(det, self.sink.row_spill.as_ref());
        let stores = &self.sink.stores[x];
        // Only this window's buckets that no later window reads may be filtered as they are
        // decoded: the others go to the store, whole (those before `earliest` stay there until
        // the window is committed, as they did when every part went through the store).
        let mine_only = |b: i64| b >= earliest && b < horizon;
        taken
            .for_each_part(mine_only, lend(&mut keep), &mut |b, s| {
                if floor.is_some_and(|f| b < f) {
                    Ok(())
                } else if mine_only(b) {
                    mine.add(s)
                } else {
                    into_store(&mut lock(stores), det, b, s)
                }
            })
            .map_err(fail)?;
        let mut store = lock(stores);
        let buckets: Vec<i64> = store.range(earliest..latest).map(|(&b, _)| b).collect();
        for b in buckets {
            // A bucket no later window reads leaves the store; the others are copied.
            let part = if b < horizon {
                store.remove(&b)
            } else {
                store.get(&b).cloned()
            };
            let Some(mut part) = part else { continue };
            if let Some(keep) = lend(&mut keep) {
                part.retain_keys(keep);
            }
            mine.add(part).map_err(fail)?;
        }
        Ok(Some(mine.finish()))
    }

    /// Moves what finishing did not take into the members' buckets, as if it had.
    fn settle(&mut self) -> Result<(), WindowError> {
        let mut left: Vec<usize> = self.taken.keys().copied().collect();
        left.sort_unstable();
        for x in left {
            self.keep_for_later(x)?;
        }
        Ok(())
    }

    /// Member `x`'s buckets, which finishing did not read, left as reading them would have
    /// left them: those a later window reads go into the store, and the window's buckets that
    /// no later window reads leave it. Those are not merged: in what was taken they are read
    /// keeping no group (a window whose search before a `join` found nothing never makes the
    /// `join`'s subsearch; the process subsearch that several ESCU detections share was merged
    /// here whole only to be dropped).
    fn keep_for_later(&mut self, x: usize) -> Result<(), WindowError> {
        let Some(taken) = self.taken.remove(&x) else {
            return Ok(());
        };
        let (w, floor, horizon) = (self.w, self.floor, self.horizon);
        let (earliest, latest) = self.range;
        let det = &self.sink.job.detections()[x];
        let stores = &self.sink.stores[x];
        let mut none = |keys: &cimhunt_spl::Keys<'_>| vec![false; keys.len()];
        let mine_only = |b: i64| b >= earliest && b < horizon;
        taken
            .for_each_part(mine_only, Some(&mut none), &mut |b, s| {
                if mine_only(b) || floor.is_some_and(|f| b < f) {
                    Ok(())
                } else {
                    into_store(&mut lock(stores), det, b, s)
                }
            })
            .map_err(|e| window_error(w, e))?;
        let mut store = lock(stores);
        let read: Vec<i64> = store
            .range(earliest..latest.min(horizon).max(earliest))
            .map(|(&b, _)| b)
            .collect();
        for b in read {
            store.remove(&b);
        }
        Ok(())
    }
}

/// Merges `state` into bucket `b` of a member's store.
fn into_store(
    store: &mut BTreeMap<i64, State>,
    det: &Detection,
    b: i64,
    state: State,
) -> Result<(), String> {
    match store.get_mut(&b) {
        Some(mine) => mine.merge(det.agg(), state).map_err(|e| e.to_string()),
        None => {
            store.insert(b, state);
            Ok(())
        }
    }
}

impl TreeStates for WindowStates<'_> {
    fn may_hold(&mut self, x: usize) -> bool {
        // Only whether it was taken is known without decoding it; finishing asks to skip
        // filtering work, so "may" is enough.
        self.taken.contains_key(&x)
    }

    fn take(&mut self, x: usize, keep: Option<Keep<'_>>) -> Result<Option<TreeState>, ExecError> {
        self.state(x, keep).map_err(|e| ExecError::Failed {
            command: "window",
            message: e.message,
        })
    }

    fn state_bytes(&mut self, x: usize) -> Option<u64> {
        self.taken.get(&x).map(Taken::bytes)
    }
}

/// A detection's schedule as its content gives it (`cimhunt_content::Detection::schedule`: its
/// `deployment.scheduling`, else contentctl's default for its type), under the name `name`.
pub fn content_schedule(
    name: &str,
    detail: &ContentDetection,
) -> Result<ScheduledDetection, SinkError> {
    let s = detail.schedule();
    ScheduledDetection::new(
        DetectionId::new(name),
        &s.cron_schedule,
        &s.earliest_time,
        &s.latest_time,
    )
    .map_err(|e| SinkError::Schedule {
        detection: name.to_owned(),
        message: e.to_string(),
    })
}

fn window_error(w: &Window, message: String) -> WindowError {
    WindowError {
        detection: w.detection.clone(),
        earliest: w.earliest,
        latest: w.latest,
        message,
    }
}
