//! `stats <function>… [by <field>…]` (Search Reference, "stats"; "Statistical and charting
//! functions").
//!
//! Output: one row per group, the by-fields first in the order written, then the functions in
//! the order written, each named by its `as` or as written (`values(user)`, `count`); groups
//! sorted ascending by their by-field values. A record whose by-field is null belongs to no
//! group; a multivalued by-field puts the record in one group per value. With no by-field there
//! is one row, even over no rows (`count` is 0, the other functions empty).
//!
//! `stats` right after the streaming commands of a raw search is the plan's mergeable
//! aggregation ([`Command::aggregation`]); after a command that needs every row it runs here,
//! over the rows in order.

use std::fmt;
use std::ops::Range;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::agg::{AggCall, AggEval, AggFunc, AggSpec, ByField, Groups, NullBy, Runs};
use crate::error::{RawError, RawResult};
use crate::eval::EvalExpr;
use crate::lexer::Scanner;
use crate::live::Live;
use crate::pipeline::{Absorb, RowIter};
use crate::row::Row;
use crate::sym::Sym;

/// The `stats` command.
#[derive(Debug, Clone)]
pub struct Stats {
    spec: AggSpec,
}

impl Stats {
    /// `stats` computing `spec`.
    pub fn new(spec: AggSpec) -> Self {
        Stats { spec }
    }

    /// What it computes.
    pub fn spec(&self) -> &AggSpec {
        &self.spec
    }

    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        Ok(Stats {
            spec: parse_spec(sc, name_span, "stats")?,
        })
    }
}

/// Runs an aggregation over rows in order; the budget check names `command`.
pub(crate) fn aggregate(
    spec: &AggSpec,
    rows: &[Row],
    ctx: &ExecCtx,
    command: &'static str,
) -> Result<Groups, ExecError> {
    let mut groups = Groups::over_rows();
    for row in rows {
        groups.add(spec, row, ctx);
    }
    checked(groups, command, ctx)
}

/// The groups, when they are within the context's limits (the error names `command`).
pub(crate) fn checked(
    groups: Groups,
    command: &'static str,
    ctx: &ExecCtx,
) -> Result<Groups, ExecError> {
    groups
        .check_limits(ctx.limits())
        .map_err(|message| ExecError::Limit { command, message })?;
    Ok(groups)
}

/// `stats` taking its rows one at a time: each is dropped once it is added. With a
/// [`crate::RowSpill`] in the context, groups beyond its budget go to disk ([`Runs`]).
struct StatsAbsorb<'a> {
    spec: &'a AggSpec,
    groups: Groups,
    runs: Option<Runs>,
}

impl<'a> Absorb<'a> for StatsAbsorb<'a> {
    fn add(&mut self, row: Row, ctx: &ExecCtx) -> Result<(), ExecError> {
        self.groups.add(self.spec, &row, ctx);
        if let Some(spill) = ctx.row_spill() {
            self.runs
                .get_or_insert_with(|| Runs::new(spill.clone()))
                .relieve(&mut self.groups, self.spec);
        }
        Ok(())
    }

    fn finish(self: Box<Self>, ctx: &ExecCtx) -> Result<RowIter<'a>, ExecError> {
        let groups = checked(self.groups, "stats", ctx)?;
        match self.runs.filter(|r| !r.is_empty()) {
            Some(runs) => Ok(Box::new(runs.into_rows(
                groups,
                self.spec,
                ctx.limits(),
                "stats",
            ))),
            None => Ok(Box::new(groups.into_ordered_rows(self.spec).map(Ok))),
        }
    }
}

impl Command for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    /// Every field when a call has a wildcard argument: which fields it reads depends on the
    /// rows.
    fn reads(&self) -> Reads {
        if self.spec.has_wildcard() {
            return Reads::All;
        }
        Reads::Fields(self.spec.fields().collect())
    }

    /// Its rows hold only its by-fields and aggregates: whatever is read after it, it needs
    /// only what it reads.
    fn live_before(&self, _after: Live) -> Live {
        Live::of(self.reads())
    }

    fn uses_now(&self) -> bool {
        self.spec.uses_now()
    }

    /// None with a wildcard argument: which calls it stands for is known only from the rows,
    /// so it runs after merging, over the rows ([`AggSpec::expand`]).
    fn aggregation(&self) -> Option<&AggSpec> {
        (!self.spec.has_wildcard()).then_some(&self.spec)
    }

    fn limit_hits(&self) -> u64 {
        self.spec
            .calls
            .iter()
            .filter_map(|c| c.eval.as_ref())
            .map(|e| e.expr().limit_hits())
            .sum()
    }

    fn regroups_by_row(&self) -> bool {
        !self.spec.by.is_empty() && !self.spec.has_wildcard()
    }

    /// After `stats … by`, a row holds its by-fields and the aggregates alone. A key row and
    /// the rows of its group agree on the by-fields when they agreed on the fields read for
    /// them, and then both go to the same groups (none, when a by-field is null); the
    /// aggregates are made of other rows too, so they may differ. A by-field read from a
    /// field that may differ ends the key filter: the key row could fall in no group while
    /// the full row falls in one.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        if !self.regroups_by_row() {
            return None;
        }
        let read: Vec<Sym> = self.spec.by.iter().map(|b| b.field).collect();
        if before.any_differ(&read) {
            return None;
        }
        let by: Vec<Sym> = self.spec.by.iter().map(|b| b.output).collect();
        Some(Agreement {
            differ: self
                .spec
                .calls
                .iter()
                .map(|c| c.output)
                .filter(|o| !by.contains(o))
                .collect(),
            present: by,
        })
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let expanded;
        let spec = if self.spec.has_wildcard() {
            expanded = self
                .spec
                .expand(rows.iter().flat_map(|r| r.names().map(Sym::as_str)));
            &expanded
        } else {
            &self.spec
        };
        // Each row is dropped once it is added, so that the rows and the groups they make are
        // not both held whole (the peak of a finish that aggregates many rows again).
        let mut groups = Groups::over_rows();
        for row in std::mem::take(rows) {
            groups.add(spec, &row, ctx);
        }
        *rows = checked(groups, "stats", ctx)?.into_rows(spec);
        Ok(())
    }

    /// None with a wildcard argument, whose calls are known only once every row is there.
    fn absorber(&self) -> Option<Box<dyn Absorb<'_> + '_>> {
        if self.spec.has_wildcard() {
            return None;
        }
        Some(Box::new(StatsAbsorb {
            spec: &self.spec,
            groups: Groups::over_rows(),
            runs: None,
        }))
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stats")?;
        write_spec(f, &self.spec)
    }
}

/// Writes `func(arg) as out … by a, b`.
pub(crate) fn write_spec(f: &mut fmt::Formatter<'_>, spec: &AggSpec) -> fmt::Result {
    for c in &spec.calls {
        match (&c.eval, c.field) {
            (Some(e), _) => write!(f, " {}(eval({}))", c.func.name(), e.text())?,
            (None, Some(field)) => write!(f, " {}({field})", c.func.name())?,
            (None, None) => write!(f, " {}", c.func.name())?,
        }
        write!(f, " as {:?}", c.output.as_str())?;
    }
    if !spec.by.is_empty() {
        f.write_str(" by")?;
        for (i, b) in spec.by.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{}", b.field)?;
        }
    }
    Ok(())
}

/// Parses `[option=value]… <function> [as name]… [by <field>…]`, the arguments of `stats` and
/// `eventstats`.
pub(crate) fn parse_spec(
    sc: &mut Scanner<'_>,
    name_span: Range<usize>,
    cmd: &'static str,
) -> RawResult<AggSpec> {
    let mut spec = AggSpec {
        calls: Vec::new(),
        by: Vec::new(),
        null_by: NullBy::Drop,
    };
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        if let Some(kw) = sc.eat_keyword("by", true) {
            by_list(sc, &mut spec, kw)?;
            break;
        }
        if spec.calls.is_empty()
            && let Some(key) = args::eat_key(sc)
        {
            let v = args::value(sc, &key)?;
            match key.text.as_str() {
                // Options that do not change the rows cimhunt computes.
                "allnum" | "partitions" | "dedup_splitvals" => {
                    let _ = v;
                }
                _ => return Err(args::unknown_option(cmd, &key)),
            }
            continue;
        }
        spec.calls.push(call(sc, cmd)?);
    }
    if spec.calls.is_empty() {
        return Err(RawError::syntax(
            format!("`{cmd}` needs a function, such as `count`"),
            name_span,
            "nothing to compute",
        ));
    }
    Ok(spec)
}

/// One function: `count`, `dc(user)`, `values(eval(…))`, with an optional `as name`.
fn call(sc: &mut Scanner<'_>, cmd: &'static str) -> RawResult<AggCall> {
    sc.skip_ws();
    let start = sc.pos();
    let start_text = sc.rest();
    let Some(name) = sc.word(|c, _| matches!(c, '(' | ')' | '=' | ',')) else {
        return Err(args::unexpected(
            sc,
            cmd,
            "expected a function such as `count`",
        ));
    };
    let Some(func) = AggFunc::from_name(&name.text) else {
        return Err(RawError::unsupported(
            format!("{cmd} function `{}`", name.text.to_ascii_lowercase()),
            name.span,
        ));
    };
    let mut field = None;
    let mut eval = None;
    if sc.peek() == Some('(') {
        let open = sc.pos();
        sc.bump();
        sc.skip_ws();
        if sc.at_keyword("eval", true)
            && sc
                .rest()
                .get(4..)
                .is_some_and(|r| r.trim_start().starts_with('('))
        {
            sc.eat_keyword("eval", true);
            sc.skip_ws();
            sc.bump();
            let from = sc.pos();
            let from_text = sc.rest();
            let expr = EvalExpr::parse_from(sc)?;
            let text = read_since(from_text, from, sc);
            sc.skip_ws();
            if !sc.eat(')') {
                return Err(RawError::syntax(
                    "unbalanced parenthesis",
                    open..open + 1,
                    "the `eval(` is never closed",
                ));
            }
            eval = Some(AggEval::new(text.trim().to_owned(), expr));
        } else {
            let arg = if sc.peek() == Some('"') {
                Some(sc.quoted()?)
            } else {
                sc.word(|c, _| matches!(c, '(' | ')' | ','))
            };
            let Some(arg) = arg else {
                return Err(RawError::syntax(
                    format!("`{}` needs a field", name.text),
                    name.span,
                    "empty parentheses",
                ));
            };
            field = Some(Sym::new(&arg.text));
        }
        sc.skip_ws();
        if !sc.eat(')') {
            return Err(RawError::syntax(
                "unbalanced parenthesis",
                open..open + 1,
                "this `(` is never closed",
            ));
        }
    } else if func != AggFunc::Count {
        return Err(RawError::syntax(
            format!("`{}` needs a field", name.text),
            name.span,
            "write it as a call, e.g. `values(user)`",
        ));
    }
    let written = read_since(start_text, start, sc);
    sc.skip_ws();
    let mut output = written.trim().to_owned();
    if let Some(kw) = sc.eat_keyword("as", true) {
        sc.skip_ws();
        match sc.list_name()? {
            Some(alias) => output = alias.text,
            None => {
                return Err(RawError::syntax(
                    "missing name after `as`",
                    kw,
                    "expected a field name",
                ));
            }
        }
    }
    let mut call = AggCall::new(func, field, Sym::new(&output));
    call.eval = eval;
    Ok(call)
}

/// The text read since the scanner was at `from`, whose rest was `text`.
pub(crate) fn read_since<'a>(text: &'a str, from: usize, sc: &Scanner<'_>) -> &'a str {
    text.get(..sc.pos().saturating_sub(from)).unwrap_or("")
}

/// The by-list: field names separated by spaces or commas.
fn by_list(sc: &mut Scanner<'_>, spec: &mut AggSpec, kw: Range<usize>) -> RawResult<()> {
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        let Some(name) = sc.list_name()? else {
            return Err(args::unexpected(sc, "stats", "expected a field name"));
        };
        let sym = Sym::new(&name.text);
        spec.by.push(ByField {
            field: sym,
            output: sym,
            span_secs: None,
        });
    }
    if spec.by.is_empty() {
        return Err(RawError::syntax(
            "empty by-clause",
            kw,
            "expected field names after this",
        ));
    }
    Ok(())
}
