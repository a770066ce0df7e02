//! Splunk's time modifiers: `now`, `-70m@m`, `@d`, `-7d@w1+8h`, epoch seconds, and absolute
//! times in `%m/%d/%Y:%H:%M:%S`.
//!
//! Rules (Splunk Search Manual, "Specify time modifiers in your search", and the Search
//! Reference, "Time modifiers"):
//! - A relative modifier is a sequence of offsets `[+|-]<integer><unit>` (the integer defaults to
//!   1: `-h` is `-1h`) and snaps `@<unit>`, applied left to right to "now". A snap rounds *down*
//!   to the start of the unit: `@h` is the start of the hour, `@w` or `@w0` the start of Sunday,
//!   `@w1` Monday … `@w6` Saturday (`@w7` is Sunday again), `@mon` the first of the month, `@q`
//!   the first day of the quarter (January, April, July, October), `@y` the first of January.
//! - Units: `s` (`sec`, `secs`, `second`, `seconds`), `m` (`min`, `mins`, `minute`, `minutes`),
//!   `h` (`hr`, `hrs`, `hour`, `hours`), `d` (`day`, `days`), `w` (`week`, `weeks`), `mon`
//!   (`month`, `months`), `q` (`qtr`, `qtrs`, `quarter`, `quarters`), `y` (`yr`, `yrs`, `year`,
//!   `years`).
//! - `now` (and an empty modifier) is the current time; a bare integer is epoch seconds
//!   (`earliest=1` is 1970-01-01T00:00:01Z; `0` is the epoch).
//! - An absolute time is written `%m/%d/%Y:%H:%M:%S` (`10/19/2018:00:00:00`).
//! - Calendar arithmetic (days, weeks, months, quarters, years) and snapping happen in the
//!   search's time zone: UTC unless the caller gives another, as with `convert ctime`. Month
//!   arithmetic clamps to the last day of a shorter month (`-1mon` from March 31 is February
//!   28/29) [inferred: Splunk's documentation does not say; this is what a civil calendar does].
//! - Real-time modifiers (`rt`, `rt-5m`) are rejected: cimhunt runs no real-time searches.

use std::fmt;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, ZonedDateTime as Zoned};

use super::timestamp::Timestamp;

/// A parsed time modifier, applied to a reference time ("now") with [`TimeModifier::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeModifier {
    kind: Kind,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Epoch seconds.
    Epoch(i64),
    /// An absolute civil time in the search's time zone.
    Absolute(DateTime),
    /// Offsets and snaps applied in order to now (none: now itself).
    Relative(Vec<Step>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Offset(i64, Unit),
    Snap(Snap),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Snap {
    Unit(Unit),
    /// `@w0`…`@w7`: the start of the most recent given weekday (0 and 7 are Sunday).
    Weekday(Weekday),
}

/// Why a time modifier could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time modifier `{text}`: {reason}")]
pub struct TimeModifierError {
    /// The modifier as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TimeModifier {
    /// Parses a modifier as written in `earliest=`, `latest=`, `relative_time()` or a detection's
    /// `earliest_time`/`latest_time`.
    pub fn parse(text: &str) -> Result<TimeModifier, TimeModifierError> {
        let err = |reason: &str| TimeModifierError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let t = text.trim();
        let kind = if t.is_empty() || t.eq_ignore_ascii_case("now") {
            Kind::Relative(Vec::new())
        } else if t.starts_with("rt") {
            return Err(err("real-time modifiers are not supported"));
        } else if let Some(n) = t.parse::<i64>().ok().filter(|_| !t.starts_with(['+', '-'])) {
            Kind::Epoch(n)
        } else if t.contains('/') {
            let dt = DateTime::strptime("%m/%d/%Y:%H:%M:%S", t)
                .map_err(|_| err("expected an absolute time like 10/19/2018:00:00:00"))?;
            Kind::Absolute(dt)
        } else {
            Kind::Relative(parse_steps(t).map_err(|r| err(&r))?)
        };
        Ok(TimeModifier {
            kind,
            text: t.to_owned(),
        })
    }

    /// The modifier as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is `now` (no offset, no snap).
    pub fn is_now(&self) -> bool {
        matches!(&self.kind, Kind::Relative(steps) if steps.is_empty())
    }

    /// The time this modifier names when the search runs at `now`, snapping in `tz`.
    pub fn resolve(&self, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, TimeModifierError> {
        let err = |reason: String| TimeModifierError {
            text: self.text.clone(),
            reason,
        };
        match &self.kind {
            Kind::Epoch(secs) => secs
                .checked_mul(1_000_000_000)
                .map(|n| Timestamp::from_nanos(n, 0))
                .ok_or_else(|| err("out of range".to_owned())),
            Kind::Absolute(dt) => {
                let zoned = dt
                    .to_zoned_datetime(tz.clone())
                    .map_err(|e| err(format!("not a time in the zone: {e}")))?;
                Ok(Timestamp::from_nanos(nanos_of(&zoned), 0))
            }
            Kind::Relative(steps) => {
                let start = jiff::Timestamp::from_nanosecond(i128::from(now.as_nanos()))
                    .map_err(|e| err(e.to_string()))?;
                let mut z = start.to_zoned_datetime(tz.clone());
                for step in steps {
                    z = apply(z, *step).map_err(|e| err(e.to_string()))?;
                }
                let digits = if steps.is_empty() { now.digits() } else { 0 };
                Ok(Timestamp::from_nanos(nanos_of(&z), digits))
            }
        }
    }
}

impl fmt::Display for TimeModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn nanos_of(z: &Zoned) -> i64 {
    // Times beyond ±292 years of the epoch saturate; Splunk's own range is narrower.
    i64::try_from(z.timestamp().as_nanosecond()).unwrap_or(i64::MAX)
}

fn parse_steps(t: &str) -> Result<Vec<Step>, String> {
    let b = t.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' | b'-' => {
                let negative = b[i] == b'-';
                i += 1;
                let digits_start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: i64 = if i == digits_start {
                    1
                } else {
                    t[digits_start..i]
                        .parse()
                        .map_err(|_| "offset too large".to_owned())?
                };
                let unit_start = i;
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let unit = unit(&t[unit_start..i])
                    .ok_or_else(|| format!("unknown time unit `{}`", &t[unit_start..i]))?;
                steps.push(Step::Offset(if negative { -n } else { n }, unit));
            }
            b'@' => {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                steps.push(Step::Snap(snap(&t[start..i])?));
            }
            _ => return Err(format!("unexpected `{}`", &t[i..])),
        }
    }
    Ok(steps)
}

fn unit(name: &str) -> Option<Unit> {
    Some(match name {
        "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
        "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
        "d" | "day" | "days" => Unit::Day,
        "w" | "week" | "weeks" => Unit::Week,
        "mon" | "month" | "months" => Unit::Month,
        "q" | "qtr" | "qtrs" | "quarter" | "quarters" => Unit::Quarter,
        "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
        _ => return None,
    })
}

fn snap(name: &str) -> Result<Snap, String> {
    if let Some(d) = name.strip_prefix('w').filter(|d| d.len() == 1) {
        let day = match d {
            "0" | "7" => Weekday::Sunday,
            "1" => Weekday::Monday,
            "2" => Weekday::Tuesday,
            "3" => Weekday::Wednesday,
            "4" => Weekday::Thursday,
            "5" => Weekday::Friday,
            "6" => Weekday::Saturday,
            _ => return Err(format!("unknown snap `@{name}`")),
        };
        return Ok(Snap::Weekday(day));
    }
    match unit(name) {
        Some(Unit::Week) => Ok(Snap::Weekday(Weekday::Sunday)),
        Some(u) => Ok(Snap::Unit(u)),
        None => Err(format!("unknown snap `@{name}`")),
    }
}

fn apply(z: Zoned, step: Step) -> Result<Zoned, jiff::Error> {
    match step {
        Step::Offset(n, unit) => {
            let span = match unit {
                Unit::Second => Span::new().try_seconds(n)?,
                Unit::Minute => Span::new().try_minutes(n)?,
                Unit::Hour => Span::new().try_hours(n)?,
                Unit::Day => Span::new().try_days(n)?,
                Unit::Week => Span::new().try_weeks(n)?,
                Unit::Month => Span::new().try_months(n)?,
                Unit::Quarter => Span::new().try_months(n.saturating_mul(3))?,
                Unit::Year => Span::new().try_years(n)?,
            };
            z.checked_add(span)
        }
        Step::Snap(snap) => {
            let dt = z.datetime();
            let date = dt.date();
            let start_of_day = |d: Date| d.to_datetime(jiff::civil::Time::midnight());
            let snapped = match snap {
                Snap::Unit(Unit::Second) => dt.with().subsec_nanosecond(0).build()?,
                Snap::Unit(Unit::Minute) => dt.with().second(0).subsec_nanosecond(0).build()?,
                Snap::Unit(Unit::Hour) => {
                    dt.with().minute(0).second(0).subsec_nanosecond(0).build()?
                }
                Snap::Unit(Unit::Day) => start_of_day(date),
                Snap::Unit(Unit::Month) => start_of_day(date.first_of_month()),
                Snap::Unit(Unit::Quarter) => {
                    let month = (date.month() - 1) / 3 * 3 + 1;
                    start_of_day(Date::new(date.year(), month, 1)?)
                }
                Snap::Unit(Unit::Year) => start_of_day(Date::new(date.year(), 1, 1)?),
                Snap::Unit(Unit::Week) | Snap::Weekday(_) => {
                    let want = match snap {
                        Snap::Weekday(w) => w,
                        _ => Weekday::Sunday,
                    };
                    let back = (date.weekday().to_sunday_zero_offset() + 7
                        - want.to_sunday_zero_offset())
                        % 7;
                    start_of_day(date.checked_sub(Span::new().days(i64::from(back)))?)
                }
            };
            snapped.to_zoned_datetime(z.time_zone().clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tuesday 2026-12-01 14:05:30.25 UTC.
    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2026-12-01T14:05:30.25Z").unwrap()
    }

    fn at(m: &str) -> String {
        TimeModifier::parse(m)
            .unwrap()
            .resolve(now(), &TimeZone::UTC)
            .unwrap()
            .to_string()
    }

    #[test]
    fn escu_default_window() {
        assert_eq!(at("-70m@m"), "2026-12-01T12:55:00Z");
        assert_eq!(at("-10m@m"), "2026-12-01T13:55:00Z");
    }

    #[test]
    fn now_keeps_its_precision_and_snaps_round_down() {
        assert_eq!(at("now"), "2026-12-01T14:05:30.25Z");
        assert_eq!(at(""), "2026-12-01T14:05:30.25Z");
        assert_eq!(at("@d"), "2026-12-01T00:00:00Z");
        assert_eq!(at("-2d@d"), "2026-11-29T00:00:00Z");
        assert_eq!(at("-h"), "2026-12-01T13:05:30Z");
        assert_eq!(at("@mon"), "2026-12-01T00:00:00Z");
        assert_eq!(at("@q"), "2026-10-01T00:00:00Z");
        assert_eq!(at("@y"), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn week_snaps_go_back_to_the_named_day() {
        // 2026-12-01 is a Tuesday.
        assert_eq!(at("@w"), "2026-11-29T00:00:00Z");
        assert_eq!(at("@w0"), "2026-11-29T00:00:00Z");
        assert_eq!(at("@w7"), "2026-11-29T00:00:00Z");
        assert_eq!(at("@w1"), "2026-11-30T00:00:00Z");
        assert_eq!(at("@w2"), "2026-12-01T00:00:00Z");
        assert_eq!(at("@w3"), "2026-11-25T00:00:00Z");
    }

    #[test]
    fn steps_apply_left_to_right() {
        assert_eq!(at("-7d@w1+8h"), "2026-11-23T08:00:00Z");
        assert_eq!(at("@d-1s"), "2026-11-30T23:59:59Z");
        assert_eq!(at("+1mon@mon"), "2027-01-01T00:00:00Z");
        assert_eq!(at("-1q@q"), "2026-07-01T00:00:00Z");
    }

    #[test]
    fn epoch_and_absolute_times() {
        assert_eq!(at("0"), "1970-01-01T00:00:00Z");
        assert_eq!(at("1"), "1970-01-01T00:00:01Z");
        assert_eq!(at("10/19/2018:00:00:00"), "2018-10-19T00:00:00Z");
    }

    #[test]
    fn snapping_happens_in_the_given_zone() {
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        let t = TimeModifier::parse("@d")
            .unwrap()
            .resolve(now(), &tz)
            .unwrap();
        assert_eq!(t.to_string(), "2026-11-30T18:30:00Z");
    }

    #[test]
    fn bad_modifiers_are_errors() {
        for bad in ["-70x", "@zz", "rt-5m", "-5m@", "5/5", "--"] {
            assert!(TimeModifier::parse(bad).is_err(), "{bad}");
        }
    }
}
