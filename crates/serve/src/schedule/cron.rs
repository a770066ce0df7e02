//! 5-field cron expressions, evaluated in UTC, through the `croner` crate.
//!
//! Splunk's `cron_schedule` is standard 5-field cron (minute, hour, day of month, month, day
//! of week) with `*`, `*/N`, ranges `a-b`, lists `a,b` and steps on ranges (savedsearches.conf
//! spec). croner implements exactly that; it is used here through a small UTC date type so
//! that no second date-time library enters the build. Splunk evaluates the schedule in the
//! search head's time zone; cimhunt uses UTC [deliberate: its time modifiers snap in UTC too].

use std::cmp::Ordering;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cimhunt_spl::time::Timestamp;
use croner::errors::CronError;
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// Shared by every schedule of the same text ([`parsed`]).
    cron: Arc<Cron>,
    text: String,
}

/// A schedule that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid cron_schedule `{text}`: {reason}")]
pub struct CronScheduleError {
    /// The expression.
    pub text: String,
    /// Why.
    pub reason: String,
}

impl CronSchedule {
    /// Parses a 5-field expression.
    pub fn parse(text: &str) -> Result<CronSchedule, CronScheduleError> {
        let err = |reason: String| CronScheduleError {
            text: text.to_owned(),
            reason,
        };
        if text.split_whitespace().count() != 5 {
            return Err(err(
                "expected 5 fields: minute hour day month weekday".into()
            ));
        }
        let cron = parsed(text).map_err(|e| err(e.to_string()))?;
        Ok(CronSchedule {
            cron,
            text: text.to_owned(),
        })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let start = Utc(t.as_secs());
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(Timestamp::from_nanos(next.0.checked_mul(1_000_000_000)?, 0))
    }
}

/// Expressions parsed so far, by text, beyond which nothing more is remembered.
const PARSED_MAX: usize = 4096;

/// `text` parsed, shared with every earlier schedule of the same text. A parsed expression
/// holds about 5 KB, and the endpoint library's 1,128 detections use a few dozen expressions;
/// the service and its scheduler each parsed every detection's (12 MB at rest).
fn parsed(text: &str) -> Result<Arc<Cron>, CronError> {
    static PARSED: OnceLock<Mutex<HashMap<String, Arc<Cron>>>> = OnceLock::new();
    let cache = PARSED.get_or_init(Mutex::default);
    if let Some(cron) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(text)
    {
        return Ok(Arc::clone(cron));
    }
    let cron = Arc::new(Cron::from_str(text)?);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() < PARSED_MAX {
        cache.insert(text.to_owned(), Arc::clone(&cron));
    }
    Ok(cron)
}

/// UTC epoch seconds, as croner sees time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Utc(i64);

impl CronDateTime for Utc {
    fn to_civil(&self) -> CivilDateTime {
        let (y, mo, d, h, mi, s, _) = Timestamp::from_nanos(self.0 * 1_000_000_000, 0).to_civil();
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(y as i32, mo, d),
            CivilTime::from_parts_unchecked(h, mi, s),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        // 1970-01-01 was a Thursday: four days after a Sunday.
        let days = self.0.div_euclid(86_400);
        Weekday::from_days_from_sunday((days + 4).rem_euclid(7) as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Utc>, CronError> {
        let dt = jiff::civil::DateTime::new(
            civil.year() as i16,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ts = dt
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map_err(|_| CronError::InvalidDate)?
            .timestamp();
        Ok(Resolution::Single(Utc(ts.as_second())))
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Utc> {
        self.0.checked_add(seconds).map(Utc)
    }

    fn cmp_instant(&self, other: &Utc) -> Ordering {
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn schedules_of_the_same_text_share_one_parsed_expression() {
        let a = CronSchedule::parse("7 */3 * * *").unwrap();
        let b = CronSchedule::parse("7 */3 * * *").unwrap();
        let c = CronSchedule::parse("8 */3 * * *").unwrap();
        assert!(Arc::ptr_eq(&a.cron, &b.cron));
        assert!(!Arc::ptr_eq(&a.cron, &c.cron));
        let at = t("2026-01-05T10:00:00Z");
        assert_eq!(b.next_after(at), Some(t("2026-01-05T12:07:00Z")));
        assert_eq!(c.next_after(at), Some(t("2026-01-05T12:08:00Z")));
        // A bad expression is not remembered as a good one.
        assert!(CronSchedule::parse("61 * * * *").is_err());
        assert!(CronSchedule::parse("61 * * * *").is_err());
    }

    fn next(expr: &str, after: &str) -> String {
        CronSchedule::parse(expr)
            .unwrap()
            .next_after(t(after))
            .unwrap()
            .to_string()
    }

    #[test]
    fn escu_default_is_hourly_at_minute_zero() {
        assert_eq!(
            next("0 * * * *", "2024-05-01T10:00:00Z"),
            "2024-05-01T11:00:00Z"
        );
        assert_eq!(
            next("0 * * * *", "2024-05-01T10:59:59Z"),
            "2024-05-01T11:00:00Z"
        );
        assert_eq!(
            next("0 * * * *", "2024-12-31T23:30:00Z"),
            "2025-01-01T00:00:00Z"
        );
    }

    #[test]
    fn steps_ranges_and_lists() {
        assert_eq!(
            next("*/15 * * * *", "2024-05-01T10:01:00Z"),
            "2024-05-01T10:15:00Z"
        );
        assert_eq!(
            next("5-7 * * * *", "2024-05-01T10:06:00Z"),
            "2024-05-01T10:07:00Z"
        );
        assert_eq!(
            next("5-7 * * * *", "2024-05-01T10:07:00Z"),
            "2024-05-01T11:05:00Z"
        );
        assert_eq!(
            next("0 1,13 * * *", "2024-05-01T02:00:00Z"),
            "2024-05-01T13:00:00Z"
        );
        assert_eq!(
            next("30 2 * * 1", "2024-05-01T00:00:00Z"),
            "2024-05-06T02:30:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2024-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
    }

    #[test]
    fn malformed_schedules_are_errors() {
        for bad in ["", "* * * *", "61 * * * *", "0 * * * * *", "a b c d e"] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
