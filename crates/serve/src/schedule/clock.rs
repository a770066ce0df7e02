//! The scheduler's clock: the system clock, a fixed start that then advances (`--now`), the
//! events' own time (`--clock events`), or a clock a test moves by hand.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cimhunt_spl::time::Timestamp;

use crate::config::ClockSpec;
use crate::engine::Sink;

/// A clock a test sets and advances; clones share the time.
#[derive(Debug, Clone, Default)]
pub struct SimClock(Arc<Mutex<Option<Timestamp>>>);

impl SimClock {
    /// A clock showing `t`.
    pub fn new(t: Timestamp) -> SimClock {
        SimClock(Arc::new(Mutex::new(Some(t))))
    }

    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
    }

    /// Moves the time forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = *g {
            *g = Some(Timestamp::from_nanos(
                t.as_nanos() + secs * 1_000_000_000,
                0,
            ));
        }
    }

    /// The time shown.
    pub fn now(&self) -> Option<Timestamp> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running clock.
#[derive(Clone)]
pub(crate) enum Clock {
    Wall,
    StartingAt(Timestamp, Instant),
    Events(Arc<dyn Sink>),
    Sim(SimClock),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Clock::Wall => "Wall",
            Clock::StartingAt(..) => "StartingAt",
            Clock::Events(_) => "Events",
            Clock::Sim(_) => "Sim",
        })
    }
}

impl Clock {
    pub(crate) fn new(spec: &ClockSpec, sink: &Arc<dyn Sink>) -> Clock {
        match spec {
            ClockSpec::Wall => Clock::Wall,
            ClockSpec::StartingAt(t) => Clock::StartingAt(*t, Instant::now()),
            ClockSpec::Events => Clock::Events(Arc::clone(sink)),
            ClockSpec::Simulated(s) => Clock::Sim(s.clone()),
        }
    }

    /// The current time; `None` while an events clock has seen no event.
    pub(crate) fn now(&self) -> Option<Timestamp> {
        match self {
            Clock::Wall => Some(wall()),
            Clock::StartingAt(t, at) => {
                let elapsed = at.elapsed().as_nanos().min(i64::MAX as u128) as i64;
                Some(Timestamp::from_nanos(
                    t.as_nanos().saturating_add(elapsed),
                    0,
                ))
            }
            Clock::Events(sink) => sink.stats().latest_event_time,
            Clock::Sim(s) => s.now(),
        }
    }

    /// Whether, with no schedule state yet, the first window should reach back to the oldest
    /// event received (a replay) rather than start at the clock's first reading.
    pub(crate) fn follows_events(&self) -> bool {
        matches!(self, Clock::Events(_))
    }
}

fn wall() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(d.as_nanos().min(i64::MAX as u128) as i64, 0)
}
