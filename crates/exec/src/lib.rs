//! The executor: runs a compiled [`Plan`] over CIM events — match, aggregate, then the row
//! stages — and yields the result rows Splunk would return.
//!
//! Running a plan has two halves. Per event: [`Executor::add`] evaluates the `tstats`
//! where-clause and, on a match, folds the event into a [`Groups`] state. Once: [`Executor::finish`]
//! turns the groups into rows and applies `rename`, `convert`, `search`, `table` and `fields`.
//!
//! Key design decision: aggregation state is a plain value, separate from the plan, and every
//! accumulator is commutative and associative. Workers (threads today; machines reading a
//! stream tomorrow) each build their own [`Groups`] and [`Groups::merge`] combines them into
//! exactly the state a single pass would have built; rows are sorted when the state is
//! finished, so the output never depends on how the work was split.

mod aggregate;
mod compare;
mod event;
mod row;
mod stages;
mod sum;

use std::fmt;

use cimhunt_cim::CimEvent;
use cimhunt_spl::Plan;
use jiff::tz::TimeZone;

pub use aggregate::{Acc, Groups};
pub use compare::compare_values;
pub use event::EventFields;
pub use row::{Row, Value};

/// Settings that change how results are presented.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// The time zone `convert ctime` formats in (Splunk uses the searching user's zone; UTC by
    /// default here, as in contentctl's test instance).
    pub tz: TimeZone,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions { tz: TimeZone::UTC }
    }
}

/// Why results could not be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// A `convert timeformat` the formatter rejects.
    TimeFormat {
        /// The format.
        format: String,
        /// The formatter's complaint.
        message: String,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::TimeFormat { format, message } => {
                write!(f, "convert timeformat={format:?}: {message}")
            }
        }
    }
}

impl std::error::Error for ExecError {}

/// Runs one plan: holds the plan, not the state.
#[derive(Debug, Clone, Copy)]
pub struct Executor<'p> {
    plan: &'p Plan,
}

impl<'p> Executor<'p> {
    /// An executor for `plan`.
    pub fn new(plan: &'p Plan) -> Self {
        Executor { plan }
    }

    /// Whether the event passes the `tstats` where-clause.
    #[inline]
    pub fn matches(&self, event: &CimEvent<'_>) -> bool {
        self.plan.tstats.filter.matches(&EventFields(event))
    }

    /// Matches one event and, if it passes, aggregates it into `groups`. Returns whether it
    /// matched.
    pub fn add(&self, groups: &mut Groups, event: &CimEvent<'_>) -> bool {
        let matched = self.matches(event);
        if matched {
            groups.add(&self.plan.tstats, event);
        }
        matched
    }

    /// Folds a partial state into another.
    pub fn merge(&self, into: &mut Groups, other: Groups) {
        into.merge(&self.plan.tstats, other);
    }

    /// The result rows: groups in Splunk's order, then every row stage.
    pub fn finish(&self, groups: Groups, options: &ExecOptions) -> Result<Vec<Row>, ExecError> {
        let mut rows = groups.into_rows(&self.plan.tstats);
        for stage in &self.plan.stages {
            rows = stages::apply(stage, rows, &options.tz)?;
        }
        Ok(rows)
    }
}
