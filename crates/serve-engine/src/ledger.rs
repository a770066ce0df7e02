//! The sink's bookkeeping of time and journal positions, kept apart from the engine so that it
//! can be reasoned about (and tested) on its own.
//!
//! For each detection it keeps two horizons, both the start of the first time bucket a later
//! window of that detection can still need:
//! - `ran`: after the last window that *ran* (its buckets were taken from the engine). An event
//!   below every detection's `ran` horizon is **late**: every window that could hold it has
//!   already been computed, so ES would miss it too. It is counted and not fed.
//! - `committed`: after the last window whose outputs are *durable*. Journal batches are still
//!   needed while they hold an event at or above the smallest `committed` horizon, because
//!   after a crash that event must be replayed into the windows that will run again.
//!
//! Key design decision: the journal position needed is tracked per time bucket (the smallest
//! journal sequence number of any event fed into it), not per event, so the bookkeeping is as
//! small as the number of live buckets and the watermark it gives never decreases.

use std::collections::BTreeMap;

use cimhunt_spl::Timestamp;

use crate::grid::Grid;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Ledger {
    grid: Grid,
    /// Bucket start (seconds) → smallest journal sequence of an event fed into it.
    first_seq: BTreeMap<i64, u64>,
    /// One past the largest sequence number submitted.
    next_seq: u64,
    ran: Vec<Option<i64>>,
    committed: Vec<Option<i64>>,
    /// The largest value `needed_from` has returned (it must never decrease).
    needed_floor: u64,
    pub latest: Option<Timestamp>,
    pub earliest: Option<Timestamp>,
    pub late: u64,
    pub skipped: u64,
    /// Events submitted (fed, late, done or skipped).
    pub received: u64,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Feed it: some window still to run can hold it.
    Feed,
    /// Every window that could hold it has run: count it late, do not feed it.
    Late,
    /// Replayed, and every window that could hold it has run: nothing to do.
    Done,
}

impl Ledger {
    pub(crate) fn new(grid: Grid, detections: usize) -> Ledger {
        Ledger {
            grid,
            first_seq: BTreeMap::new(),
            next_seq: 0,
            ran: vec![None; detections],
            committed: vec![None; detections],
            needed_floor: 0,
            latest: None,
            earliest: None,
            late: 0,
            skipped: 0,
            received: 0,
        }
    }

    /// The start (seconds) of the bucket of `t`.
    pub(crate) fn bucket_of(&self, t: Timestamp) -> i64 {
        self.grid.bucket_of(t.as_secs())
    }

    fn min_horizon(horizons: &[Option<i64>]) -> Option<i64> {
        // A detection without a horizon has not run yet: it may need anything.
        horizons
            .iter()
            .try_fold(i64::MAX, |m, h| h.map(|h| m.min(h)))
    }

    /// Notes a submitted batch's sequence number.
    pub(crate) fn submitted(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
    }

    /// Decides about an event of time `t` from batch `seq`, and records it when it is fed.
    pub(crate) fn event(&mut self, seq: u64, t: Timestamp, replayed: bool) -> Verdict {
        self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        self.earliest = Some(self.earliest.map_or(t, |e| e.min(t)));
        let bucket = self.bucket_of(t);
        if Self::min_horizon(&self.ran).is_some_and(|h| bucket < h) {
            if replayed {
                return Verdict::Done;
            }
            self.late += 1;
            return Verdict::Late;
        }
        let first = self.first_seq.entry(bucket).or_insert(seq);
        *first = (*first).min(seq);
        Verdict::Feed
    }

    /// Detection `d` ran a window after which nothing below `horizon` is needed.
    pub(crate) fn ran(&mut self, d: usize, horizon: i64) {
        let h = &mut self.ran[d];
        *h = Some(h.map_or(horizon, |old| old.max(horizon)));
    }

    /// Detection `d`'s window with that horizon is durable.
    pub(crate) fn committed(&mut self, d: usize, horizon: i64) {
        self.ran(d, horizon);
        let h = &mut self.committed[d];
        *h = Some(h.map_or(horizon, |old| old.max(horizon)));
    }

    /// The first bucket a window still to run can need, over every detection (`None` until
    /// every detection has run a window).
    pub(crate) fn ran_horizon(&self) -> Option<i64> {
        Self::min_horizon(&self.ran)
    }

    /// The horizon of detection `d` after its last durable window.
    pub(crate) fn committed_horizon(&self, d: usize) -> Option<i64> {
        self.committed[d]
    }

    /// The smallest journal sequence number still needed (never decreasing).
    pub(crate) fn needed_from(&mut self) -> u64 {
        if let Some(h) = Self::min_horizon(&self.committed) {
            // Buckets below every horizon will never be read again.
            self.first_seq = self.first_seq.split_off(&h);
        }
        let needed = self
            .first_seq
            .values()
            .copied()
            .min()
            .unwrap_or(self.next_seq);
        self.needed_floor = self.needed_floor.max(needed);
        self.needed_floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Grid = Grid {
        span: 60,
        offset: 0,
    };

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_nanos(secs * 1_000_000_000, 0)
    }

    #[test]
    fn nothing_is_late_before_every_detection_ran() {
        let mut l = Ledger::new(MINUTE, 2);
        l.ran(0, 3600);
        assert_eq!(l.event(1, t(10), false), Verdict::Feed);
        l.ran(1, 1800);
        assert_eq!(l.event(2, t(1799), false), Verdict::Late);
        assert_eq!(l.event(3, t(1800), false), Verdict::Feed);
        assert_eq!(l.late, 1);
    }

    #[test]
    fn replayed_events_of_windows_that_ran_are_not_late() {
        let mut l = Ledger::new(MINUTE, 1);
        l.committed(0, 3600);
        assert_eq!(l.event(7, t(100), true), Verdict::Done);
        assert_eq!(l.late, 0);
    }

    #[test]
    fn the_watermark_follows_the_oldest_live_bucket_and_never_decreases() {
        let mut l = Ledger::new(MINUTE, 1);
        for (seq, secs) in [(0, 3000), (1, 3700), (2, 3010), (3, 7300)] {
            l.submitted(seq);
            assert_eq!(l.event(seq, t(secs), false), Verdict::Feed);
        }
        assert_eq!(l.needed_from(), 0, "no window committed yet");
        l.ran(0, 3600);
        assert_eq!(l.needed_from(), 0, "ran but not durable: still needed");
        l.committed(0, 3600);
        assert_eq!(l.needed_from(), 1, "buckets before 3600 are done");
        l.committed(0, 7200);
        assert_eq!(l.needed_from(), 3);
        l.committed(0, 10_800);
        assert_eq!(l.needed_from(), 4, "nothing live: the next sequence");
        l.submitted(4);
        assert_eq!(l.event(4, t(10_900), false), Verdict::Feed);
        assert_eq!(l.needed_from(), 4);
    }

    #[test]
    fn buckets_are_aligned_to_the_span_before_the_epoch_too() {
        let l = Ledger::new(MINUTE, 1);
        assert_eq!(l.bucket_of(t(-1)), -60);
        assert_eq!(l.bucket_of(t(119)), 60);
    }
}
