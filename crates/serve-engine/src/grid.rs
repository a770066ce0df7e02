//! The time buckets' grid: the width and the start of the buckets the engine keeps partial
//! states in, chosen so that every window of every served detection is a whole number of
//! buckets.
//!
//! Key design decision: the grid is as coarse as the windows allow, not a fixed minute. ESCU's
//! detections all run at minute 0 over `-70m@m` to `-10m@m`, so every window runs from minute
//! 50 to minute 50: one bucket of an hour starting at minute 50. A window then merges one
//! state instead of sixty, and the engine holds one copy of a group per hour instead of one
//! per minute it was seen in (the memory of `serve` with the whole library is mostly these
//! copies). Mixed schedules get the greatest common divisor of their boundaries' distances,
//! so a daily baseline ending at 00:00 beside hourly windows ending at minute 50 gives
//! 10-minute buckets. Every window is still checked against the grid when it runs.

use cimhunt_serve::ScheduledDetection;
use cimhunt_serve::schedule::CronSchedule;
use cimhunt_spl::Timestamp;
use jiff::tz::TimeZone;

/// How many windows of each detection are sampled for their boundaries.
const SAMPLED_WINDOWS: usize = 60;

/// The widest bucket the grid uses (a day): wider buckets would hold state longer than the
/// windows that need it for schedules whose boundaries happen to coincide.
pub const MAX_BUCKET_SECS: i64 = 86_400;

/// Bucket width and start, in seconds: buckets start at `offset` plus whole multiples of
/// `span` after the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Bucket width.
    pub span: i64,
    /// Where buckets start, in `[0, span)`.
    pub offset: i64,
}

impl Grid {
    /// The start of the bucket second `t` falls in.
    pub fn bucket_of(&self, t: i64) -> i64 {
        cimhunt_engine::bucket_start(t, self.span, self.offset)
    }

    /// Whether `t` is a bucket boundary.
    pub fn is_boundary(&self, t: Timestamp) -> bool {
        t.as_nanos().rem_euclid(1_000_000_000) == 0 && self.bucket_of(t.as_secs()) == t.as_secs()
    }
}

/// The grid for `schedules` (each with its parsed cron), from the boundaries of their first
/// [`SAMPLED_WINDOWS`] windows after a fixed day. Errors name a window bound inside a second.
pub fn grid(schedules: &[(&CronSchedule, &ScheduledDetection)]) -> Result<Grid, (usize, String)> {
    let day = Timestamp::from_nanos(1_704_067_200 * 1_000_000_000, 0); // 2024-01-01T00:00:00Z
    let mut first: Option<i64> = None;
    let mut span = 0i64;
    for (i, (cron, schedule)) in schedules.iter().enumerate() {
        let mut t = day;
        for _ in 0..SAMPLED_WINDOWS {
            let Some(fire) = cron.next_after(t) else {
                break;
            };
            for m in [&schedule.earliest, &schedule.latest] {
                let b = m
                    .resolve(fire, &TimeZone::UTC)
                    .map_err(|e| (i, e.to_string()))?;
                if b.as_nanos().rem_euclid(1_000_000_000) != 0 {
                    return Err((i, "a window bound falls inside a second".into()));
                }
                let b = b.as_secs();
                let f = *first.get_or_insert(b);
                span = gcd(span, b - f);
            }
            t = fire;
        }
    }
    let span = match span {
        0 => MAX_BUCKET_SECS,
        s => gcd(s, MAX_BUCKET_SECS).max(1),
    };
    Ok(Grid {
        span,
        offset: first.unwrap_or(0).rem_euclid(span),
    })
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_serve::DetectionId;

    fn grid_of(specs: &[(&str, &str, &str)]) -> Grid {
        let parsed: Vec<(CronSchedule, ScheduledDetection)> = specs
            .iter()
            .map(|(c, e, l)| {
                (
                    CronSchedule::parse(c).unwrap(),
                    ScheduledDetection::new(DetectionId::new("d"), c, e, l).unwrap(),
                )
            })
            .collect();
        let refs: Vec<_> = parsed.iter().map(|(c, s)| (c, s)).collect();
        grid(&refs).unwrap()
    }

    #[test]
    fn escu_hourly_windows_are_one_bucket_from_minute_50() {
        let g = grid_of(&[("0 * * * *", "-70m@m", "-10m@m")]);
        assert_eq!(
            g,
            Grid {
                span: 3600,
                offset: 3000
            }
        );
        // The window run at 2024-05-01T11:00 is [09:50, 10:50): one bucket.
        let (earliest, latest) = (1_714_557_000, 1_714_560_600);
        assert_eq!(g.bucket_of(earliest), earliest);
        assert_eq!(g.bucket_of(latest - 1), earliest);
        assert_eq!(g.bucket_of(latest), latest);
    }

    #[test]
    fn mixed_schedules_take_the_common_divisor_of_their_boundaries() {
        let g = grid_of(&[
            ("0 * * * *", "-70m@m", "-10m@m"),
            ("10 0 * * *", "-1450m@m", "-10m@m"),
        ]);
        assert_eq!(
            g,
            Grid {
                span: 600,
                offset: 0
            }
        );
        let g = grid_of(&[("*/15 * * * *", "-20m@m", "-5m@m")]);
        assert_eq!(
            g,
            Grid {
                span: 900,
                offset: 600
            }
        );
    }

    #[test]
    fn a_daily_window_is_one_day_bucket() {
        let g = grid_of(&[("10 0 * * *", "-1450m@m", "-10m@m")]);
        assert_eq!(
            g,
            Grid {
                span: 86_400,
                offset: 0
            }
        );
    }

    #[test]
    fn boundaries_before_the_epoch_fall_on_the_grid_too() {
        let g = Grid {
            span: 3600,
            offset: 3000,
        };
        assert_eq!(g.bucket_of(-1), -600);
        assert!(g.is_boundary(Timestamp::from_nanos(-600 * 1_000_000_000, 0)));
        assert!(!g.is_boundary(Timestamp::from_nanos(-600 * 1_000_000_000 + 1, 0)));
    }
}
