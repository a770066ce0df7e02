//! A worker: pulls event messages from the shared durable consumer, runs them through its
//! lanes' engines, publishes the partial states, and acknowledges each message only once they
//! are stored and the shared events clock covers their time buckets; it also beats a heartbeat
//! and, when it holds the lease, reduces the windows that are due.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use bytes::Bytes;
use cimhunt_engine::Partial;
use futures_util::StreamExt;

use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::job::{ClusterJob, register};
use crate::log::Log;
use crate::names::is_token;
use crate::process::{LIVE_BUCKET_SECS, Lane};
use crate::reduce::{Clock, Reducer, advance_clock};
use crate::repair::StrandedWatch;
use crate::schedule::EventClock;
use crate::send::publish_all;
use crate::wire::{
    Bundle, EventMessage, HEADER_BATCH, Piece, Report, VERSION, WirePartial, WireRecordError,
    pieces,
};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Its name (letters, digits, `-`, `_`); by default `w-<pid>-<random>`.
    pub name: Option<String>,
    /// Messages processed at once (one engine thread each).
    pub lanes: usize,
    /// The schedule's clock.
    pub clock: Clock,
    /// Whether it may reduce windows.
    pub reduce: bool,
    /// Stop once the queue is empty, after running every window that holds received events.
    pub drain: bool,
    /// Replace the job registered on the cluster by this one.
    pub replace_job: bool,
    /// How often it looks for due windows and beats its heartbeat.
    pub tick: Duration,
    /// How long a due window waits for queued events before it runs anyway.
    pub grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            name: None,
            lanes: 1,
            clock: Clock::Wall,
            reduce: true,
            drain: false,
            replace_job: false,
            tick: Duration::from_secs(5),
            grace: Duration::from_secs(300),
        }
    }
}

/// Asks a worker to stop (after the messages it is processing).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Stop {
    /// A new, unset signal.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks to stop.
    pub fn stop(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    /// Whether stopping was asked.
    pub fn is_set(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    /// Sets the signal on SIGINT or SIGTERM (a thread waits for them).
    pub fn on_signals(&self) {
        let stop = self.clone();
        let _ = std::thread::Builder::new()
            .name("signals".to_owned())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    #[cfg(unix)]
                    {
                        use tokio::signal::unix::{SignalKind, signal};
                        let Ok(mut term) = signal(SignalKind::terminate()) else {
                            let _ = tokio::signal::ctrl_c().await;
                            return;
                        };
                        tokio::select! {
                            _ = term.recv() => {}
                            _ = tokio::signal::ctrl_c() => {}
                        }
                    }
                    #[cfg(not(unix))]
                    let _ = tokio::signal::ctrl_c().await;
                });
                stop.stop();
            });
    }

    async fn wait(&self, at_most: Duration) {
        if self.is_set() {
            return;
        }
        let _ = tokio::time::timeout(at_most, self.0.1.notified()).await;
    }
}

/// What a worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Its name.
    pub name: String,
    /// Event messages processed and acknowledged.
    pub messages: u64,
    /// Partial-state bundles published (stored or recognised as already stored).
    pub bundles: u64,
    /// Windows it reduced.
    pub windows: u64,
    /// Partial states for windows that had already run.
    pub late: u64,
    /// Bytes of merged states the windows it reduced wrote to disk beyond the state budget
    /// (`--state-memory`), and bytes written while their rows were made.
    pub spilled_bytes: (u64, u64),
}

#[derive(Debug, Default)]
struct Counters {
    messages: AtomicU64,
    bundles: AtomicU64,
    late: AtomicU64,
    busy: AtomicU64,
    /// The shared events clock as this worker last read or widened it.
    clock: Mutex<Option<EventClock>>,
    /// Per group, the end of its last committed window (for counting late states).
    committed: Mutex<Option<i64>>,
}

impl Counters {
    /// Whether the shared clock, as last seen, covers `seen` already.
    fn clock_covers(&self, seen: EventClock) -> bool {
        let known = *self.clock.lock().unwrap_or_else(|e| e.into_inner());
        known.is_some_and(|k| k.merge(seen) == k)
    }

    fn clock_seen(&self, clock: EventClock) {
        let mut known = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        *known = Some(known.map_or(clock, |k| k.merge(clock)));
    }
}

/// A default worker name.
pub fn default_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("w-{}-{:04x}", std::process::id(), nanos & 0xffff)
}

/// Runs a worker until `stop` (or, with `drain`, until the queue is empty and the last windows
/// ran). Builds its own runtime: call it from a plain thread.
pub fn run_worker(
    options: &NatsOptions,
    job: Arc<ClusterJob>,
    config: WorkerConfig,
    stop: Stop,
    log: Arc<dyn Log>,
) -> Result<WorkerSummary, ClusterError> {
    let rt = crate::runtime()?;
    let handle = rt.handle().clone();
    rt.block_on(worker_main(options, job, config, stop, log, handle))
}

async fn worker_main(
    options: &NatsOptions,
    job: Arc<ClusterJob>,
    config: WorkerConfig,
    stop: Stop,
    log: Arc<dyn Log>,
    handle: tokio::runtime::Handle,
) -> Result<WorkerSummary, ClusterError> {
    let name = config.name.clone().unwrap_or_else(default_name);
    if !is_token(&name) {
        return Err(ClusterError::Config(format!(
            "worker name {name:?}: expected 1 to 64 letters, digits, '-' or '_'"
        )));
    }
    let cluster = Cluster::open(options).await?;
    register(&cluster.state, &job, config.replace_job).await?;
    let consumer = cluster.consumer().await?;
    log.info(&format!(
        "{} started: {}, {} lane{}, {} clock{}",
        name,
        job.describe(),
        config.lanes,
        if config.lanes == 1 { "" } else { "s" },
        match config.clock {
            Clock::Wall => "wall",
            Clock::Events => "events",
        },
        if config.reduce { "" } else { ", not reducing" }
    ));
    let counters = Arc::new(Counters::default());
    let lanes_stop = Stop::new();
    let mut lanes = Vec::new();
    for i in 0..config.lanes.max(1) {
        let (cluster, consumer, job, counters, stop, log, handle) = (
            cluster.clone(),
            consumer.clone(),
            Arc::clone(&job),
            Arc::clone(&counters),
            lanes_stop.clone(),
            Arc::clone(&log),
            handle.clone(),
        );
        lanes.push(
            std::thread::Builder::new()
                .name(format!("lane-{i}"))
                .spawn(move || {
                    lane_loop(&handle, &cluster, &consumer, &job, &counters, &stop, &*log)
                })
                .map_err(|e| ClusterError::Config(format!("cannot start a lane: {e}")))?,
        );
    }
    let mut reducer = Reducer::new(
        cluster.clone(),
        Arc::clone(&job),
        &name,
        config.clock,
        config.grace,
        Arc::clone(&log),
    );
    let started = cimhunt_engine::now();
    let mut windows = 0u64;
    let mut spilled = (0u64, 0u64);
    let mut stranded = StrandedWatch::default();
    loop {
        // Messages a restarted server brought back behind the consumer's back.
        match stranded.check(&cluster, &name).await {
            Ok(Some(n)) => log.warn(&format!(
                "the events stream held {n} messages the workers' consumer had finished with \
                 (a server restarted uncleanly?): consumer re-created, they are delivered again"
            )),
            Ok(None) => {}
            Err(e) => log.warn(&format!("checking the queue: {e}")),
        }
        heartbeat(&cluster, &name, &config, &counters, started, windows).await;
        refresh_committed(&cluster, &counters).await;
        if config.drain && queue_empty(&cluster, &counters).await {
            if !config.reduce {
                break;
            }
            match reducer.tick(true).await {
                Ok(t) => {
                    windows += t.reduced.len() as u64;
                    for r in &t.reduced {
                        spilled.0 += r.spilled_state_bytes;
                        spilled.1 += r.spilled_row_bytes;
                    }
                    // Done when this worker holds the lease and nothing is left to run.
                    if t.held && !t.waiting && t.reduced.is_empty() {
                        break;
                    }
                    if !t.reduced.is_empty() {
                        continue;
                    }
                }
                Err(e) => log.warn(&format!("reducing: {e}")),
            }
        } else if config.reduce {
            match reducer.tick(false).await {
                Ok(t) => {
                    windows += t.reduced.len() as u64;
                    for r in &t.reduced {
                        spilled.0 += r.spilled_state_bytes;
                        spilled.1 += r.spilled_row_bytes;
                    }
                }
                Err(e) => log.warn(&format!("reducing: {e}")),
            }
        }
        if stop.is_set() {
            break;
        }
        stop.wait(config.tick).await;
        if stop.is_set() {
            break;
        }
    }
    lanes_stop.stop();
    for lane in lanes {
        let _ = tokio::task::spawn_blocking(move || lane.join()).await;
    }
    if config.reduce {
        reducer.release().await;
    }
    let _ = cluster.workers.delete(&name).await;
    let _ = cluster.client.flush().await;
    log.info(&format!(
        "{name} stopped: {} messages, {} windows reduced",
        counters.messages.load(Ordering::SeqCst),
        windows
    ));
    Ok(WorkerSummary {
        name,
        messages: counters.messages.load(Ordering::SeqCst),
        bundles: counters.bundles.load(Ordering::SeqCst),
        windows,
        late: counters.late.load(Ordering::SeqCst),
        spilled_bytes: spilled,
    })
}

/// Whether no message waits or is being processed anywhere.
async fn queue_empty(cluster: &Cluster, counters: &Counters) -> bool {
    if counters.busy.load(Ordering::SeqCst) > 0 {
        return false;
    }
    match cluster.events.consumer_info(crate::names::CONSUMER).await {
        Ok(c) => c.num_pending == 0 && c.num_ack_pending == 0,
        Err(_) => false,
    }
}

async fn heartbeat(
    cluster: &Cluster,
    name: &str,
    config: &WorkerConfig,
    counters: &Counters,
    started: cimhunt_spl::Timestamp,
    windows: u64,
) {
    let value = serde_json::json!({
        "name": name,
        "lanes": config.lanes,
        "messages": counters.messages.load(Ordering::SeqCst),
        "bundles": counters.bundles.load(Ordering::SeqCst),
        "late": counters.late.load(Ordering::SeqCst),
        "windows": windows,
        "reduces": config.reduce,
        "clock": match config.clock { Clock::Wall => "wall", Clock::Events => "events" },
        "started": started.to_string(),
        "seen": cimhunt_engine::now().as_secs(),
    });
    let _ = cluster
        .workers
        .put(name, Bytes::from(value.to_string()))
        .await;
}

async fn refresh_committed(cluster: &Cluster, counters: &Counters) {
    let Ok(keys) = crate::keys::keys(&cluster.state).await else {
        return;
    };
    let mut min: Option<i64> = None;
    for key in keys {
        if !key.starts_with("window.") {
            continue;
        }
        if let Ok(Some(v)) = cluster.state.get(&key).await
            && let Ok(r) = serde_json::from_slice::<crate::schedule::WindowRecord>(&v)
            && let Some(l) = r.last_latest
        {
            min = Some(min.map_or(l, |m: i64| m.min(l)));
        }
    }
    *counters.committed.lock().unwrap_or_else(|e| e.into_inner()) = min;
}

fn lane_loop(
    handle: &tokio::runtime::Handle,
    cluster: &Cluster,
    consumer: &PullConsumer,
    job: &ClusterJob,
    counters: &Counters,
    stop: &Stop,
    log: &dyn Log,
) {
    let mut lane = Lane::new(Arc::clone(job.job()), job.options().clone());
    let mut consumer = consumer.clone();
    let mut failing = false;
    while !stop.is_set() {
        let fetched = handle.block_on(async {
            let mut batch = consumer
                .batch()
                .max_messages(1)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            while let Some(m) = batch.next().await {
                out.push(m.map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(out)
        });
        let messages = match fetched {
            Ok(m) => {
                if std::mem::take(&mut failing) {
                    log.info("pulling again");
                }
                m
            }
            Err(e) => {
                if !stop.is_set() {
                    // Said once per outage. The server may have lost or re-created the consumer
                    // (a restart, a repair): it is looked up again, created when missing.
                    if !std::mem::replace(&mut failing, true) {
                        log.warn(&format!("pulling: {e} (retrying)"));
                    }
                    std::thread::sleep(Duration::from_millis(500));
                    if let Ok(c) = handle.block_on(cluster.consumer()) {
                        consumer = c;
                    }
                }
                continue;
            }
        };
        for msg in messages {
            counters.busy.fetch_add(1, Ordering::SeqCst);
            let r = handle_message(handle, cluster, job, &mut lane, counters, msg, log);
            counters.busy.fetch_sub(1, Ordering::SeqCst);
            if let Err(e) = r {
                log.warn(&e.to_string());
            }
        }
    }
}

/// Processes one message: states out, stored, then the message acknowledged.
fn handle_message(
    handle: &tokio::runtime::Handle,
    cluster: &Cluster,
    job: &ClusterJob,
    lane: &mut Lane,
    counters: &Counters,
    msg: jetstream::Message,
    log: &dyn Log,
) -> Result<(), ClusterError> {
    let (seq, delivered) = msg
        .info()
        .map(|i| (i.stream_sequence, i.delivered))
        .unwrap_or((0, 1));
    let header = |name: &str| {
        msg.headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let id = header("Nats-Msg-Id").unwrap_or_else(|| format!("seq-{seq}"));
    if delivered > 3 {
        log.warn(&format!("message {id} delivered {delivered} times"));
    }
    let names = &cluster.names;
    // The time buckets of a live message's states: the events clock must cover them before the
    // message is acknowledged.
    let mut seen: Option<EventClock> = None;
    let items: Vec<(String, Piece)> = match EventMessage::decode(&msg.payload, &id) {
        Ok(em) => {
            let batch = em.batch.clone();
            let order_input = if batch.is_some() { em.input_no } else { seq };
            let input = em.input.clone();
            let processed = lane.process(em, order_input);
            let (states, report) = match processed {
                Ok(p) => (p.states, p.report),
                Err(e) => {
                    log.warn(&format!("message {id}: {e}"));
                    (Vec::new(), failed_report(&input, &e))
                }
            };
            let encode = |(d, bucket, state): &(usize, i64, cimhunt_engine::State)| {
                let fp = job.job().detections()[*d].fingerprint();
                WirePartial {
                    fingerprint: fp.to_owned(),
                    bucket: *bucket,
                    bytes: Partial::encode(fp, *bucket, state),
                }
            };
            let max = cluster.max_payload() - 1024;
            match batch {
                Some(b) => {
                    let bundle = Bundle {
                        version: VERSION,
                        message: id.clone(),
                        partials: states.iter().map(encode).collect(),
                        report: Some(report),
                    };
                    let subject = names.batch_partials(&b.id);
                    pieces(&id, bundle.encode(), max)
                        .into_iter()
                        .map(|p| (subject.clone(), p))
                        .collect()
                }
                None => {
                    for e in report.errors.iter().take(5) {
                        log.warn(&format!("{}: {}", place(e), e.message));
                    }
                    let committed = *counters.committed.lock().unwrap_or_else(|e| e.into_inner());
                    let mut by_hour: BTreeMap<i64, Vec<WirePartial>> = BTreeMap::new();
                    for s in &states {
                        // Events without a time belong to no window.
                        if s.1 == i64::MIN {
                            continue;
                        }
                        if committed.is_some_and(|c| s.1 + LIVE_BUCKET_SECS <= c) {
                            counters.late.fetch_add(1, Ordering::SeqCst);
                        }
                        let bucket = EventClock { min: s.1, max: s.1 };
                        seen = Some(seen.map_or(bucket, |c| c.merge(bucket)));
                        by_hour
                            .entry(s.1.div_euclid(3600))
                            .or_default()
                            .push(encode(s));
                    }
                    by_hour
                        .into_iter()
                        .flat_map(|(hour, partials)| {
                            let base = format!("{id}/{hour}");
                            let bundle = Bundle {
                                version: VERSION,
                                message: id.clone(),
                                partials,
                                report: None,
                            };
                            let subject = names.live_partials(hour);
                            pieces(&base, bundle.encode(), max)
                                .into_iter()
                                .map(move |p| (subject.clone(), p))
                        })
                        .collect()
                }
            }
        }
        Err(e) => {
            // A message this build cannot read: said, acknowledged, and for a batch reported
            // so that the batch completes.
            log.warn(&e.to_string());
            match header(HEADER_BATCH) {
                Some(b) => {
                    let bundle = Bundle {
                        version: VERSION,
                        message: id.clone(),
                        partials: Vec::new(),
                        report: Some(failed_report(&id, &e)),
                    };
                    let subject = names.batch_partials(&b);
                    pieces(&id, bundle.encode(), cluster.max_payload() - 1024)
                        .into_iter()
                        .map(|p| (subject.clone(), p))
                        .collect()
                }
                None => Vec::new(),
            }
        }
    };
    let n = items.len() as u64;
    let stored = handle.block_on(async {
        publish_all(&cluster.js, items).await?;
        // Widened before the acknowledgement, not on the next tick: a worker killed after
        // acknowledging would otherwise take the minutes of its last messages with it, and the
        // windows they start or end would never run.
        if let Some(c) = seen.filter(|c| !counters.clock_covers(*c)) {
            counters.clock_seen(advance_clock(&cluster.state, c).await?);
        }
        Ok::<_, ClusterError>(())
    });
    match stored {
        Ok(_) => {
            let acked = handle.block_on(async {
                let mut last = Ok(());
                for _ in 0..3 {
                    last = msg.double_ack().await;
                    if last.is_ok() {
                        break;
                    }
                }
                last
            });
            if let Err(e) = acked {
                // The states are stored; the message will come again and its states be
                // recognised as duplicates.
                log.warn(&format!("acknowledging {id}: {e}"));
            }
            counters.messages.fetch_add(1, Ordering::SeqCst);
            counters.bundles.fetch_add(n, Ordering::SeqCst);
            Ok(())
        }
        Err(e) => {
            let _ = handle.block_on(msg.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))));
            Err(e)
        }
    }
}

fn failed_report(input: &str, e: &ClusterError) -> Report {
    Report {
        errors: vec![WireRecordError {
            input: input.to_owned(),
            place: None,
            message: format!("message skipped: {e}"),
            skipped: 0,
        }],
        ..Report::default()
    }
}

fn place(e: &WireRecordError) -> String {
    match e.place {
        Some(crate::wire::WirePlace::Text { line, .. }) => format!("{}:{line}", e.input),
        Some(crate::wire::WirePlace::Evtx {
            chunk,
            record,
            event_record_id,
        }) => {
            let mut at = format!("{} (chunk {chunk}", e.input);
            if let Some(n) = record {
                at.push_str(&format!(", record {n}"));
            }
            if let Some(id) = event_record_id {
                at.push_str(&format!(", EventRecordID {id}"));
            }
            at.push(')');
            at
        }
        None => e.input.clone(),
    }
}
