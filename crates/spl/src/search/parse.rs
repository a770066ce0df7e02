//! Parser for search expressions: the `tstats` where-clause and the `search` command.
//!
//! Grammar (spec 1.6): parentheses bind first, then `NOT`, then `OR`, then `AND` — **OR binds
//! tighter than AND**, and juxtaposition is AND:
//!
//! ```text
//! and   := or ( ["AND"] or )*
//! or    := unary ( "OR" unary )*
//! unary := "NOT" unary | primary
//! primary := "(" and ")" | field op value | field "IN" "(" value ("," value)* ")" | "*"
//! ```
//!
//! `AND`, `OR`, `NOT` are operators only in upper case; `IN` in any case.

use std::ops::Range;

use crate::error::{RawError, RawResult};
use crate::lexer::{Scanner, Token};
use crate::pattern::Pattern;
use crate::search::{CompareOp, Expr, and, or};
use crate::sym::Sym;

/// How deeply parentheses and `NOT`s may nest.
const MAX_DEPTH: usize = 200;

/// Compiles a subsearch `[…]` used as a search term into the expression that stands for it;
/// the scanner is at its `[` and is left after its `]`.
pub(crate) trait SubsearchTerm {
    /// The term.
    fn term(&mut self, sc: &mut Scanner<'_>) -> RawResult<Expr>;
}

/// Parses search expressions from a [`Scanner`].
pub(crate) struct ExprParser<'s, 'a> {
    sc: &'s mut Scanner<'a>,
    /// Stop (at top level) before a `by`/`BY` keyword: the tstats where-clause.
    stop_at_by: bool,
    depth: usize,
    /// What a subsearch term compiles to; without one, a subsearch is unsupported.
    subsearch: Option<&'s mut dyn SubsearchTerm>,
}

impl<'s, 'a> ExprParser<'s, 'a> {
    /// A parser reading from `sc`.
    pub(crate) fn new(sc: &'s mut Scanner<'a>, stop_at_by: bool) -> Self {
        ExprParser {
            sc,
            stop_at_by,
            depth: 0,
            subsearch: None,
        }
    }

    /// The same parser, compiling subsearch terms with `handler`.
    pub(crate) fn with_subsearch(mut self, handler: &'s mut dyn SubsearchTerm) -> Self {
        self.subsearch = Some(handler);
        self
    }

    /// Parses an expression up to the end of the command (or a top-level `by`). An empty
    /// expression is [`Expr::True`].
    pub(crate) fn parse(&mut self) -> RawResult<Expr> {
        let e = self.and_expr(None)?;
        Ok(e.unwrap_or(Expr::True))
    }

    /// `and := or (["AND"] or)*`; `open` is the span of the enclosing `(`, if any.
    fn and_expr(&mut self, open: Option<&Range<usize>>) -> RawResult<Option<Expr>> {
        let mut items = Vec::new();
        loop {
            if self.sc.at_end() {
                if let Some(open) = open {
                    return Err(RawError::syntax(
                        "unbalanced parenthesis",
                        open.clone(),
                        "this `(` is never closed",
                    )
                    .with_help("add the missing `)`"));
                }
                break;
            }
            if self.sc.peek() == Some(')') {
                if open.is_some() {
                    break;
                }
                let p = self.sc.pos();
                return Err(RawError::syntax(
                    "unbalanced parenthesis",
                    p..p + 1,
                    "this `)` has no matching `(`",
                ));
            }
            if self.stop_at_by && self.sc.at_keyword("by", true) {
                if let Some(open) = open {
                    return Err(RawError::syntax(
                        "unbalanced parenthesis",
                        open.clone(),
                        "this `(` is never closed",
                    )
                    .with_help(
                        "the by-clause starts inside these parentheses: is a `)` missing?",
                    ));
                }
                break;
            }
            if let Some(span) = self.sc.eat_keyword("AND", false) {
                if items.is_empty() {
                    return Err(RawError::syntax(
                        "`AND` without a left operand",
                        span,
                        "nothing before this",
                    ));
                }
                self.expect_operand(&span, "AND")?;
                continue;
            }
            items.push(self.or_expr()?);
        }
        Ok(match items.len() {
            0 => None,
            _ => Some(and(items)),
        })
    }

    /// `or := unary ("OR" unary)*`
    fn or_expr(&mut self) -> RawResult<Expr> {
        let mut items = vec![self.unary()?];
        loop {
            self.sc.skip_ws();
            let Some(span) = self.sc.eat_keyword("OR", false) else {
                break;
            };
            self.expect_operand(&span, "OR")?;
            items.push(self.unary()?);
        }
        Ok(or(items))
    }

    /// `unary := "NOT" unary | primary`
    fn unary(&mut self) -> RawResult<Expr> {
        self.sc.skip_ws();
        if let Some(span) = self.sc.eat_keyword("NOT", false) {
            self.expect_operand(&span, "NOT")?;
            self.enter(&span)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(match inner {
                Expr::Not(e) => *e,
                e => Expr::Not(Box::new(e)),
            });
        }
        self.primary()
    }

    /// Fails when an operator is the last thing in the expression.
    fn expect_operand(&mut self, op_span: &Range<usize>, op: &str) -> RawResult<()> {
        self.sc.skip_ws();
        let missing = self.sc.at_end()
            || self.sc.peek() == Some(')')
            || self.sc.at_keyword("AND", false)
            || self.sc.at_keyword("OR", false)
            || (self.stop_at_by && self.depth == 0 && self.sc.at_keyword("by", true));
        if missing {
            return Err(RawError::syntax(
                format!("`{op}` without a right operand"),
                op_span.clone(),
                "nothing after this",
            ));
        }
        Ok(())
    }

    fn enter(&mut self, span: &Range<usize>) -> RawResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RawError::syntax(
                "expression nested too deeply",
                span.clone(),
                "here",
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> RawResult<Expr> {
        self.sc.skip_ws();
        let start = self.sc.pos();
        match self.sc.peek() {
            Some('(') => {
                self.sc.bump();
                let open = start..start + 1;
                self.enter(&open)?;
                let inner = self.and_expr(Some(&open))?;
                self.depth -= 1;
                if !self.sc.eat(')') {
                    return Err(RawError::syntax(
                        "unbalanced parenthesis",
                        open,
                        "this `(` is never closed",
                    ));
                }
                // `()` matches everything: the CIM's index macros expand to it
                // (`(`cim_Endpoint_indexes`) tag=process` is `(()) tag=process`).
                Ok(inner.unwrap_or(Expr::True))
            }
            Some('"') => {
                let tok = self.sc.quoted()?;
                self.after_field(tok)
            }
            Some('[') => match self.subsearch.as_mut() {
                Some(handler) => handler.term(self.sc),
                None => Err(RawError::unsupported("subsearch", start..start + 1)),
            },
            _ => {
                let Some(field) = self.sc.field_word() else {
                    let c = self.sc.peek().map(String::from).unwrap_or_default();
                    return Err(RawError::syntax(
                        format!("unexpected `{c}`"),
                        start..start + c.len().max(1),
                        "expected a field comparison",
                    ));
                };
                self.after_field(field)
            }
        }
    }

    /// What follows a field name: an operator and a value, `IN (…)`, a function call's `(`, or
    /// nothing (a keyword term).
    /// A quoted field name (`"Processes.process"="*x*"`) is a field too; a quoted string on its
    /// own is a keyword term.
    fn after_field(&mut self, field: Token) -> RawResult<Expr> {
        if !field.quoted && self.sc.peek() == Some('(') {
            let name = field.text;
            return Err(RawError::unsupported(
                format!("search function `{name}`"),
                field.span,
            ));
        }
        self.sc.skip_ws();
        if let Some(op) = self.operator() {
            self.sc.skip_ws();
            let at = self.sc.pos();
            let value = match self.sc.value(false)? {
                Some(v) => v,
                None => {
                    return Err(RawError::syntax(
                        format!("missing value after `{}`", op.text()),
                        field.span.start..at,
                        "this comparison has no value",
                    ));
                }
            };
            return Ok(self.compare(&field, op, &value.text));
        }
        if self.sc.at_keyword("IN", true) {
            return self.in_list(field);
        }
        if field.text == "*" && !field.quoted {
            return Ok(Expr::True);
        }
        Ok(Expr::Keyword(Pattern::new(&field.text)))
    }

    fn compare(&self, field: &Token, op: CompareOp, value: &str) -> Expr {
        Expr::Compare {
            field: Sym::new(&field.text),
            op,
            value: Pattern::new(value),
        }
    }

    /// Consumes a comparison operator.
    fn operator(&mut self) -> Option<CompareOp> {
        let (op, len) = match (self.sc.peek()?, self.sc.peek2()) {
            ('!', Some('=')) => (CompareOp::Ne, 2),
            ('<', Some('=')) => (CompareOp::Le, 2),
            ('>', Some('=')) => (CompareOp::Ge, 2),
            ('=', Some('=')) => (CompareOp::Eq, 2),
            ('=', _) => (CompareOp::Eq, 1),
            ('<', _) => (CompareOp::Lt, 1),
            ('>', _) => (CompareOp::Gt, 1),
            _ => return None,
        };
        for _ in 0..len {
            self.sc.bump();
        }
        Some(op)
    }

    /// `field IN (v1, "v2", …)`, the `IN` keyword next.
    fn in_list(&mut self, field: Token) -> RawResult<Expr> {
        let kw = self
            .sc
            .eat_keyword("IN", true)
            .unwrap_or(field.span.clone());
        self.sc.skip_ws();
        let open = self.sc.pos();
        if !self.sc.eat('(') {
            return Err(RawError::syntax(
                "`IN` without a list",
                kw,
                "expected `(` and a list of values after this",
            )
            .with_help("write `field IN (\"a\", \"b\")`"));
        }
        let mut items = Vec::new();
        loop {
            self.sc.skip_ws();
            match self.sc.peek() {
                None => {
                    return Err(RawError::syntax(
                        "unbalanced parenthesis",
                        open..open + 1,
                        "this `(` is never closed",
                    ));
                }
                Some(')') => {
                    self.sc.bump();
                    break;
                }
                Some(',') => {
                    self.sc.bump();
                }
                Some(_) => {
                    let at = self.sc.pos();
                    let Some(v) = self.sc.value(true)? else {
                        return Err(RawError::syntax(
                            "unexpected `(` in an `IN` list",
                            at..at + 1,
                            "values only",
                        ));
                    };
                    items.push(self.compare(&field, CompareOp::Eq, &v.text));
                }
            }
        }
        if items.is_empty() {
            return Err(RawError::syntax(
                "empty `IN` list",
                open..self.sc.pos(),
                "no values",
            ));
        }
        Ok(or(items))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
