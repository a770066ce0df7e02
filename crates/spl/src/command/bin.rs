//! `bin`/`bucket [span=<span>] <field> [as <name>]` (Search Reference, "bin"; `bucket` is its
//! alias).
//!
//! For `_time`: the time becomes the start of its span, the spans aligned to midnight of the
//! display time zone (for spans of a day or more, and, with a zone whose offset is not a whole
//! number of the span, for shorter ones too) [inferred: with UTC, spans are aligned to the
//! epoch]. For another field with a numeric span: a number `x` becomes the range `lo-hi` with
//! `lo = floor(x / span) * span`, `hi = lo + span`; a value that is not a number is left as it
//! is. A missing field is left missing. `bins=` (a number of bins instead of a span) is not
//! supported.

use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::{Value, format_number};

/// The `bin`/`bucket` command.
#[derive(Debug, Clone)]
pub struct Bin {
    command: &'static str,
    field: Sym,
    output: Option<Sym>,
    span_text: String,
    /// Seconds for `_time`, a plain number otherwise.
    span: f64,
}

impl Bin {
    pub(crate) fn parse(
        sc: &mut Scanner<'_>,
        name_span: Range<usize>,
        name: &str,
    ) -> RawResult<Self> {
        let command = if name == "bucket" { "bucket" } else { "bin" };
        let mut span: Option<crate::lexer::Token> = None;
        let mut field = None;
        let mut output = None;
        loop {
            if sc.at_end() {
                break;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "span" => span = Some(v),
                    _ => return Err(args::unknown_option(command, &key)),
                }
                continue;
            }
            if let Some(kw) = sc.eat_keyword("as", true) {
                match args::field_name(sc)? {
                    Some(n) => output = Some(Sym::new(&n.text)),
                    None => {
                        return Err(RawError::syntax("missing name after `as`", kw, "here"));
                    }
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) if field.is_none() => field = Some(f),
                _ => return Err(args::unexpected(sc, command, "expected one field")),
            }
        }
        let Some(field) = field else {
            return Err(RawError::syntax(
                format!("{command} needs a field"),
                name_span,
                "which field?",
            ));
        };
        let Some(span) = span else {
            return Err(RawError::unsupported(
                format!("{command} without `span=`"),
                name_span,
            ));
        };
        let is_time = field.text == "_time";
        let secs = if is_time {
            args::span_seconds(&span.text, &span.span)? as f64
        } else {
            span.text
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| {
                    RawError::unsupported(
                        format!("{command} span `{}` on a field other than _time", span.text),
                        span.span.clone(),
                    )
                })?
        };
        Ok(Bin {
            command,
            field: Sym::new(&field.text),
            output,
            span_text: span.text,
            span: secs,
        })
    }

    fn apply(&self, row: &mut Row, ctx: &ExecCtx) {
        let Some(value) = row.get(self.field) else {
            return;
        };
        let binned = if self.field.as_str() == "_time" {
            let Some(t) = value
                .first_text()
                .and_then(|t| Timestamp::parse_epoch_secs(t.trim()).ok())
            else {
                return;
            };
            let span = self.span as i64;
            let secs = t.as_secs();
            let offset = jiff::Timestamp::from_second(secs)
                .map(|ts| i64::from(ctx.tz().to_offset(ts).seconds()))
                .unwrap_or(0);
            let start = (secs + offset).div_euclid(span) * span - offset;
            Value::num(start as f64)
        } else {
            let Some(x) = value.as_number() else { return };
            let lo = (x / self.span).floor() * self.span;
            Value::str(format!(
                "{}-{}",
                format_number(lo),
                format_number(lo + self.span)
            ))
        };
        row.set(self.output.unwrap_or(self.field), binned);
    }
}

impl Command for Bin {
    fn name(&self) -> &'static str {
        self.command
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(vec![self.field])
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        rows.iter_mut().for_each(|r| self.apply(r, ctx));
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} span={} {}", self.command, self.span_text, self.field)?;
        if let Some(o) = self.output {
            write!(f, " as {o}")?;
        }
        Ok(())
    }
}
