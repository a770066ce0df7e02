//! `cimhunt status`: what the cluster holds and does — the events queue and its lag, the
//! workers alive, the schedule's progress and the windows waiting, batches in flight.

use std::fmt;

use async_nats::jetstream::kv;
use cimhunt_serve::schedule::{ScheduleState, Scheduler};
use cimhunt_serve::{DetectionId, ScheduledDetection};
use cimhunt_spl::Timestamp;
use futures_util::StreamExt;
use serde::Serialize;

use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::job::registered;
use crate::names::CONSUMER;
use crate::process::LIVE_BUCKET_SECS;
use crate::reduce::read_clock;
use crate::schedule::WindowRecord;

/// A stream's size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStatus {
    /// Its name.
    pub name: String,
    /// Messages held.
    pub messages: u64,
    /// Bytes held.
    pub bytes: u64,
}

/// The workers' consumer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// Messages not yet delivered to any worker.
    pub pending: u64,
    /// Messages delivered and not yet acknowledged.
    pub in_flight: usize,
    /// Messages delivered more than once.
    pub redelivered: usize,
    /// Pull requests waiting (idle lanes).
    pub waiting_pulls: usize,
}

/// One worker, from its heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkerStatus {
    /// Its name.
    pub name: String,
    /// Lanes.
    pub lanes: u64,
    /// Messages processed.
    pub messages: u64,
    /// Windows reduced.
    pub windows: u64,
    /// Partial states that came after their window.
    pub late: u64,
    /// Its schedule clock.
    pub clock: String,
    /// Seconds since its last heartbeat.
    pub seen_secs_ago: i64,
    /// Whether it holds the reducer lease.
    pub reducing: bool,
}

/// One schedule group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    /// The group.
    pub group: String,
    /// `cron_schedule earliest..latest`.
    pub schedule: String,
    /// The clock it runs on.
    pub clock: String,
    /// The last window committed (its scheduled time).
    pub last: String,
    /// Windows due and not yet reduced.
    pub pending: u64,
    /// The next window's scheduled time.
    pub next: Option<String>,
}

/// Everything `cimhunt status` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    /// The server.
    pub url: String,
    /// The registered job.
    pub job: Option<String>,
    /// Raw events.
    pub events: StreamStatus,
    /// The queue.
    pub queue: Option<QueueStatus>,
    /// Partial states.
    pub partials: StreamStatus,
    /// Outputs.
    pub outputs: StreamStatus,
    /// Workers with a live heartbeat.
    pub workers: Vec<WorkerStatus>,
    /// Schedules.
    pub schedules: Vec<ScheduleStatus>,
    /// The events clock (earliest and latest minute with a matching live event).
    pub events_clock: Option<(String, String)>,
    /// Batches with messages still queued: id and messages.
    pub batches: Vec<(String, u64)>,
}

/// Reads the cluster's status.
pub fn status(options: &NatsOptions) -> Result<Status, ClusterError> {
    let rt = crate::runtime()?;
    rt.block_on(status_async(options))
}

async fn stream_status(
    s: &async_nats::jetstream::stream::Stream,
) -> Result<StreamStatus, ClusterError> {
    let mut s = s.clone();
    let info = s
        .info()
        .await
        .map_err(|e| ClusterError::nats("reading a stream", e))?;
    Ok(StreamStatus {
        name: info.config.name.clone(),
        messages: info.state.messages,
        bytes: info.state.bytes,
    })
}

async fn kv_values(store: &kv::Store) -> Vec<(String, bytes::Bytes)> {
    let mut out = Vec::new();
    let Ok(names) = crate::keys::keys(store).await else {
        return out;
    };
    for k in names {
        if let Ok(Some(v)) = store.get(&k).await {
            out.push((k, v));
        }
    }
    out
}

async fn status_async(options: &NatsOptions) -> Result<Status, ClusterError> {
    let cluster = Cluster::open(options).await?;
    let names = &cluster.names;
    let now = cimhunt_engine::now();
    let queue = cluster
        .events
        .consumer_info(CONSUMER)
        .await
        .ok()
        .map(|c| QueueStatus {
            pending: c.num_pending,
            in_flight: c.num_ack_pending,
            redelivered: c.num_redelivered,
            waiting_pulls: c.num_waiting,
        });
    let lease_holder = cluster
        .lease
        .get("reducer")
        .await
        .ok()
        .flatten()
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    let mut workers = Vec::new();
    for (name, v) in kv_values(&cluster.workers).await {
        let j: serde_json::Value = serde_json::from_slice(&v).unwrap_or_default();
        let num = |k: &str| j[k].as_u64().unwrap_or(0);
        workers.push(WorkerStatus {
            reducing: lease_holder.as_deref() == Some(name.as_str()),
            name,
            lanes: num("lanes"),
            messages: num("messages"),
            windows: num("windows"),
            late: num("late"),
            clock: j["clock"].as_str().unwrap_or_default().to_owned(),
            seen_secs_ago: now.as_secs() - j["seen"].as_i64().unwrap_or(0),
        });
    }
    let clock = read_clock(&cluster.state).await?;
    let mut schedules = Vec::new();
    for (key, v) in kv_values(&cluster.state).await {
        let Some(group) = key.strip_prefix("window.") else {
            continue;
        };
        let Ok(r) = serde_json::from_slice::<WindowRecord>(&v) else {
            continue;
        };
        let clock_now = if r.clock == "events" {
            clock.map(|c| Timestamp::from_nanos((c.max + LIVE_BUCKET_SECS - 1) * 1_000_000_000, 0))
        } else {
            Some(now)
        };
        let (pending, next) = pending_windows(group, &r, clock_now);
        schedules.push(ScheduleStatus {
            group: group.to_owned(),
            schedule: format!("{} {}..{}", r.cron, r.earliest, r.latest),
            clock: r.clock.clone(),
            last: Timestamp::from_nanos(r.last.saturating_mul(1_000_000_000), 0).to_string(),
            pending,
            next,
        });
    }
    let mut batches = Vec::new();
    if let Ok(mut subjects) = cluster
        .events
        .info_with_subjects(names.batch_events_all())
        .await
    {
        while let Some(Ok((subject, n))) = subjects.next().await {
            let id = subject.rsplit('.').next().unwrap_or_default().to_owned();
            batches.push((id, n as u64));
        }
    }
    batches.sort();
    let secs = |s: i64| Timestamp::from_nanos(s.saturating_mul(1_000_000_000), 0).to_string();
    Ok(Status {
        url: options.url().to_owned(),
        job: registered(&cluster.state).await?.map(|(_, d)| d),
        events: stream_status(&cluster.events).await?,
        queue,
        partials: stream_status(&cluster.partials).await?,
        outputs: stream_status(&cluster.outputs).await?,
        workers,
        schedules,
        events_clock: clock.map(|c| (secs(c.min), secs(c.max + LIVE_BUCKET_SECS))),
        batches,
    })
}

/// How many windows of a group are due at `now` and not committed, and the next one's time.
fn pending_windows(group: &str, r: &WindowRecord, now: Option<Timestamp>) -> (u64, Option<String>) {
    let Ok(sd) = ScheduledDetection::new(DetectionId::new(group), &r.cron, &r.earliest, &r.latest)
    else {
        return (0, None);
    };
    let state = ScheduleState {
        last_window: [(group.to_owned(), r.last.saturating_mul(1_000_000_000))]
            .into_iter()
            .collect(),
        ..ScheduleState::default()
    };
    let Ok(mut s) = Scheduler::new(vec![sd], &state) else {
        return (0, None);
    };
    let far = Timestamp::from_nanos(i64::MAX / 2, 0);
    let next = s
        .next_due(far, None)
        .ok()
        .flatten()
        .map(|w| w.scheduled.to_string());
    let Some(now) = now else {
        return (0, next);
    };
    let mut pending = 0;
    while let Ok(Some(w)) = s.next_due(now, None) {
        pending += 1;
        s.commit(&w);
        if pending >= 10_000 {
            break;
        }
    }
    (pending, next)
}

impl Status {
    /// As one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cluster at {}", self.url)?;
        writeln!(
            f,
            "  job:       {}",
            self.job
                .as_deref()
                .unwrap_or("none registered (no worker has started)")
        )?;
        writeln!(
            f,
            "  events:    {} messages queued ({})",
            self.events.messages,
            size(self.events.bytes)
        )?;
        match &self.queue {
            Some(q) => writeln!(
                f,
                "  lag:       {} waiting for a worker, {} in flight, {} redelivered, {} idle pulls",
                q.pending, q.in_flight, q.redelivered, q.waiting_pulls
            )?,
            None => writeln!(f, "  lag:       no workers' consumer yet")?,
        }
        writeln!(
            f,
            "  partials:  {} messages ({}); outputs: {} messages ({})",
            self.partials.messages,
            size(self.partials.bytes),
            self.outputs.messages,
            size(self.outputs.bytes)
        )?;
        writeln!(f, "  workers:   {}", self.workers.len())?;
        for w in &self.workers {
            writeln!(
                f,
                "    {:<24} {} lane{}, {} messages, {} windows, {} late, {} clock, seen {} s ago{}",
                w.name,
                w.lanes,
                if w.lanes == 1 { "" } else { "s" },
                w.messages,
                w.windows,
                w.late,
                w.clock,
                w.seen_secs_ago,
                if w.reducing { ", reducing" } else { "" }
            )?;
        }
        if let Some((a, b)) = &self.events_clock {
            writeln!(f, "  events clock: {a} .. {b}")?;
        }
        if self.schedules.is_empty() {
            writeln!(f, "  windows:   no schedule started yet")?;
        }
        for s in &self.schedules {
            writeln!(
                f,
                "  windows:   {} ({}, {} clock): last {}, {} pending{}",
                s.group,
                s.schedule,
                s.clock,
                s.last,
                s.pending,
                s.next
                    .as_ref()
                    .map(|n| format!(", next at {n}"))
                    .unwrap_or_default()
            )?;
        }
        for (b, n) in &self.batches {
            writeln!(f, "  batch {b}: {n} messages queued")?;
        }
        Ok(())
    }
}
