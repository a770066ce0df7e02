//! Aggregation: what `tstats` and `stats` compute per group of events, as state that merges.
//!
//! An [`AggSpec`] says what to compute (functions, by-fields, what a null by-field does);
//! [`Groups`] is the running state. Every accumulator is a commutative, associative summary
//! (counts, extremes, value sets, exact sums), so partial states built on different threads or
//! machines, or for different time buckets, merge into exactly the state one pass over all
//! events would have built; rows are sorted when the state is finished, so the output never
//! depends on how the work was split.

mod acc;
mod distinct;
mod groups;
mod key;
mod runs;
mod sum;
mod table;
mod verdicts;

pub use acc::{Acc, LIST_MAX};
pub(crate) use groups::group_key;
pub use groups::{Groups, GroupsError, OrderedRows, Overflow, RETAIN_CHUNK};
pub use key::{KeyValues, Keys};
pub use runs::{FAN_IN, MergedRows, Runs};
pub use sum::ExactSum;

use std::fmt;
use std::sync::Arc;

use crate::eval::EvalExpr;
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
    /// Its argument; `None` for a bare `count` (and for an `eval(…)` argument).
    pub field: Option<Sym>,
    /// An `eval(…)` argument (`count(eval(EventCode=4624))`, `dc(eval(upper(user)))`), whose
    /// value is computed per record.
    pub eval: Option<AggEval>,
    /// The output column: the `as` name, or the call as written (`count`, `min(_time)`).
    pub output: Sym,
}

impl AggCall {
    /// A call of `func` on a field (`None`: a bare `count`).
    pub fn new(func: AggFunc, field: Option<Sym>, output: Sym) -> Self {
        AggCall {
            func,
            field,
            eval: None,
            output,
        }
    }

    /// Whether the argument names fields by a wildcard (`values(*) as *`,
    /// `latest(Processes.*)`): the call stands for one call per field it matches
    /// ([`AggSpec::expand`]).
    pub fn is_wildcard(&self) -> bool {
        self.eval.is_none() && self.field.is_some_and(|f| f.as_str().contains('*'))
    }
}

/// An `eval(…)` argument of a `stats` function: the expression and its text.
#[derive(Clone)]
pub struct AggEval {
    text: String,
    expr: Arc<EvalExpr>,
}

impl AggEval {
    /// An argument computed by `expr`, written `text`.
    pub fn new(text: String, expr: EvalExpr) -> Self {
        AggEval {
            text,
            expr: Arc::new(expr),
        }
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The expression.
    pub fn expr(&self) -> &EvalExpr {
        &self.expr
    }
}

impl PartialEq for AggEval {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for AggEval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eval({})", self.text)
    }
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
    /// `list(x)`: every value in input order, at most 100 (Splunk's `list_maxsize`).
    List,
    /// `first(x)`: the value first in input order (the most recent event).
    First,
    /// `last(x)`: the value last in input order (the oldest event).
    Last,
    /// `range(x)`: the difference between the largest and smallest numeric values.
    Range,
    /// `stdev(x)`: the sample standard deviation of the numeric values.
    Stdev,
    /// `stdevp(x)`: the population standard deviation.
    Stdevp,
    /// `var(x)`: the sample variance.
    Var,
    /// `varp(x)`: the population variance.
    Varp,
}

impl AggFunc {
    /// The function of a name as written in `stats`/`tstats` (`dc`, `distinct_count`, …); names
    /// are case-insensitive (ESCU writes `Values(…)`).
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_lowercase().as_str() {
            "count" | "c" => AggFunc::Count,
            "dc" | "distinct_count" => AggFunc::DistinctCount,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "values" => AggFunc::Values,
            "earliest" => AggFunc::Earliest,
            "latest" => AggFunc::Latest,
            "sum" => AggFunc::Sum,
            "avg" | "mean" => AggFunc::Avg,
            "list" => AggFunc::List,
            "first" => AggFunc::First,
            "last" => AggFunc::Last,
            "range" => AggFunc::Range,
            "stdev" => AggFunc::Stdev,
            "stdevp" => AggFunc::Stdevp,
            "var" => AggFunc::Var,
            "varp" => AggFunc::Varp,
            _ => return None,
        })
    }

    /// The name SPL uses for the function.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::DistinctCount => "dc",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Values => "values",
            AggFunc::Earliest => "earliest",
            AggFunc::Latest => "latest",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::List => "list",
            AggFunc::First => "first",
            AggFunc::Last => "last",
            AggFunc::Range => "range",
            AggFunc::Stdev => "stdev",
            AggFunc::Stdevp => "stdevp",
            AggFunc::Var => "var",
            AggFunc::Varp => "varp",
        }
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
    /// Whether a call names fields by a wildcard ([`AggCall::is_wildcard`]).
    pub fn has_wildcard(&self) -> bool {
        self.calls.iter().any(AggCall::is_wildcard)
    }

    /// This aggregation with each wildcard call made one call per field of `names` that its
    /// argument matches, in the order of the names' text; the `*`s of its output are filled
    /// with what they matched (`values(*) as *` on `user` is `values(user) as user`; without
    /// `as`, `values(user)`). The by-fields and internal fields (`_time`, `_raw`: names that
    /// start with `_`) are not matched [inferred]; see docs/spl.md, "stats". Calls without a
    /// wildcard are kept as they are, in place.
    pub fn expand<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> AggSpec {
        let mut names: Vec<&str> = names
            .into_iter()
            .filter(|n| !n.starts_with('_') && !self.by.iter().any(|b| b.field.as_str() == *n))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut calls = Vec::with_capacity(self.calls.len());
        for call in &self.calls {
            let Some(glob) = call.field.filter(|_| call.is_wildcard()) else {
                calls.push(call.clone());
                continue;
            };
            let glob = crate::command::Glob::new(glob.as_str());
            for name in &names {
                if let Some(caps) = glob.captures(name) {
                    let output = crate::command::substitute(call.output.as_str(), &caps);
                    calls.push(AggCall::new(
                        call.func,
                        Some(Sym::new(name)),
                        Sym::new(&output),
                    ));
                }
            }
        }
        AggSpec {
            calls,
            by: self.by.clone(),
            null_by: self.null_by.clone(),
        }
    }

    /// Every field the aggregation reads (the fields of `eval(…)` arguments included; `_time`
    /// when a function's value depends on the order of events).
    pub fn fields(&self) -> impl Iterator<Item = Sym> + '_ {
        let time = Sym::new("_time");
        self.calls
            .iter()
            .flat_map(move |c| {
                let ordered = matches!(
                    c.func,
                    AggFunc::Earliest
                        | AggFunc::Latest
                        | AggFunc::First
                        | AggFunc::Last
                        | AggFunc::List
                );
                c.field
                    .into_iter()
                    .chain(c.eval.iter().flat_map(|e| e.expr().fields()))
                    .chain(ordered.then_some(time))
            })
            .chain(self.by.iter().map(|b| b.field))
    }

    /// Whether an `eval(…)` argument reads the run's time.
    pub fn uses_now(&self) -> bool {
        self.calls
            .iter()
            .any(|c| c.eval.as_ref().is_some_and(|e| e.expr().uses_now()))
    }
}
