//! Reducing a window: when a group's next scheduled time comes (on the wall clock, or on the
//! events' own clock for replays), one worker — the holder of the reducer lease — reads the
//! partial states of every time bucket in the window, merges them per detection, turns them
//! into rows, risk events and notables, publishes those with ids made of the group, the
//! window, the detection and the row's place, and then advances the group's record by
//! compare-and-set. Merged states beyond the worker's `--state-memory` wait on disk
//! ([`Collector`]), and outputs are published a batch at a time as rows are made, so a window
//! is never held whole.
//!
//! A window waits until every event message the stream held when it came due has been
//! processed (the workers' acknowledgement floor has passed it), so no event received before the
//! scheduled time is left out for being still queued; after the grace period it runs anyway and
//! says so. Events that arrive after their window ran are not in it (ES misses them too).
//!
//! Exactly once: a reducer that dies after publishing some outputs loses its lease; the next
//! one reduces the same window from the same partial states (kept until the window is
//! committed), producing the same outputs under the same ids, which JetStream drops; the
//! compare-and-set lets only one reducer advance the record.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use bytes::Bytes;
use cimhunt_engine::{Collector, Partial, finish_one};
use cimhunt_report::{AlertContext, notable_event, risk_events, row_json};
use cimhunt_serve::Window;
use cimhunt_serve::schedule::{ScheduleState, Scheduler};
use cimhunt_spl::{ExecCtx, Timestamp};
use futures_util::StreamExt;

use crate::collect::{Assembler, read_subject};
use crate::connect::Cluster;
use crate::error::ClusterError;
use crate::job::ClusterJob;
use crate::log::Log;
use crate::names::{CONSUMER, OutputKind};
use crate::process::LIVE_BUCKET_SECS;
use crate::schedule::{CLOCK_KEY, EventClock, Group, WindowRecord, groups, window_key};
use crate::send::publish_all;
use crate::wire::{Bundle, HEADER_DETECTION, HEADER_WINDOW, Piece, pieces};

/// The lease key.
const LEASE_KEY: &str = "reducer";

/// A window's outputs (rows, risk events, notables) published at a time.
const PUBLISH_AT_ONCE: usize = 1024;

/// What time it is for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// The system clock.
    Wall,
    /// The events' own time: the latest minute that received a live event matching a
    /// detection (replays of old data run the windows they would have run).
    Events,
}

impl Clock {
    fn name(self) -> &'static str {
        match self {
            Clock::Wall => "wall",
            Clock::Events => "events",
        }
    }
}

/// One window reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduced {
    /// The group.
    pub group: String,
    /// The window.
    pub window: Window,
    /// Rows published.
    pub rows: usize,
    /// Risk events published.
    pub risk: usize,
    /// Notables published.
    pub notables: usize,
    /// Partial-state bundles merged.
    pub bundles: u64,
    /// Copies of bundles ignored (redelivered work, duplicate publishes).
    pub duplicates: u64,
    /// Outputs the server already had (a previous reducer's work).
    pub republished: u64,
    /// Bytes of merged states written to disk beyond the state budget (the worker's
    /// `--state-memory` and `--spill-dir`).
    pub spilled_state_bytes: u64,
    /// Bytes written to disk beyond the same budget while the rows were made (merged groups,
    /// what `stats` and `eventstats` over rows hold, rows waiting to be published).
    pub spilled_row_bytes: u64,
}

/// What one look at the schedule did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// Whether this reducer held the lease (another worker reduces otherwise).
    pub held: bool,
    /// Whether a due window waits for queued events.
    pub waiting: bool,
    /// The windows reduced.
    pub reduced: Vec<Reduced>,
}

/// A reducer: any worker may run one; the lease decides which does the work.
#[derive(Debug)]
pub struct Reducer {
    cluster: Cluster,
    job: Arc<ClusterJob>,
    groups: Vec<Group>,
    me: String,
    clock: Clock,
    grace: Duration,
    waiting: Option<(String, Instant)>,
    log: Arc<dyn Log>,
}

/// Reads the events clock.
pub(crate) async fn read_clock(state: &kv::Store) -> Result<Option<EventClock>, ClusterError> {
    Ok(state
        .get(CLOCK_KEY)
        .await
        .map_err(|e| ClusterError::nats("reading the events clock", e))?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Widens the events clock to include `seen`; the clock it holds then.
pub(crate) async fn advance_clock(
    state: &kv::Store,
    seen: EventClock,
) -> Result<EventClock, ClusterError> {
    // Each failed compare-and-set means another worker widened it meanwhile, so this ends
    // unless more lanes than attempts keep racing.
    for _ in 0..64 {
        let entry = state
            .entry(CLOCK_KEY)
            .await
            .map_err(|e| ClusterError::nats("reading the events clock", e))?;
        let current = entry
            .as_ref()
            .filter(|e| e.operation == kv::Operation::Put)
            .and_then(|e| serde_json::from_slice::<EventClock>(&e.value).ok());
        let merged = current.map_or(seen, |c| c.merge(seen));
        if Some(merged) == current {
            return Ok(merged);
        }
        let value = Bytes::from(serde_json::to_vec(&merged).unwrap_or_default());
        let done = match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                state.update(CLOCK_KEY, value, e.revision).await.is_ok()
            }
            _ => state.create(CLOCK_KEY, value).await.is_ok(),
        };
        if done {
            return Ok(merged);
        }
    }
    Err(ClusterError::nats(
        "advancing the events clock",
        "too many concurrent updates",
    ))
}

fn secs(t: Timestamp) -> i64 {
    t.as_secs()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_nanos(secs.saturating_mul(1_000_000_000), 0)
}

impl Reducer {
    /// A reducer named `me` for the job's groups.
    pub fn new(
        cluster: Cluster,
        job: Arc<ClusterJob>,
        me: &str,
        clock: Clock,
        grace: Duration,
        log: Arc<dyn Log>,
    ) -> Reducer {
        let groups = groups(&job);
        Reducer {
            cluster,
            job,
            groups,
            me: me.to_owned(),
            clock,
            grace,
            waiting: None,
            log,
        }
    }

    /// Takes or renews the lease; whether this reducer holds it.
    async fn lease(&self) -> Result<bool, ClusterError> {
        let lease = &self.cluster.lease;
        let entry = lease
            .entry(LEASE_KEY)
            .await
            .map_err(|e| ClusterError::nats("reading the reducer lease", e))?;
        let me = Bytes::from(self.me.clone());
        Ok(match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                e.value == me && lease.update(LEASE_KEY, me, e.revision).await.is_ok()
            }
            _ => lease.create(LEASE_KEY, me).await.is_ok(),
        })
    }

    /// Gives the lease up, if held.
    pub async fn release(&self) {
        let lease = &self.cluster.lease;
        if let Ok(Some(e)) = lease.entry(LEASE_KEY).await
            && e.operation == kv::Operation::Put
            && e.value == self.me.as_bytes()
        {
            let _ = lease
                .delete_expect_revision(LEASE_KEY, Some(e.revision))
                .await;
        }
    }

    /// Whether every event message the stream holds now has been processed.
    async fn caught_up(&self) -> Result<bool, ClusterError> {
        let mut events = self.cluster.events.clone();
        let info = events
            .info()
            .await
            .map_err(|e| ClusterError::nats("reading the events stream", e))?;
        let (last, messages) = (info.state.last_sequence, info.state.messages);
        Ok(match events.consumer_info(CONSUMER).await {
            Ok(c) => {
                (c.num_pending == 0 && c.num_ack_pending == 0)
                    || c.ack_floor.stream_sequence >= last
            }
            Err(_) => messages == 0,
        })
    }

    /// Whether `what` (a window, or a schedule's start; `id` names it) may go ahead: every event
    /// message the stream holds has been processed, or it has waited out the grace period (then
    /// the warning says so, and what that costs: `cost`).
    async fn queue_allows(
        &mut self,
        id: &str,
        what: &str,
        cost: &str,
    ) -> Result<bool, ClusterError> {
        if !self.caught_up().await? {
            let since = match &self.waiting {
                Some((waiting, since)) if waiting == id => *since,
                _ => {
                    self.waiting = Some((id.to_owned(), Instant::now()));
                    self.log.info(&format!("{what} waits for queued events"));
                    return Ok(false);
                }
            };
            if since.elapsed() < self.grace {
                return Ok(false);
            }
            self.log.warn(&format!(
                "{what} goes ahead with events still queued (grace of {} s passed); {cost}",
                self.grace.as_secs()
            ));
        }
        self.waiting = None;
        Ok(true)
    }

    /// Runs every window that is due. With `drain`, also every later window that starts at or
    /// before the latest event seen (a replay's or a shutdown's last windows).
    pub async fn tick(&mut self, drain: bool) -> Result<Tick, ClusterError> {
        let events = read_clock(&self.cluster.state).await?;
        let now = match self.clock {
            Clock::Wall => cimhunt_engine::now(),
            Clock::Events => match events {
                Some(c) => at(c.max + LIVE_BUCKET_SECS - 1),
                None => {
                    return Ok(Tick {
                        held: self.lease().await?,
                        ..Tick::default()
                    });
                }
            },
        };
        let horizon = if drain {
            events.map(|c| at(c.max + LIVE_BUCKET_SECS - 1))
        } else {
            None
        };
        let oldest = match self.clock {
            Clock::Events => events.map(|c| at(c.min)),
            Clock::Wall => None,
        };
        let mut tick = Tick::default();
        if !self.lease().await? {
            return Ok(tick);
        }
        tick.held = true;
        let mut floor: Option<i64> = Some(i64::MAX);
        for gi in 0..self.groups.len() {
            let (mut done, latest, waiting) = self.group_step(gi, now, horizon, oldest).await?;
            tick.reduced.append(&mut done);
            tick.waiting |= waiting;
            floor = match (floor, latest) {
                (Some(f), Some(l)) => Some(f.min(l)),
                _ => None,
            };
        }
        if let Some(f) = floor.filter(|f| *f != i64::MAX) {
            self.purge_before(f).await;
        }
        Ok(tick)
    }

    async fn read_record(&self, key: &str) -> Result<Option<(WindowRecord, u64)>, ClusterError> {
        let entry = self
            .cluster
            .state
            .entry(key)
            .await
            .map_err(|e| ClusterError::nats(format!("reading {key}"), e))?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .and_then(|e| {
                serde_json::from_slice::<WindowRecord>(&e.value)
                    .ok()
                    .map(|r| (r, e.revision))
            }))
    }

    /// Runs a group's due windows; returns them, the end of its last committed window, and
    /// whether a due window waits for queued events.
    async fn group_step(
        &mut self,
        gi: usize,
        now: Timestamp,
        horizon: Option<Timestamp>,
        oldest: Option<Timestamp>,
    ) -> Result<(Vec<Reduced>, Option<i64>, bool), ClusterError> {
        let g = self.groups[gi].clone();
        let key = window_key(&g.id);
        let schedule_err =
            |e: cimhunt_serve::schedule::ScheduleError| ClusterError::Schedule(e.to_string());
        let (mut record, mut revision) = match self.read_record(&key).await? {
            Some(r) => r,
            None => {
                // On the events clock a schedule starts from the earliest event, so it waits
                // until the queue is processed: messages are acknowledged out of time order
                // (a replay published late files first, several lanes), and one anchored on the
                // first acknowledged would skip the windows of earlier events still queued.
                let (now, oldest) = match self.clock {
                    Clock::Wall => (now, oldest),
                    Clock::Events => {
                        let what = format!("schedule {}", g.id);
                        let start = format!("{}@start", g.id);
                        let cost = "windows that end before the earliest event processed so far \
                                    will not run";
                        if !self.queue_allows(&start, &what, cost).await? {
                            return Ok((Vec::new(), None, true));
                        }
                        // Read again now: every processed message widened it before its ack.
                        match read_clock(&self.cluster.state).await? {
                            Some(c) => (at(c.max + LIVE_BUCKET_SECS - 1), Some(at(c.min))),
                            None => (now, oldest),
                        }
                    }
                };
                let mut s = Scheduler::new(vec![g.schedule.clone()], &ScheduleState::default())
                    .map_err(schedule_err)?;
                s.anchor(now, oldest);
                let last = s
                    .last_windows()
                    .get(&g.id)
                    .map_or(secs(now), |n| n.div_euclid(1_000_000_000));
                let record = WindowRecord {
                    cron: g.schedule.cron_schedule.clone(),
                    earliest: g.schedule.earliest.text().to_owned(),
                    latest: g.schedule.latest.text().to_owned(),
                    last,
                    last_latest: None,
                    clock: self.clock.name().to_owned(),
                };
                let value = Bytes::from(serde_json::to_vec(&record).unwrap_or_default());
                match self.cluster.state.create(&key, value).await {
                    Ok(rev) => {
                        self.log.info(&format!(
                            "schedule {} starts after {}",
                            g.id,
                            at(record.last)
                        ));
                        (record, rev)
                    }
                    Err(_) => match self.read_record(&key).await? {
                        Some(r) => r,
                        None => return Ok((Vec::new(), None, false)),
                    },
                }
            }
        };
        let mut out = Vec::new();
        let mut waiting = false;
        loop {
            let state = ScheduleState {
                last_window: [(g.id.clone(), record.last.saturating_mul(1_000_000_000))]
                    .into_iter()
                    .collect(),
                ..ScheduleState::default()
            };
            let sched = Scheduler::new(vec![g.schedule.clone()], &state).map_err(schedule_err)?;
            let Some(w) = sched.next_due(now, horizon).map_err(schedule_err)? else {
                break;
            };
            let wid = format!("{}@{}", g.id, secs(w.scheduled));
            let what = format!("window {}", describe(&w));
            if !self.queue_allows(&wid, &what, "they will be late").await? {
                waiting = true;
                break;
            }
            let reduced = self.reduce_window(&g, &w).await?;
            let next = WindowRecord {
                last: secs(w.scheduled),
                last_latest: Some(secs(w.latest)),
                ..record.clone()
            };
            let value = Bytes::from(serde_json::to_vec(&next).unwrap_or_default());
            match self.cluster.state.update(&key, value, revision).await {
                Ok(rev) => {
                    self.log.info(&format!(
                        "window {}: {} rows, {} risk events, {} notables ({} bundles{})",
                        describe(&w),
                        reduced.rows,
                        reduced.risk,
                        reduced.notables,
                        reduced.bundles,
                        if reduced.duplicates > 0 {
                            format!(", {} duplicate copies ignored", reduced.duplicates)
                        } else {
                            String::new()
                        }
                    ));
                    record = next;
                    revision = rev;
                    out.push(reduced);
                }
                // Another reducer committed this window meanwhile: its outputs stand (ours had
                // the same ids and were dropped), and it owns the schedule now.
                Err(_) => break,
            }
            if !self.lease().await? {
                break;
            }
        }
        Ok((out, record.last_latest, waiting))
    }

    /// Merges a window's partial states and publishes its outputs.
    async fn reduce_window(&self, g: &Group, w: &Window) -> Result<Reduced, ClusterError> {
        let (from, to) = (secs(w.earliest), secs(w.latest));
        if from.rem_euclid(LIVE_BUCKET_SECS) != 0 || to.rem_euclid(LIVE_BUCKET_SECS) != 0 {
            return Err(ClusterError::Schedule(format!(
                "window {} does not start and end on whole minutes (time buckets are {} s)",
                describe(w),
                LIVE_BUCKET_SECS
            )));
        }
        let job = &self.job;
        // The group's detections and their hidden subsearch detections, finished together.
        let mut nodes: Vec<usize> = g.members.clone();
        let mut k = 0;
        while k < nodes.len() {
            let subs = job.job().detections()[nodes[k]].subsearches().to_vec();
            nodes.extend(subs);
            k += 1;
        }
        // A partial comes once per plan: it is merged once, into the first of the window's
        // detections with that plan; the others get a copy of the merged state.
        let in_window: HashSet<usize> = nodes.iter().copied().collect();
        let mut states = Collector::new(job.job(), job.options().spill.as_ref());
        states.share_plans(job.job(), &nodes);
        let mut asm = Assembler::default();
        let mut bundles = 0u64;
        let mut unknown = 0u64;
        let mut failure: Option<ClusterError> = None;
        let (first_hour, last_hour) = (from.div_euclid(3600), (to - 1).div_euclid(3600));
        for hour in first_hour..=last_hour {
            let subject = self.cluster.names.live_partials(hour);
            read_subject(&self.cluster.partials, &subject, |msg| {
                let Some((base, whole)) = asm.offer(&msg) else {
                    return Ok(());
                };
                let bundle = Bundle::decode(&whole, &base)?;
                bundles += 1;
                for p in bundle.partials {
                    if p.bucket < from || p.bucket >= to {
                        continue;
                    }
                    let ds = job.by_fingerprint(&p.fingerprint);
                    if ds.is_empty() {
                        unknown += 1;
                        continue;
                    }
                    // One partial for every detection with this plan that the window finishes.
                    let Some(&first) = ds.iter().find(|d| in_window.contains(d)) else {
                        continue;
                    };
                    let dets = job.job().detections();
                    let mut failed = |d: usize, e: String| {
                        if failure.is_none() {
                            failure = Some(ClusterError::State {
                                detection: dets[d].name().to_owned(),
                                message: format!("bundle {base}: {e}"),
                            });
                        }
                    };
                    match Partial::decode(&p.bytes, dets[first].fingerprint()) {
                        Ok(part) => {
                            if let Err(e) = states.merge(job.job(), first, part.state) {
                                failed(first, e.to_string());
                            }
                        }
                        Err(e) => failed(first, e.to_string()),
                    }
                }
                states.relieve(job.job());
                Ok(())
            })
            .await?;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if unknown > 0 {
            self.log.warn(&format!(
                "window {}: {unknown} partial states of detections this job does not have \
                 (workers with another job?) ignored",
                describe(w)
            ));
        }
        let options = job.options();
        let mut ctx = ExecCtx::new(w.scheduled, options.tz.clone()).with_limits(options.limits);
        let row_spill = options.row_spill();
        if let Some(spill) = &row_spill {
            ctx = ctx.with_row_spill(Arc::clone(spill));
        }
        let window_header = format!("{}/{}/{}/{}", g.id, secs(w.scheduled), from, to);
        let mut items: Vec<(String, Piece)> = Vec::new();
        let (mut rows_n, mut risk_n, mut notable_n, mut republished) = (0, 0, 0, 0);
        let names = &self.cluster.names;
        let states_spilled = states.spill_report();
        if let Some(e) = &states_spilled.error {
            self.log.warn(&format!("window {}: {e}", describe(w)));
        }
        let mut finals = states.finish();
        for &d in &g.members {
            let det = &job.job().detections()[d];
            let rows = finish_one(job.job(), d, &mut finals, &ctx);
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    self.log.warn(&format!(
                        "window {}: detection `{}`: {e}",
                        describe(w),
                        det.name()
                    ));
                    continue;
                }
            };
            let alert = AlertContext::new(&job.detections()[d], w.scheduled);
            let fp = &det.fingerprint()[..16.min(det.fingerprint().len())];
            let mut base = format!("{}:{}:{fp}", g.id, secs(w.scheduled));
            // Detections with the same plan are told apart by their order among themselves.
            let same_plan = job.by_fingerprint(det.fingerprint());
            if let Some(k) = same_plan.iter().position(|&x| x == d).filter(|&k| k > 0) {
                base.push_str(&format!(".{k}"));
            }
            // Rows are made again as they are taken, and published a few at a time: a window
            // never holds all its outputs (their ids do not depend on how they are grouped).
            for (r, row) in rows.into_rows().enumerate() {
                let row = match row {
                    Ok(row) => row,
                    Err(e) => {
                        return Err(ClusterError::State {
                            detection: det.name().to_owned(),
                            message: e.to_string(),
                        });
                    }
                };
                let mut push = |kind: OutputKind, id: String, body: String| {
                    items.push((
                        names.output(kind),
                        Piece {
                            id,
                            headers: vec![
                                (HEADER_WINDOW, window_header.clone()),
                                (HEADER_DETECTION, det.name().to_owned()),
                            ],
                            payload: body.into_bytes(),
                        },
                    ));
                };
                push(
                    OutputKind::Rows,
                    format!("{base}:r{r}"),
                    row_json(det.name(), &row),
                );
                rows_n += 1;
                for (k, line) in risk_events(&alert, &row).into_iter().enumerate() {
                    push(OutputKind::Risk, format!("{base}:k{r}.{k}"), line);
                    risk_n += 1;
                }
                push(
                    OutputKind::Notable,
                    format!("{base}:n{r}"),
                    notable_event(&alert, &row),
                );
                notable_n += 1;
                if items.len() >= PUBLISH_AT_ONCE {
                    republished += self.publish_outputs(std::mem::take(&mut items)).await?;
                }
            }
        }
        republished += self.publish_outputs(items).await?;
        if let Some(e) = row_spill.as_ref().and_then(|s| s.failure()) {
            self.log.warn(&format!("window {}: {e}", describe(w)));
        }
        Ok(Reduced {
            group: g.id.clone(),
            window: w.clone(),
            rows: rows_n,
            risk: risk_n,
            notables: notable_n,
            bundles,
            duplicates: asm.duplicates,
            republished,
            spilled_state_bytes: states_spilled.bytes,
            spilled_row_bytes: row_spill.map_or(0, |s| s.written_bytes()),
        })
    }

    /// Publishes a window's outputs; returns how many the stream already had.
    async fn publish_outputs(&self, items: Vec<(String, Piece)>) -> Result<u64, ClusterError> {
        // An output larger than a message is cut like a bundle (pieces with the same base).
        let max = self.cluster.max_payload() - 1024;
        let items = items
            .into_iter()
            .flat_map(|(subject, piece)| {
                let headers = piece.headers.clone();
                pieces(&piece.id, piece.payload, max)
                    .into_iter()
                    .map(move |mut p| {
                        p.headers.extend(headers.iter().cloned());
                        (subject.clone(), p)
                    })
            })
            .collect();
        let sent = publish_all(&self.cluster.js, items).await?;
        Ok(sent.duplicates)
    }

    /// Purges live partial states of whole hours that end before `latest` less an hour (no
    /// window of any group needs them any more).
    async fn purge_before(&self, latest: i64) {
        let cutoff = latest.div_euclid(3600) - 1;
        let names = &self.cluster.names;
        let Ok(mut subjects) = self
            .cluster
            .partials
            .info_with_subjects(names.live_partials_all())
            .await
        else {
            return;
        };
        let mut old = Vec::new();
        while let Some(Ok((subject, _))) = subjects.next().await {
            if names.hour_of(&subject).is_some_and(|h| h < cutoff) {
                old.push(subject);
            }
        }
        for subject in old {
            let _ = self.cluster.partials.purge().filter(&subject).await;
        }
    }
}

fn describe(w: &Window) -> String {
    format!("{} ({}..{})", w.scheduled, w.earliest, w.latest)
}
