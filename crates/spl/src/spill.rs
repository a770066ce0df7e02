//! Where the commands that run over rows after merging put what they hold beyond a budget:
//! `stats`'s groups ([`crate::agg::Runs`]) and `eventstats`'s rows ([`crate::held::HeldRows`]).
//!
//! A detection that groups every process by its command line holds one group per distinct
//! command line, twice over when a `stats` follows an `eventstats`, and on a fleet's input those
//! grow with the input. Given a [`RowSpill`] ([`crate::ExecCtx::with_row_spill`]), each such
//! command keeps about `budget` bytes in memory and writes the rest to unlinked temporary files
//! in `dir`, which it reads back, in order, as it gives its rows.
//!
//! Key design decision: as for the event side's spill, this is an evaluation strategy, not
//! Splunk behaviour: a command gives the same rows whether it wrote to disk or not (the tests
//! run both ways). A failed write (a full disk) is not an error: the command keeps the rest in
//! memory, no command of the run writes again, and the run reports why ([`RowSpill::failure`]).

use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The budget and folder of the commands over rows, and what they wrote; shared by a run's
/// detections.
#[derive(Debug)]
pub struct RowSpill {
    dir: PathBuf,
    budget: usize,
    written: AtomicU64,
    /// Set once a write failed (checked for every row a command over budget takes).
    stopped: AtomicBool,
    failed: Mutex<Option<String>>,
}

impl RowSpill {
    /// Each command keeps about `budget_bytes` (an estimate) in memory, the rest in `dir`.
    pub fn new(dir: PathBuf, budget_bytes: usize) -> Self {
        RowSpill {
            dir,
            budget: budget_bytes.max(1),
            written: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            failed: Mutex::new(None),
        }
    }

    /// The bytes one command keeps in memory before it writes to disk.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The bytes written to disk so far.
    pub fn written_bytes(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Why writing stopped, once a write failed.
    pub fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether commands may still write (no write has failed).
    pub fn active(&self) -> bool {
        !self.stopped.load(Ordering::Relaxed)
    }

    /// A new unlinked temporary file, or `None` when writing has stopped or the file cannot be
    /// made (which stops writing).
    pub fn file(&self) -> Option<File> {
        if !self.active() {
            return None;
        }
        match tempfile::tempfile_in(&self.dir) {
            Ok(f) => Some(f),
            Err(e) => {
                self.fail(format!("{}: {e}", self.dir.display()));
                None
            }
        }
    }

    /// Counts bytes written.
    pub fn wrote(&self, bytes: u64) {
        self.written.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Stops writing, saying why (the first reason is kept).
    pub fn fail(&self, why: String) {
        let mut failed = self
            .failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.stopped.store(true, Ordering::Relaxed);
        if failed.is_none() {
            *failed = Some(format!(
                "writing rows' state to disk failed ({why}); it stays in memory"
            ));
        }
    }
}
