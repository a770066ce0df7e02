//! Event time: `_time` with the sub-second precision its source gave.

use std::fmt;

/// An event's `_time`: nanoseconds since the Unix epoch (UTC), and how many fractional-second
/// digits the source wrote, so that output shows the source's precision and no more.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp {
    nanos: i64,
    digits: u8,
}

/// Why a time text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    text: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a time: {:?}", self.text)
    }
}

impl std::error::Error for TimestampError {}

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl Timestamp {
    /// A time from nanoseconds since the epoch, shown with `digits` fractional digits (at most 9).
    pub const fn from_nanos(nanos: i64, digits: u8) -> Timestamp {
        let digits = if digits > 9 { 9 } else { digits };
        Timestamp { nanos, digits }
    }

    /// A time from epoch milliseconds, as CrowdStrike writes `timestamp`.
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp {
            nanos: millis.saturating_mul(1_000_000),
            digits: 3,
        }
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    pub const fn as_secs(self) -> i64 {
        self.nanos.div_euclid(NANOS_PER_SEC)
    }

    /// The number of fractional digits the source wrote.
    pub const fn digits(self) -> u8 {
        self.digits
    }

    /// Epoch seconds as Splunk shows `_time`, e.g. `1602155026.617920300`.
    ///
    /// Written without `format!`: every `_time` by-field and every event's `_time` shown asks
    /// for it, and the formatting machinery cost about 700 instructions a call.
    pub fn epoch_text(self) -> String {
        let mut whole = itoa::Buffer::new();
        let whole = whole.format(self.as_secs());
        let shown = usize::from(self.digits.min(9));
        let mut out = String::with_capacity(whole.len() + 1 + shown);
        out.push_str(whole);
        if shown == 0 {
            return out;
        }
        // The nine digits of the fraction, zero-padded, of which the first `shown` are written.
        let mut frac = self.nanos.rem_euclid(NANOS_PER_SEC).unsigned_abs();
        let mut nine = [b'0'; 9];
        for d in nine.iter_mut().rev() {
            *d = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.push('.');
        out.extend(nine.iter().take(shown).map(|&d| char::from(d)));
        out
    }

    /// Parses an RFC 3339 UTC time as Windows writes `TimeCreated/@SystemTime`
    /// (`2020-10-08T11:03:46.617920300Z`), with 0 to 9 fractional digits. A numeric offset
    /// (`+02:00`) is accepted as well; the result is always UTC.
    pub fn parse_rfc3339(text: &str) -> Result<Timestamp, TimestampError> {
        parse_rfc3339(text.as_bytes()).ok_or_else(|| TimestampError {
            text: text.to_owned(),
        })
    }

    /// Parses epoch seconds with an optional fraction (`1602155026.617`), as Splunk's `_time`.
    pub fn parse_epoch_secs(text: &str) -> Result<Timestamp, TimestampError> {
        let err = || TimestampError {
            text: text.to_owned(),
        };
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let negative = whole.starts_with('-');
        let digits_only = whole.strip_prefix('-').unwrap_or(whole);
        if digits_only.is_empty()
            || !digits_only.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 9
        {
            return Err(err());
        }
        let secs: i64 = digits_only.parse().map_err(|_| err())?;
        let mut frac_nanos: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
        }
        let magnitude = secs
            .checked_mul(NANOS_PER_SEC)
            .and_then(|n| n.checked_add(frac_nanos))
            .ok_or_else(err)?;
        let nanos = if negative { -magnitude } else { magnitude };
        Ok(Timestamp::from_nanos(nanos, frac.len() as u8))
    }

    /// The civil UTC date and time: (year, month, day, hour, minute, second, nanosecond).
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let secs = self.as_secs();
        let nanos = self.nanos.rem_euclid(NANOS_PER_SEC) as u32;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, nanos)
    }
}

/// RFC 3339 in UTC with the source's fractional digits: `2020-10-08T11:03:46.6179203Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, n) = self.to_civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")?;
        if self.digits > 0 {
            let frac = format!("{n:09}");
            write!(f, ".{}", &frac[..self.digits as usize])?;
        }
        f.write_str("Z")
    }
}

fn parse_rfc3339(b: &[u8]) -> Option<Timestamp> {
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        let mut v = 0i64;
        for &c in digits {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month as u32) as i64 {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_nanos = 0i64;
    let mut digits = 0u8;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if digits < 9 {
                frac_nanos += i64::from(b[i] - b'0') * 10i64.pow(8 - u32::from(digits));
                digits += 1;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hh = two_digits(*h1, *h2)?;
            let mm = two_digits(*m1, *m2)?;
            let off = hh * 3600 + mm * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    let nanos = secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac_nanos)?;
    Some(Timestamp::from_nanos(nanos, digits))
}

fn two_digits(a: u8, b: u8) -> Option<i64> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
    } else {
        None
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn epoch_text_is_the_formatted_seconds_and_digits(nanos in proptest::num::i64::ANY, digits in 0u8..=12) {
            let t = Timestamp::from_nanos(nanos, digits);
            let secs = t.as_secs();
            let expected = if t.digits() == 0 {
                secs.to_string()
            } else {
                let frac = format!("{:09}", nanos.rem_euclid(NANOS_PER_SEC));
                format!("{secs}.{}", &frac[..usize::from(t.digits())])
            };
            proptest::prop_assert_eq!(t.epoch_text(), expected);
        }
    }

    #[test]
    fn windows_system_time_keeps_all_nine_digits() {
        let t = Timestamp::parse_rfc3339("2020-10-08T11:03:46.617920300Z").unwrap();
        assert_eq!(t.as_nanos(), 1_602_155_026_617_920_300);
        assert_eq!(t.digits(), 9);
        assert_eq!(t.to_string(), "2020-10-08T11:03:46.617920300Z");
        assert_eq!(t.epoch_text(), "1602155026.617920300");
    }

    #[test]
    fn seven_digits_stay_seven() {
        let t = Timestamp::parse_rfc3339("2026-04-20T10:00:35.6466242Z").unwrap();
        assert_eq!(t.to_string(), "2026-04-20T10:00:35.6466242Z");
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = Timestamp::parse_rfc3339("2020-10-08T13:03:46+02:00").unwrap();
        assert_eq!(t.to_string(), "2020-10-08T11:03:46Z");
    }

    #[test]
    fn malformed_times_are_rejected() {
        for bad in [
            "",
            "2020-10-08",
            "2020-13-08T11:03:46Z",
            "2020-02-30T11:03:46Z",
            "2020-10-08T11:03:46.Z",
            "2020-10-08T11:03:46",
            "2020-10-08T11:03:46Zjunk",
            "２０20-10-08T11:03:46Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn epoch_millis_and_seconds() {
        let t = Timestamp::from_millis(1_713_805_173_418);
        assert_eq!(t.to_string(), "2024-04-22T16:59:33.418Z");
        let s = Timestamp::parse_epoch_secs("1602155026.617").unwrap();
        assert_eq!(s.to_string(), "2020-10-08T11:03:46.617Z");
        assert_eq!(
            Timestamp::parse_epoch_secs("-1").unwrap().to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert!(Timestamp::parse_epoch_secs("12a").is_err());
    }

    #[test]
    fn civil_conversion_round_trips_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
