//! The search language: the boolean expressions of `search`, a raw search's first command, and
//! the `tstats` where-clause.
//!
//! Grammar and precedence are in [`parse`] (OR binds tighter than AND; juxtaposition is AND).
//! Matching follows spec section 2: field names are case-sensitive, values are compared
//! case-insensitively as wildcard patterns, `=` holds when some value of a multivalued field
//! matches, `!=` needs the field to exist, and `NOT` holds for a missing field.

mod format;
mod literals;
mod matching;
pub(crate) mod parse;

pub use format::{SUBSEARCH_MAXOUT, rows_to_expr};

pub use literals::{
    FieldOrigin, Literal, LiteralTarget, Origins, RecordLiterals, ValueLiterals,
    is_binary_rendering, is_plain, plain_runs,
};
pub use matching::keyword_matches;

use crate::pattern::Pattern;
use crate::sym::Sym;

/// A boolean search expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// Matches everything (`search *`, no where-clause).
    True,
    /// All must match.
    And(Vec<Expr>),
    /// Any must match.
    Or(Vec<Expr>),
    /// The operand must not match; true for events lacking the field.
    Not(Box<Expr>),
    /// A field comparison.
    Compare {
        /// The field, as written (`Processes.process_name`, `EventCode`).
        field: Sym,
        /// The operator.
        op: CompareOp,
        /// The value: a case-insensitive, anchored wildcard pattern for `=` and `!=`.
        value: Pattern,
    },
    /// A bare term or quoted phrase, matched against the event's `_raw` text.
    Keyword(Pattern),
    /// A subsearch `[…]` used as a search term: the plan's subsearch of this number, whose
    /// result rows become an expression when the search runs ([`Expr::resolve_subsearches`],
    /// [`rows_to_expr`]). Matches nothing until resolved.
    Subsearch(usize),
}

/// Comparison operators of the search language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`: some value of the field matches (false when the field is null).
    Eq,
    /// `!=`: the field exists and no value matches.
    Ne,
    /// `<`: numeric when both sides are numbers, else lexicographic.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl CompareOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

impl Expr {
    /// Every field the expression compares, in order of appearance (with repeats).
    pub fn fields(&self) -> Vec<Sym> {
        let mut out = Vec::new();
        self.visit(&mut |e| {
            if let Expr::Compare { field, .. } = e {
                out.push(*field);
            }
        });
        out
    }

    /// Whether the expression has a keyword term (and so reads `_raw`).
    pub fn has_keyword(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Keyword(_)));
        found
    }

    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.visit(f)),
            Expr::Not(inner) => inner.visit(f),
            Expr::True | Expr::Compare { .. } | Expr::Keyword(_) | Expr::Subsearch(_) => {}
        }
    }

    /// Whether the expression has a subsearch term.
    pub fn has_subsearch(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Subsearch(_)));
        found
    }

    /// The numbers of the subsearches it refers to, in order of appearance.
    pub fn subsearches(&self) -> Vec<usize> {
        let mut found = Vec::new();
        self.visit(&mut |e| {
            if let Expr::Subsearch(i) = e {
                found.push(*i);
            }
        });
        found
    }

    /// The expression with every subsearch term replaced by what `resolve` makes of it.
    pub fn resolve_subsearches<E>(
        &self,
        resolve: &mut dyn FnMut(usize) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        Ok(match self {
            Expr::Subsearch(i) => resolve(*i)?,
            Expr::And(items) => and(items
                .iter()
                .map(|e| e.resolve_subsearches(resolve))
                .collect::<Result<_, _>>()?),
            Expr::Or(items) => or(items
                .iter()
                .map(|e| e.resolve_subsearches(resolve))
                .collect::<Result<_, _>>()?),
            Expr::Not(inner) => Expr::Not(Box::new(inner.resolve_subsearches(resolve)?)),
            e => e.clone(),
        })
    }

    /// Renames the fields of every comparison (e.g. `Processes.dest` → `dest` once a dataset is
    /// known).
    pub fn map_fields(&mut self, f: &mut dyn FnMut(Sym) -> Sym) {
        match self {
            Expr::And(items) | Expr::Or(items) => items.iter_mut().for_each(|e| e.map_fields(f)),
            Expr::Not(inner) => inner.map_fields(f),
            Expr::Compare { field, .. } => *field = f(*field),
            Expr::True | Expr::Keyword(_) | Expr::Subsearch(_) => {}
        }
    }
}

/// A conjunction, flattened, without `True` members, collapsed when it has one member.
pub fn and(items: Vec<Expr>) -> Expr {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Expr::True => {}
            Expr::And(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    match out.len() {
        0 => Expr::True,
        1 => out.pop().unwrap_or(Expr::True),
        _ => Expr::And(out),
    }
}

/// A disjunction, flattened, `True` when a member is, collapsed when it has one member.
pub fn or(items: Vec<Expr>) -> Expr {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Expr::True => return Expr::True,
            Expr::Or(inner) => out.extend(inner),
            e => out.push(e),
        }
    }
    match out.len() {
        0 => Expr::True,
        1 => out.pop().unwrap_or(Expr::True),
        _ => Expr::Or(out),
    }
}

/// Parses a whole text as a search expression (event type definitions, data-model constraints,
/// the searches of `search` commands written elsewhere).
pub fn parse_expr(text: &str) -> Result<Expr, crate::SplError> {
    let mut sc = crate::lexer::Scanner::new(text, 0..text.len());
    parse::ExprParser::new(&mut sc, false)
        .parse()
        .map_err(|e| e.into_error(text))
}
