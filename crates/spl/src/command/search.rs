//! `search <expr>` after the first command: keeps the rows the expression matches, with the
//! search language's rules (case-insensitive wildcards; OR binds tighter than AND). Filter
//! macros expand to it.
//!
//! A subsearch term (`search [| inputlookup … | table f]`, `search [| tstats … | table a b]`)
//! stands for the subsearch's rows as a search expression ([`crate::search::rows_to_expr`]);
//! the subsearch runs over the same events as the search, so a `search` with one runs after
//! merging, once the subsearch's rows are known.

use std::fmt;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads};
use crate::compile::ParseEnv;
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::search::parse::ExprParser;
use crate::search::{Expr, SUBSEARCH_MAXOUT, rows_to_expr};

/// The `search` command as a filter.
#[derive(Debug, Clone)]
pub struct SearchCmd {
    expr: Expr,
}

impl SearchCmd {
    /// A filter keeping the rows `expr` matches.
    pub fn new(expr: Expr) -> Self {
        SearchCmd { expr }
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    pub(crate) fn parse(sc: &mut Scanner<'_>, env: &mut ParseEnv<'_>) -> RawResult<Self> {
        Ok(SearchCmd {
            expr: ExprParser::new(sc, false).with_subsearch(env).parse()?,
        })
    }
}

impl Command for SearchCmd {
    /// `search *` (what an empty `<detection>_filter` macro leaves) drops nothing.
    fn is_filter(&self) -> bool {
        !matches!(self.expr, Expr::True)
    }

    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        Some(before.clone())
    }

    fn name(&self) -> &'static str {
        "search"
    }

    fn kind(&self) -> Kind {
        if self.expr.has_subsearch() {
            Kind::Whole
        } else {
            Kind::Streaming
        }
    }

    fn reads(&self) -> Reads {
        expr_reads(&self.expr)
    }

    fn subsearches(&self) -> Vec<usize> {
        self.expr.subsearches()
    }

    fn subsearch_rows_read(&self, i: usize) -> Option<usize> {
        self.expr
            .subsearches()
            .contains(&i)
            .then_some(SUBSEARCH_MAXOUT)
    }

    /// A filter.
    fn empty_gives_empty(&self) -> bool {
        true
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        if self.expr == Expr::True {
            return Ok(());
        }
        if !self.expr.has_subsearch() {
            rows.retain(|r| self.expr.matches(r));
            return Ok(());
        }
        let expr = self.expr.resolve_subsearches(&mut |i| {
            let sub = ctx.subsearch(i)?;
            if sub.len() > SUBSEARCH_MAXOUT {
                ctx.warn(format!(
                    "search: subsearch {} returned more than {SUBSEARCH_MAXOUT} rows; only the \
                     first {SUBSEARCH_MAXOUT} are used (Splunk's subsearch maxout)",
                    i + 1
                ));
            }
            Ok::<_, ExecError>(rows_to_expr(sub))
        })?;
        rows.retain(|r| expr.matches(r));
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "search {}", crate::explain::expr_text(&self.expr))
    }
}

/// The fields a search expression reads: those it names, and `_raw` for a keyword; every
/// field with a subsearch, whose rows name fields known only when it has run.
pub(crate) fn expr_reads(expr: &Expr) -> Reads {
    if expr.has_subsearch() {
        return Reads::All;
    }
    let mut fields = expr.fields();
    if expr.has_keyword() {
        fields.push(crate::sym::Sym::new("_raw"));
    }
    Reads::Fields(fields)
}
