//! `strftime` and `strptime` with Splunk's format variables (Search Reference, "Date and time
//! format variables"), over `jiff` for the calendar and time zones.
//!
//! Time values are epoch seconds, with a fraction (Search Reference, Date and Time functions).
//! Both functions work in the search's time zone ([`super::EvalCtx::with_time_zone`]), unless
//! `strptime` reads an offset (`%z`) or epoch seconds (`%s`).
//!
//! | variable | `strftime` writes | `strptime` reads |
//! |---|---|---|
//! | `%Y` `%y` `%C` | year, 2-digit year, century | 1–4 digits; 2 digits (69–99 are 19xx, 00–68 20xx) |
//! | `%m` `%d` `%e` `%j` | month, day (`%e` space-padded), day of year | 1–2 digits (3 for `%j`) |
//! | `%H` `%k` `%I` `%l` `%M` `%S` `%p` | hour, space-padded hour, 12-hour clock, minute, second, AM/PM | 1–2 digits; `AM`/`PM` in any case |
//! | `%N` `%3N` `%6N` `%9N` | sub-second digits (9 by default) | up to that many digits |
//! | `%Q` `%3Q` `%6Q` `%9Q` | sub-second digits (3 by default) | up to that many digits |
//! | `%f` | microseconds, 6 digits | up to 6 digits |
//! | `%s` | epoch seconds | epoch seconds (with a fraction) |
//! | `%b` `%h` `%B` `%a` `%A` | English month and weekday names | names in any case (weekdays are skipped) |
//! | `%z` `%:z` `%::z` `%:::z` `%Ez` | `-0500`, `-05:00`, `-05:00:00`, `-05`, minutes `-300` | `±hh[:]mm`, `Z` |
//! | `%Z` | zone abbreviation (`UTC`, `PDT`) | `UTC`, `GMT`, `Z` (other abbreviations are skipped, the search's zone applies) [inferred] |
//! | `%T` `%R` `%D` `%F` `%r` | `%H:%M:%S`, `%H:%M`, `%m/%d/%y`, `%Y-%m-%d`, `%I:%M:%S %p` | the same |
//! | `%c` `%+` | `%a %b %d %H:%M:%S %Y`, `%a %b %d %H:%M:%S %Z %Y` (US English, as the page shows) | — |
//! | `%x` `%X` | `%m/%d/%Y`, `%H:%M:%S` [inferred: "the current locale"] | the same |
//! | `%w` `%u` `%U` `%W` `%V` `%G` `%g` | weekday (Sunday 0), weekday (Monday 1), weeks, ISO week and year | — |
//! | `%n` `%t` `%%` | newline, tab, `%` | the same |
//!
//! Other rules [inferred]: in `strptime` a space in the format matches any run of white space
//! (none included), other characters match themselves, fields missing from the format default
//! to 1970-01-01 00:00:00, and text after the format is ignored; an unknown variable is written
//! as it is. `strptime` returns its number with six decimals, as the format-variables page's
//! table shows (`1664124322.000000`).

use std::borrow::Cow;
use std::fmt::Write as _;

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};

use crate::time::Timestamp;
use crate::value::{Number, Value};

use super::EvalCtx;
use super::exec::{number, text};
use super::num::number_of;

/// The time a value stands for: epoch seconds, from its text when it has one (no rounding).
pub(crate) fn timestamp_of(v: &Value<'_>) -> Option<Timestamp> {
    let n = number_of(v)?;
    if let Ok(t) = Timestamp::parse_epoch_secs(&n.text()) {
        return Some(t);
    }
    let x = n.get();
    let nanos = (x * 1e9).round();
    if !nanos.is_finite() || nanos.abs() > 9.2e18 {
        return None;
    }
    let digits = if x.fract() == 0.0 { 0 } else { 6 };
    Some(Timestamp::from_nanos(nanos as i64, digits))
}

/// A time as an eval number: whole seconds as an integer, otherwise with its fraction.
pub(crate) fn epoch_value(t: Timestamp) -> Value<'static> {
    let nanos = t.as_nanos();
    if nanos.rem_euclid(1_000_000_000) == 0 {
        return number(t.as_secs() as f64);
    }
    number(nanos as f64 / 1e9)
}

fn jiff_timestamp(t: Timestamp) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_nanosecond(i128::from(t.as_nanos())).ok()
}

pub(crate) fn strftime_value<'r>(time: &Value<'_>, format: &Value<'_>, ctx: &EvalCtx) -> Value<'r> {
    let (Some(t), Some(f)) = (timestamp_of(time), text(format)) else {
        return Value::Null;
    };
    match strftime(t, &f, ctx.time_zone()) {
        Some(s) => Value::Str(Cow::Owned(s)),
        None => Value::Null,
    }
}

pub(crate) fn strptime_value<'r>(s: &Value<'_>, format: &Value<'_>, ctx: &EvalCtx) -> Value<'r> {
    let (Some(s), Some(f)) = (text(s), text(format)) else {
        return Value::Null;
    };
    match strptime(&s, &f, ctx.time_zone()) {
        Some(t) => {
            let nanos = t.as_nanos();
            let text = format!(
                "{}.{:06}",
                t.as_secs(),
                nanos.rem_euclid(1_000_000_000) / 1_000
            );
            Value::Num(Number::with_text(nanos as f64 / 1e9, Cow::Owned(text)))
        }
        None => Value::Null,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `t` formatted by `format` in `tz`.
pub(crate) fn strftime(t: Timestamp, format: &str, tz: &TimeZone) -> Option<String> {
    let ts = jiff_timestamp(t)?;
    let z = ts.to_zoned_datetime(tz.clone());
    let info = tz.to_offset_info(ts);
    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Optional digits (`%3N`) and colons (`%:z`).
        let mut width: Option<usize> = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        let mut colons = 0;
        while chars.peek() == Some(&':') {
            colons += 1;
            chars.next();
        }
        let Some(spec) = chars.next() else {
            out.push('%');
            break;
        };
        let (y, mo, d) = (i32::from(z.year()), z.month(), z.day());
        let (h, mi, s) = (z.hour(), z.minute(), z.second());
        let nanos = z.subsec_nanosecond();
        let wday = z.weekday().to_sunday_zero_offset();
        let yday = i32::from(z.day_of_year()) - 1;
        let offset = info.offset().seconds();
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        let w = &mut out;
        let _ = match spec {
            'Y' => write!(w, "{y:04}"),
            'y' => write!(w, "{:02}", y.rem_euclid(100)),
            'C' => write!(w, "{:02}", y.div_euclid(100)),
            'm' => write!(w, "{mo:02}"),
            'd' => write!(w, "{d:02}"),
            'e' => write!(w, "{d:2}"),
            'j' => write!(w, "{:03}", yday + 1),
            'H' => write!(w, "{h:02}"),
            'k' => write!(w, "{h:2}"),
            'I' => write!(w, "{h12:02}"),
            'l' => write!(w, "{h12:2}"),
            'M' => write!(w, "{mi:02}"),
            'S' => write!(w, "{s:02}"),
            'p' => write!(w, "{}", if h < 12 { "AM" } else { "PM" }),
            'N' => subsec(w, nanos, width.unwrap_or(9)),
            'Q' => subsec(w, nanos, width.unwrap_or(3)),
            'f' => subsec(w, nanos, 6),
            's' => write!(w, "{}", t.as_secs()),
            'b' | 'h' => write!(w, "{}", &MONTHS[(mo - 1) as usize][..3]),
            'B' => write!(w, "{}", MONTHS[(mo - 1) as usize]),
            'a' => write!(w, "{}", &DAYS[wday as usize][..3]),
            'A' => write!(w, "{}", DAYS[wday as usize]),
            'w' => write!(w, "{wday}"),
            'u' => write!(w, "{}", if wday == 0 { 7 } else { wday }),
            'U' => write!(w, "{:02}", (yday + 7 - i32::from(wday)) / 7),
            'W' => write!(w, "{:02}", (yday + 7 - (i32::from(wday) + 6) % 7) / 7),
            'V' => write!(w, "{:02}", z.iso_week_date().week()),
            'G' => write!(w, "{:04}", z.iso_week_date().year()),
            'g' => write!(
                w,
                "{:02}",
                i32::from(z.iso_week_date().year()).rem_euclid(100)
            ),
            'z' => zone_offset(w, offset, colons),
            'E' if chars.peek() == Some(&'z') => {
                chars.next();
                write!(w, "{}", offset / 60)
            }
            'Z' => write!(w, "{}", info.abbreviation()),
            'T' => write!(w, "{h:02}:{mi:02}:{s:02}"),
            'X' => write!(w, "{h:02}:{mi:02}:{s:02}"),
            'R' => write!(w, "{h:02}:{mi:02}"),
            'r' => write!(
                w,
                "{h12:02}:{mi:02}:{s:02} {}",
                if h < 12 { "AM" } else { "PM" }
            ),
            'D' => write!(w, "{mo:02}/{d:02}/{:02}", y.rem_euclid(100)),
            'x' => write!(w, "{mo:02}/{d:02}/{y:04}"),
            'F' => write!(w, "{y:04}-{mo:02}-{d:02}"),
            'c' => write!(
                w,
                "{} {} {d:02} {h:02}:{mi:02}:{s:02} {y:04}",
                &DAYS[wday as usize][..3],
                &MONTHS[(mo - 1) as usize][..3]
            ),
            '+' => write!(
                w,
                "{} {} {d:02} {h:02}:{mi:02}:{s:02} {} {y:04}",
                &DAYS[wday as usize][..3],
                &MONTHS[(mo - 1) as usize][..3],
                info.abbreviation()
            ),
            'n' => writeln!(w),
            't' => write!(w, "\t"),
            '%' => write!(w, "%"),
            other => {
                w.push('%');
                if let Some(n) = width {
                    let _ = write!(w, "{n}");
                }
                w.push_str(&":".repeat(colons));
                write!(w, "{other}")
            }
        };
    }
    Some(out)
}

fn subsec(w: &mut String, nanos: i32, digits: usize) -> std::fmt::Result {
    let all = format!("{nanos:09}");
    let digits = digits.clamp(1, 9);
    w.push_str(&all[..digits]);
    Ok(())
}

fn zone_offset(w: &mut String, offset: i32, colons: usize) -> std::fmt::Result {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    let (h, m, s) = (a / 3600, a % 3600 / 60, a % 60);
    match colons {
        0 => write!(w, "{sign}{h:02}{m:02}"),
        1 => write!(w, "{sign}{h:02}:{m:02}"),
        2 => write!(w, "{sign}{h:02}:{m:02}:{s:02}"),
        _ => write!(w, "{sign}{h:02}"),
    }
}

/// The fields `strptime` has read.
#[derive(Debug, Default)]
struct Parsed {
    year: Option<i32>,
    month: Option<i8>,
    day: Option<i8>,
    yday: Option<i32>,
    hour: Option<i8>,
    hour12: Option<i8>,
    pm: Option<bool>,
    minute: Option<i8>,
    second: Option<i8>,
    nanos: Option<i32>,
    offset: Option<i32>,
    epoch: Option<Timestamp>,
}

/// A cursor over the text being parsed.
struct Input<'a> {
    s: &'a str,
    pos: usize,
}

impl Input<'_> {
    fn rest(&self) -> &str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    /// Up to `max` digits (at least one), after optional spaces.
    fn num(&mut self, max: usize) -> Option<i64> {
        let r = self.rest();
        let spaces = r.len() - r.trim_start_matches(' ').len();
        let digits: usize = r[spaces..]
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            return None;
        }
        let n = r[spaces..spaces + digits].parse().ok()?;
        self.pos += spaces + digits;
        Some(n)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// One of `names` (or its first three letters), case-insensitively: its index.
    fn name(&mut self, names: &[&str]) -> Option<usize> {
        let r = self.rest();
        for (i, n) in names.iter().enumerate() {
            for candidate in [*n, &n[..3]] {
                if r.len() >= candidate.len()
                    && r.is_char_boundary(candidate.len())
                    && r[..candidate.len()].eq_ignore_ascii_case(candidate)
                {
                    self.pos += candidate.len();
                    return Some(i);
                }
            }
        }
        None
    }
}

/// Reads `s` by `format`; the time it stands for.
pub(crate) fn strptime(s: &str, format: &str, tz: &TimeZone) -> Option<Timestamp> {
    let mut p = Parsed::default();
    let mut input = Input { s, pos: 0 };
    parse_into(&mut p, &mut input, format, 0)?;
    if let Some(t) = p.epoch {
        return Some(t);
    }
    let hour = match (p.hour12, p.pm) {
        (Some(h), pm) if (1..=12).contains(&h) => h % 12 + if pm == Some(true) { 12 } else { 0 },
        (Some(_), _) => return None,
        (None, Some(true)) => p
            .hour
            .map(|h| if h < 12 { h + 12 } else { h })
            .unwrap_or(12),
        (None, _) => p.hour.unwrap_or(0),
    };
    let year = i16::try_from(p.year.unwrap_or(1970)).ok()?;
    let date = match (p.yday, p.month, p.day) {
        (Some(yd), None, None) => Date::new(year, 1, 1)
            .ok()?
            .checked_add(jiff::Span::new().days(i64::from(yd) - 1))
            .ok()?,
        _ => Date::new(year, p.month.unwrap_or(1), p.day.unwrap_or(1)).ok()?,
    };
    let dt = DateTime::new(
        date.year(),
        date.month(),
        date.day(),
        hour,
        p.minute.unwrap_or(0),
        p.second.unwrap_or(0),
        p.nanos.unwrap_or(0),
    )
    .ok()?;
    let ts = match p.offset {
        Some(off) => Offset::from_seconds(off).ok()?.to_timestamp(dt).ok()?,
        None => tz.to_timestamp(dt).ok()?,
    };
    let nanos = i64::try_from(ts.as_nanosecond()).ok()?;
    let digits = if p.nanos.is_some() { 9 } else { 0 };
    Some(Timestamp::from_nanos(nanos, digits))
}

fn parse_into(p: &mut Parsed, input: &mut Input<'_>, format: &str, depth: u8) -> Option<()> {
    if depth > 2 {
        return None;
    }
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            input.skip_ws();
            continue;
        }
        if c != '%' {
            if !input.eat(c) {
                return None;
            }
            continue;
        }
        let mut width: Option<usize> = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = Some(width.unwrap_or(0) * 10 + d as usize);
            chars.next();
        }
        while chars.peek() == Some(&':') {
            chars.next();
        }
        let spec = chars.next()?;
        let small = |n: i64| i8::try_from(n).ok();
        match spec {
            'Y' => p.year = Some(input.num(4)? as i32),
            'y' => {
                let y = input.num(2)? as i32;
                p.year = Some(if y < 69 { 2000 + y } else { 1900 + y });
            }
            'm' => p.month = small(input.num(2)?),
            'd' | 'e' => p.day = small(input.num(2)?),
            'j' => p.yday = Some(input.num(3)? as i32),
            'H' | 'k' => p.hour = small(input.num(2)?),
            'I' | 'l' => p.hour12 = small(input.num(2)?),
            'M' => p.minute = small(input.num(2)?),
            'S' => p.second = small(input.num(2)?),
            'p' => {
                input.skip_ws();
                let r = input.rest();
                let head = r.get(..2)?;
                p.pm = Some(if head.eq_ignore_ascii_case("pm") {
                    true
                } else if head.eq_ignore_ascii_case("am") {
                    false
                } else {
                    return None;
                });
                input.pos += 2;
            }
            'N' | 'Q' | 'f' => {
                let max = match spec {
                    'f' => 6,
                    'Q' => width.unwrap_or(3),
                    _ => width.unwrap_or(9),
                }
                .clamp(1, 9);
                let r = input.rest();
                let digits = r.bytes().take(max).take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let frac: i32 = r[..digits].parse().ok()?;
                p.nanos = Some(frac * 10i32.pow(9 - digits as u32));
                input.pos += digits;
            }
            's' => {
                let r = input.rest();
                let len = r
                    .bytes()
                    .enumerate()
                    .take_while(|&(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-') || b == b'.')
                    .count();
                p.epoch = Some(Timestamp::parse_epoch_secs(&r[..len]).ok()?);
                input.pos += len;
            }
            'b' | 'h' | 'B' => p.month = Some(input.name(&MONTHS)? as i8 + 1),
            'a' | 'A' => {
                input.name(&DAYS)?;
            }
            'z' => {
                input.skip_ws();
                if input.eat('Z') {
                    p.offset = Some(0);
                    continue;
                }
                let sign = if input.eat('+') {
                    1
                } else if input.eat('-') {
                    -1
                } else {
                    return None;
                };
                let h = input.num(2)?;
                input.eat(':');
                let m = input.num(2).unwrap_or(0);
                p.offset = Some(sign * (h * 3600 + m * 60) as i32);
            }
            'Z' => {
                input.skip_ws();
                let r = input.rest();
                let len = r.bytes().take_while(u8::is_ascii_alphabetic).count();
                let abbr = &r[..len];
                if abbr.eq_ignore_ascii_case("UTC")
                    || abbr.eq_ignore_ascii_case("GMT")
                    || abbr == "Z"
                {
                    p.offset = Some(0);
                }
                input.pos += len;
            }
            'T' => parse_into(p, input, "%H:%M:%S", depth + 1)?,
            'R' => parse_into(p, input, "%H:%M", depth + 1)?,
            'r' => parse_into(p, input, "%I:%M:%S %p", depth + 1)?,
            'D' => parse_into(p, input, "%m/%d/%y", depth + 1)?,
            'F' => parse_into(p, input, "%Y-%m-%d", depth + 1)?,
            'x' => parse_into(p, input, "%m/%d/%Y", depth + 1)?,
            'X' => parse_into(p, input, "%H:%M:%S", depth + 1)?,
            'n' | 't' => input.skip_ws(),
            '%' => {
                if !input.eat('%') {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn la() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    #[test]
    fn strftime_table_of_the_format_variables_page() {
        // 2025-04-29 23:45:22 PDT.
        let t = at("2025-04-30T06:45:22Z");
        let tz = la();
        let f = |fmt: &str| strftime(t, fmt, &tz).unwrap();
        assert_eq!(f("%Y-%m-%d"), "2025-04-29");
        assert_eq!(f("%y-%m-%d"), "25-04-29");
        assert_eq!(f("%b %d, %Y"), "Apr 29, 2025");
        assert_eq!(f("%B %d, %Y"), "April 29, 2025");
        assert_eq!(f("%a %b %d, %Y"), "Tue Apr 29, 2025");
        assert_eq!(f("%d %b '%y = %Y-%m-%d"), "29 Apr '25 = 2025-04-29");
        assert_eq!(f("%Y-%m-%dT%H:%M:%S.%Q"), "2025-04-29T23:45:22.000");
        assert_eq!(f("%Y-%m-%dT %H:%M:%S.%Z"), "2025-04-29T 23:45:22.PDT");
        assert_eq!(
            f("%Y-%m-%dT %H:%M:%S %Z%:z"),
            "2025-04-29T 23:45:22 PDT-07:00"
        );
        assert_eq!(f("%Y-%m-%dT%T"), "2025-04-29T23:45:22");
        assert_eq!(f("%m-%d-%Y %I:%M:%S %p"), "04-29-2025 11:45:22 PM");
        assert_eq!(
            f("%m-%d-%Y %H:%M:%S.%Q %z"),
            "04-29-2025 23:45:22.000 -0700"
        );
        assert_eq!(
            f("%d/%b/%Y:%H:%M:%S.%f %z"),
            "29/Apr/2025:23:45:22.000000 -0700"
        );
        assert_eq!(f("%c"), "Tue Apr 29 23:45:22 2025");
        assert_eq!(f("%+"), "Tue Apr 29 23:45:22 PDT 2025");
        assert_eq!(f("%s"), "1745995522");
        assert_eq!(f("%Ez"), "-420");
        assert_eq!(f("%::z %:::z"), "-07:00:00 -07");
        assert_eq!(f("%j %w %u %e|%k"), "119 2 2 29|23");
    }

    #[test]
    fn subseconds() {
        let t = Timestamp::parse_rfc3339("2020-10-08T11:03:46.617920300Z").unwrap();
        let f = |fmt: &str| strftime(t, fmt, &TimeZone::UTC).unwrap();
        assert_eq!(f("%N"), "617920300");
        assert_eq!(f("%3N"), "617");
        assert_eq!(f("%6N"), "617920");
        assert_eq!(f("%Q"), "617");
        assert_eq!(f("%H:%M:%S.%3N"), "11:03:46.617");
    }

    #[test]
    fn strptime_table_of_the_format_variables_page() {
        let tz = la();
        let p = |s: &str, f: &str| strptime(s, f, &tz).map(|t| t.as_secs());
        assert_eq!(
            p("2022-9-25T09:45:22.000", "%Y-%m-%dT%H:%M:%S.%Q"),
            Some(1664124322)
        );
        assert_eq!(
            p("2022-12-15 09:45:22", "%Y-%m-%d %H:%M:%S"),
            Some(1671126322)
        );
    }

    #[test]
    fn strptime_offsets_names_and_12_hour_clock() {
        let utc = TimeZone::UTC;
        let p = |s: &str, f: &str| strptime(s, f, &utc).map(|t| t.to_string());
        assert_eq!(
            p("29/Apr/2025:23:45:22 -0700", "%d/%b/%Y:%H:%M:%S %z").as_deref(),
            Some("2025-04-30T06:45:22Z")
        );
        assert_eq!(
            p("Apr 29, 2025 11:45:22 pm", "%b %d, %Y %I:%M:%S %p").as_deref(),
            Some("2025-04-29T23:45:22Z")
        );
        assert_eq!(
            p("12:00:00 AM", "%I:%M:%S %p").as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            p("2020-10-08 11:03:46.615", "%Y-%m-%d %H:%M:%S.%3N").as_deref(),
            Some("2020-10-08T11:03:46.615000000Z")
        );
        assert_eq!(
            p("1602155026", "%s").as_deref(),
            Some("2020-10-08T11:03:46Z")
        );
        assert_eq!(p("2020-02-30", "%Y-%m-%d"), None);
        assert_eq!(p("garbage", "%Y"), None);
        assert_eq!(p("2020", "%Q%Q%Q"), None);
    }
}
