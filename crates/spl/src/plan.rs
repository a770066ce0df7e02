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
//!
//! A plan also holds its `subsearches` (`join … [search]`, `search [subsearch]`): plans of their
//! own over the same events, run beside it; their finished rows reach the post commands through
//! [`crate::ExecCtx::subsearch`], in this order.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::agg::AggSpec;
use crate::command::{Command, Kind, Reads};
use crate::live::Live;
use crate::lookup::LookupTable;
use crate::row::Row;
use crate::search::Expr;
use crate::sym::Sym;
use crate::tstats::Tstats;
use crate::value::Value;

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
    /// The subsearches the commands refer to by number, each a plan over the same events.
    pub subsearches: Vec<Plan>,
    /// What the search computes and no later command reads, left out of the plan
    /// ([`crate::live`]): each command as written, each aggregate by its output.
    pub left_out: Vec<String>,
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
    /// `| inputlookup <table>`: the rows of a lookup table; reads no events.
    Inputlookup(InputLookup),
}

/// `| inputlookup [max=N] [start=N] <table> [where <search>]`: a lookup table's rows (Search
/// Reference, "inputlookup"). Each row has the table's columns in order; an empty cell is no
/// value.
#[derive(Clone)]
pub struct InputLookup {
    /// The table's name as written.
    pub name: String,
    /// The table.
    pub table: Arc<LookupTable>,
    /// The rows kept (`where`).
    pub filter: Expr,
    /// The first row (`start`, 0-based).
    pub start: usize,
    /// At most this many rows (`max`; Splunk's default is 1,000,000,000).
    pub max: Option<usize>,
}

impl InputLookup {
    /// The rows.
    pub fn rows(&self) -> Vec<Row> {
        let columns: Vec<Sym> = self.table.columns().iter().map(|c| Sym::new(c)).collect();
        let mut out = Vec::new();
        for cells in self.table.rows().skip(self.start) {
            if self.max.is_some_and(|m| out.len() >= m) {
                break;
            }
            let row: Row = columns
                .iter()
                .zip(cells)
                .filter(|(_, c)| !c.is_empty())
                .map(|(s, c)| (*s, Value::from_field(c.to_owned())))
                .collect();
            if self.filter.matches(&row) {
                out.push(row);
            }
        }
        out
    }
}

impl PartialEq for InputLookup {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && Arc::ptr_eq(&self.table, &other.table)
            && self.filter == other.filter
            && self.start == other.start
            && self.max == other.max
    }
}

impl fmt::Debug for InputLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputLookup")
            .field("name", &self.name)
            .field("rows", &self.table.len())
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
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
    /// The source's filter over events: the tstats where-clause or the search expression
    /// (`*` for a source that reads no events).
    pub fn filter(&self) -> &Expr {
        static ALL: OnceLock<Expr> = OnceLock::new();
        match self {
            Source::Tstats(t) => &t.filter,
            Source::Search(e) => e,
            Source::Inputlookup(_) => ALL.get_or_init(|| Expr::True),
        }
    }

    /// Whether the source reads events (an `inputlookup` does not).
    pub fn reads_events(&self) -> bool {
        !matches!(self, Source::Inputlookup(_))
    }
}

impl Plan {
    /// Whether events reach the aggregation as rows (streaming commands, or collected rows),
    /// rather than being aggregated straight from the event.
    pub fn needs_rows(&self) -> bool {
        !self.streaming.is_empty() || self.aggregation == Aggregation::Collect
    }

    /// The fields of an event the plan reads after its source's filter: what an event must
    /// carry into a row, when the plan's rows are its output (every field may be read).
    /// `None` when any field may be read (wildcards, collected rows shown whole).
    pub fn projection(&self) -> Option<Vec<Sym>> {
        self.projection_for(&Live::All)
    }

    /// [`Plan::projection`], when whoever reads the plan's rows reads `rows_read` of them:
    /// every field for a detection, whose rows are the output; for a subsearch, what the
    /// command that reads its rows needs of them ([`Plan::subsearch_reads`]). Rows that are
    /// collected (no aggregation) carry what is live before the commands that follow
    /// ([`crate::live`]): `map`'s superset of 4624 events carries the fields its template and
    /// the search after it read, not the hundred an event has.
    pub fn projection_for(&self, rows_read: &Live) -> Option<Vec<Sym>> {
        let mut fields: Vec<Sym> = vec![Sym::new("_time")];
        match &self.aggregation {
            Aggregation::Stats(spec) => {
                for cmd in &self.streaming {
                    match cmd.reads() {
                        Reads::All => return None,
                        Reads::Fields(f) => fields.extend(f),
                    }
                }
                fields.extend(spec.fields());
            }
            Aggregation::Collect => {
                let mut ignored = Vec::new();
                let after = crate::live::through(&self.post, rows_read.clone(), &mut ignored);
                match crate::live::through(&self.streaming, after, &mut ignored) {
                    Live::All => return None,
                    Live::Only(f) => fields.extend(f),
                }
            }
        }
        fields.sort();
        fields.dedup();
        Some(fields)
    }

    /// For each of the plan's subsearches, in order, the fields of its rows that the plan's
    /// rows can depend on, when whoever reads the plan's rows reads `rows_read` of them: what
    /// the commands that read the subsearch need ([`Command::subsearch_live`]); every field for
    /// a subsearch of the generating command, or one no command names.
    pub fn subsearch_reads(&self, rows_read: &Live) -> Vec<Live> {
        let mut named = Vec::new();
        let after = match &self.aggregation {
            Aggregation::Stats(spec) => {
                crate::live::through(&self.post, rows_read.clone(), &mut named);
                Live::of(Reads::Fields(spec.fields().collect()))
            }
            Aggregation::Collect => crate::live::through(&self.post, rows_read.clone(), &mut named),
        };
        crate::live::through(&self.streaming, after, &mut named);
        let mut out: Vec<Option<Live>> = vec![None; self.subsearches.len()];
        for i in self.source.filter().subsearches() {
            named.push((i, Live::All));
        }
        for (i, live) in named {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(match slot.take() {
                    None => live,
                    Some(before) => before.union(live),
                });
            }
        }
        out.into_iter().map(|l| l.unwrap_or(Live::All)).collect()
    }

    /// Whether any command reads the run's time.
    pub fn uses_now(&self) -> bool {
        self.streaming
            .iter()
            .chain(&self.post)
            .any(|c| c.uses_now())
    }

    /// How many evaluations of the plan's commands hit a limit and gave null or were cut (a
    /// regular expression that gave up, a `rex` with more matches than allowed), over every run
    /// so far: what a report must mention so that nothing is lost silently.
    pub fn limit_hits(&self) -> u64 {
        self.streaming
            .iter()
            .chain(&self.post)
            .map(|c| c.limit_hits())
            .sum()
    }
}

/// A plan's streaming commands, aggregation and post commands.
pub(crate) type Parts = (
    Vec<Arc<dyn Command>>,
    Aggregation,
    Vec<Arc<dyn Command>>,
    Vec<String>,
);

/// Splits the commands after the source into streaming, aggregation and post parts: the
/// streaming prefix runs per event; a `stats`-like command right after it becomes the
/// aggregation; everything from the first command that is not streaming, or that reads the
/// run's time, runs after merging.
pub(crate) fn split(source: &Source, commands: Vec<Arc<dyn Command>>) -> Parts {
    let (mut streaming, mut aggregation, mut post, _) = split_unpruned(source, commands);
    let left_out = crate::live::prune(&mut streaming, &mut aggregation, &mut post);
    (streaming, aggregation, post, left_out)
}

/// [`split`] keeping every command and aggregate, dead or not.
pub(crate) fn split_unpruned(source: &Source, commands: Vec<Arc<dyn Command>>) -> Parts {
    match source {
        Source::Tstats(t) => {
            return (
                Vec::new(),
                Aggregation::Stats(t.agg.clone()),
                commands,
                Vec::new(),
            );
        }
        Source::Inputlookup(_) => {
            return (Vec::new(), Aggregation::Collect, commands, Vec::new());
        }
        Source::Search(_) => {}
    }
    let mut streaming = Vec::new();
    let mut rest = commands.into_iter();
    let mut aggregation = Aggregation::Collect;
    let mut post = Vec::new();
    for cmd in rest.by_ref() {
        if let Some(spec) = cmd.aggregation().filter(|_| !cmd.uses_now()) {
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
    (streaming, aggregation, post, Vec::new())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::explain::write_plan(f, self)
    }
}
