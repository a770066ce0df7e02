//! Aggregation: what `tstats` and `stats` compute per group of events, as state that merges.
//!
//! An [`AggSpec`] says what to compute (functions, by-fields, what a null by-field does);
//! [`Groups`] is the running state. Every accumulator is a commutative, associative summary
//! (counts, extremes, value sets, exact sums), so partial states built on different threads or
//! machines, or for different time buckets, merge into exactly the state one pass over all
//! events would have built; rows are sorted when the state is finished, so the output never
//! depends on how the work was split.

mod groups;
mod sum;

pub use groups::{Acc, Groups, GroupsError};
pub use sum::ExactSum;

use crate::sym::Sym;

/// What an aggregation computes.
#[derive(Debug, Clone, PartialEq)]
pub struct AggSpec {
    /// The functions, in the order written.
    pub calls: Vec<AggCall>,
    /// The by-fields, in the order written.
    pub by: Vec<ByField>,
    /// What an event whose by-field is null does.
    pub null_by: NullBy,
}

/// What an event with a null by-field contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NullBy {
    /// Nothing: it is dropped (`stats`, and `tstats` without `fillnull_value`).
    Drop,
    /// It is grouped under this value (`tstats fillnull_value=…`).
    Fill(String),
}

/// One aggregation, e.g. `min(_time) as firstTime`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Its argument; `None` for a bare `count`.
    pub field: Option<Sym>,
    /// The output column: the `as` name, or the call as written (`count`, `min(_time)`).
    pub output: Sym,
}

/// Aggregation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggFunc {
    /// `count`, `count(x)`: events (with `x` non-null).
    Count,
    /// `dc(x)`, `distinct_count(x)`: distinct non-null values.
    DistinctCount,
    /// `min(x)`: numeric minimum when there are numbers, else lexicographic.
    Min,
    /// `max(x)`.
    Max,
    /// `values(x)`: distinct values, sorted lexicographically.
    Values,
    /// `earliest(x)`: the value of the event with the smallest `_time`.
    Earliest,
    /// `latest(x)`: the value of the event with the largest `_time`.
    Latest,
    /// `sum(x)`.
    Sum,
    /// `avg(x)`.
    Avg,
}

impl AggFunc {
    /// The function of a name as written in `stats`/`tstats` (`dc`, `distinct_count`, …).
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name {
            "count" | "c" => AggFunc::Count,
            "dc" | "distinct_count" => AggFunc::DistinctCount,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "values" => AggFunc::Values,
            "earliest" => AggFunc::Earliest,
            "latest" => AggFunc::Latest,
            "sum" => AggFunc::Sum,
            "avg" | "mean" => AggFunc::Avg,
            _ => return None,
        })
    }
}

/// A group-by field.
#[derive(Debug, Clone, PartialEq)]
pub struct ByField {
    /// The field read from the record.
    pub field: Sym,
    /// The output column, as written in the by-clause.
    pub output: Sym,
    /// For `_time span=1h`: the bucket width in seconds.
    pub span_secs: Option<u64>,
}

impl AggSpec {
    /// Every field the aggregation reads.
    pub fn fields(&self) -> impl Iterator<Item = Sym> + '_ {
        self.calls
            .iter()
            .filter_map(|c| c.field)
            .chain(self.by.iter().map(|b| b.field))
    }
}
