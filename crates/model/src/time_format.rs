//! `TIME_FORMAT` in `TZ`: a stanza's rule for reading `_time` from an event's text.
//!
//! Key design decision: the format is turned into jiff's strptime dialect and the zone looked
//! up once, when the program is compiled, not for each event: Sysmon's `UtcTime` is read this
//! way for every Sysmon event.

use cimhunt_spl::Timestamp;
use jiff::tz::TimeZone;

/// A time format and zone, ready to read times with.
#[derive(Debug, Clone)]
pub(crate) struct TimeFormat {
    /// The format in jiff's dialect.
    jiff: String,
    /// How many subsecond digits the format reads.
    digits: u8,
    /// The zone times are in; `None` when `TZ` names a zone that is not known, and then no
    /// time is read with the format.
    zone: Option<TimeZone>,
}

impl TimeFormat {
    /// The `TIME_FORMAT` `written` (strptime with Splunk's `%<n>N` subseconds) in the zone
    /// `zone` (UTC when none is named).
    pub(crate) fn new(written: &str, zone: Option<&str>) -> TimeFormat {
        let digits = [("%3N", 3), ("%6N", 6), ("%9N", 9)]
            .iter()
            .find(|(n, _)| written.contains(n))
            .map_or(0, |&(_, d)| d);
        let jiff = written
            .replace("%3N", "%.3f")
            .replace("%6N", "%.6f")
            .replace("%9N", "%.9f")
            .replace(".%.", "%.");
        let tz = match zone {
            Some(z) => TimeZone::get(z).ok(),
            None => Some(TimeZone::UTC),
        };
        TimeFormat {
            jiff,
            digits,
            zone: tz,
        }
    }

    /// The time `text` gives in this format and zone.
    pub(crate) fn parse(&self, text: &str) -> Option<Timestamp> {
        let tz = self.zone.as_ref()?;
        let dt = jiff::civil::DateTime::strptime(&self.jiff, text.trim()).ok()?;
        let at = tz.to_timestamp(dt).ok()?;
        let nanos = i64::try_from(at.as_nanosecond()).ok()?;
        Some(Timestamp::from_nanos(nanos, self.digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_utc_time_reads_with_milliseconds() {
        let f = TimeFormat::new("%Y-%m-%d %H:%M:%S.%3N", Some("UTC"));
        let t = f.parse("2020-10-08 11:03:46.615").unwrap();
        assert_eq!(t.epoch_text(), "1602155026.615");
    }

    #[test]
    fn a_zone_reads_local_times_and_an_unknown_zone_reads_none() {
        let f = TimeFormat::new("%Y-%m-%d %H:%M:%S", Some("America/New_York"));
        let t = f.parse("2020-10-08 07:03:46").unwrap();
        assert_eq!(t.epoch_text(), "1602155026");
        let none = TimeFormat::new("%Y-%m-%d %H:%M:%S", Some("Nowhere/Atlantis"));
        assert_eq!(none.parse("2020-10-08 07:03:46"), None);
        let utc = TimeFormat::new("%Y-%m-%d %H:%M:%S", None);
        assert_eq!(
            utc.parse("2020-10-08 11:03:46").unwrap().epoch_text(),
            "1602155026"
        );
    }
}
