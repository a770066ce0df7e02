//! SPL commands after the generating one: one module per command, each holding its parser, its
//! `explain` line and its execution.
//!
//! Adding a command means one module implementing [`Command`] and one line in [`parse`]. A
//! command says what [`Kind`] it is, which decides where it runs: *streaming* commands
//! (`rename`, `eval`, `where`, `search`, …) work row by row, so they run inside the workers on
//! each event that passes the generating command, before aggregation; the others run once, over
//! all rows, after the partial states have been merged. The semantics of every command, with
//! the Splunk documentation page each rule comes from, are in `docs/spl.md`.

pub(crate) mod args;
mod ctx;

mod addtotals;
mod appendpipe;
mod bin;
mod convert;
mod dedup;
mod eval;
mod eventstats;
mod fields;
mod fillnull;
mod join;
mod lookup;
mod makemv;
mod map;
mod mvexpand;
mod regex;
mod rename;
mod replace;
mod rex;
mod search;
mod sort;
mod spath;
mod stats;
mod table;
mod transaction;
mod where_cmd;
mod xml;
mod xmlkv;

use std::fmt;
use std::ops::Range;

use crate::compile::ParseEnv;
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::sym::Sym;

/// A test of rows ([`Command::subsearch_rows_used`]).
pub type RowTest = Box<dyn Fn(&Row) -> bool + Send + Sync>;

pub use addtotals::AddTotals;
pub use appendpipe::AppendPipe;
pub use bin::Bin;
pub use convert::{Conversion, Convert, ConvertFunc, DEFAULT_TIMEFORMAT};
pub use ctx::{ExecCtx, Limits};
pub use dedup::Dedup;
pub use eval::Eval;
pub use eventstats::EventStats;
pub use fields::Fields;
pub use fillnull::FillNull;
pub use join::{JOIN_MAXOUT, Join, JoinType};
pub use lookup::{Lookup, LookupOutput};
pub use makemv::MakeMv;
pub use map::Map;
pub use mvexpand::MvExpand;
pub use regex::RegexCmd;
pub use rename::Rename;
pub use replace::Replace;
pub use rex::Rex;
pub use search::SearchCmd;
pub use sort::{Head, Sort, Tail};
pub use spath::Spath;
pub use stats::Stats;
pub use table::Table;
pub use transaction::Transaction;
pub use where_cmd::Where;
pub use xmlkv::XmlKv;

/// How a command treats its input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Row by row, in any order and any split: may run per event, before aggregation.
    Streaming,
    /// Needs every row, in order (`dedup`, `sort`, `eventstats`, `join`, `stats` over rows).
    Whole,
}

/// Which fields a command reads, for deciding which fields of an event to materialize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reads {
    /// Exactly these.
    Fields(Vec<Sym>),
    /// Any field (wildcards, `*`).
    All,
}

/// What is known of two rows, for [`crate::KeyFilter`]: a group's row and its key row, which
/// lacks the aggregates. On every field outside `differ` they agree: both lack it, or both hold
/// the same value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agreement {
    /// Fields on which the rows may differ.
    pub differ: Vec<Sym>,
    /// Fields that both rows hold, with the same value (a subset of the agreeing ones).
    pub present: Vec<Sym>,
}

impl Agreement {
    /// Field `f` is set from fields that agree (`agrees`) or may differ: it is no longer known
    /// to be present (the value may be null).
    pub fn computed(&mut self, f: Sym, agrees: bool) {
        self.present.retain(|p| *p != f);
        self.differ.retain(|d| *d != f);
        if !agrees {
            self.differ.push(f);
        }
    }

    /// Whether any of `fields` may differ.
    pub fn any_differ(&self, fields: &[Sym]) -> bool {
        fields.iter().any(|f| self.differ.contains(f))
    }
}

/// Why a command could not produce its rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A time format the formatter rejects.
    #[error("{command} timeformat={format:?}: {message}")]
    TimeFormat {
        /// The command.
        command: &'static str,
        /// The format.
        format: String,
        /// The formatter's complaint.
        message: String,
    },
    /// A budget was reached (rows, groups, values), naming it.
    #[error("{command}: {message}")]
    Limit {
        /// The command.
        command: &'static str,
        /// Which limit, and what it left out.
        message: String,
    },
    /// Anything else a command reports.
    #[error("{command}: {message}")]
    Failed {
        /// The command.
        command: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// A command of a search's pipeline.
pub trait Command: fmt::Debug + Send + Sync {
    /// The command's name, e.g. `rename`.
    fn name(&self) -> &'static str;

    /// Where it may run.
    fn kind(&self) -> Kind;

    /// Which fields it reads.
    fn reads(&self) -> Reads;

    /// The fields its output can depend on, when `after` are the fields read after it
    /// ([`crate::live`]). By default those and every field it reads, which is sound for any
    /// command whose reads are complete.
    fn live_before(&self, after: Live) -> Live {
        after.with_reads(self.reads())
    }

    /// Whether it can be left out because every field it sets is dead `after` it: it changes
    /// nothing else, and cannot fail on a row. By default no.
    fn is_dead(&self, after: &Live) -> bool {
        let _ = after;
        false
    }

    /// Whether it reads the run's time (`now()`), so its result depends on when the search runs.
    fn uses_now(&self) -> bool {
        false
    }

    /// For `stats`-like commands: the aggregation they compute, which the plan can run as
    /// mergeable state when the commands before it are streaming.
    fn aggregation(&self) -> Option<&crate::agg::AggSpec> {
        None
    }

    /// Whether the command only keeps or drops rows, whole (`search`, `where`, `regex`): a
    /// filter, which [`crate::KeyFilter`] may run on a group's key before aggregating.
    fn is_filter(&self) -> bool {
        false
    }

    /// For a filter run with `ctx`'s subsearch rows at hand: whether it drops every row it is
    /// given, whatever the row holds (an inner `join` whose subsearch gave no rows). Then no
    /// key row passes [`crate::KeyFilter::keeps_none`], and a state need not be read back at
    /// all. False when it cannot be said.
    fn drops_every_row(&self, ctx: &ExecCtx) -> bool {
        let _ = ctx;
        false
    }

    /// Whether the command, run after merging (with the subsearches' rows at hand), treats each
    /// row on its own, so that it gives the same for a row alone as among the others: what
    /// [`crate::KeyFilter::at_finish`] may run on key rows. Streaming commands do.
    fn row_local_at_finish(&self) -> bool {
        self.kind() == Kind::Streaming
    }

    /// Whether the command regroups rows by their own values, so that the key filter run as
    /// groups start ([`crate::KeyFilter::new`]) may run it on a group's key row alone: `stats
    /// … by`. A row goes to the groups of its by-values, whatever the other rows, and a filter
    /// after it that reads only those values keeps or drops each such group whatever rows it
    /// holds; a group of the first aggregation whose key row reaches no kept group gives no
    /// row. [`Command::agreement_after`] says what agrees after it. Not at finish, where key
    /// rows run together ([`crate::KeyFilter::keeps_all`]) and would be grouped together.
    fn regroups_by_row(&self) -> bool {
        false
    }

    /// For a filter: the fields whose values decide whether a row is kept (`None`: unknown).
    fn decided_by(&self) -> Option<Vec<Sym>> {
        match self.reads() {
            Reads::Fields(f) => Some(f),
            Reads::All => None,
        }
    }

    /// For [`crate::KeyFilter`]: given what is known of two rows (see [`Agreement`]), what is
    /// known of them after this command; `None` when the command cannot say (the default,
    /// which ends the key filter before it). A streaming command's result for a row depends
    /// only on the fields `reads` names, so a field it computes from agreeing fields agrees.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let _ = before;
        None
    }

    /// The subsearches (by their number in the plan, [`crate::Plan::subsearches`]) whose rows
    /// `run` reads from the context. Whoever runs the commands provides them before the
    /// command runs ([`ExecCtx::provide_subsearch`]); a command that reads one must name it.
    fn subsearches(&self) -> Vec<usize> {
        Vec::new()
    }

    /// For each subsearch the command reads ([`Command::subsearches`]), the fields of that
    /// subsearch's rows its output can depend on, when `after` are the fields read after it
    /// ([`crate::live`]): what the subsearch's events must carry into its rows
    /// ([`crate::Plan::projection_for`]). By default every field of each.
    fn subsearch_live(&self, after: &Live) -> Vec<(usize, Live)> {
        let _ = after;
        self.subsearches()
            .into_iter()
            .map(|i| (i, Live::All))
            .collect()
    }

    /// At most how many of subsearch `i`'s first rows the command reads (`None`: all of them,
    /// or it does not read that subsearch). Finishing may then stop making the subsearch's rows
    /// one row past that number, when its rows come in their final order (docs/spl.md,
    /// "Subsearches"): the command sees more rows than it reads, so it still reports the cut,
    /// and the same first rows.
    fn subsearch_rows_read(&self, i: usize) -> Option<usize> {
        let _ = i;
        None
    }

    /// Of subsearch `i`'s rows, a test of those the command can read when it runs on `rows`
    /// (`None`: it may read any). Finishing may then keep only the rows that pass, in order,
    /// among the first [`Command::subsearch_rows_read`] (and say when there were more,
    /// [`ExecCtx::provide_subsearch_used`]): the command gives the same rows and reports the
    /// same cut. `join` on named fields reads only the rows whose key a row of `rows` has, so
    /// a subsearch over every process holds the few that a handful of file events join
    /// (docs/spl.md, "Subsearches"). A command that can test returns one for no rows too.
    fn subsearch_rows_used(&self, i: usize, rows: &[Row]) -> Option<RowTest> {
        let _ = (i, rows);
        None
    }

    /// Whether the command gives no rows, and reports nothing, when given none, whatever its
    /// subsearches hold (a streaming command, `join`, a `search` filter, `map`). Then it need
    /// not run on no rows, and its subsearches need not be finished: an evaluation shortcut
    /// that changes no row. Not so for `stats count`, which gives a row for none.
    fn empty_gives_empty(&self) -> bool {
        self.kind() == Kind::Streaming
    }

    /// Whether the command may be run on a few rows at a time, in order, giving for them what it
    /// gives for them among all rows ([`crate::pipeline`]): a streaming command that reads no
    /// subsearch, by default.
    fn in_chunks(&self) -> bool {
        self.kind() == Kind::Streaming && self.subsearches().is_empty()
    }

    /// For a command that needs every row but can take them one at a time (`stats`,
    /// `eventstats`): what takes them ([`crate::pipeline`]). `None` by default: the command is
    /// given every row at once ([`Command::run`]).
    fn absorber(&self) -> Option<Box<dyn crate::pipeline::Absorb<'_> + '_>> {
        None
    }

    /// How many evaluations so far hit a limit and gave null or were cut (regular expressions
    /// that gave up, extractions beyond a limit): reported so that nothing is lost silently.
    fn limit_hits(&self) -> u64 {
        0
    }

    /// Runs the command over rows, in place. A streaming command may be given any subset of the
    /// rows, down to one.
    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError>;

    /// The command as `explain` shows it, e.g. `rename "Processes.*" as *`.
    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl fmt::Display for dyn Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.explain(f)
    }
}

/// Compiles one command; `name` is the command name (lower-cased) and `sc` is just after it.
pub(crate) fn parse(
    name: &str,
    name_span: Range<usize>,
    sc: &mut Scanner<'_>,
    env: &mut ParseEnv<'_>,
) -> RawResult<Box<dyn Command>> {
    Ok(match name {
        "rename" => Box::new(Rename::parse(sc, name_span)?),
        "convert" => Box::new(Convert::parse(sc, name_span)?),
        "search" => Box::new(SearchCmd::parse(sc, env)?),
        "table" => Box::new(Table::parse(sc, name_span)?),
        "fields" => Box::new(Fields::parse(sc, name_span)?),
        "stats" => Box::new(Stats::parse(sc, name_span)?),
        "eventstats" => Box::new(EventStats::parse(sc, name_span)?),
        "eval" => Box::new(Eval::parse(sc, name_span)?),
        "where" => Box::new(Where::parse(sc, name_span)?),
        "join" => Box::new(Join::parse(sc, name_span, env)?),
        "bucket" | "bin" => Box::new(Bin::parse(sc, name_span, name)?),
        "lookup" => Box::new(Lookup::parse(sc, name_span, env)?),
        "rex" => Box::new(Rex::parse(sc, name_span)?),
        "regex" => Box::new(RegexCmd::parse(sc, name_span)?),
        "xmlkv" => Box::new(XmlKv::parse(sc)?),
        "spath" => Box::new(Spath::parse(sc)?),
        "dedup" => Box::new(Dedup::parse(sc, name_span)?),
        "sort" => Box::new(Sort::parse(sc, name_span)?),
        "head" => Box::new(Head::parse(sc)?),
        "tail" => Box::new(Tail::parse(sc)?),
        "transaction" => Box::new(Transaction::parse(sc, name_span)?),
        "fillnull" => Box::new(FillNull::parse(sc)?),
        "appendpipe" => Box::new(AppendPipe::parse(sc, name_span, env)?),
        "replace" => Box::new(Replace::parse(sc, name_span)?),
        "mvexpand" => Box::new(MvExpand::parse(sc, name_span)?),
        "makemv" => Box::new(MakeMv::parse(sc, name_span)?),
        "addtotals" => Box::new(AddTotals::parse(sc)?),
        "map" => Box::new(Map::parse(sc, name_span, env)?),
        other => {
            return Err(other_app(other, name_span.clone()).unwrap_or_else(|| {
                RawError::unsupported(format!("command `{other}`"), name_span)
            }));
        }
    })
}

/// The prefix of the unsupported label of a construct that needs another Splunk app:
/// `needs app `<app>`: <what>`. [`crate::SplError::needed_app`] reads it back.
pub(crate) const NEEDS_APP: &str = "needs app `";

/// An error for a construct that another Splunk app provides.
pub(crate) fn needs_app(app: &str, what: String, span: Range<usize>) -> RawError {
    RawError::unsupported(format!("{NEEDS_APP}{app}`: {what}"), span)
}

/// Commands that other Splunk apps add: the error naming the app, for a command of one.
pub(crate) fn other_app(command: &str, span: Range<usize>) -> Option<RawError> {
    let app = match command {
        // Splunk Machine Learning Toolkit (and the Deep Learning Toolkit built on it).
        "apply" | "fit" | "score" | "summary" | "listmodels" | "deletemodel"
        | "anomalydetection" => "Splunk Machine Learning Toolkit",
        _ => return None,
    };
    Some(needs_app(app, format!("command `{command}`"), span))
}

/// The error for a lookup table the deployment does not have: one another app ships names the
/// app; any other is unknown.
pub(crate) fn missing_lookup(name: &str, span: Range<usize>) -> RawError {
    let app = if name.starts_with("ut_") {
        // URL Toolbox: ut_shannon_lookup, ut_parse_extended_lookup, ut_levenshtein_lookup, …
        Some("URL Toolbox")
    } else if matches!(
        name,
        "asset_lookup_by_str"
            | "asset_lookup_by_cidr"
            | "identity_lookup_expanded"
            | "asset_lookup_default_fields"
            | "identity_lookup_default_fields"
    ) {
        // The asset and identity framework of Splunk Enterprise Security.
        Some("Splunk Enterprise Security")
    } else {
        None
    };
    match app {
        Some(app) => needs_app(app, format!("lookup `{name}`"), span),
        None => RawError::unsupported(format!("lookup `{name}` (no such table)"), span)
            .with_help("give the table's directory with --lookups"),
    }
}

/// A case-sensitive glob over field names, split once: `*` matches any run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: String,
    parts: Vec<String>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Self {
        Glob {
            pattern: pattern.to_owned(),
            parts: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.pattern
    }

    pub(crate) fn has_wildcard(&self) -> bool {
        self.parts.len() > 1
    }

    /// The runs the `*`s matched, or `None` when the name does not match.
    pub(crate) fn captures<'n>(&self, name: &'n str) -> Option<Vec<&'n str>> {
        let (Some(first), Some(last)) = (self.parts.first(), self.parts.last()) else {
            return None;
        };
        if self.parts.len() == 1 {
            return (first == name).then(Vec::new);
        }
        if name.len() < first.len() + last.len()
            || !name.starts_with(first.as_str())
            || !name.ends_with(last.as_str())
        {
            return None;
        }
        let mut caps = Vec::with_capacity(self.parts.len() - 1);
        let end = name.len() - last.len();
        let mut pos = first.len();
        for mid in self.parts.iter().skip(1).take(self.parts.len() - 2) {
            let found = name.get(pos..end)?.find(mid.as_str())?;
            caps.push(name.get(pos..pos + found)?);
            pos += found + mid.len();
        }
        caps.push(name.get(pos..end)?);
        Some(caps)
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        self.captures(name).is_some()
    }
}

/// Fills the `*`s of `template` with the captures, in order (extra `*` become empty).
pub(crate) fn substitute(template: &str, caps: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut caps = caps.iter();
    for (i, part) in template.split('*').enumerate() {
        if i > 0 {
            out.push_str(caps.next().copied().unwrap_or(""));
        }
        out.push_str(part);
    }
    out
}

/// Field names (or globs) separated by spaces or commas, to the end of the command.
pub(crate) fn names(
    sc: &mut Scanner<'_>,
    name_span: &Range<usize>,
    cmd: &str,
) -> RawResult<Vec<String>> {
    let mut out = Vec::new();
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        match sc.list_name()? {
            Some(n) => out.push(n.text),
            None => {
                let at = sc.pos();
                return Err(RawError::syntax(
                    format!("unexpected character in `{cmd}`"),
                    at..at + 1,
                    "expected a field name",
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(RawError::syntax(
            format!("`{cmd}` needs field names"),
            name_span.clone(),
            "no fields named",
        ));
    }
    Ok(out)
}

/// The fields read by a list of name globs: all when one has a wildcard.
pub(crate) fn reads_of(globs: &[Glob]) -> Reads {
    if globs.iter().any(Glob::has_wildcard) {
        Reads::All
    } else {
        Reads::Fields(globs.iter().map(|g| Sym::new(g.text())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_capture_and_substitute() {
        assert_eq!(Glob::new("a*c*").captures("abbcdd"), Some(vec!["bb", "dd"]));
        assert_eq!(Glob::new("a*").captures("b"), None);
        assert_eq!(Glob::new("*").captures(""), Some(vec![""]));
        assert_eq!(Glob::new("abc").captures("abc"), Some(vec![]));
        assert_eq!(substitute("x*y*", &["1", "2"]), "x1y2");
    }
}
