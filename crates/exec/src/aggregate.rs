//! `tstats` aggregation: groups keyed by the by-fields, one accumulator per aggregate.
//!
//! Every accumulator is a commutative, associative summary (counts, extremes, value sets), so
//! partial states built on different threads or machines merge into exactly the state one pass
//! over all events would have built, whatever the order.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};

use cimhunt_cim::{CimEvent, Timestamp};
use cimhunt_spl::{AggFunc, Aggregate, ByField, FieldRef, Tstats, parse_number};

use crate::compare::compare_values;
use crate::event::event_values;
use crate::row::{Row, Value};
use crate::sum::ExactSum;

/// The aggregation state of one `tstats`: groups and their accumulators.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    groups: HashMap<Vec<String>, Vec<Acc>>,
}

/// One aggregate's running summary.
#[derive(Debug, Clone, PartialEq)]
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

impl Acc {
    fn new(agg: &Aggregate) -> Acc {
        match (agg.func, &agg.field) {
            (AggFunc::Count, _) => Acc::Count(0),
            (AggFunc::Min | AggFunc::Max, Some(FieldRef::Time)) => Acc::Time(None),
            (AggFunc::Min | AggFunc::Max, _) => Acc::Extreme {
                number: None,
                text: None,
            },
            (AggFunc::Values | AggFunc::DistinctCount, _) => Acc::Distinct(BTreeSet::new()),
            (AggFunc::Earliest | AggFunc::Latest, _) => Acc::AtTime(None),
            (AggFunc::Sum | AggFunc::Avg, _) => Acc::Sum {
                sum: ExactSum::default(),
                n: 0,
            },
        }
    }

    fn add(&mut self, agg: &Aggregate, event: &CimEvent<'_>) {
        let want_max = matches!(agg.func, AggFunc::Max | AggFunc::Latest);
        let field = agg.field.as_ref();
        match self {
            Acc::Count(n) => match field {
                None => *n += 1,
                Some(f) => *n += u64::from(event_values(event, f).next().is_some()),
            },
            Acc::Time(best) => {
                if let Some(t) = event.time {
                    *best = Some(pick(*best, t, want_max));
                }
            }
            Acc::Extreme { number, text } => {
                for v in field.into_iter().flat_map(|f| event_values(event, f)) {
                    add_extreme(number, text, &v, want_max);
                }
            }
            Acc::Distinct(set) => {
                for v in field.into_iter().flat_map(|f| event_values(event, f)) {
                    if !set.contains(v.as_ref()) {
                        set.insert(v.into_owned());
                    }
                }
            }
            Acc::AtTime(best) => {
                let (Some(t), Some(f)) = (event.time, field) else {
                    return;
                };
                if let Some(v) = event_values(event, f).next() {
                    merge_at_time(best, Some((t, v.into_owned())), want_max);
                }
            }
            Acc::Sum { sum, n } => {
                for v in field.into_iter().flat_map(|f| event_values(event, f)) {
                    if let Some(x) = numeric(&v) {
                        sum.add(x);
                        *n += 1;
                    }
                }
            }
        }
    }

    fn merge(&mut self, agg: &Aggregate, other: Acc) {
        let want_max = matches!(agg.func, AggFunc::Max | AggFunc::Latest);
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
            (a, b) => debug_assert!(false, "merging different accumulators {a:?} and {b:?}"),
        }
    }

    fn finish(self, agg: &Aggregate) -> Value {
        match self {
            Acc::Count(n) => Value::Number(n.to_string()),
            Acc::Time(t) => t.map_or(Value::Null, |t| Value::Text(t.epoch_text())),
            Acc::Extreme { number, text } => match (number, text) {
                (Some((_, s)), _) | (None, Some(s)) => Value::Text(s),
                (None, None) => Value::Null,
            },
            Acc::Distinct(set) => match agg.func {
                AggFunc::DistinctCount => Value::Number(set.len().to_string()),
                _ if set.is_empty() => Value::Null,
                _ => Value::Multi(set.into_iter().collect()),
            },
            Acc::AtTime(v) => v.map_or(Value::Null, |(_, s)| Value::Text(s)),
            Acc::Sum { n: 0, .. } => Value::Null,
            Acc::Sum { sum, n } => {
                let x = if agg.func == AggFunc::Avg {
                    sum.value() / n as f64
                } else {
                    sum.value()
                };
                Value::Number(format_number(x))
            }
        }
    }
}

/// A value that `sum`, `avg`, `min` and `max` treat as a number: a finite decimal, as the
/// search language reads numbers ([`parse_number`]).
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

/// A number as Splunk prints it: integers without a fraction.
fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
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

    /// Whether no event was aggregated.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds an event that passed the filter: one contribution per combination of by-field
    /// values; none when a by-field is null and there is no `fillnull_value`.
    pub fn add(&mut self, tstats: &Tstats, event: &CimEvent<'_>) {
        // The common case: every by-field has one value. The key is looked up borrowed and
        // copied only when it starts a new group.
        let mut key: Vec<Cow<'_, str>> = Vec::with_capacity(tstats.by.len());
        for by in &tstats.by {
            let mut values = by_values(by, event);
            let (Some(first), None) = (values.next(), values.next()) else {
                return self.add_combinations(tstats, event);
            };
            key.push(first);
        }
        let found = self.groups.get_mut(&KeyRef(&key));
        let accs = match found {
            Some(accs) => accs,
            None => {
                let owned = key.iter().map(|k| k.clone().into_owned()).collect();
                self.groups.entry(owned).or_insert_with(|| new_accs(tstats))
            }
        };
        for (acc, agg) in accs.iter_mut().zip(&tstats.aggregates) {
            acc.add(agg, event);
        }
    }

    /// The general case: a multi-valued or null by-field.
    fn add_combinations(&mut self, tstats: &Tstats, event: &CimEvent<'_>) {
        let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(tstats.by.len())];
        for by in &tstats.by {
            let mut values: Vec<String> = by_values(by, event).map(Cow::into_owned).collect();
            if values.is_empty() {
                match &tstats.fillnull_value {
                    Some(fill) => values.push(fill.clone()),
                    None => return,
                }
            }
            keys = cross(keys, &values);
        }
        for key in keys {
            let accs = self.groups.entry(key).or_insert_with(|| new_accs(tstats));
            for (acc, agg) in accs.iter_mut().zip(&tstats.aggregates) {
                acc.add(agg, event);
            }
        }
    }

    /// Folds another partial state (from another worker or machine) into this one.
    pub fn merge(&mut self, tstats: &Tstats, other: Groups) {
        for (key, accs) in other.groups {
            match self.groups.get_mut(&key) {
                None => {
                    self.groups.insert(key, accs);
                }
                Some(mine) => {
                    for ((acc, other), agg) in mine.iter_mut().zip(accs).zip(&tstats.aggregates) {
                        acc.merge(agg, other);
                    }
                }
            }
        }
    }

    /// The result rows: by-field columns as written in the by-clause, then the aggregates in the
    /// order written; groups sorted ascending by their by-field values, first field first
    /// (numbers compared as numbers).
    pub fn into_rows(self, tstats: &Tstats) -> Vec<Row> {
        let mut groups: Vec<_> = self.groups.into_iter().collect();
        groups.sort_by(|(a, _), (b, _)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| compare_values(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        if tstats.by.is_empty() && groups.is_empty() {
            // `| tstats count` over nothing still yields one row, as stats does.
            let accs = tstats.aggregates.iter().map(Acc::new).collect();
            groups.push((Vec::new(), accs));
        }
        groups
            .into_iter()
            .map(|(key, accs)| {
                let by = tstats
                    .by
                    .iter()
                    .zip(key)
                    .map(|(b, k)| (b.output.clone(), Value::Text(k)));
                let aggs = tstats
                    .aggregates
                    .iter()
                    .zip(accs)
                    .map(|(agg, acc)| (agg.output.clone(), acc.finish(agg)));
                by.chain(aggs).collect()
            })
            .collect()
    }
}

fn new_accs(tstats: &Tstats) -> Vec<Acc> {
    tstats.aggregates.iter().map(Acc::new).collect()
}

/// The values of a by-field in an event; `_time` bucketed by its span; the fill value for a
/// null field when the search has one (a null field without one yields nothing).
fn by_values<'e>(by: &'e ByField, event: &'e CimEvent<'_>) -> impl Iterator<Item = Cow<'e, str>> {
    let (time, stored) = match (&by.field, by.span_secs) {
        (FieldRef::Time, span) => (Some(event.time.map(|t| time_bucket(t, span))), None),
        (f, _) => (None, Some(event_values(event, f))),
    };
    time.into_iter()
        .flatten()
        .map(Cow::Owned)
        .chain(stored.into_iter().flatten())
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

/// `_time` bucketed to the span's start, as epoch seconds.
fn time_bucket(t: Timestamp, span: Option<u64>) -> String {
    match span {
        Some(span) if span > 0 => {
            let span = span as i64;
            (t.as_secs().div_euclid(span) * span).to_string()
        }
        _ => t.epoch_text(),
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
