//! `convert [timeformat=…] ctime(f) [as g] …` (Splunk Search Reference, "convert"; spec 4.2):
//! epoch seconds to a formatted time in the display time zone, sub-seconds truncated by the
//! format; a value that is not a number is left as it is.

use std::fmt;
use std::ops::Range;

use jiff::tz::TimeZone;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::Value;

/// `convert`'s format when `timeformat` is not given.
pub const DEFAULT_TIMEFORMAT: &str = "%m/%d/%Y %H:%M:%S";

/// The `convert` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convert {
    /// The strftime format.
    pub timeformat: String,
    /// The conversions, in order.
    pub items: Vec<Conversion>,
}

/// One `convert` function application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The function.
    pub func: ConvertFunc,
    /// The input column.
    pub field: Sym,
    /// The output column (`as`); the input column itself when `None`.
    pub output: Option<Sym>,
}

/// `convert` functions supported here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertFunc {
    /// Epoch seconds → formatted time.
    Ctime,
}

impl Convert {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut timeformat = DEFAULT_TIMEFORMAT.to_owned();
        let mut items = Vec::new();
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            let at = sc.pos();
            let Some(word) = sc.word(|c, _| matches!(c, '(' | ')' | '=' | ',')) else {
                let c = sc.peek().map(String::from).unwrap_or_default();
                return Err(RawError::syntax(
                    format!("unexpected `{c}` in convert"),
                    at..at + c.len().max(1),
                    "here",
                ));
            };
            if sc.eat('=') {
                if word.text != "timeformat" {
                    return Err(RawError::unsupported(
                        format!("convert option `{}`", word.text),
                        word.span,
                    ));
                }
                sc.skip_ws();
                match sc.value(false)? {
                    Some(v) => timeformat = v.text,
                    None => {
                        return Err(RawError::syntax(
                            "missing value for `timeformat`",
                            word.span,
                            "expected a format",
                        ));
                    }
                }
                continue;
            }
            if sc.peek() != Some('(') {
                return Err(RawError::syntax(
                    format!("expected a conversion like `ctime({})`", word.text),
                    word.span,
                    "not a function call",
                ));
            }
            let open = sc.pos();
            sc.bump();
            sc.skip_ws();
            let field = sc.word(|c, _| matches!(c, '(' | ')' | ','));
            sc.skip_ws();
            if !sc.eat(')') {
                return Err(RawError::syntax(
                    "unbalanced parenthesis",
                    open..open + 1,
                    "this `(` is never closed",
                ));
            }
            if word.text != "ctime" {
                return Err(RawError::unsupported(
                    format!("convert function `{}`", word.text),
                    word.span,
                ));
            }
            let Some(field) = field else {
                return Err(RawError::syntax(
                    "`ctime()` needs a field",
                    word.span.start..sc.pos(),
                    "empty",
                ));
            };
            sc.skip_ws();
            let mut output = None;
            if let Some(kw) = sc.eat_keyword("as", true) {
                sc.skip_ws();
                match sc.list_name()? {
                    Some(n) => output = Some(Sym::new(&n.text)),
                    None => {
                        return Err(RawError::syntax(
                            "missing name after `as`",
                            kw,
                            "expected a field name",
                        ));
                    }
                }
            }
            items.push(Conversion {
                func: ConvertFunc::Ctime,
                field: Sym::new(&field.text),
                output,
            });
        }
        if items.is_empty() {
            return Err(RawError::syntax(
                "convert needs a conversion such as `ctime(field)`",
                name_span,
                "nothing to convert",
            ));
        }
        Ok(Convert { timeformat, items })
    }

    fn apply(&self, row: &mut Row, tz: &TimeZone) -> Result<(), ExecError> {
        for item in &self.items {
            let ConvertFunc::Ctime = item.func;
            let Some(value) = row.get(item.field) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            let converted: Vec<Value<'static>> = value
                .texts()
                .map(|t| ctime(&t, &self.timeformat, tz).map(|s| Value::Str(s.into())))
                .collect::<Result<_, _>>()?;
            row.set(item.output.unwrap_or(item.field), Value::multi(converted));
        }
        Ok(())
    }
}

/// `strftime` specifiers that format any date and time of any zone: numbers, names of months
/// and days, literal characters.
const NEVER_FAILS: &str = "YmdHMSyjIpbBaAeTFDRnth%";

/// Whether formatting with `format` cannot fail: every `%` is followed by one of
/// [`NEVER_FAILS`].
fn format_never_fails(format: &str) -> bool {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' && !chars.next().is_some_and(|s| NEVER_FAILS.contains(s)) {
            return false;
        }
    }
    true
}

/// Epoch seconds → the formatted time in `tz`, sub-seconds truncated by the format; text that
/// is not a number is left as it is (spec 4.2).
pub(crate) fn ctime(value: &str, format: &str, tz: &TimeZone) -> Result<String, ExecError> {
    let Ok(t) = Timestamp::parse_epoch_secs(value.trim()) else {
        return Ok(value.to_owned());
    };
    let Ok(ts) = jiff::Timestamp::from_nanosecond(i128::from(t.as_nanos())) else {
        return Ok(value.to_owned());
    };
    let zoned = ts.to_zoned_datetime(tz.clone());
    jiff::fmt::strtime::format(format, &zoned).map_err(|e| ExecError::TimeFormat {
        command: "convert",
        format: format.to_owned(),
        message: e.to_string(),
    })
}

impl Command for Convert {
    /// Conversion by conversion: the output may differ exactly when its input may.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let mut a = before.clone();
        for item in &self.items {
            let agrees = !a.differ.contains(&item.field);
            a.computed(item.output.unwrap_or(item.field), agrees);
        }
        Some(a)
    }

    fn name(&self) -> &'static str {
        "convert"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(self.items.iter().map(|i| i.field).collect())
    }

    /// Conversion by conversion from the last: a live output needs its input instead.
    fn live_before(&self, after: Live) -> Live {
        let mut live = after;
        for item in self.items.iter().rev() {
            let out = item.output.unwrap_or(item.field);
            if live.contains(out) {
                live = live.without(out).with(item.field);
            }
        }
        live
    }

    /// It sets only its outputs, and fails only on a time format that a specifier outside
    /// [`NEVER_FAILS`] makes fail.
    fn is_dead(&self, after: &Live) -> bool {
        self.items
            .iter()
            .all(|i| !after.contains(i.output.unwrap_or(i.field)))
            && format_never_fails(&self.timeformat)
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        rows.iter_mut().try_for_each(|r| self.apply(r, ctx.tz()))
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "convert timeformat={:?}", self.timeformat)?;
        for item in &self.items {
            write!(f, " ctime({})", item.field)?;
            if let Some(out) = item.output {
                write!(f, " as {out}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifiers_a_dead_convert_may_have_format_every_time_in_every_zone() {
        // A convert is left out when nothing reads what it sets only if it cannot fail: check
        // the claim for each specifier, at the ends of the epoch range ctime formats and
        // between, in zones with and without daylight saving and with odd offsets.
        let zones = [
            "UTC",
            "America/New_York",
            "Asia/Kathmandu",
            "Pacific/Chatham",
        ];
        let times = [
            "0",
            "-2208988800",
            "253402300799",
            "1700000000.5",
            "951782400",
        ];
        for spec in NEVER_FAILS.chars() {
            let format = format!("a%{spec}b");
            assert!(format_never_fails(&format));
            for zone in zones {
                let tz = TimeZone::get(zone).unwrap();
                for t in times {
                    assert!(ctime(t, &format, &tz).is_ok(), "{format} {zone} {t}");
                }
            }
        }
        assert!(!format_never_fails("%Q"));
        assert!(!format_never_fails("%-d"));
        assert!(!format_never_fails("ends with %"));
    }

    #[test]
    fn ctime_truncates_and_honours_the_zone_cv12_cv13() {
        let f = "%Y-%m-%dT%H:%M:%S";
        assert_eq!(
            ctime("1602155026.999", f, &TimeZone::UTC).unwrap(),
            "2020-10-08T11:03:46"
        );
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            ctime("1602155026.617", f, &ny).unwrap(),
            "2020-10-08T07:03:46"
        );
        assert_eq!(
            ctime("not a time", f, &TimeZone::UTC).unwrap(),
            "not a time"
        );
    }
}
