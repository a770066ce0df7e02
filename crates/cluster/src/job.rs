//! The job every process of a cluster runs, and its identity.
//!
//! A message is processed by one worker only, so every worker must run the same detections over
//! the same data model, or a message would miss the detections its worker does not run. The
//! job's identity (a hash of the data model's description and every detection's name and plan
//! fingerprint) is registered in the state bucket by the first worker; a worker or a `hunt
//! --nats` with another job is refused with [`ClusterError::JobMismatch`].

use std::collections::HashMap;
use std::sync::Arc;

use async_nats::jetstream::kv;
use bytes::Bytes;
use cimhunt_engine::{Job, Options};
use cimhunt_serve::schedule::CronSchedule;
use cimhunt_serve::{DetectionId, ScheduledDetection};

use crate::error::ClusterError;
use crate::publish::short_hash;

/// The key of the job's identity in the state bucket.
const JOB_KEY: &str = "job";

/// What a cluster runs: the engine's job, the detections' metadata (for risk events and
/// notables), the engine options, and the identity that ties them together.
#[derive(Debug)]
pub struct ClusterJob {
    job: Arc<Job>,
    detections: Vec<cimhunt_content::Detection>,
    /// Each detection's schedule, from its content (checked when the job is made).
    schedules: Vec<ScheduledDetection>,
    options: Options,
    id: String,
    /// The detections of each plan fingerprint, in order. Detections with the same search have
    /// the same plan and so the same states: a worker sends one partial state per fingerprint,
    /// and whoever merges them gives it to each.
    by_fingerprint: HashMap<String, Vec<usize>>,
}

impl ClusterJob {
    /// A job. `detections` are the content detections in the job's order; `model` describes
    /// the data model (profile, overlays, tables) so that two processes with the same
    /// detections over different models are told apart.
    pub fn new(
        job: Arc<Job>,
        detections: Vec<cimhunt_content::Detection>,
        options: Options,
        model: &str,
    ) -> Result<ClusterJob, ClusterError> {
        // One content detection per detection added to the job; its hidden subsearch
        // detections travel with it.
        if detections.len() != job.visible().len() {
            return Err(ClusterError::Config(format!(
                "{} detections given for a job of {}",
                detections.len(),
                job.visible().len()
            )));
        }
        let mut identity = String::from(model);
        let mut by_fingerprint = HashMap::new();
        for (i, d) in job.detections().iter().enumerate() {
            identity.push('\0');
            identity.push_str(d.name());
            identity.push('\0');
            identity.push_str(d.fingerprint());
            by_fingerprint
                .entry(d.fingerprint().to_owned())
                .or_insert_with(Vec::new)
                .push(i);
        }
        let schedules = detections
            .iter()
            .map(content_schedule)
            .collect::<Result<_, _>>()?;
        Ok(ClusterJob {
            id: short_hash(identity.as_bytes()),
            job,
            detections,
            schedules,
            options,
            by_fingerprint,
        })
    }

    /// The engine's job.
    pub fn job(&self) -> &Arc<Job> {
        &self.job
    }

    /// The content detections, in the job's order.
    pub fn detections(&self) -> &[cimhunt_content::Detection] {
        &self.detections
    }

    /// Each detection's schedule, in the job's order: its content's
    /// (`cimhunt_content::Detection::schedule`: its `deployment.scheduling`, else contentctl's
    /// default for its type).
    pub fn schedules(&self) -> &[ScheduledDetection] {
        &self.schedules
    }

    /// The engine options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The identity.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The detections whose plan has this fingerprint, in the job's order (empty when none
    /// has). Their states are the same: a partial state sent for the first is theirs too.
    pub fn by_fingerprint(&self, fingerprint: &str) -> &[usize] {
        self.by_fingerprint
            .get(fingerprint)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// How the job is described in messages: `job 1a2b… (583 detections)`.
    pub fn describe(&self) -> String {
        describe(&self.id, self.detections.len())
    }

    fn record(&self) -> Bytes {
        Bytes::from(
            serde_json::json!({"id": self.id, "detections": self.detections.len()}).to_string(),
        )
    }
}

/// A detection's schedule from its content, checked (time modifiers and cron expression).
fn content_schedule(d: &cimhunt_content::Detection) -> Result<ScheduledDetection, ClusterError> {
    let s = d.schedule();
    let bad = |e: String| ClusterError::Config(format!("detection `{}`: schedule: {e}", d.name));
    let scheduled = ScheduledDetection::new(
        DetectionId::new(""),
        &s.cron_schedule,
        &s.earliest_time,
        &s.latest_time,
    )
    .map_err(|e| bad(e.to_string()))?;
    CronSchedule::parse(&s.cron_schedule).map_err(|e| bad(e.to_string()))?;
    Ok(scheduled)
}

/// What identifies a data model built from files (a tables directory, a lookup): a hash of
/// their names and contents, for [`ClusterJob::new`]'s `model`. Unreadable files count by
/// name only (the model would not build from them anyway).
pub fn files_identity(paths: &[std::path::PathBuf]) -> String {
    use sha2::{Digest, Sha256};
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        match std::fs::read_dir(&p) {
            Ok(entries) => stack.extend(entries.flatten().map(|e| e.path())),
            Err(_) => files.push(p),
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        if let Some(name) = f.file_name() {
            h.update(name.as_encoded_bytes());
        }
        h.update([0]);
        if let Ok(bytes) = std::fs::read(f) {
            h.update(&bytes);
        }
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn describe(id: &str, n: usize) -> String {
    format!("job {id} ({n} detection{})", if n == 1 { "" } else { "s" })
}

/// The job registered on the cluster, as `(id, description)`.
pub(crate) async fn registered(
    state: &kv::Store,
) -> Result<Option<(String, String)>, ClusterError> {
    let entry = state
        .entry(JOB_KEY)
        .await
        .map_err(|e| ClusterError::nats("reading the job", e))?;
    Ok(entry
        .filter(|e| e.operation == kv::Operation::Put)
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.value).unwrap_or_default();
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            let n = v["detections"].as_u64().unwrap_or(0) as usize;
            let d = describe(&id, n);
            (id, d)
        }))
}

/// Registers the job, or checks it is the one registered; with `replace`, takes over.
pub(crate) async fn register(
    state: &kv::Store,
    job: &ClusterJob,
    replace: bool,
) -> Result<(), ClusterError> {
    for _ in 0..5 {
        match registered(state).await? {
            Some((id, _)) if id == job.id => return Ok(()),
            Some((_, found)) if !replace => {
                return Err(ClusterError::JobMismatch {
                    found,
                    mine: job.describe(),
                });
            }
            Some(_) => {
                state
                    .put(JOB_KEY, job.record())
                    .await
                    .map_err(|e| ClusterError::nats("registering the job", e))?;
                return Ok(());
            }
            None => {
                if state.create(JOB_KEY, job.record()).await.is_ok() {
                    return Ok(());
                }
            }
        }
    }
    Err(ClusterError::nats(
        "registering the job",
        "the job key keeps changing",
    ))
}

/// Checks that the registered job, if any, is this one; returns whether one is registered.
pub(crate) async fn check(state: &kv::Store, job: &ClusterJob) -> Result<bool, ClusterError> {
    match registered(state).await? {
        Some((id, _)) if id == job.id => Ok(true),
        Some((_, found)) => Err(ClusterError::JobMismatch {
            found,
            mine: job.describe(),
        }),
        None => Ok(false),
    }
}
