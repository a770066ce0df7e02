//! Scheduled-search semantics: which window of which detection runs when.
//!
//! As Splunk's scheduler runs an ES correlation search (savedsearches.conf, ESCU's
//! `savedsearches_detections.j2` template in contentctl):
//! - each detection fires at every time its `cron_schedule` names (UTC here);
//! - the run at scheduled time `T` covers `[earliest_time, latest_time)` resolved at `T`
//!   (for ESCU, `-70m@m` to `-10m@m`: the whole minutes from 70 to 10 minutes before `T`);
//! - ESCU sets `realtime_schedule = 0`, continuous scheduling: the scheduler never skips a
//!   scheduled period, it runs late ones in order. So after a restart every missed period
//!   runs, oldest first, and none runs twice (the last committed one is durable state);
//! - ESCU also sets `allow_skew = 100%` and `schedule_window = auto`, which let Splunk delay a
//!   run to spread load; cimhunt runs each window at its exact scheduled time [deliberate: the
//!   windows are the same, only the wall-clock moment of the run differs];
//! - ESCU sets no alert suppression (`alert.suppress` is absent from the template and no
//!   detection in the checked-out content has a `deployment:` block), so there is no
//!   throttling to apply.
//!
//! Key design decision: [`Scheduler`] does no I/O and reads no clock; it is told the time and
//! answers which window is due next, so a test can replay a day in microseconds.

mod clock;
mod cron;
mod state;

use std::collections::BTreeMap;

use cimhunt_spl::time::{TimeModifierError, Timestamp};
use jiff::tz::TimeZone;

pub(crate) use clock::Clock;
pub use clock::SimClock;
pub use cron::{CronSchedule, CronScheduleError};
pub use state::{ScheduleState, StateError};

use crate::engine::{ScheduledDetection, Window};

/// A detection whose schedule is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Bad cron expression.
    #[error("detection `{detection}`: {source}")]
    Cron {
        /// Which detection.
        detection: String,
        /// The error.
        source: CronScheduleError,
    },
    /// A time modifier that cannot be resolved.
    #[error("detection `{detection}`: {source}")]
    Modifier {
        /// Which detection.
        detection: String,
        /// The error.
        source: TimeModifierError,
    },
}

#[derive(Debug)]
struct Entry {
    detection: ScheduledDetection,
    cron: CronSchedule,
    /// The scheduled time of the last committed window (`None`: not anchored yet).
    last: Option<Timestamp>,
    /// The cron time after `last` (cached: with thousands of detections, computing it for
    /// every detection each time a window is chosen made the scheduler quadratic).
    next: Option<Timestamp>,
}

impl Entry {
    fn set_last(&mut self, last: Timestamp) {
        self.last = Some(last);
        self.next = self.cron.next_after(last);
    }
}

/// The schedule of every detection.
#[derive(Debug)]
pub struct Scheduler {
    entries: Vec<Entry>,
}

/// How far back a replay may reach when anchoring a detection with no state.
const MAX_ANCHOR_LOOKBACK_SECS: i64 = 400 * 86_400;

impl Scheduler {
    /// A scheduler for `detections`, resuming from `state`.
    pub fn new(
        detections: Vec<ScheduledDetection>,
        state: &ScheduleState,
    ) -> Result<Scheduler, ScheduleError> {
        let mut entries = Vec::with_capacity(detections.len());
        for d in detections {
            let cron =
                CronSchedule::parse(&d.cron_schedule).map_err(|source| ScheduleError::Cron {
                    detection: d.id.to_string(),
                    source,
                })?;
            let last = state
                .last_window
                .get(d.id.as_str())
                .map(|&n| Timestamp::from_nanos(n, 0));
            let next = last.and_then(|l| cron.next_after(l));
            entries.push(Entry {
                detection: d,
                cron,
                last,
                next,
            });
        }
        Ok(Scheduler { entries })
    }

    /// Number of detections.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no detection.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Gives every detection without state a starting point. With `oldest_event` (a replay
    /// under `--clock events`), the first window is the first one that ends after the oldest
    /// event, so no received event falls before the first window; otherwise the first run is
    /// the first scheduled time after `start`.
    pub fn anchor(&mut self, start: Timestamp, oldest_event: Option<Timestamp>) {
        for e in self.entries.iter_mut().filter(|e| e.last.is_none()) {
            let mut last = start;
            if let Some(oldest) = oldest_event.filter(|o| *o < start) {
                let floor = Timestamp::from_nanos(
                    oldest.as_nanos() - MAX_ANCHOR_LOOKBACK_SECS * 1_000_000_000,
                    0,
                );
                // Walk back until the window after `last` ends at or before the oldest event.
                let mut back = Timestamp::from_nanos(oldest.as_nanos() - 3600 * 1_000_000_000, 0);
                loop {
                    let first = e.cron.next_after(back);
                    let ends_after = first
                        .and_then(|f| e.detection.latest.resolve(f, &TimeZone::UTC).ok())
                        .is_some_and(|l| l > oldest);
                    if !ends_after || back <= floor {
                        break;
                    }
                    back = Timestamp::from_nanos(back.as_nanos() - 86_400 * 1_000_000_000, 0);
                }
                // Now step forward to the last scheduled time whose window ends at or before
                // the oldest event.
                let mut t = back;
                while let Some(f) = e.cron.next_after(t) {
                    let ends = e.detection.latest.resolve(f, &TimeZone::UTC).ok();
                    if ends.is_none_or(|l| l > oldest) || f >= start {
                        break;
                    }
                    t = f;
                }
                last = t;
            }
            e.set_last(last);
        }
    }

    /// The window to run next: the earliest scheduled time, over all detections, that is due
    /// at `now`, or whose window starts at or before `horizon` (the final drain). Ties go to
    /// the detection listed first.
    pub fn next_due(
        &self,
        now: Timestamp,
        horizon: Option<Timestamp>,
    ) -> Result<Option<Window>, ScheduleError> {
        let next: Vec<_> = self.entries.iter().map(|e| e.next).collect();
        Ok(self.pick(&next, now, horizon)?.map(|(_, w)| w))
    }

    /// The windows [`Scheduler::next_due`] would answer one after another if each were
    /// committed before the next was asked, up to `max` of them, and stopping before a
    /// detection's second window: windows of different detections, in the order they are to
    /// be committed, which may run at the same time. Empty when none is due.
    pub fn due_run(
        &self,
        now: Timestamp,
        horizon: Option<Timestamp>,
        max: usize,
    ) -> Result<Vec<Window>, ScheduleError> {
        let mut next: Vec<_> = self.entries.iter().map(|e| e.next).collect();
        let mut chosen = vec![false; next.len()];
        let mut run = Vec::new();
        while run.len() < max {
            let Some((i, w)) = self.pick(&next, now, horizon)? else {
                break;
            };
            if std::mem::replace(&mut chosen[i], true) {
                break;
            }
            // What committing `w` does to the entry.
            next[i] = self.entries[i].cron.next_after(w.scheduled);
            run.push(w);
        }
        Ok(run)
    }

    /// The earliest due window, entry `i`'s next scheduled time being `next[i]`; ties go to the
    /// detection listed first.
    fn pick(
        &self,
        next: &[Option<Timestamp>],
        now: Timestamp,
        horizon: Option<Timestamp>,
    ) -> Result<Option<(usize, Window)>, ScheduleError> {
        let mut best: Option<(usize, Window)> = None;
        for (i, (e, fire)) in self.entries.iter().zip(next).enumerate() {
            let Some(fire) = *fire else {
                continue;
            };
            if best.as_ref().is_some_and(|(_, b)| b.scheduled <= fire) {
                continue;
            }
            let w = self.window(e, fire)?;
            if fire <= now || horizon.is_some_and(|h| w.earliest <= h) {
                best = Some((i, w));
            }
        }
        Ok(best)
    }

    fn window(&self, e: &Entry, fire: Timestamp) -> Result<Window, ScheduleError> {
        let resolve = |m: &cimhunt_spl::time::TimeModifier| {
            m.resolve(fire, &TimeZone::UTC)
                .map_err(|source| ScheduleError::Modifier {
                    detection: e.detection.id.to_string(),
                    source,
                })
        };
        Ok(Window {
            detection: e.detection.id.clone(),
            scheduled: fire,
            earliest: resolve(&e.detection.earliest)?,
            latest: resolve(&e.detection.latest)?,
        })
    }

    /// Records that `window` ran and its outputs are durable.
    pub fn commit(&mut self, window: &Window) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.detection.id == window.detection)
            && e.last.is_none_or(|l| l < window.scheduled)
        {
            e.set_last(window.scheduled);
        }
    }

    /// The last committed window of every detection that has one.
    pub fn committed_windows(&self) -> Result<Vec<Window>, ScheduleError> {
        self.entries
            .iter()
            .filter_map(|e| e.last.map(|l| self.window(e, l)))
            .collect()
    }

    /// The state to persist.
    pub fn last_windows(&self) -> BTreeMap<String, i64> {
        self.entries
            .iter()
            .filter_map(|e| e.last.map(|l| (e.detection.id.to_string(), l.as_nanos())))
            .collect()
    }

    /// Whether every detection has a starting point.
    pub fn is_anchored(&self) -> bool {
        self.entries.iter().all(|e| e.last.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DetectionId;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn escu(name: &str) -> ScheduledDetection {
        ScheduledDetection::escu_default(DetectionId::new(name))
    }

    fn run_until(s: &mut Scheduler, now: Timestamp) -> Vec<(String, String, String, String)> {
        let mut out = Vec::new();
        while let Some(w) = s.next_due(now, None).unwrap() {
            out.push((
                w.detection.to_string(),
                w.scheduled.to_string(),
                w.earliest.to_string(),
                w.latest.to_string(),
            ));
            s.commit(&w);
        }
        out
    }

    #[test]
    fn escu_windows_are_the_hour_from_70_to_10_minutes_before() {
        let mut s = Scheduler::new(vec![escu("a")], &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:17:00Z"), None);
        assert!(run_until(&mut s, t("2024-05-01T10:59:59Z")).is_empty());
        assert_eq!(
            run_until(&mut s, t("2024-05-01T11:00:00Z")),
            vec![(
                "a".into(),
                "2024-05-01T11:00:00Z".into(),
                "2024-05-01T09:50:00Z".into(),
                "2024-05-01T10:50:00Z".into()
            )]
        );
    }

    #[test]
    fn missed_periods_run_in_order_and_detections_interleave() {
        let every_15 =
            ScheduledDetection::new(DetectionId::new("q"), "*/15 * * * *", "-15m", "now").unwrap();
        let mut s = Scheduler::new(vec![escu("a"), every_15], &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:50:00Z"), None);
        let ran = run_until(&mut s, t("2024-05-01T11:30:00Z"));
        let names: Vec<_> = ran
            .iter()
            .map(|r| format!("{}@{}", r.0, &r.1[11..16]))
            .collect();
        assert_eq!(names, ["a@11:00", "q@11:00", "q@11:15", "q@11:30"]);
        assert_eq!(ran[3].2, "2024-05-01T11:15:00Z");
    }

    #[test]
    fn state_resumes_without_repeating_or_skipping() {
        let mut s = Scheduler::new(vec![escu("a")], &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:00:00Z"), None);
        run_until(&mut s, t("2024-05-01T12:00:00Z"));
        let state = ScheduleState {
            last_window: s.last_windows(),
            ..ScheduleState::default()
        };
        let mut resumed = Scheduler::new(vec![escu("a")], &state).unwrap();
        resumed.anchor(t("2024-05-01T15:30:00Z"), None);
        let ran = run_until(&mut resumed, t("2024-05-01T15:30:00Z"));
        let at: Vec<_> = ran.iter().map(|r| &r.1[11..16]).collect();
        assert_eq!(at, ["13:00", "14:00", "15:00"]);
    }

    #[test]
    fn a_replay_anchors_before_the_oldest_event() {
        let mut s = Scheduler::new(vec![escu("a")], &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:20:00Z"), Some(t("2024-05-01T08:05:00Z")));
        let ran = run_until(&mut s, t("2024-05-01T10:20:00Z"));
        assert_eq!(ran[0].2, "2024-05-01T07:50:00Z", "first window holds 08:05");
        assert_eq!(ran.last().unwrap().1, "2024-05-01T10:00:00Z");
    }

    /// Detections with schedules that interleave (hourly, every 15 and 20 minutes, twice an
    /// hour at minute 5 and 35), anchored together.
    fn mixed_schedules() -> Scheduler {
        let d = |name: &str, cron: &str, earliest: &str| {
            ScheduledDetection::new(DetectionId::new(name), cron, earliest, "now").unwrap()
        };
        let detections = vec![
            escu("a"),
            d("q", "*/15 * * * *", "-15m"),
            escu("b"),
            d("t", "*/20 * * * *", "-20m"),
            d("h", "5,35 * * * *", "-30m"),
        ];
        let mut s = Scheduler::new(detections, &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:02:00Z"), None);
        s
    }

    #[test]
    fn a_due_run_is_what_next_due_answers_one_commit_at_a_time() {
        let now = t("2024-05-01T16:40:00Z");
        let horizon = Some(t("2024-05-01T17:10:00Z"));
        let mut one_by_one = mixed_schedules();
        let mut expected = Vec::new();
        while let Some(w) = one_by_one.next_due(now, horizon).unwrap() {
            expected.push(w.clone());
            one_by_one.commit(&w);
        }
        assert!(expected.len() > 40, "{}", expected.len());
        for max in [1, 2, 3, 5, 64] {
            let mut s = mixed_schedules();
            let mut got = Vec::new();
            loop {
                let run = s.due_run(now, horizon, max).unwrap();
                if run.is_empty() {
                    break;
                }
                assert!(run.len() <= max);
                let mut names: Vec<_> = run.iter().map(|w| w.detection.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(names.len(), run.len(), "one window per detection: {run:?}");
                for w in run {
                    s.commit(&w);
                    got.push(w);
                }
            }
            assert_eq!(got, expected, "runs of at most {max}");
        }
    }

    #[test]
    fn a_due_run_stops_before_a_detections_second_window() {
        let s = mixed_schedules();
        // At 10:31, `h` is due at 10:05, `q` at 10:15 and 10:30, `t` at 10:20: the run is
        // h@10:05, q@10:15, t@10:20, and q@10:30 waits for the commit of q@10:15.
        let run = s.due_run(t("2024-05-01T10:31:00Z"), None, 64).unwrap();
        let at: Vec<_> = run
            .iter()
            .map(|w| format!("{}@{}", w.detection, &w.scheduled.to_string()[11..16]))
            .collect();
        assert_eq!(at, ["h@10:05", "q@10:15", "t@10:20"]);
    }

    #[test]
    fn the_drain_runs_future_windows_that_hold_received_events() {
        let mut s = Scheduler::new(vec![escu("a")], &ScheduleState::default()).unwrap();
        s.anchor(t("2024-05-01T10:00:00Z"), None);
        let now = t("2024-05-01T10:30:00Z");
        let mut ran = Vec::new();
        while let Some(w) = s.next_due(now, Some(t("2024-05-01T10:29:00Z"))).unwrap() {
            ran.push((w.earliest.to_string(), w.latest.to_string()));
            s.commit(&w);
        }
        assert_eq!(
            ran,
            [(
                "2024-05-01T09:50:00Z".to_string(),
                "2024-05-01T10:50:00Z".to_string()
            )],
            "the 12:00 window starts at 10:50, after the last event"
        );
    }
}
