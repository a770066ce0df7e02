//! `eval <field>=<expression>[, <field>=<expression>]…` (Search Reference, "eval").
//!
//! The assignments run in order, each seeing the fields the earlier ones set. A result that is
//! null removes the field; any other result replaces the field (or adds it at the end). A
//! Boolean cannot be assigned ("The result of an eval expression cannot be a Boolean"): an
//! expression that is a comparison or a logical operation is rejected when compiled. The stored
//! value is read back by later expressions as a field is ([`crate::Value::retyped`]: `"10"`
//! reads as a number).

use std::fmt;
use std::ops::Range;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::eval::EvalExpr;
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `eval` command.
#[derive(Debug)]
pub struct Eval {
    assignments: Vec<(Sym, String, EvalExpr)>,
}

impl Eval {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut assignments = Vec::new();
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            let target = target(sc)?;
            sc.skip_ws();
            if !target.quoted && target.text.contains('{') {
                // `eval {name}=…` assigns to the field that `name`'s value names (Search
                // Reference, eval: a destination named by another field's value in curly
                // brackets); which field is known only per row, and cimhunt does not evaluate it.
                return Err(RawError::unsupported(
                    "eval destination named by a field's value (`{field}`)",
                    target.span,
                ));
            }
            if !sc.eat('=') || sc.peek() == Some('=') {
                return Err(RawError::syntax(
                    format!("expected `=` after `{}` in eval", target.text),
                    target.span,
                    "eval assigns `field=expression`",
                ));
            }
            sc.skip_ws();
            let text_start = sc.rest();
            let from = sc.pos();
            let expr = EvalExpr::parse_from(sc)?;
            let text = super::stats::read_since(text_start, from, sc)
                .trim()
                .to_owned();
            if expr.is_predicate() {
                return Err(RawError::syntax(
                    "the result of an eval expression cannot be a Boolean",
                    from..sc.pos(),
                    "a comparison or logical expression",
                )
                .with_help("wrap it in if(…, \"true\", \"false\"), or use `where` to filter"));
            }
            sc.skip_ws();
            if matches!(sc.peek(), Some(')')) {
                return Err(args::unexpected(sc, "eval", "unbalanced `)`"));
            }
            assignments.push((Sym::new(&target.text), text, expr));
        }
        if assignments.is_empty() {
            return Err(RawError::syntax(
                "eval needs `field=expression`",
                name_span,
                "nothing to compute",
            ));
        }
        Ok(Eval { assignments })
    }

    fn apply(&self, row: &mut Row, ctx: &ExecCtx) {
        for (target, _, expr) in &self.assignments {
            let value = match expr.eval(&*row, ctx.eval_ctx()) {
                Value::Bool(b) => Value::str(if b { "true" } else { "false" }),
                v => v.into_owned(),
            };
            if value.is_null() {
                row.remove(*target);
            } else {
                row.set(*target, value.retyped());
            }
        }
    }
}

/// The field an eval assigns: a word up to `=`, or a quoted name (`"a b"` or `'a b'`).
fn target(sc: &mut Scanner<'_>) -> RawResult<crate::lexer::Token> {
    sc.skip_ws();
    let at = sc.pos();
    if sc.peek() == Some('\'') {
        sc.bump();
        let mut text = String::new();
        loop {
            match sc.bump() {
                Some('\'') => break,
                Some(c) => text.push(c),
                None => {
                    return Err(RawError::syntax(
                        "unterminated quoted field name",
                        at..sc.pos(),
                        "this quote is never closed",
                    ));
                }
            }
        }
        return Ok(crate::lexer::Token {
            text,
            span: at..sc.pos(),
            quoted: true,
        });
    }
    match args::field_name(sc)? {
        Some(t) => Ok(t),
        None => Err(args::unexpected(sc, "eval", "expected `field=expression`")),
    }
}

impl Command for Eval {
    /// Assignment by assignment: the target may differ exactly when its expression reads a
    /// field that may differ at that point.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let mut a = before.clone();
        for (target, _, expr) in &self.assignments {
            let agrees = !expr.fields().any(|f| a.differ.contains(&f));
            a.computed(*target, agrees);
        }
        Some(a)
    }

    fn name(&self) -> &'static str {
        "eval"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        let mut fields = Vec::new();
        for (_, _, e) in &self.assignments {
            fields.extend(e.fields());
        }
        Reads::Fields(fields)
    }

    fn uses_now(&self) -> bool {
        self.assignments.iter().any(|(_, _, e)| e.uses_now())
    }

    /// Assignment by assignment from the last: a live target is set here, so what is live
    /// before is its expression's fields instead (an earlier assignment may set them).
    fn live_before(&self, after: Live) -> Live {
        let mut live = after;
        for (target, _, e) in self.assignments.iter().rev() {
            if live.contains(*target) {
                live = live.without(*target);
                live = e.fields().fold(live, Live::with);
            }
        }
        live
    }

    /// It sets only its targets and never fails.
    fn is_dead(&self, after: &Live) -> bool {
        self.assignments.iter().all(|(t, _, _)| !after.contains(*t))
    }

    fn limit_hits(&self) -> u64 {
        self.assignments
            .iter()
            .map(|(_, _, e)| e.limit_hits())
            .sum()
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        rows.iter_mut().for_each(|r| self.apply(r, ctx));
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("eval")?;
        for (i, (target, text, _)) in self.assignments.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{target}={text}")?;
        }
        Ok(())
    }
}
