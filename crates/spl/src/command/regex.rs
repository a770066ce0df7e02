//! `regex [<field>=|<field>!=]"<regex>"` (Search Reference, "regex"): keeps the rows whose
//! field (`_raw` by default) matches the PCRE regular expression (`=`), or removes them (`!=`).
//! The match is unanchored. A field with several values matches when one does. A row without
//! the field does not match: `=` removes it, `!=` keeps it [inferred from "removes results that
//! do not match"]. A match that hits the backtracking limit counts as no match and as a limit
//! hit.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::eval::Regex;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;

/// The `regex` command.
#[derive(Debug)]
pub struct RegexCmd {
    field: Sym,
    negate: bool,
    text: String,
    regex: Arc<Regex>,
    hits: AtomicU64,
}

impl RegexCmd {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        sc.skip_ws();
        let mut field = Sym::new("_raw");
        let mut negate = false;
        if sc.peek() != Some('"') {
            let Some(name) = sc.word(|c, n| c == '=' || (c == '!' && n == Some('='))) else {
                return Err(args::unexpected(sc, "regex", "expected `field=\"regex\"`"));
            };
            field = Sym::new(&name.text);
            sc.skip_ws();
            if sc.eat('!') {
                negate = true;
            }
            if !sc.eat('=') {
                return Err(RawError::syntax(
                    "expected `=` or `!=` after the field",
                    name.span,
                    "regex field=\"…\"",
                ));
            }
            sc.skip_ws();
        }
        let Some(pattern) = sc.value(false)? else {
            return Err(RawError::syntax(
                "regex needs a regular expression",
                name_span,
                "nothing to match",
            ));
        };
        if !sc.at_end() {
            return Err(args::unexpected(
                sc,
                "regex",
                "expected the end of the command",
            ));
        }
        let regex = Regex::shared(&pattern.text).map_err(|e| {
            RawError::syntax(
                format!("the regular expression does not compile: {e}"),
                pattern.span.clone(),
                "this regular expression",
            )
        })?;
        Ok(RegexCmd {
            field,
            negate,
            text: pattern.text,
            regex,
            hits: AtomicU64::new(0),
        })
    }

    fn matches(&self, row: &Row) -> bool {
        let Some(v) = row.get(self.field) else {
            return false;
        };
        v.texts().any(|t| match self.regex.is_match(&t) {
            Ok(m) => m,
            Err(_) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                false
            }
        })
    }
}

impl Command for RegexCmd {
    fn is_filter(&self) -> bool {
        true
    }

    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        Some(before.clone())
    }

    fn name(&self) -> &'static str {
        "regex"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(vec![self.field])
    }

    fn limit_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        rows.retain(|r| self.matches(r) != self.negate);
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negate { "!=" } else { "=" };
        write!(f, "regex {}{op}{:?}", self.field, self.text)
    }
}
