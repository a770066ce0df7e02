//! `where <eval-expression>` (Search Reference, "where"): keeps the rows for which the
//! expression is true. The expression is an eval expression, so `=` compares case-sensitively
//! and without wildcards (unlike `search`), `like` uses `%` and `_`, and a comparison with a
//! null field is not true.

use std::fmt;
use std::ops::Range;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::eval::EvalExpr;
use crate::lexer::Scanner;
use crate::row::Row;

/// The `where` command.
#[derive(Debug)]
pub struct Where {
    text: String,
    expr: EvalExpr,
}

impl Where {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        sc.skip_ws();
        if sc.at_end() {
            return Err(RawError::syntax(
                "where needs an expression",
                name_span,
                "nothing to test",
            ));
        }
        let text_start = sc.rest();
        let from = sc.pos();
        let expr = EvalExpr::parse_from(sc)?;
        let text = super::stats::read_since(text_start, from, sc)
            .trim()
            .to_owned();
        if !sc.at_end() {
            return Err(args::unexpected(
                sc,
                "where",
                "expected the end of the expression",
            ));
        }
        Ok(Where { text, expr })
    }
}

impl Command for Where {
    fn is_filter(&self) -> bool {
        true
    }

    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        Some(before.clone())
    }

    fn name(&self) -> &'static str {
        "where"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(self.expr.fields().collect())
    }

    fn uses_now(&self) -> bool {
        self.expr.uses_now()
    }

    fn limit_hits(&self) -> u64 {
        self.expr.limit_hits()
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        rows.retain(|r| self.expr.matches(r, ctx.eval_ctx()));
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "where {}", self.text)
    }
}
