//! The compiled form of a search: what the executor runs.
//!
//! A [`Plan`] is a generating `tstats` over one data-model dataset followed by row stages. Field
//! names in the `tstats` where-clause are resolved to CIM [`Field`]s; names in later stages stay
//! names, because they refer to result columns.

use cimhunt_cim::Field;

use crate::pattern::Pattern;

/// A compiled search.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The generating command.
    pub tstats: Tstats,
    /// The commands after it, in order.
    pub stages: Vec<Stage>,
}

/// `| tstats … from datamodel=<model>.<dataset> [where …] [by …]`.
#[derive(Debug, Clone)]
pub struct Tstats {
    /// `Endpoint`.
    pub datamodel: String,
    /// `Processes`.
    pub dataset: String,
    /// The where-clause; [`Expr::True`] when absent.
    pub filter: Expr,
    /// Aggregations, in the order written.
    pub aggregates: Vec<Aggregate>,
    /// Group-by fields, in the order written.
    pub by: Vec<ByField>,
    /// `fillnull_value`: the string a null by-field becomes. `None`: events with a null
    /// by-field are dropped.
    pub fillnull_value: Option<String>,
    /// `summariesonly` as written (no effect on results; kept for `explain`).
    pub summariesonly: Option<bool>,
    /// `allow_old_summaries` as written (no effect on results).
    pub allow_old_summaries: Option<bool>,
}

/// One aggregation, e.g. `min(_time) as firstTime`.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function.
    pub func: AggFunc,
    /// Its argument; `None` for a bare `count`.
    pub field: Option<FieldRef>,
    /// The output column: the `as` name, or the call as written (`count`, `min(_time)`,
    /// `values(Processes.process)`).
    pub output: String,
}

/// Aggregation functions `tstats` supports here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count`, `count(x)`: events (with `x` non-null).
    Count,
    /// `dc(x)`, `distinct_count(x)`: distinct non-null values.
    DistinctCount,
    /// `min(x)`: numeric minimum when every value is a number, else lexicographic.
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

/// A group-by field.
#[derive(Debug, Clone, PartialEq)]
pub struct ByField {
    /// The field.
    pub field: FieldRef,
    /// The output column, as written in the by-clause (`Processes.dest`).
    pub output: String,
    /// For `_time span=1h`: the bucket width in seconds.
    pub span_secs: Option<u64>,
}

/// A field reference after name resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// A field of the CIM dataset (`Processes.process` or `process` inside `tstats`).
    Cim(Field),
    /// `_time`.
    Time,
    /// Any other name: a result column in row stages, or a field the dataset does not have
    /// (always null) inside `tstats`.
    Named(String),
}

/// A row stage after `tstats`.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `rename a as b, "X.*" as *`: each pair in order; `*` in `from` captures, `*` in `to`
    /// substitutes the capture.
    Rename(Vec<(String, String)>),
    /// `convert [timeformat=…] ctime(f) [as g] …`.
    Convert {
        /// The strftime format; `%m/%d/%Y %H:%M:%S` when not given.
        timeformat: String,
        /// The conversions, in order.
        items: Vec<Conversion>,
    },
    /// `search <expr>` (what filter macros expand to). Compared against row columns by name.
    Search(Expr),
    /// `table a, b*`: keep these columns (wildcards allowed), in this order.
    Table(Vec<String>),
    /// `fields a, b` (keep) or `fields - a, b` (remove); wildcards allowed.
    Fields {
        /// True for `fields -`.
        remove: bool,
        /// The field patterns.
        fields: Vec<String>,
    },
}

/// One `convert` function application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The function; only `ctime` so far.
    pub func: ConvertFunc,
    /// The input column.
    pub field: String,
    /// The output column (`as`); the input column itself when `None`.
    pub output: Option<String>,
}

/// `convert` functions supported here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertFunc {
    /// Epoch seconds → formatted time.
    Ctime,
}

/// A boolean search expression (the `tstats` where-clause, the `search` command).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches everything (`search *`, no where-clause).
    True,
    /// All must match.
    And(Vec<Expr>),
    /// Any must match.
    Or(Vec<Expr>),
    /// The operand must not match; true for events lacking the field.
    Not(Box<Expr>),
    /// A field comparison.
    Compare {
        /// The field.
        field: FieldRef,
        /// The operator.
        op: CompareOp,
        /// The value: a case-insensitive, anchored wildcard pattern for `=` and `!=`.
        value: Pattern,
    },
}

/// Comparison operators of the search language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`: some value of the field matches (false when the field is null).
    Eq,
    /// `!=`: the field exists and no value matches.
    Ne,
    /// `<`: numeric when both sides are numbers, else lexicographic.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// Something an expression can be evaluated against: an event or a result row.
pub trait FieldValues {
    /// The values of a field, empty when it is null.
    fn values<'s>(&'s self, field: &FieldRef) -> impl Iterator<Item = &'s str> + 's;
}

/// What any record a plan can match must contain, for skipping records undecoded.
///
/// A conjunction of clauses; each clause is a set of alternatives, and a matching event holds at
/// least one alternative of every clause in the alternative's field, compared
/// ASCII-case-insensitively; so does its raw record (see [`cimhunt_cim::FieldOrigin`]). No
/// clauses: nothing can be proven.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequiredLiterals {
    /// The clauses.
    pub clauses: Vec<Vec<Literal>>,
}

/// Text a matching event must contain in one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The text, lower-cased.
    pub text: String,
    /// The field whose comparison requires it.
    pub field: Field,
}

impl RequiredLiterals {
    /// The clauses as texts only, duplicates (the same text from several fields) removed.
    pub fn texts(&self) -> Vec<Vec<String>> {
        self.clauses
            .iter()
            .map(|c| {
                let mut texts: Vec<String> = Vec::with_capacity(c.len());
                for l in c {
                    if !texts.contains(&l.text) {
                        texts.push(l.text.clone());
                    }
                }
                texts
            })
            .collect()
    }
}
