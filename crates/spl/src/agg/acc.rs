//! One aggregate's running summary, and how it merges.
//!
//! Every accumulator is a commutative, associative summary, so that states built on different
//! workers or time buckets merge into the state of one pass. The functions whose result depends
//! on the order of events (`first`, `last`, `list`) keep each value with its [`Rank`]: its place
//! in the order Splunk feeds events to `stats` (newest first), so that merging keeps the values
//! one pass would have kept.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

use super::distinct::DistinctSet;
use super::sum::ExactSum;
use super::{AggCall, AggFunc};
use crate::time::Timestamp;
use crate::value::{Value, parse_number};

/// How many values `list()` keeps: Splunk's `list_maxsize` default (limits.conf, `[stats]`).
pub const LIST_MAX: usize = 100;

/// Where a value stands in the order `stats` sees its input: events newest first, rows in the
/// order they come. Over events (which merge across workers), the time decides and equal times
/// are ordered by value; over rows, the row's position decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rank {
    /// The event's time (`None` over rows, or for an event without one).
    pub time: Option<Timestamp>,
    /// The row's position (0 over events).
    pub seq: u64,
}

impl Rank {
    /// `Less` when `self` comes first in input order: the later time first (a missing time
    /// last), then the earlier position.
    fn order(&self, other: &Rank) -> Ordering {
        match (self.time, other.time) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then(self.seq.cmp(&other.seq))
    }
}

/// `Less` when `(a, av)` comes before `(b, bv)`: by rank, then by value (so that equal ranks
/// merge in any order to the same result).
fn ranked_order(a: &(Rank, String), b: &(Rank, String)) -> Ordering {
    a.0.order(&b.0).then_with(|| a.1.cmp(&b.1))
}

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
    Distinct(DistinctSet),
    /// `earliest(x)`/`latest(x)`: the value at the extreme time (ties broken by value).
    AtTime(Option<(Timestamp, String)>),
    /// `sum(x)`/`avg(x)`: the sum and count of numeric values.
    Sum {
        /// Sum of the numeric values, exact so that merging in any order gives one result.
        sum: ExactSum,
        /// How many numeric values.
        n: u64,
    },
    /// `stdev`, `stdevp`, `var`, `varp`: count, sum and sum of squares, exact.
    Moments {
        /// How many numeric values.
        n: u64,
        /// Their sum.
        sum: ExactSum,
        /// The sum of their squares.
        squares: ExactSum,
    },
    /// `range(x)`: the smallest and largest numeric values.
    Range {
        /// Smallest.
        min: Option<f64>,
        /// Largest.
        max: Option<f64>,
    },
    /// `first(x)`/`last(x)`: the value first (last) in input order.
    Ranked(Option<(Rank, String)>),
    /// `list(x)`: the first [`LIST_MAX`] values in input order.
    List(Vec<(Rank, String)>),
}

/// A value that `sum`, `avg`, `min`, `max`, `range` and `stdev` treat as a number: a finite
/// decimal.
fn numeric(v: &str) -> Option<f64> {
    parse_number(v).filter(|x| x.is_finite())
}

impl Acc {
    pub(crate) fn new(call: &AggCall, is_time: bool) -> Acc {
        match call.func {
            AggFunc::Count => Acc::Count(0),
            AggFunc::Min | AggFunc::Max if is_time => Acc::Time(None),
            AggFunc::Min | AggFunc::Max => Acc::Extreme {
                number: None,
                text: None,
            },
            AggFunc::Values | AggFunc::DistinctCount => Acc::Distinct(DistinctSet::new()),
            AggFunc::Earliest | AggFunc::Latest => Acc::AtTime(None),
            AggFunc::Sum | AggFunc::Avg => Acc::Sum {
                sum: ExactSum::default(),
                n: 0,
            },
            AggFunc::Stdev | AggFunc::Stdevp | AggFunc::Var | AggFunc::Varp => Acc::Moments {
                n: 0,
                sum: ExactSum::default(),
                squares: ExactSum::default(),
            },
            AggFunc::Range => Acc::Range {
                min: None,
                max: None,
            },
            AggFunc::First | AggFunc::Last => Acc::Ranked(None),
            AggFunc::List => Acc::List(Vec::new()),
        }
    }

    /// Adds a record's value (`value` is the argument's value; `time` the record's `_time`).
    /// Returns how many values were left out because `max_values` was reached.
    pub(crate) fn add(
        &mut self,
        call: &AggCall,
        value: &Value<'_>,
        time: Option<Timestamp>,
        rank: Rank,
        max_values: usize,
    ) -> u64 {
        let want_max = matches!(call.func, AggFunc::Max | AggFunc::Latest | AggFunc::Last);
        match self {
            Acc::Count(n) => match (call.field, &call.eval) {
                (None, None) => *n += 1,
                _ => *n += u64::from(!value.is_null()),
            },
            Acc::Time(best) => {
                if let Some(t) = time {
                    *best = Some(pick(*best, t, want_max));
                }
            }
            Acc::Extreme { number, text } => {
                for v in value.texts() {
                    add_extreme(number, text, &v, want_max);
                }
            }
            Acc::Distinct(set) => {
                let mut dropped = 0;
                for v in value.texts() {
                    if !set.contains(v.as_ref()) {
                        if set.len() >= max_values {
                            dropped += 1;
                        } else {
                            set.insert(v.into_owned());
                        }
                    }
                }
                return dropped;
            }
            Acc::AtTime(best) => {
                let Some(t) = time else { return 0 };
                if let Some(v) = value.first_text() {
                    merge_at_time(best, Some((t, v.into_owned())), want_max);
                }
            }
            Acc::Sum { sum, n } => {
                for v in value.texts() {
                    if let Some(x) = numeric(&v) {
                        sum.add(x);
                        *n += 1;
                    }
                }
            }
            Acc::Moments { n, sum, squares } => {
                for v in value.texts() {
                    if let Some(x) = numeric(&v) {
                        sum.add(x);
                        squares.add(x * x);
                        *n += 1;
                    }
                }
            }
            Acc::Range { min, max } => {
                for v in value.texts() {
                    if let Some(x) = numeric(&v) {
                        *min = Some(min.map_or(x, |m| m.min(x)));
                        *max = Some(max.map_or(x, |m| m.max(x)));
                    }
                }
            }
            Acc::Ranked(best) => {
                if let Some(v) = value.first_text() {
                    merge_ranked(best, Some((rank, v.into_owned())), want_max);
                }
            }
            Acc::List(list) => {
                for v in value.texts() {
                    list.push((rank, v.into_owned()));
                }
                trim_list(list);
            }
        }
        0
    }

    pub(crate) fn merge(&mut self, call: &AggCall, other: Acc) -> Result<(), String> {
        let want_max = matches!(call.func, AggFunc::Max | AggFunc::Latest | AggFunc::Last);
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
            (
                Acc::Moments { n, sum, squares },
                Acc::Moments {
                    n: n2,
                    sum: s2,
                    squares: q2,
                },
            ) => {
                *n += n2;
                sum.merge(s2);
                squares.merge(q2);
            }
            (Acc::Range { min, max }, Acc::Range { min: m2, max: x2 }) => {
                if let Some(m) = m2 {
                    *min = Some(min.map_or(m, |a| a.min(m)));
                }
                if let Some(x) = x2 {
                    *max = Some(max.map_or(x, |a| a.max(x)));
                }
            }
            (Acc::Ranked(a), Acc::Ranked(b)) => merge_ranked(a, b, want_max),
            (Acc::List(a), Acc::List(b)) => {
                a.extend(b);
                trim_list(a);
            }
            (a, b) => {
                return Err(format!("accumulators of different kinds ({a:?}, {b:?})"));
            }
        }
        Ok(())
    }

    /// How many distinct values it holds (for `values`/`dc`).
    /// An estimate of the heap bytes its texts take, each distinct value counted as `value`
    /// bytes besides its text (for a state read back, which does not count its size).
    pub(crate) fn text_bytes(&self, value: usize) -> usize {
        match self {
            Acc::Extreme { number, text } => {
                number.as_ref().map_or(0, |(_, s)| s.len()) + text.as_ref().map_or(0, String::len)
            }
            Acc::Distinct(set) => set.iter().map(|t| t.len() + value).sum(),
            Acc::AtTime(v) => v.as_ref().map_or(0, |(_, s)| s.len()),
            Acc::Ranked(v) => v.as_ref().map_or(0, |(_, s)| s.len()),
            Acc::List(v) => v.iter().map(|(_, s)| s.len() + value).sum(),
            _ => 0,
        }
    }

    /// The bytes of the texts it holds other than distinct values (which `add` counts as they
    /// come): an extreme, a value at a time or in order, a list's values.
    pub(crate) fn held_text_bytes(&self) -> usize {
        match self {
            Acc::Distinct(_) => 0,
            other => other.text_bytes(0),
        }
    }

    pub(crate) fn distinct_len(&self) -> usize {
        match self {
            Acc::Distinct(set) => set.len(),
            _ => 0,
        }
    }

    pub(crate) fn finish(self, call: &AggCall) -> Value<'static> {
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
            Acc::Moments { n, sum, squares } => {
                let sample = matches!(call.func, AggFunc::Stdev | AggFunc::Var);
                let denominator = if sample { n.saturating_sub(1) } else { n };
                if n == 0 || denominator == 0 {
                    // One value has no sample variance [inferred: Splunk shows 0 for a
                    // population statistic and nothing for a sample one of a single value].
                    return if n == 0 || sample {
                        Value::Null
                    } else {
                        Value::num(0.0)
                    };
                }
                let mean = sum.value() / n as f64;
                let var = ((squares.value() - mean * sum.value()) / denominator as f64).max(0.0);
                match call.func {
                    AggFunc::Stdev | AggFunc::Stdevp => Value::num(var.sqrt()),
                    _ => Value::num(var),
                }
            }
            Acc::Range {
                min: Some(a),
                max: Some(b),
            } => Value::num(b - a),
            Acc::Range { .. } => Value::Null,
            Acc::Ranked(v) => v.map_or(Value::Null, |(_, s)| Value::from_field(s)),
            Acc::List(list) => Value::multi(
                list.into_iter()
                    .map(|(_, s)| Value::from_field(s))
                    .collect(),
            ),
        }
    }
}

fn trim_list(list: &mut Vec<(Rank, String)>) {
    // Keep the first LIST_MAX in input order; sort lazily (only when over the cap, and at the
    // end through `finish`), so adding stays cheap.
    if list.len() > 2 * LIST_MAX {
        list.sort_by(ranked_order);
        list.truncate(LIST_MAX);
    }
}

pub(crate) fn finish_list(acc: &mut Acc) {
    if let Acc::List(list) = acc {
        list.sort_by(ranked_order);
        list.truncate(LIST_MAX);
    }
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

/// `first` keeps the value earliest in input order, `last` (`want_last`) the latest.
fn merge_ranked(best: &mut Option<(Rank, String)>, other: Option<(Rank, String)>, want_last: bool) {
    let Some(o) = other else { return };
    let replace = match best {
        None => true,
        Some(b) => {
            let ord = ranked_order(&o, b);
            if want_last {
                ord == Ordering::Greater
            } else {
                ord == Ordering::Less
            }
        }
    };
    if replace {
        *best = Some(o);
    }
}
