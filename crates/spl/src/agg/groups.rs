//! The aggregation state: groups keyed by their by-field values, one accumulator per function.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use hashbrown::{Equivalent, HashMap};
use serde::{Deserialize, Serialize};

use super::sum::ExactSum;
use super::{AggCall, AggFunc, AggSpec, ByField, NullBy};
use crate::record::Record;
use crate::row::Row;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::{Value, group_order, parse_number};

/// The state of one aggregation: groups and their accumulators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    groups: HashMap<Vec<String>, Vec<Acc>>,
}

/// Two states that cannot be merged: they were built for different aggregations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge aggregation states: {0}")]
pub struct GroupsError(String);

/// One aggregate's running summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Acc {
    /// `count`, `count(x)`.
    Count(u64),
    /// `min`/`max` of `_time`: the extreme time seen.
    Time(Option<Timestamp>),
    /// `min`/`max` of a field: the extreme numeric and textual values seen.
    Extreme {
        /// The numeric extreme and its text.
        number: Option<(f64, String)>,
        /// The lexicographic extreme.
        text: Option<String>,
    },
    /// `values(x)` and `dc(x)`: the distinct values.
    Distinct(BTreeSet<String>),
    /// `earliest(x)`/`latest(x)`: the value at the extreme time (ties broken by value).
    AtTime(Option<(Timestamp, String)>),
    /// `sum(x)`/`avg(x)`: the sum and count of numeric values.
    Sum {
        /// Sum of the numeric values, exact so that merging in any order gives one result.
        sum: ExactSum,
        /// How many numeric values.
        n: u64,
    },
}

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

impl Acc {
    fn new(call: &AggCall) -> Acc {
        let is_time = call.field == Some(time_sym());
        match call.func {
            AggFunc::Count => Acc::Count(0),
            AggFunc::Min | AggFunc::Max if is_time => Acc::Time(None),
            AggFunc::Min | AggFunc::Max => Acc::Extreme {
                number: None,
                text: None,
            },
            AggFunc::Values | AggFunc::DistinctCount => Acc::Distinct(BTreeSet::new()),
            AggFunc::Earliest | AggFunc::Latest => Acc::AtTime(None),
            AggFunc::Sum | AggFunc::Avg => Acc::Sum {
                sum: ExactSum::default(),
                n: 0,
            },
        }
    }

    fn add(&mut self, call: &AggCall, rec: &dyn Record) {
        let want_max = matches!(call.func, AggFunc::Max | AggFunc::Latest);
        let value = || call.field.map_or(Value::Null, |f| rec.value(f));
        match self {
            Acc::Count(n) => match call.field {
                None => *n += 1,
                Some(_) => *n += u64::from(!value().is_null()),
            },
            Acc::Time(best) => {
                if let Some(t) = record_time(rec) {
                    *best = Some(pick(*best, t, want_max));
                }
            }
            Acc::Extreme { number, text } => {
                for v in value().texts() {
                    add_extreme(number, text, &v, want_max);
                }
            }
            Acc::Distinct(set) => {
                for v in value().texts() {
                    if !set.contains(v.as_ref()) {
                        set.insert(v.into_owned());
                    }
                }
            }
            Acc::AtTime(best) => {
                let Some(t) = record_time(rec) else { return };
                if let Some(v) = value().first_text() {
                    merge_at_time(best, Some((t, v.into_owned())), want_max);
                }
            }
            Acc::Sum { sum, n } => {
                for v in value().texts() {
                    if let Some(x) = numeric(&v) {
                        sum.add(x);
                        *n += 1;
                    }
                }
            }
        }
    }

    fn merge(&mut self, call: &AggCall, other: Acc) -> Result<(), GroupsError> {
        let want_max = matches!(call.func, AggFunc::Max | AggFunc::Latest);
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Time(a), Acc::Time(b)) => {
                if let Some(t) = b {
                    *a = Some(pick(*a, t, want_max));
                }
            }
            (
                Acc::Extreme { number, text },
                Acc::Extreme {
                    number: n2,
                    text: t2,
                },
            ) => {
                if let Some((_, s)) = n2 {
                    add_extreme(number, text, &s, want_max);
                }
                if let Some(s) = t2 {
                    add_extreme(number, text, &s, want_max);
                }
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(b),
            (Acc::AtTime(a), Acc::AtTime(b)) => merge_at_time(a, b, want_max),
            (Acc::Sum { sum, n }, Acc::Sum { sum: s2, n: n2 }) => {
                sum.merge(s2);
                *n += n2;
            }
            (a, b) => {
                return Err(GroupsError(format!(
                    "accumulators of different kinds ({a:?}, {b:?})"
                )));
            }
        }
        Ok(())
    }

    fn finish(self, call: &AggCall) -> Value<'static> {
        match self {
            Acc::Count(n) => Value::num(n as f64),
            Acc::Time(t) => t.map_or(Value::Null, |t| Value::from_field(t.epoch_text())),
            Acc::Extreme { number, text } => match (number, text) {
                (Some((_, s)), _) | (None, Some(s)) => Value::from_field(s),
                (None, None) => Value::Null,
            },
            Acc::Distinct(set) => match call.func {
                AggFunc::DistinctCount => Value::num(set.len() as f64),
                _ => Value::multi(set.into_iter().map(Value::from_field).collect()),
            },
            Acc::AtTime(v) => v.map_or(Value::Null, |(_, s)| Value::from_field(s)),
            Acc::Sum { n: 0, .. } => Value::Null,
            Acc::Sum { sum, n } => {
                let x = if call.func == AggFunc::Avg {
                    sum.value() / n as f64
                } else {
                    sum.value()
                };
                Value::num(x)
            }
        }
    }
}

/// A value that `sum`, `avg`, `min` and `max` treat as a number: a finite decimal.
fn numeric(v: &str) -> Option<f64> {
    parse_number(v).filter(|x| x.is_finite())
}

fn pick(best: Option<Timestamp>, t: Timestamp, want_max: bool) -> Timestamp {
    match best {
        None => t,
        Some(b) if want_max => b.max(t),
        Some(b) => b.min(t),
    }
}

/// Numeric values compete numerically, the others lexicographically; the numeric extreme wins
/// when there is one (Splunk processes values as numbers when it can).
fn add_extreme(
    number: &mut Option<(f64, String)>,
    text: &mut Option<String>,
    v: &str,
    want_max: bool,
) {
    let better = |o: Ordering| {
        if want_max {
            o == Ordering::Greater
        } else {
            o == Ordering::Less
        }
    };
    if let Some(x) = numeric(v) {
        let replace = match number {
            None => true,
            Some((y, s)) => better(x.total_cmp(y)) || (x == *y && better(v.cmp(s))),
        };
        if replace {
            *number = Some((x, v.to_owned()));
        }
    } else if text.as_deref().is_none_or(|t| better(v.cmp(t))) {
        *text = Some(v.to_owned());
    }
}

fn merge_at_time(
    best: &mut Option<(Timestamp, String)>,
    other: Option<(Timestamp, String)>,
    want_max: bool,
) {
    let Some((t, v)) = other else { return };
    let replace = match best {
        None => true,
        Some((bt, bv)) => {
            let o = t.cmp(bt).then_with(|| v.cmp(bv));
            if want_max {
                o == Ordering::Greater
            } else {
                o == Ordering::Less
            }
        }
    };
    if replace {
        *best = Some((t, v));
    }
}

impl Groups {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
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
    /// is null and `spec` drops such records.
    pub fn add(&mut self, spec: &AggSpec, rec: &dyn Record) {
        // The common case: every by-field has one value. The key is looked up borrowed and
        // copied only when it starts a new group.
        let mut key: Vec<Cow<'_, str>> = Vec::with_capacity(spec.by.len());
        let mut held: Vec<Value<'_>> = Vec::with_capacity(spec.by.len());
        for by in &spec.by {
            held.push(by_value(by, rec));
        }
        for v in &held {
            if v.count() != 1 {
                return self.add_combinations(spec, rec, &held);
            }
            key.extend(v.first_text());
        }
        let accs = match self.groups.get_mut(&KeyRef(&key)) {
            Some(accs) => accs,
            None => {
                let owned = key.iter().map(|k| k.clone().into_owned()).collect();
                self.groups.entry(owned).or_insert_with(|| new_accs(spec))
            }
        };
        for (acc, call) in accs.iter_mut().zip(&spec.calls) {
            acc.add(call, rec);
        }
    }

    /// The general case: a multivalued or null by-field.
    fn add_combinations(&mut self, spec: &AggSpec, rec: &dyn Record, held: &[Value<'_>]) {
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
        }
        for key in keys {
            let accs = self.groups.entry(key).or_insert_with(|| new_accs(spec));
            for (acc, call) in accs.iter_mut().zip(&spec.calls) {
                acc.add(call, rec);
            }
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
                        acc.merge(call, other)?;
                    }
                }
            }
        }
        Ok(())
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
                for (call, acc) in spec.calls.iter().zip(accs) {
                    row.set(call.output, acc.finish(call));
                }
                row
            })
            .collect()
    }
}

fn new_accs(spec: &AggSpec) -> Vec<Acc> {
    spec.calls.iter().map(Acc::new).collect()
}

/// The value of a by-field: `_time` bucketed by its span; the fill value for a null field.
fn by_value<'r>(by: &ByField, rec: &'r dyn Record) -> Value<'r> {
    if by.field == time_sym() {
        return match record_time(rec) {
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
