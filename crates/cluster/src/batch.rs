//! A batch run over the cluster (`cimhunt hunt --nats`): the inputs' records are published as
//! one batch, the workers process them like any message but keep one time bucket for all time,
//! and this process collects the batch's partial states, merges them per detection and
//! returns exactly the states a local run over the same inputs returns, with the same counters
//! and errors.
//!
//! Completion: every event message of the batch yields exactly one bundle (with the message's
//! counters and errors, even when no detection matched), so the run is complete when a bundle
//! has been merged for every message id published; a copy of a bundle (redelivered work) is
//! recognised by its id and ignored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cimhunt_engine::{Collector, Finals, Meta, Partial, Place, RecordError, SpillOptions, Stats};
use cimhunt_read::{Input, InputName};
use cimhunt_spl::Timestamp;
use futures_util::StreamExt;

use crate::collect::{Assembler, open_subject};
use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::job::{ClusterJob, check};
use crate::publish::{Destination, Limits, Published, Publisher, Source};
use crate::wire::{BatchCtx, Bundle, Report, WirePlace};

/// What a batch run needs besides the job and inputs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The search time (`--now`).
    pub now: Timestamp,
    /// The display time zone's name (`--tz`).
    pub tz: String,
    /// Decode every record, whatever the prefilter says (`--strict`, `--no-prefilter`): the
    /// workers do so for this batch.
    pub decode_all: bool,
    /// Message sizes.
    pub limits: Limits,
    /// Give up when no bundle arrives for this long (`None`: wait for workers forever).
    pub idle_timeout: Option<Duration>,
    /// Merged states beyond this budget wait in a temporary file until they are finished
    /// (`--state-memory`, `--spill-dir`), as a local run's do; `None` holds them all.
    pub spill: Option<SpillOptions>,
}

/// Where a batch run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchProgress {
    /// Messages published.
    pub published: u64,
    /// Messages whose states have been merged.
    pub done: u64,
    /// Whether publishing has finished.
    pub all_published: bool,
    /// Whether a job is registered on the cluster (no worker has ever started otherwise).
    pub workers_registered: bool,
}

/// What a batch run returns: what [`cimhunt_engine::run`] returns, and how the work travelled.
#[derive(Debug)]
pub struct BatchOutcome {
    /// Each detection's merged state, in the job's order, parts of it on disk beyond the
    /// budget ([`BatchOptions::spill`]).
    pub states: Finals,
    /// Counters, as a local run counts them.
    pub stats: Stats,
    /// Skipped records, in input order.
    pub errors: Vec<RecordError>,
    /// Inputs that could not be read.
    pub failed_inputs: Vec<RecordError>,
    /// Detections whose states could not be merged, with why.
    pub state_errors: Vec<(usize, String)>,
    /// The batch id.
    pub batch: String,
    /// Messages published.
    pub messages: u64,
    /// Bytes of records published, and on the wire.
    pub bytes: (u64, u64),
    /// Bundle copies ignored.
    pub duplicates: u64,
}

/// A fresh batch id.
pub fn new_batch_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let key = format!("{t}-{}", std::process::id());
    format!("b{}", &crate::publish::short_hash(key.as_bytes())[..12])
}

/// Runs the job over the inputs on the cluster's workers. Builds its own runtime.
pub fn hunt(
    options: &NatsOptions,
    job: &ClusterJob,
    inputs: Vec<(Input, Meta)>,
    batch: &BatchOptions,
    progress: &(dyn Fn(BatchProgress) + Sync),
) -> Result<BatchOutcome, ClusterError> {
    let rt = crate::runtime()?;
    rt.block_on(hunt_async(options, job, inputs, batch, progress))
}

#[derive(Debug, Default)]
struct Shared {
    expected: Option<HashSet<String>>,
    published: u64,
    /// Publishing failed: stop collecting.
    failed: bool,
}

async fn hunt_async(
    options: &NatsOptions,
    job: &ClusterJob,
    inputs: Vec<(Input, Meta)>,
    batch: &BatchOptions,
    progress: &(dyn Fn(BatchProgress) + Sync),
) -> Result<BatchOutcome, ClusterError> {
    let cluster = Cluster::open(options).await?;
    let registered = check(&cluster.state, job).await?;
    let id = new_batch_id();
    let ctx = BatchCtx {
        id: id.clone(),
        now_nanos: batch.now.as_nanos(),
        now_digits: batch.now.digits(),
        tz: batch.tz.clone(),
        decode_all: batch.decode_all,
    };
    let input_names: HashMap<String, u64> = inputs
        .iter()
        .enumerate()
        .map(|(i, (input, _))| (input.name.to_string(), i as u64))
        .collect();
    let sources: Vec<Source> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, (input, meta))| Source {
            input,
            meta,
            key: i.to_string(),
            input_no: i as u64,
        })
        .collect();
    // Start reading before publishing, so nothing is missed and work overlaps.
    let (messages, _) = open_subject(&cluster.partials, &cluster.names.batch_partials(&id)).await?;
    let shared = Arc::new(Mutex::new(Shared::default()));
    let publisher = Publisher::new(cluster.clone(), &id, batch.limits)?;
    let done_count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let report = |all: bool| {
        let s = shared.lock().unwrap_or_else(|e| e.into_inner());
        progress(BatchProgress {
            published: s.published,
            done: done_count.load(std::sync::atomic::Ordering::SeqCst),
            all_published: all,
            workers_registered: registered,
        });
    };
    let on_publish = |p: &Published| {
        shared.lock().unwrap_or_else(|e| e.into_inner()).published = p.messages;
        report(false);
    };
    let collect = collect(
        &cluster,
        job,
        batch.spill.as_ref(),
        messages,
        Arc::clone(&shared),
        Arc::clone(&done_count),
        batch.idle_timeout,
        &report,
    );
    let publish = async {
        let published = publisher
            .publish(sources, &Destination::Batch(ctx.clone()), &on_publish)
            .await;
        {
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            match &published {
                Ok(p) => {
                    s.expected = Some(p.ids.iter().cloned().collect());
                    s.published = p.messages;
                }
                Err(_) => s.failed = true,
            }
        }
        report(true);
        published
    };
    let (published, collected) = tokio::join!(publish, collect);
    let cleanup = async {
        let _ = cluster
            .partials
            .purge()
            .filter(cluster.names.batch_partials(&id))
            .await;
        let _ = cluster
            .events
            .purge()
            .filter(cluster.names.batch_events(&id))
            .await;
    };
    let (published, collected) = match (published, collected) {
        (Ok(p), Ok(c)) => (p, c),
        (Err(e), _) | (_, Err(e)) => {
            cleanup.await;
            return Err(e);
        }
    };
    cleanup.await;
    let Collected {
        states,
        mut stats,
        errors,
        state_errors,
        duplicates,
        reports_by_message,
    } = collected;
    stats.merge(&published.stats);
    // Errors in input order: the reader's, then each message's in publishing order.
    let order: HashMap<&str, usize> = published
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut worker_errors: Vec<(usize, RecordError)> = reports_by_message
        .into_iter()
        .flat_map(|(msg, errs)| {
            let k = order.get(msg.as_str()).copied().unwrap_or(usize::MAX);
            errs.into_iter().map(move |e| (k, e))
        })
        .collect();
    worker_errors.sort_by_key(|(k, _)| *k);
    let mut all_errors: Vec<RecordError> = published.errors;
    all_errors.extend(errors);
    all_errors.extend(worker_errors.into_iter().map(|(_, e)| e));
    let rank = |e: &RecordError| -> (u64, u64) {
        let input = input_names
            .get(&e.input.to_string())
            .copied()
            .unwrap_or(u64::MAX);
        let at = match e.place {
            Some(Place::Text { line, .. }) => line,
            Some(Place::Evtx { chunk, .. }) => chunk,
            None => 0,
        };
        (input, at)
    };
    all_errors.sort_by_key(|e| rank(e));
    Ok(BatchOutcome {
        states,
        stats,
        errors: all_errors,
        failed_inputs: published.failed_inputs,
        state_errors,
        batch: id,
        messages: published.messages,
        bytes: (published.bytes, published.wire_bytes),
        duplicates,
    })
}

struct Collected {
    states: Finals,
    stats: Stats,
    errors: Vec<RecordError>,
    state_errors: Vec<(usize, String)>,
    duplicates: u64,
    reports_by_message: BTreeMap<String, Vec<RecordError>>,
}

#[allow(clippy::too_many_arguments)]
async fn collect(
    cluster: &Cluster,
    job: &ClusterJob,
    spill: Option<&SpillOptions>,
    mut messages: async_nats::jetstream::consumer::pull::Ordered,
    shared: Arc<Mutex<Shared>>,
    done_count: Arc<std::sync::atomic::AtomicU64>,
    idle_timeout: Option<Duration>,
    report: &(dyn Fn(bool) + Sync),
) -> Result<Collected, ClusterError> {
    let detections = job.job().detections();
    // A partial comes once per plan: it is merged into the first detection with that plan,
    // and the others get a copy of the merged state at the end.
    let mut states = Collector::new(job.job(), spill);
    states.share_plans(job.job(), &(0..detections.len()).collect::<Vec<_>>());
    let mut state_errors: Vec<(usize, String)> = Vec::new();
    let mut stats = Stats::default();
    let mut reports_by_message = BTreeMap::new();
    let mut asm = Assembler::default();
    let mut done: HashSet<String> = HashSet::new();

    let mut last_progress = Instant::now();
    loop {
        {
            let s = shared.lock().unwrap_or_else(|e| e.into_inner());
            if s.failed {
                break;
            }
            if let Some(expected) = &s.expected
                && expected.iter().all(|id| done.contains(id))
            {
                break;
            }
        }
        let next = tokio::time::timeout(Duration::from_millis(500), messages.next()).await;
        let msg = match next {
            Err(_) => {
                if let Some(limit) = idle_timeout
                    && last_progress.elapsed() > limit
                {
                    return Err(ClusterError::Nats {
                        what: "waiting for workers".to_owned(),
                        message: format!(
                            "no partial state arrived for {} s ({} messages done); are workers \
                             running (`cimhunt status`)?",
                            limit.as_secs(),
                            done.len()
                        ),
                    });
                }
                continue;
            }
            Ok(None) => {
                return Err(ClusterError::nats(
                    "reading partial states",
                    "the consumer stopped",
                ));
            }
            Ok(Some(Err(e))) => return Err(ClusterError::nats("reading partial states", e)),
            Ok(Some(Ok(m))) => m,
        };
        last_progress = Instant::now();
        let Some((base, whole)) = asm.offer(&msg) else {
            continue;
        };
        let bundle = Bundle::decode(&whole, &base)?;
        for p in bundle.partials {
            let ds = job.by_fingerprint(&p.fingerprint);
            let Some(&first) = ds.first() else {
                return Err(ClusterError::JobMismatch {
                    found: format!(
                        "a worker sent partial states of a plan this job does not have ({})",
                        p.fingerprint
                    ),
                    mine: job.describe(),
                });
            };
            // One partial for every detection with this plan.
            let mut failed = |d: usize, e: String| {
                if !state_errors.iter().any(|(i, _)| *i == d) {
                    state_errors.push((d, e));
                }
            };
            match Partial::decode(&p.bytes, detections[first].fingerprint()) {
                Ok(part) => {
                    if let Err(e) = states.merge(job.job(), first, part.state) {
                        ds.iter().for_each(|&d| failed(d, e.to_string()));
                    }
                }
                Err(e) => ds.iter().for_each(|&d| failed(d, e.to_string())),
            }
        }
        states.relieve(job.job());
        if let Some(r) = bundle.report {
            reports_by_message.insert(bundle.message.clone(), add_report(&mut stats, r));
        }
        done.insert(bundle.message);
        done_count.store(done.len() as u64, std::sync::atomic::Ordering::SeqCst);
        report(shared.lock().is_ok_and(|s| s.expected.is_some()));
    }
    let _ = cluster;
    Ok(Collected {
        states: states.finish(),
        stats,
        errors: Vec::new(),
        state_errors,
        duplicates: asm.duplicates,
        reports_by_message,
    })
}

/// Adds a message's counters; returns its errors.
fn add_report(stats: &mut Stats, r: Report) -> Vec<RecordError> {
    // An input's size is what its publisher read (`Published::stats`), as a local run counts
    // it, not the size of the messages its records were sent in.
    stats.record_bytes += r.bytes;
    stats.records += r.records;
    stats.prefiltered += r.prefiltered;
    stats.events += r.events;
    stats.skipped_records += r.skipped_records;
    stats.failed_batches += r.failed_batches;
    for (reason, n) in r.skipped_reasons {
        *stats.skipped_reasons.entry(intern(&reason)).or_default() += n;
    }
    r.errors
        .into_iter()
        .map(|e| RecordError {
            input: Arc::new(InputName::Named(e.input)),
            place: e.place.map(|p| match p {
                WirePlace::Text { line, record } => Place::Text { line, record },
                WirePlace::Evtx {
                    chunk,
                    record,
                    event_record_id,
                } => Place::Evtx {
                    chunk,
                    record,
                    event_record_id,
                },
            }),
            message: e.message,
            skipped: e.skipped,
        })
        .collect()
}

/// A skip reason as the engine's counters key it (`&'static str`): the few reasons there are
/// are kept once for the life of the process.
fn intern(reason: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(s) = seen.get(reason) {
        return s;
    }
    if seen.len() >= 256 {
        return "other";
    }
    let s: &'static str = Box::leak(reason.to_owned().into_boxed_str());
    seen.insert(s);
    s
}
