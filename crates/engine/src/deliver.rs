//! In-order delivery: workers finish batches in any order; the observer sees their reports in
//! input order. A credit window bounds how far ahead of delivery the reader may run, so one
//! slow record cannot make every later report pile up in memory (review finding Q3).

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};

use crate::origin::RecordError;
use crate::stats::Stats;
use crate::worker::BatchReport;
use crate::{Observer, Origin};

/// A message to the delivering thread, numbered in input order.
#[derive(Debug)]
pub(crate) enum Message {
    Report(BatchReport),
    Opened,
    /// An input ended: the bytes it held.
    Read(u64),
    Error {
        error: RecordError,
        input_failed: bool,
        not_events: bool,
    },
    /// A batch whose processing failed: its records are counted as skipped.
    Failed {
        error: RecordError,
    },
    /// Damage the reader worked around without losing records.
    Notice {
        notice: RecordError,
        kind: &'static str,
    },
}

/// How many messages have been delivered, and a way to wait for room.
#[derive(Debug, Default)]
pub(crate) struct Credits {
    delivered: Mutex<u64>,
    changed: Condvar,
    closed: Mutex<bool>,
}

impl Credits {
    /// Waits until message `seq` is within `window` of the last delivered one, or delivery has
    /// stopped. Returns false when it has stopped.
    pub(crate) fn wait_for_room(&self, seq: u64, window: u64) -> bool {
        let mut d = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        while seq >= *d + window.max(1) {
            if *self.closed.lock().unwrap_or_else(|e| e.into_inner()) {
                return false;
            }
            d = self.changed.wait(d).unwrap_or_else(|e| e.into_inner());
        }
        true
    }

    fn advance(&self, to: u64) {
        *self.delivered.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.changed.notify_all();
    }

    /// Delivery has stopped: wake every waiter.
    pub(crate) fn close(&self) {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.changed.notify_all();
    }

    /// Waits until `n` messages were delivered.
    pub(crate) fn wait_delivered(&self, n: u64) {
        let mut d = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        while *d < n {
            d = self.changed.wait(d).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Reorders messages into input order and hands them to the observer, counting as it goes.
pub(crate) struct Deliverer {
    pending: BTreeMap<u64, Message>,
    next: u64,
    pub(crate) stats: Stats,
    credits: Arc<Credits>,
}

impl Deliverer {
    pub(crate) fn new(credits: Arc<Credits>) -> Self {
        Deliverer {
            pending: BTreeMap::new(),
            next: 0,
            stats: Stats::default(),
            credits,
        }
    }

    /// Takes one message; delivers every message that is now in order.
    pub(crate) fn take(&mut self, seq: u64, msg: Message, observer: &mut dyn Observer) {
        self.pending.insert(seq, msg);
        let before = self.next;
        while let Some(msg) = self.pending.remove(&self.next) {
            self.next += 1;
            self.deliver(msg, observer);
        }
        if self.next != before {
            self.credits.advance(self.next);
        }
    }

    fn deliver(&mut self, msg: Message, observer: &mut dyn Observer) {
        let stats = &mut self.stats;
        match msg {
            Message::Opened => stats.inputs += 1,
            Message::Read(bytes) => stats.bytes += bytes,
            Message::Error {
                error,
                input_failed,
                not_events,
            } => {
                if not_events {
                    stats.inputs_not_events += 1;
                    return;
                }
                stats.records += error.skipped;
                if error.skipped > 0 {
                    let reason = if error.place.is_some() {
                        "malformed input"
                    } else {
                        "unreadable input"
                    };
                    stats.skip(reason, error.skipped);
                }
                if input_failed {
                    stats.inputs_failed += 1;
                    observer.input_failed(&error);
                } else {
                    observer.error(&error);
                }
            }
            Message::Notice { notice, kind } => {
                *stats.notices.entry(kind).or_default() += 1;
                observer.notice(&notice);
            }
            Message::Failed { error } => {
                stats.failed_batches += 1;
                stats.records += error.skipped;
                stats.skip("batch whose processing failed", error.skipped);
                observer.error(&error);
            }
            Message::Report(report) => {
                stats.merge(&report.stats);
                for e in &report.errors {
                    observer.error(e);
                }
                for (origin, fields) in &report.events {
                    observer.event(origin, fields);
                }
                observer.progress(stats);
            }
        }
    }
}

/// The origin used for a failed batch's error.
pub(crate) fn batch_origin(batch: &cimhunt_read::Batch) -> Option<Origin> {
    batch.records.first().map(|span| match batch.format {
        cimhunt_read::Format::Evtx => {
            Origin::evtx(&batch.input, span.chunk().unwrap_or(0), None, None)
        }
        _ => Origin::text(&batch.input, batch.line(span), span),
    })
}
