//! The scheduler's durable state (`schedule.json` in the state directory): per detection the
//! scheduled time of the last window whose outputs are durable, the journal watermark below
//! which batches are no longer replayed, and how far into the spool this state accounts for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What `schedule.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Detection name → scheduled time (epoch nanoseconds) of its last committed window.
    pub last_window: BTreeMap<String, i64>,
    /// Journal batches below this sequence number are no longer needed.
    pub journal_watermark: u64,
    /// Spool records below this sequence number are reflected in `last_window`.
    pub spool_next: u64,
}

/// A state file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl ScheduleState {
    /// Reads the state, or the empty state when the file does not exist.
    pub fn load(path: &Path) -> Result<ScheduleState, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError {
                path: path.to_owned(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ScheduleState::default()),
            Err(e) => Err(StateError {
                path: path.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// Replaces the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(self).expect("state serializes");
        crate::fsutil::write_atomic(path, &bytes).map_err(|e| StateError {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}
