//! `search <expr>` after the first command: keeps the rows the expression matches, with the
//! search language's rules (case-insensitive wildcards; OR binds tighter than AND). Filter
//! macros expand to it.

use std::fmt;

use super::{Command, ExecCtx, ExecError, Kind, Reads};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::search::Expr;
use crate::search::parse::ExprParser;

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

    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        Ok(SearchCmd {
            expr: ExprParser::new(sc, false).parse()?,
        })
    }
}

impl Command for SearchCmd {
    fn name(&self) -> &'static str {
        "search"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        let mut fields = self.expr.fields();
        if self.expr.has_keyword() {
            fields.push(crate::sym::Sym::new("_raw"));
        }
        Reads::Fields(fields)
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        if self.expr != Expr::True {
            rows.retain(|r| self.expr.matches(r));
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "search {}", crate::explain::expr_text(&self.expr))
    }
}
