//! `sort [N] [+|-]<field>…`, `head [N]`, `tail [N]` (Search Reference, "sort", "head",
//! "tail").
//!
//! `sort` orders rows by each field in turn, ascending unless written `-field`; values are
//! compared as numbers when both are numbers, else as text (`num(f)` forces numbers, `str(f)`
//! text, `ip(f)` and `auto(f)` are taken as `auto`) [inferred for mixed values: numbers sort
//! before text]; a row without the field sorts first in ascending order [inferred]. The sort is
//! stable. `sort` keeps at most `N` rows, 10,000 when `N` is not given (`sort 0` keeps all).
//! `head N` keeps the first `N` rows (10 by default), `tail N` the last `N`, in reverse order.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::{Value, parse_number};

/// The rows `sort` keeps when no count is given.
pub const SORT_DEFAULT_LIMIT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Auto,
    Num,
    Str,
}

/// The `sort` command.
#[derive(Debug, Clone)]
pub struct Sort {
    limit: Option<usize>,
    keys: Vec<(Sym, bool, How)>,
}

/// A leading count.
fn count(sc: &mut Scanner<'_>) -> Option<usize> {
    sc.skip_ws();
    let rest = sc.rest();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0
        || !rest[digits..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
    {
        return None;
    }
    let n = rest[..digits].parse().ok();
    for _ in 0..digits {
        sc.bump();
    }
    n
}

impl Sort {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let limit = match count(sc) {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(SORT_DEFAULT_LIMIT),
        };
        if let Some(key) = args::eat_key(sc) {
            return Err(args::unknown_option("sort", &key));
        }
        let mut keys = Vec::new();
        let mut descending_all = false;
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            let mut desc = false;
            if sc.eat('-') {
                desc = true;
            } else {
                sc.eat('+');
            }
            sc.skip_ws();
            if sc.at_end() {
                break;
            }
            let Some(name) = args::field_name(sc)? else {
                return Err(args::unexpected(sc, "sort", "expected a field"));
            };
            if name.text == "d" && !name.quoted && sc.at_end() {
                descending_all = true;
                break;
            }
            let (how, field) = if sc.peek() == Some('(') {
                sc.bump();
                let inner = args::field_name(sc)?.ok_or_else(|| {
                    RawError::syntax("expected a field", name.span.clone(), "here")
                })?;
                sc.skip_ws();
                sc.eat(')');
                let how = match name.text.as_str() {
                    "num" => How::Num,
                    "str" => How::Str,
                    "auto" | "ip" => How::Auto,
                    other => {
                        return Err(RawError::unsupported(
                            format!("sort function `{other}`"),
                            name.span,
                        ));
                    }
                };
                (how, inner.text)
            } else {
                (How::Auto, name.text)
            };
            keys.push((Sym::new(&field), desc, how));
        }
        if keys.is_empty() {
            return Err(RawError::syntax(
                "sort needs a field",
                name_span,
                "sort by what?",
            ));
        }
        if descending_all {
            for k in &mut keys {
                k.1 = !k.1;
            }
        }
        Ok(Sort { limit, keys })
    }
}

fn compare(a: Option<&Value<'_>>, b: Option<&Value<'_>>, how: How) -> Ordering {
    let (a, b) = match (a.and_then(Value::first_text), b.and_then(Value::first_text)) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (Some(a), Some(b)) => (a, b),
    };
    let numbers = (parse_number(&a), parse_number(&b));
    match (how, numbers) {
        (How::Str, _) => a.cmp(&b),
        (_, (Some(x), Some(y))) => x.total_cmp(&y),
        (_, (Some(_), None)) => Ordering::Less,
        (_, (None, Some(_))) => Ordering::Greater,
        (_, (None, None)) => a.cmp(&b),
    }
}

impl Command for Sort {
    fn name(&self) -> &'static str {
        "sort"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::Fields(self.keys.iter().map(|k| k.0).collect())
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        rows.sort_by(|a, b| {
            self.keys
                .iter()
                .map(|(f, desc, how)| {
                    let o = compare(a.get(*f), b.get(*f), *how);
                    if *desc { o.reverse() } else { o }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        if let Some(limit) = self.limit
            && rows.len() > limit
        {
            if limit == SORT_DEFAULT_LIMIT {
                ctx.warn(format!(
                    "sort: {} rows; only the first {limit} are kept (sort's default limit; \
                     `sort 0` keeps all)",
                    rows.len()
                ));
            }
            rows.truncate(limit);
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sort {}", self.limit.unwrap_or(0))?;
        for (field, desc, _) in &self.keys {
            write!(f, " {}{field}", if *desc { "-" } else { "+" })?;
        }
        Ok(())
    }
}

/// The `head` command.
#[derive(Debug, Clone)]
pub struct Head {
    n: usize,
}

impl Head {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let n = count(sc).unwrap_or(10);
        if !sc.at_end() {
            return Err(RawError::unsupported(
                "head with an expression or options",
                sc.pos()..sc.pos() + 1,
            ));
        }
        Ok(Head { n })
    }
}

impl Command for Head {
    fn name(&self) -> &'static str {
        "head"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::Fields(Vec::new())
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        rows.truncate(self.n);
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "head {}", self.n)
    }
}

/// The `tail` command.
#[derive(Debug, Clone)]
pub struct Tail {
    n: usize,
}

impl Tail {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let n = count(sc).unwrap_or(10);
        if !sc.at_end() {
            return Err(args::unexpected(sc, "tail", "expected a number"));
        }
        Ok(Tail { n })
    }
}

impl Command for Tail {
    fn name(&self) -> &'static str {
        "tail"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::Fields(Vec::new())
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        let skip = rows.len().saturating_sub(self.n);
        rows.drain(..skip);
        rows.reverse();
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tail {}", self.n)
    }
}
