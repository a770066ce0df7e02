//! The aggregation state: groups keyed by their by-field values, one accumulator per function.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use hashbrown::{Equivalent, HashMap};
use serde::{Deserialize, Serialize};

use super::acc::{Acc, Rank, finish_list};
use super::{AggCall, AggSpec, ByField, NullBy};
use crate::command::ExecCtx;
use crate::keyfilter::KeyFilter;
use crate::record::Record;
use crate::row::Row;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::{Value, group_order};

/// The state of one aggregation: groups and their accumulators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    groups: HashMap<Vec<String>, Vec<Acc>>,
    overflow: Overflow,
    /// Over rows (not events): the position of the next row, which orders `first`/`last`/
    /// `list`. Never leaves the process (rows are aggregated once, after merging).
    #[serde(skip)]
    rows_seen: Option<u64>,
}

/// What an aggregation left out because a budget ([`crate::command::Limits`]) was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overflow {
    /// Records that would have started a group beyond `max_groups`.
    pub groups: u64,
    /// Values left out of a `values()`/`dc()` accumulator holding `max_values`.
    pub values: u64,
}

impl Overflow {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.groups == 0 && self.values == 0
    }
}

/// Two states that cannot be merged: they were built for different aggregations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge aggregation states: {0}")]
pub struct GroupsError(String);

fn time_sym() -> Sym {
    static TIME: OnceLock<Sym> = OnceLock::new();
    *TIME.get_or_init(|| Sym::new("_time"))
}

/// The `_time` of a record, exactly (its text is epoch seconds with the source's digits).
fn record_time(rec: &dyn Record) -> Option<Timestamp> {
    let v = rec.value(time_sym());
    let text = v.first_text()?;
    Timestamp::parse_epoch_secs(text.trim()).ok()
}

/// The value of a call's argument for a record: the field's value, or the `eval(…)`'s (where
/// false counts as no value, so that `count(eval(x=1))` counts the records where `x=1`).
fn argument<'r>(call: &'r AggCall, rec: &'r dyn Record, ctx: &ExecCtx) -> Value<'r> {
    match (&call.eval, call.field) {
        (Some(e), _) => match e.expr().eval(rec, ctx.eval_ctx()) {
            Value::Bool(false) => Value::Null,
            v => v,
        },
        (None, Some(f)) => rec.value(f),
        (None, None) => Value::Null,
    }
}

fn new_accs(spec: &AggSpec) -> Vec<Acc> {
    spec.calls
        .iter()
        .map(|c| Acc::new(c, c.field == Some(time_sym()) && c.eval.is_none()))
        .collect()
}

impl Groups {
    /// An empty state for events (which may come from several workers, in any order).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state for rows aggregated in order, once (`stats` after a command that needs
    /// every row): `first`, `last` and `list` follow the rows' order.
    pub fn over_rows() -> Self {
        Groups {
            rows_seen: Some(0),
            ..Self::default()
        }
    }

    /// What was left out because a budget was reached.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether nothing was aggregated.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds a record: one contribution per combination of by-field values; none when a by-field
    /// is null and `spec` drops such records. A record that would start a group beyond the
    /// context's `max_groups` is left out and counted ([`Groups::overflow`]).
    pub fn add(&mut self, spec: &AggSpec, rec: &dyn Record, ctx: &ExecCtx) {
        self.add_kept(spec, rec, ctx, None)
    }

    /// [`Groups::add`], where a group that would start is first checked against the filters
    /// that follow the aggregation ([`KeyFilter`]): a group they would drop is never kept.
    pub fn add_kept(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        ctx: &ExecCtx,
        filter: Option<&KeyFilter>,
    ) {
        let time = record_time(rec);
        let rank = match &mut self.rows_seen {
            Some(n) => {
                *n += 1;
                Rank {
                    time: None,
                    seq: *n,
                }
            }
            None => Rank { time, seq: 0 },
        };
        // The common case: every by-field has one value. The key is looked up borrowed and
        // copied only when it starts a new group.
        let mut key: Vec<Cow<'_, str>> = Vec::with_capacity(spec.by.len());
        let mut held: Vec<Value<'_>> = Vec::with_capacity(spec.by.len());
        for by in &spec.by {
            held.push(by_value(by, rec, time));
        }
        for v in &held {
            if v.count() != 1 {
                return self.add_combinations(spec, rec, &held, time, rank, ctx, filter);
            }
            key.extend(v.first_text());
        }
        let max_groups = ctx.limits().max_groups;
        let len = self.groups.len();
        let accs = match self.groups.get_mut(&KeyRef(&key)) {
            Some(accs) => accs,
            None if filter.is_some_and(|f| {
                !f.keeps(&key.iter().map(|k| k.as_ref()).collect::<Vec<_>>(), ctx)
            }) =>
            {
                return;
            }
            None if len >= max_groups => {
                self.overflow.groups += 1;
                return;
            }
            None => {
                let owned = key.iter().map(|k| k.clone().into_owned()).collect();
                self.groups.entry(owned).or_insert_with(|| new_accs(spec))
            }
        };
        let dropped = add_all(accs, spec, rec, time, rank, ctx);
        self.overflow.values += dropped;
    }

    /// The general case: a multivalued or null by-field.
    #[allow(clippy::too_many_arguments)]
    fn add_combinations(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        held: &[Value<'_>],
        time: Option<Timestamp>,
        rank: Rank,
        ctx: &ExecCtx,
        filter: Option<&KeyFilter>,
    ) {
        let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(spec.by.len())];
        for v in held {
            let mut values: Vec<String> = v.texts().map(Cow::into_owned).collect();
            if values.is_empty() {
                match &spec.null_by {
                    NullBy::Fill(fill) => values.push(fill.clone()),
                    NullBy::Drop => return,
                }
            }
            keys = cross(keys, &values);
            if keys.len() > ctx.limits().max_groups {
                self.overflow.groups += 1;
                return;
            }
        }
        for key in keys {
            let len = self.groups.len();
            let accs = match self.groups.get_mut(&key) {
                Some(accs) => accs,
                None if filter.is_some_and(|f| {
                    !f.keeps(&key.iter().map(String::as_str).collect::<Vec<_>>(), ctx)
                }) =>
                {
                    continue;
                }
                None if len >= ctx.limits().max_groups => {
                    self.overflow.groups += 1;
                    continue;
                }
                None => self.groups.entry(key).or_insert_with(|| new_accs(spec)),
            };
            let dropped = add_all(accs, spec, rec, time, rank, ctx);
            self.overflow.values += dropped;
        }
    }

    /// Folds another partial state (from another worker, machine or time bucket) into this one.
    /// Fails when the two were not built for `spec`.
    pub fn merge(&mut self, spec: &AggSpec, other: Groups) -> Result<(), GroupsError> {
        for (key, accs) in other.groups {
            if key.len() != spec.by.len() || accs.len() != spec.calls.len() {
                return Err(GroupsError(format!(
                    "a group with {} keys and {} accumulators, expected {} and {}",
                    key.len(),
                    accs.len(),
                    spec.by.len(),
                    spec.calls.len()
                )));
            }
            match self.groups.get_mut(&key) {
                None => {
                    self.groups.insert(key, accs);
                }
                Some(mine) => {
                    for ((acc, other), call) in mine.iter_mut().zip(accs).zip(&spec.calls) {
                        acc.merge(call, other).map_err(GroupsError)?;
                    }
                }
            }
        }
        self.overflow.groups += other.overflow.groups;
        self.overflow.values += other.overflow.values;
        Ok(())
    }

    /// Why the state cannot give correct rows under `limits`, if it cannot: a budget was
    /// reached while adding, or merged states hold more groups or values than allowed.
    pub fn check_limits(&self, limits: &crate::command::Limits) -> Result<(), String> {
        if self.overflow.groups > 0 || self.groups.len() > limits.max_groups {
            return Err(format!(
                "more than {} groups (the max_groups limit); {} records were left out",
                limits.max_groups, self.overflow.groups
            ));
        }
        let most = self
            .groups
            .values()
            .flat_map(|accs| accs.iter().map(Acc::distinct_len))
            .max()
            .unwrap_or(0);
        if self.overflow.values > 0 || most > limits.max_values {
            return Err(format!(
                "a values()/dc() of one group holds more than {} distinct values (the \
                 max_values limit); {} values were left out",
                limits.max_values, self.overflow.values
            ));
        }
        Ok(())
    }

    /// The finished aggregates of each group, keyed by the group's by-field values (for
    /// `eventstats`, which gives every row its group's aggregates).
    pub fn into_map(self, spec: &AggSpec) -> HashMap<Vec<String>, Vec<Value<'static>>> {
        self.groups
            .into_iter()
            .map(|(key, accs)| {
                let values = spec
                    .calls
                    .iter()
                    .zip(accs)
                    .map(|(call, mut acc)| {
                        finish_list(&mut acc);
                        acc.finish(call)
                    })
                    .collect();
                (key, values)
            })
            .collect()
    }

    /// The result rows: by-field columns as written, then the aggregates in the order written;
    /// groups sorted ascending by their by-field values, first field first (numbers as
    /// numbers, [`group_order`]). With no by-field, one row even over no events (as `stats
    /// count` gives 0).
    pub fn into_rows(self, spec: &AggSpec) -> Vec<Row> {
        let mut groups: Vec<_> = self.groups.into_iter().collect();
        groups.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| group_order(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        if spec.by.is_empty() && groups.is_empty() {
            groups.push((Vec::new(), new_accs(spec)));
        }
        groups
            .into_iter()
            .map(|(key, accs)| {
                let mut row = Row::with_capacity(spec.by.len() + spec.calls.len());
                for (b, k) in spec.by.iter().zip(key) {
                    row.set(b.output, Value::from_field(k));
                }
                for (call, mut acc) in spec.calls.iter().zip(accs) {
                    finish_list(&mut acc);
                    row.set(call.output, acc.finish(call));
                }
                row
            })
            .collect()
    }
}

fn add_all(
    accs: &mut [Acc],
    spec: &AggSpec,
    rec: &dyn Record,
    time: Option<Timestamp>,
    rank: Rank,
    ctx: &ExecCtx,
) -> u64 {
    let max_values = ctx.limits().max_values;
    let mut dropped = 0;
    for (acc, call) in accs.iter_mut().zip(&spec.calls) {
        let value = argument(call, rec, ctx);
        dropped += acc.add(call, &value, time, rank, max_values);
    }
    dropped
}

/// The value of a by-field: `_time` bucketed by its span.
fn by_value<'r>(by: &ByField, rec: &'r dyn Record, time: Option<Timestamp>) -> Value<'r> {
    if by.field == time_sym() {
        return match time {
            Some(t) => Value::from_field(time_bucket(t, by.span_secs)),
            None => Value::Null,
        };
    }
    rec.value(by.field)
}

/// A borrowed group key, looked up without copying: hashes exactly like the owned key.
struct KeyRef<'k, 'v>(&'k [Cow<'v, str>]);

impl Hash for KeyRef<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `[String]` hashes its length, then each string; so does this.
        state.write_usize(self.0.len());
        for k in self.0 {
            k.as_ref().hash(state);
        }
    }
}

impl Equivalent<Vec<String>> for KeyRef<'_, '_> {
    fn equivalent(&self, key: &Vec<String>) -> bool {
        self.0.len() == key.len() && self.0.iter().zip(key).all(|(a, b)| a.as_ref() == b)
    }
}

/// `_time` bucketed to the span's start, as epoch seconds; spans beyond `i64` are one bucket.
fn time_bucket(t: Timestamp, span: Option<u64>) -> String {
    match span.and_then(|s| i64::try_from(s).ok()).filter(|s| *s > 0) {
        Some(span) => (t.as_secs().div_euclid(span) * span).to_string(),
        None => t.epoch_text(),
    }
}

fn cross(keys: Vec<Vec<String>>, values: &[String]) -> Vec<Vec<String>> {
    if let [only] = values {
        return keys
            .into_iter()
            .map(|mut k| {
                k.push(only.clone());
                k
            })
            .collect();
    }
    let mut out = Vec::with_capacity(keys.len() * values.len());
    for k in &keys {
        for v in values {
            let mut k = k.clone();
            k.push(v.clone());
            out.push(k);
        }
    }
    out
}

/// The group a record belongs to (the first value of each by-field); `None` when a by-field is
/// null and `spec` drops such records.
pub(crate) fn group_key(spec: &AggSpec, rec: &dyn Record) -> Option<Vec<String>> {
    let time = record_time(rec);
    let mut key = Vec::with_capacity(spec.by.len());
    for by in &spec.by {
        match by_value(by, rec, time).first_text() {
            Some(t) => key.push(t.into_owned()),
            None => match &spec.null_by {
                NullBy::Fill(fill) => key.push(fill.clone()),
                NullBy::Drop => return None,
            },
        }
    }
    Some(key)
}
