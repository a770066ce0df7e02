//! What the engine reports about records it skipped, logged (up to a limit) and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cimhunt_engine::{Observer, RecordError};

/// How many skip messages are logged one by one before only every 10,000th is.
pub(crate) const LOGGED: u64 = 100;

/// Whether the `n`th message (from 1) of a kind is logged.
pub(crate) fn logs(n: u64) -> bool {
    n <= LOGGED || n.is_multiple_of(10_000)
}

/// Counts the engine's record errors and logs them.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub records: AtomicU64,
}

pub(crate) struct LogObserver(pub Arc<Errors>);

impl Observer for LogObserver {
    fn error(&mut self, error: &RecordError) {
        let n = self
            .0
            .records
            .fetch_add(error.skipped.max(1), Ordering::Relaxed)
            + 1;
        if logs(n) {
            tracing::warn!("skipped: {error}");
        }
    }

    fn input_failed(&mut self, error: &RecordError) {
        self.error(error);
    }
}
