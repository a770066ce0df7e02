//! The compiled form of a search: what the engine runs.
//!
//! A [`Plan`] is a pipeline in four parts:
//! 1. a generating [`Source`]: `tstats` over a data-model dataset, or a raw `search` over events;
//! 2. `streaming` commands that work row by row, run inside the workers on each event the
//!    source yields (`eval`, `where`, `rename`, `search`, …);
//! 3. an [`Aggregation`] whose state merges across workers, machines and time buckets
//!    (`tstats`, or a `stats` whose input is streaming), or, when there is none, the rows
//!    themselves, collected and put in Splunk's order (newest first);
//! 4. `post` commands run once over all rows after merging (`dedup`, `eventstats`, `join`, and
//!    any command that reads the run's time, `now()`).

use std::fmt;
use std::sync::Arc;

use crate::agg::AggSpec;
use crate::command::{Command, Kind, Reads};
use crate::search::Expr;
use crate::sym::Sym;
use crate::tstats::Tstats;

/// A compiled search.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The generating command.
    pub source: Source,
    /// Row-by-row commands run on each event before aggregation.
    pub streaming: Vec<Arc<dyn Command>>,
    /// What merges.
    pub aggregation: Aggregation,
    /// Commands run over all rows after merging.
    pub post: Vec<Arc<dyn Command>>,
}

/// The generating command.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Source {
    /// `| tstats … from datamodel=…`: events of a dataset, seen through the dataset's fields.
    Tstats(Tstats),
    /// A search over events (a search that does not start with `|`), seen through their
    /// search-time fields.
    Search(Expr),
}

/// The mergeable part of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregation {
    /// Group and aggregate (`tstats`, or `stats` after streaming commands).
    Stats(AggSpec),
    /// No aggregation: every row is kept, and the rows are returned newest first.
    Collect,
}

impl Source {
    /// The source's filter: the tstats where-clause or the search expression.
    pub fn filter(&self) -> &Expr {
        match self {
            Source::Tstats(t) => &t.filter,
            Source::Search(e) => e,
        }
    }
}

impl Plan {
    /// Whether events reach the aggregation as rows (streaming commands, or collected rows),
    /// rather than being aggregated straight from the event.
    pub fn needs_rows(&self) -> bool {
        !self.streaming.is_empty() || self.aggregation == Aggregation::Collect
    }

    /// The fields of an event the plan reads after its source's filter: what an event must
    /// carry into a row. `None` when any field may be read (wildcards, collected rows that a
    /// later command shows whole).
    pub fn projection(&self) -> Option<Vec<Sym>> {
        let mut fields: Vec<Sym> = vec![Sym::new("_time")];
        for cmd in &self.streaming {
            match cmd.reads() {
                Reads::All => return None,
                Reads::Fields(f) => fields.extend(f),
            }
        }
        match &self.aggregation {
            Aggregation::Stats(spec) => fields.extend(spec.fields()),
            Aggregation::Collect => {
                // Collected rows reach the post commands (and the output) whole.
                if self
                    .streaming
                    .iter()
                    .all(|c| c.name() != "table" && c.name() != "fields")
                {
                    return None;
                }
            }
        }
        fields.sort();
        fields.dedup();
        Some(fields)
    }

    /// Whether any command reads the run's time.
    pub fn uses_now(&self) -> bool {
        self.streaming
            .iter()
            .chain(&self.post)
            .any(|c| c.uses_now())
    }
}

/// A plan's streaming commands, aggregation and post commands.
pub(crate) type Parts = (Vec<Arc<dyn Command>>, Aggregation, Vec<Arc<dyn Command>>);

/// Splits the commands after the source into streaming, aggregation and post parts: the
/// streaming prefix runs per event; a `stats`-like command right after it becomes the
/// aggregation; everything from the first command that is not streaming, or that reads the
/// run's time, runs after merging.
pub(crate) fn split(source: &Source, commands: Vec<Arc<dyn Command>>) -> Parts {
    if let Source::Tstats(t) = source {
        return (Vec::new(), Aggregation::Stats(t.agg.clone()), commands);
    }
    let mut streaming = Vec::new();
    let mut rest = commands.into_iter();
    let mut aggregation = Aggregation::Collect;
    let mut post = Vec::new();
    for cmd in rest.by_ref() {
        if let Some(spec) = cmd.aggregation() {
            aggregation = Aggregation::Stats(spec.clone());
            break;
        }
        if cmd.kind() == Kind::Streaming && !cmd.uses_now() {
            streaming.push(cmd);
        } else {
            post.push(cmd);
            break;
        }
    }
    post.extend(rest);
    (streaming, aggregation, post)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::explain::write_plan(f, self)
    }
}
