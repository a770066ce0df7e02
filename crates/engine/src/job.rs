//! What to run: the compiled detections, the data model that presents events to them, and the
//! shortcuts (prefilter, gates) derived from them. A [`Job`] is built once through
//! [`JobBuilder`] and never changed afterwards, so the shortcuts always agree with the plans.
//!
//! A detection whose plan has subsearches (`join … [search]`, `search [subsearch]`) brings
//! them into the job as hidden detections, after every detection added: they read the same
//! events, their states are kept and merged like any other, and [`crate::finish_all`] finishes
//! them first and hands their rows to the detection that owns them
//! ([`Detection::subsearches`]). A subsearch that reads no events (`| inputlookup`) is a hidden
//! detection of no group.

use hashbrown::HashMap;
use std::sync::Arc;

use cimhunt_model::{DatasetId, DatasetOrigins, Model, Want};
use cimhunt_spl::live::Live;
use cimhunt_spl::search::{RecordLiterals, ValueLiterals};
use cimhunt_spl::{AggSpec, Aggregation, KeyFilter, Plan, Source, Sym};
use rayon::prelude::*;

use crate::gate::Gate;
use crate::prefilter::Prefilter;

/// The number of detections in a group from which events are gated by literals.
const GATE_FROM: usize = 16;

/// One detection of a job.
#[derive(Debug)]
pub struct Detection {
    name: String,
    plan: Plan,
    fingerprint: String,
    source: DetectionSource,
    projection: Option<Vec<Sym>>,
    key_filter: Option<KeyFilter>,
    finish_filter: Option<KeyFilter>,
    subsearches: Vec<usize>,
    parent: Option<usize>,
}

/// What a detection's generating command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DetectionSource {
    /// A dataset's view of the events that belong to it (`tstats`).
    Dataset(DatasetId),
    /// Events with their search-time fields (a raw search).
    Events,
    /// No events: a lookup table's rows (`| inputlookup`).
    Lookup,
}

impl Detection {
    /// The detection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The fingerprint of its plan: partial states carry it, and merging checks it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// What it reads.
    pub fn source(&self) -> DetectionSource {
        self.source
    }

    /// The fields an event must carry into a row, when the plan needs rows (`None`: all).
    pub fn projection(&self) -> Option<&[Sym]> {
        self.projection.as_deref()
    }

    /// The filters after its aggregation that decide on a group's key alone: a group they
    /// drop is never kept (see [`KeyFilter`]).
    pub fn key_filter(&self) -> Option<&KeyFilter> {
        self.key_filter.as_ref()
    }

    /// The key filter run once more on the merged groups, before their rows are built, when it
    /// decides more than [`Detection::key_filter`] (see [`KeyFilter::at_finish`]).
    pub fn finish_filter(&self) -> Option<&KeyFilter> {
        self.finish_filter.as_ref()
    }

    /// The hidden detections that run this detection's subsearches, in the order of
    /// [`Plan::subsearches`].
    pub fn subsearches(&self) -> &[usize] {
        &self.subsearches
    }

    /// For a hidden detection: the detection whose subsearch it runs.
    pub fn parent(&self) -> Option<usize> {
        self.parent
    }

    /// The aggregation, when the plan aggregates.
    pub fn agg(&self) -> Option<&AggSpec> {
        match &self.plan.aggregation {
            Aggregation::Stats(spec) => Some(spec),
            Aggregation::Collect => None,
        }
    }
}

/// Detections that read the same source, evaluated together per event.
#[derive(Debug)]
pub(crate) struct Group {
    pub source: DetectionSource,
    /// Indexes into the job's detections.
    pub members: Vec<usize>,
    /// For large groups: which members can match an event, from literals in its fields.
    pub gate: Option<Gate>,
}

/// A job: detections, model, shortcuts. Built with [`Job::builder`].
#[derive(Debug)]
pub struct Job {
    model: Arc<Model>,
    detections: Vec<Detection>,
    /// How many detections were added (the rest are hidden subsearches).
    visible: usize,
    groups: Vec<Group>,
    prefilter: Prefilter,
    want: Want,
    /// Per detection: the detection whose state it shares (same events, same aggregation),
    /// when states are shared ([`JobBuilder::share_states`]).
    aliases: Vec<Option<usize>>,
    /// Whether finishing computes a subsearch only when a command reads it
    /// ([`JobBuilder::lazy_subsearches`]).
    lazy_subsearches: bool,
}

/// Why a detection cannot be part of a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// A `tstats` over a dataset the model does not have.
    #[error("detection `{detection}`: no dataset `{dataset}` in the data model")]
    UnknownDataset {
        /// The detection.
        detection: String,
        /// The dataset.
        dataset: String,
    },
}

/// Builds a [`Job`].
#[derive(Debug)]
pub struct JobBuilder {
    model: Arc<Model>,
    detections: Vec<(String, Plan, String)>,
    prefilter: bool,
    gate: bool,
    key_filter: bool,
    share_states: bool,
    lazy_subsearches: bool,
    all_fields: bool,
    datasets_shown: Vec<DatasetId>,
}

impl Job {
    /// A builder for a job over `model`.
    pub fn builder(model: Arc<Model>) -> JobBuilder {
        JobBuilder {
            model,
            detections: Vec::new(),
            prefilter: true,
            gate: true,
            key_filter: true,
            share_states: false,
            lazy_subsearches: true,
            all_fields: false,
            datasets_shown: Vec::new(),
        }
    }

    /// The data model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Every detection: those added, in the order they were added, then the hidden ones that
    /// run their subsearches. States and counters of a run are indexed like this.
    pub fn detections(&self) -> &[Detection] {
        &self.detections
    }

    /// The detections added (without the hidden subsearches).
    pub fn visible(&self) -> &[Detection] {
        &self.detections[..self.visible]
    }

    /// The detection added that detection `d` belongs to: `d` itself, or for a hidden
    /// subsearch, the detection whose search it is part of.
    pub fn root_of(&self, mut d: usize) -> usize {
        while let Some(p) = self.detections.get(d).and_then(|x| x.parent) {
            d = p;
        }
        d
    }

    /// Whether a subsearch is finished only when a command reads it, and a command that gives no
    /// rows for none is skipped on none ([`JobBuilder::lazy_subsearches`]).
    pub fn lazy_subsearches(&self) -> bool {
        self.lazy_subsearches
    }

    /// The detection whose state detection `d` shares, if it shares one.
    pub fn alias_of(&self, d: usize) -> Option<usize> {
        self.aliases.get(d).copied().flatten()
    }

    /// The prefilter.
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    pub(crate) fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Which extracted fields events must carry.
    pub fn want(&self) -> &Want {
        &self.want
    }
}

impl JobBuilder {
    /// Adds a detection: its name, its compiled plan, and the text its fingerprint is made
    /// from (the expanded search and whatever else changes its results).
    pub fn detection(mut self, name: impl Into<String>, plan: Plan, identity: &str) -> Self {
        self.detections
            .push((name.into(), plan, fingerprint(identity)));
        self
    }

    /// Turns the prefilter off (every record is decoded; same rows).
    pub fn prefilter(mut self, on: bool) -> Self {
        self.prefilter = on;
        self
    }

    /// Turns gating off (every detection of a group evaluates every event; same rows).
    pub fn gate(mut self, on: bool) -> Self {
        self.gate = on;
        self
    }

    /// Turns key filters off (every group is kept until the post commands drop it; same rows,
    /// more memory): see [`KeyFilter`].
    pub fn key_filter(mut self, on: bool) -> Self {
        self.key_filter = on;
        self
    }

    /// Lets detections whose events and aggregation are the same (the same source filter, no
    /// per-event commands, the same aggregation, no key filter) share one state: only the first
    /// is evaluated ([`Job::alias_of`] names it), and the others' states are copies of its
    /// state when the run ends ([`crate::run`] does this). A long-running [`crate::Engine`]
    /// holds no state for the others: whoever takes states by detection must take the first's
    /// for them (`cimhunt serve`'s sink and the cluster's lanes do). Nine of
    /// ESCU's UAC-bypass detections group every process the same way.
    pub fn share_states(mut self, on: bool) -> Self {
        self.share_states = on;
        self
    }

    /// Turns off finishing subsearches only when read (on by default): off, every subsearch
    /// is finished before its detection's commands run, as Splunk runs it first, and every
    /// command runs even on no rows. Same rows; for checking the shortcut.
    pub fn lazy_subsearches(mut self, on: bool) -> Self {
        self.lazy_subsearches = on;
        self
    }

    /// Keeps every search-time field of every event (for `cimhunt events --raw`).
    pub fn all_fields(mut self, on: bool) -> Self {
        self.all_fields = on;
        self
    }

    /// Keeps what a dataset's view needs even when no detection reads it (for `cimhunt events
    /// --datamodel`).
    pub fn show_dataset(mut self, ds: DatasetId) -> Self {
        self.datasets_shown.push(ds);
        self
    }

    /// The job.
    pub fn build(self) -> Result<Job, JobError> {
        let model = self.model;
        let mut detections = Vec::with_capacity(self.detections.len());
        // Detections added, then their subsearches (breadth first), each with its parent.
        let mut pending: Vec<Pending> = self
            .detections
            .into_iter()
            .map(|(n, p, f)| (n, p, f, None))
            .collect();
        let visible = pending.len();
        // Subsearches join the list breadth first, each after the detection it belongs to.
        let mut next = 0;
        while next < pending.len() {
            let (name, plan, fingerprint, _) = &pending[next];
            let subs: Vec<Pending> = plan
                .subsearches
                .iter()
                .enumerate()
                .map(|(i, sub)| {
                    (
                        format!("{name} [subsearch {}]", i + 1),
                        sub.clone(),
                        fingerprint_of_subsearch(fingerprint, i),
                        Some((next, i)),
                    )
                })
                .collect();
            pending.extend(subs);
            next += 1;
        }
        // What is read of each plan's rows: every field of a detection's (its rows are the
        // output); of a subsearch's, what the command that reads them needs (`map` reads a few
        // fields of its superset's events). Parents come before their subsearches.
        let mut rows_read: Vec<Live> = Vec::with_capacity(pending.len());
        let mut subsearch_reads: Vec<Vec<Live>> = Vec::with_capacity(pending.len());
        for (_, plan, _, parent) in &pending {
            let read = parent
                .and_then(|(p, i)| subsearch_reads.get(p)?.get(i).cloned())
                .unwrap_or(Live::All);
            subsearch_reads.push(if plan.subsearches.is_empty() {
                Vec::new()
            } else {
                plan.subsearch_reads(&read)
            });
            rows_read.push(read);
        }
        // Each plan's projection and key filters are worked out on every core (on one, they
        // were about half of building the job for the whole library).
        let key_filters = self.key_filter;
        let worked: Vec<_> = pending
            .par_iter()
            .zip(&rows_read)
            .map(|((_, plan, _, _), read)| {
                (
                    plan.projection_for(read),
                    key_filters.then(|| KeyFilter::new(plan)).flatten(),
                    key_filters.then(|| KeyFilter::at_finish(plan)).flatten(),
                )
            })
            .collect();
        for (index, ((name, plan, fingerprint, parent), (projection, key_filter, finish_filter))) in
            pending.into_iter().zip(worked).enumerate()
        {
            let source = match &plan.source {
                Source::Tstats(t) => match model.dataset(&t.dataset) {
                    Some(id) => DetectionSource::Dataset(id),
                    None => {
                        return Err(JobError::UnknownDataset {
                            detection: name,
                            dataset: t.dataset.clone(),
                        });
                    }
                },
                Source::Inputlookup(_) => DetectionSource::Lookup,
                _ => DetectionSource::Events,
            };
            let subsearches = vec![usize::MAX; plan.subsearches.len()];
            detections.push(Detection {
                name,
                plan,
                fingerprint,
                source,
                projection,
                key_filter,
                finish_filter,
                subsearches,
                parent: parent.map(|(p, _)| p),
            });
            if let Some((p, i)) = parent {
                detections[p].subsearches[i] = index;
            }
        }
        let aliases = if self.share_states {
            aliases_of(&detections)
        } else {
            vec![None; detections.len()]
        };
        let mut want = Want::default();
        if self.all_fields {
            want.all();
        }
        for ds in &self.datasets_shown {
            want.dataset(&model, *ds);
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut record_literals = Vec::with_capacity(detections.len());
        // Origins are computed once per job (each costs parsing the add-ons' `EVAL-`s) and
        // shared by every detection over the same source.
        let event_origins = model.event_origins();
        let mut dataset_origins: Vec<(DatasetId, DatasetOrigins<'_>)> = Vec::new();
        for (i, d) in detections.iter().enumerate() {
            if aliases[i].is_some() {
                // Evaluated as the detection it shares a state with.
                continue;
            }
            let filter = d.plan.source.filter();
            match d.source {
                // Reads no events: no group, nothing for the prefilter.
                DetectionSource::Lookup => continue,
                DetectionSource::Dataset(ds) => {
                    let at = match dataset_origins.iter().position(|(d, _)| *d == ds) {
                        Some(at) => at,
                        None => {
                            // What the dataset's view needs, once per dataset (not once for
                            // each of the library's 500 process detections).
                            want.dataset(&model, ds);
                            dataset_origins.push((ds, event_origins.dataset(ds)));
                            dataset_origins.len() - 1
                        }
                    };
                    record_literals.push(RecordLiterals::of(filter, &dataset_origins[at].1));
                }
                DetectionSource::Events => {
                    for f in filter.fields() {
                        want.field(&model, f);
                    }
                    match d.projection() {
                        Some(fields) => fields.iter().for_each(|f| want.field(&model, *f)),
                        None => want.all(),
                    }
                    if let Aggregation::Stats(spec) = &d.plan.aggregation {
                        spec.fields().for_each(|f| want.field(&model, f));
                    }
                    record_literals.push(RecordLiterals::of(filter, &event_origins));
                }
            }
            match groups.iter_mut().find(|g| g.source == d.source) {
                Some(g) => g.members.push(i),
                None => groups.push(Group {
                    source: d.source,
                    members: vec![i],
                    gate: None,
                }),
            }
        }
        if self.gate {
            // Built on every core: a third of building the job for the whole library.
            groups
                .par_iter_mut()
                .filter(|g| g.members.len() >= GATE_FROM)
                .for_each(|g| {
                    let lits: Vec<ValueLiterals> = g
                        .members
                        .par_iter()
                        .map(|&i| ValueLiterals::of(detections[i].plan.source.filter()))
                        .collect();
                    g.gate = Some(Gate::new(&lits));
                });
        }
        let prefilter = if self.prefilter {
            Prefilter::new(&record_literals)
        } else {
            Prefilter::admit_all()
        };
        Ok(Job {
            model,
            detections,
            visible,
            groups,
            prefilter,
            want,
            aliases,
            lazy_subsearches: self.lazy_subsearches,
        })
    }
}

/// For each detection, the first detection before it with the same events and aggregation
/// and no per-event commands or key filter (see [`JobBuilder::share_states`]).
///
/// Candidates are bucketed by the text of their aggregation (short), and compared within a
/// bucket by equality of source and aggregation. The text of the whole plan, the source's
/// where-clause with every pattern in it, took about 70,000 instructions a detection to write.
fn aliases_of(detections: &[Detection]) -> Vec<Option<usize>> {
    let keys: Vec<Option<String>> = detections
        .iter()
        .map(|d| {
            let plan = &d.plan;
            let shareable = plan.source.reads_events()
                && plan.streaming.is_empty()
                && matches!(plan.aggregation, Aggregation::Stats(_))
                && d.key_filter.is_none();
            shareable.then(|| format!("{:?}", plan.aggregation))
        })
        .collect();
    // Per bucket, the first detection of each distinct (source, aggregation).
    let mut firsts: HashMap<String, Vec<usize>> = HashMap::new();
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let key = key?;
            let plan = &detections[i].plan;
            let bucket = firsts.entry(key).or_default();
            let same = bucket.iter().copied().find(|&o| {
                detections[o].plan.source == plan.source
                    && detections[o].plan.aggregation == plan.aggregation
            });
            if same.is_none() {
                bucket.push(i);
            }
            same
        })
        .collect()
}

/// A detection to add: name, plan, fingerprint, and for a subsearch its parent's index and its
/// number there.
type Pending = (String, Plan, String, Option<(usize, usize)>);

/// The fingerprint of subsearch `i` of the plan of `parent`.
fn fingerprint_of_subsearch(parent: &str, i: usize) -> String {
    fingerprint(&format!("{parent}/subsearch/{i}"))
}

/// A plan's fingerprint: a hash of what makes its results, the cimhunt version included (states
/// of another build may differ in shape or meaning).
fn fingerprint(identity: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(identity.as_bytes());
    let digest = h.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
