//! A detection's partial state: what it has gathered from the events seen so far, bucketed by
//! event time, mergeable, and serializable so that it can leave the process.
//!
//! A [`State`] is either aggregation state ([`Groups`], for `tstats` and `stats`) or the rows a
//! search without aggregation collects, each with the key that puts it in Splunk's order.
//! [`Buckets`] keeps one state per time bucket (one bucket in total for a batch run), so that a
//! scheduled window can take the buckets it covers and the rest can be evicted while input
//! continues. [`Partial`] is the serialized form: a format version, the plan's fingerprint, the
//! bucket's start, and the state; merging checks both, so states of different plans or builds
//! never mix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use cimhunt_spl::{AggSpec, Groups, Row, Timestamp};

/// The version of the serialized form. Bump it when [`Partial`] or anything inside changes.
pub const WIRE_VERSION: u32 = 3;

/// Where a collected row stands among the others: newest first, then in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderKey {
    /// The event's time; events without one come last.
    pub time: Option<Timestamp>,
    /// The input's number in the order inputs were fed.
    pub input: u64,
    /// The record's number within its input.
    pub record: u64,
}

impl OrderKey {
    /// Splunk returns the events of a search newest first; among events of the same time,
    /// cimhunt keeps input order [inferred: Splunk's order among equal times depends on its
    /// buckets and is not documented].
    pub fn splunk_order(&self, other: &Self) -> std::cmp::Ordering {
        other
            .time
            .cmp(&self.time)
            .then(self.input.cmp(&other.input))
            .then(self.record.cmp(&other.record))
    }
}

/// One detection's state for one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum State {
    /// Aggregation state.
    Stats(Groups),
    /// Collected rows with their order keys.
    Collect(Vec<(OrderKey, Row)>),
}

impl State {
    /// Keeps only the groups `keep` says yes to (a state of collected rows keeps all):
    /// [`Groups::retain_keys`].
    pub fn retain_keys(&mut self, keep: crate::Keep<'_>) {
        if let State::Stats(groups) = self
            && !groups.is_empty()
        {
            groups.retain_keys(keep);
        }
    }
}

/// Why states could not be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The serialized state was written by another format version.
    #[error("partial state of format version {found}, this build reads version {WIRE_VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
    /// The state was built for another plan (or another build of it).
    #[error("partial state built for another plan (fingerprint {found}, expected {expected})")]
    Fingerprint {
        /// The fingerprint found.
        found: String,
        /// The plan's fingerprint.
        expected: String,
    },
    /// The two states are of different kinds or shapes.
    #[error("{0}")]
    Shape(String),
    /// The bytes do not decode.
    #[error("partial state does not decode: {0}")]
    Decode(String),
}

impl State {
    /// An empty state for a plan that aggregates (`Some(spec)`) or collects (`None`).
    pub fn new(aggregates: bool) -> State {
        if aggregates {
            State::Stats(Groups::new())
        } else {
            State::Collect(Vec::new())
        }
    }

    /// Folds another state into this one.
    pub fn merge(&mut self, spec: Option<&AggSpec>, other: State) -> Result<(), StateError> {
        match (self, other, spec) {
            (State::Stats(a), State::Stats(b), Some(spec)) => a
                .merge(spec, b)
                .map_err(|e| StateError::Shape(e.to_string())),
            (State::Collect(a), State::Collect(b), None) => {
                a.extend(b);
                Ok(())
            }
            _ => Err(StateError::Shape(
                "states of different kinds (aggregation and collected rows)".to_owned(),
            )),
        }
    }

    /// The rows: groups in Splunk's order, or collected rows newest first.
    pub fn into_rows(self, spec: Option<&AggSpec>) -> Vec<Row> {
        self.into_ordered_rows(spec).collect()
    }

    /// The rows of [`State::into_rows`], in its order, an aggregation's each made only when
    /// it is taken ([`Groups::into_ordered_rows`]).
    pub fn into_ordered_rows<'s>(
        self,
        spec: Option<&'s AggSpec>,
    ) -> Box<dyn Iterator<Item = Row> + 's> {
        match (self, spec) {
            (State::Stats(g), Some(spec)) => Box::new(g.into_ordered_rows(spec)),
            (State::Stats(_), None) => Box::new(std::iter::empty()),
            (State::Collect(mut rows), _) => {
                rows.sort_by(|(a, _), (b, _)| a.splunk_order(b));
                Box::new(rows.into_iter().map(|(_, r)| r))
            }
        }
    }

    /// An estimate of the memory it holds, in bytes ([`Groups::approx_bytes`]; for collected
    /// rows, their number times the size of up to 32 of them spread over the state, each its
    /// cells' texts plus a fixed cost per cell and per row, so that asking stays cheap).
    pub fn approx_bytes(&self) -> usize {
        match self {
            State::Stats(g) => g.approx_bytes(),
            State::Collect(rows) if rows.is_empty() => 0,
            State::Collect(rows) => {
                let step = rows.len().div_ceil(32);
                let (bytes, n) = rows
                    .iter()
                    .step_by(step)
                    .fold((0, 0), |(bytes, n), (_, row)| {
                        let cells: usize = row
                            .cells()
                            .iter()
                            .map(|(_, v)| 32 + v.texts().map(|t| t.len()).sum::<usize>())
                            .sum();
                        (bytes + 64 + cells, n + 1)
                    });
                rows.len() * bytes / n
            }
        }
    }

    /// How many groups or rows it holds.
    pub fn len(&self) -> usize {
        match self {
            State::Stats(g) => g.len(),
            State::Collect(rows) => rows.len(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The start of the bucket of width `span` seconds (starting at `offset` plus whole multiples
/// of `span`) that second `t` falls in.
pub fn bucket_start(t: i64, span: i64, offset: i64) -> i64 {
    let span = span.max(1);
    let offset = offset.rem_euclid(span);
    (t - offset).div_euclid(span) * span + offset
}

/// A detection's states by time bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// Bucket width in seconds; `None`: one bucket for all time (a batch run).
    span: Option<i64>,
    /// Where buckets start: at `offset` plus a whole multiple of `span` (seconds).
    offset: i64,
    aggregates: bool,
    map: BTreeMap<i64, State>,
}

impl Buckets {
    /// Empty buckets of `span` seconds (`None`: one bucket for all time), starting at `offset`
    /// plus a whole multiple of `span` seconds after the epoch.
    pub fn new(span: Option<i64>, offset: i64, aggregates: bool) -> Buckets {
        let span = span.filter(|s| *s > 0);
        Buckets {
            span,
            offset: span.map_or(0, |s| offset.rem_euclid(s)),
            aggregates,
            map: BTreeMap::new(),
        }
    }

    /// The start of the bucket an event of time `t` belongs to.
    pub fn bucket_of(&self, t: Option<Timestamp>) -> i64 {
        match (self.span, t) {
            (None, _) => 0,
            (Some(_), None) => i64::MIN,
            (Some(span), Some(t)) => bucket_start(t.as_secs(), span, self.offset),
        }
    }

    /// The state an event of time `t` goes into.
    pub fn state_for(&mut self, t: Option<Timestamp>) -> &mut State {
        let b = self.bucket_of(t);
        let aggregates = self.aggregates;
        self.map.entry(b).or_insert_with(|| State::new(aggregates))
    }

    /// Removes and returns the buckets whose start is in `[from, to)` (all buckets for a
    /// one-bucket run).
    pub fn take_range(&mut self, from: i64, to: i64) -> Vec<(i64, State)> {
        if self.span.is_none() {
            return std::mem::take(&mut self.map).into_iter().collect();
        }
        let keys: Vec<i64> = self.map.range(from..to).map(|(k, _)| *k).collect();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|s| (k, s)))
            .collect()
    }

    /// Removes and returns every bucket.
    pub fn take_all(&mut self) -> Vec<(i64, State)> {
        std::mem::take(&mut self.map).into_iter().collect()
    }

    /// Folds a state into the bucket starting at `start`.
    pub fn merge_bucket(
        &mut self,
        spec: Option<&AggSpec>,
        start: i64,
        state: State,
    ) -> Result<(), StateError> {
        match self.map.get_mut(&start) {
            Some(mine) => mine.merge(spec, state),
            None => {
                self.map.insert(start, state);
                Ok(())
            }
        }
    }

    /// How many groups or rows all buckets hold.
    pub fn len(&self) -> usize {
        self.map.values().map(State::len).sum()
    }

    /// An estimate of the memory all buckets hold, in bytes ([`State::approx_bytes`]).
    pub fn approx_bytes(&self) -> usize {
        self.map.values().map(State::approx_bytes).sum()
    }

    /// Whether no bucket holds anything.
    pub fn is_empty(&self) -> bool {
        self.map.values().all(State::is_empty)
    }
}

/// A partial state as it travels between processes: versioned, tied to a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    /// [`WIRE_VERSION`] of the writer.
    pub version: u32,
    /// The fingerprint of the plan the state was built for.
    pub fingerprint: String,
    /// The start of the time bucket.
    pub bucket: i64,
    /// The state.
    pub state: State,
}

impl Partial {
    /// Serializes a bucket's state for a plan.
    pub fn encode(fingerprint: &str, bucket: i64, state: &State) -> Vec<u8> {
        #[derive(Serialize)]
        struct Ref<'s> {
            version: u32,
            fingerprint: &'s str,
            bucket: i64,
            state: &'s State,
        }
        postcard::to_allocvec(&Ref {
            version: WIRE_VERSION,
            fingerprint,
            bucket,
            state,
        })
        .unwrap_or_default()
    }

    /// Reads a serialized state and checks it was built for the plan of `fingerprint` by a
    /// build that writes the same format.
    pub fn decode(bytes: &[u8], fingerprint: &str) -> Result<Partial, StateError> {
        let p: Partial =
            postcard::from_bytes(bytes).map_err(|e| StateError::Decode(e.to_string()))?;
        p.checked(fingerprint)
    }

    /// The state read, when a build that writes the same format wrote it for the plan of
    /// `fingerprint`.
    pub(crate) fn checked(self, fingerprint: &str) -> Result<Partial, StateError> {
        if self.version != WIRE_VERSION {
            return Err(StateError::Version {
                found: self.version,
            });
        }
        if self.fingerprint != fingerprint {
            return Err(StateError::Fingerprint {
                found: self.fingerprint,
                expected: fingerprint.to_owned(),
            });
        }
        Ok(self)
    }
}
