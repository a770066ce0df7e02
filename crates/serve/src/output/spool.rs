//! The output spool: one record per window that produced anything. A record is written as it is
//! serialized, its texts read from memory or from the window's temporary file ([`Texts`]).

use std::io;
use std::path::Path;

use cimhunt_spl::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::engine::{DetectionId, Texts, Window, WindowOutput};
use crate::log::{LogError, SegmentLog};

/// One window's outputs as spooled.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SpoolRecord {
    /// Detection name.
    pub detection: String,
    /// Scheduled time, epoch nanoseconds.
    pub scheduled: i64,
    /// Window start, epoch nanoseconds.
    pub earliest: i64,
    /// Window end, epoch nanoseconds.
    pub latest: i64,
    /// Result rows.
    #[serde(default)]
    pub rows: Texts,
    /// Risk events.
    #[serde(default)]
    pub risk_events: Texts,
    /// Notables.
    #[serde(default)]
    pub notables: Texts,
}

impl SpoolRecord {
    /// The record of `window`'s `output`.
    pub fn new(window: &Window, output: WindowOutput) -> SpoolRecord {
        SpoolRecord {
            detection: window.detection.to_string(),
            scheduled: window.scheduled.as_nanos(),
            earliest: window.earliest.as_nanos(),
            latest: window.latest.as_nanos(),
            rows: output.rows,
            risk_events: output.risk_events,
            notables: output.notables,
        }
    }

    /// The window it belongs to.
    pub fn window(&self) -> Window {
        Window {
            detection: DetectionId::new(self.detection.clone()),
            scheduled: Timestamp::from_nanos(self.scheduled, 0),
            earliest: Timestamp::from_nanos(self.earliest, 0),
            latest: Timestamp::from_nanos(self.latest, 0),
        }
    }
}

/// The spool.
#[derive(Debug)]
pub struct Spool {
    log: SegmentLog,
}

impl Spool {
    /// Opens the spool, calling `visit` for every retained record.
    pub fn open(dir: &Path, mut visit: impl FnMut(u64, SpoolRecord)) -> Result<Spool, LogError> {
        let log = SegmentLog::open(dir, 16 << 20, true, |seq, payload| {
            let record: SpoolRecord =
                serde_json::from_slice(payload).map_err(|e| LogError::Corrupt {
                    path: dir.to_owned(),
                    offset: seq,
                    reason: format!("spool record {seq}: {e}"),
                })?;
            visit(seq, record);
            Ok(())
        })?;
        Ok(Spool { log })
    }

    /// Reads record `seq` back from the spool in `dir` (while it is being appended to), or
    /// `None` when the spool no longer (or does not yet) hold it.
    pub fn read(dir: &Path, seq: u64) -> Result<Option<SpoolRecord>, LogError> {
        let Some(payload) = crate::log::read_record(dir, seq)? else {
            return Ok(None);
        };
        serde_json::from_slice(&payload)
            .map(Some)
            .map_err(|e| LogError::Corrupt {
                path: dir.to_owned(),
                offset: seq,
                reason: format!("spool record {seq}: {e}"),
            })
    }

    /// Appends and syncs a record; returns its sequence number.
    pub fn append(&mut self, record: &SpoolRecord) -> Result<u64, LogError> {
        // Written as it is serialized: a window's output can be tens of MiB, and serializing
        // it into one buffer first held it twice or more (the buffer grows by doubling).
        self.log
            .append_with(|w| serde_json::to_writer(w, record).map_err(io::Error::from))
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.log.next_seq()
    }

    /// Deletes segments wholly below `seq`.
    pub fn remove_before(&mut self, seq: u64) -> Result<usize, LogError> {
        self.log.remove_before(seq)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cimhunt_spl::RowSpill;

    use super::*;
    use crate::engine::JsonText;

    #[test]
    fn a_record_whose_texts_are_on_disk_is_spooled_whole_and_read_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(RowSpill::new(dir.path().to_owned(), 256));
        let texts = |kind: &str| {
            let mut t = Texts::spilling(Some(Arc::clone(&spill)));
            for i in 0..500 {
                t.push(JsonText::new(&format!(r#"{{"{kind}":{i}}}"#)).unwrap());
            }
            assert!(t.on_disk() > 400, "{t:?}");
            t
        };
        let record = SpoolRecord {
            detection: "D".into(),
            scheduled: 3,
            earliest: 1,
            latest: 2,
            rows: texts("row"),
            risk_events: texts("risk"),
            notables: texts("notable"),
        };
        let at = dir.path().join("spool");
        let mut spool = Spool::open(&at, |_, _| panic!("a new spool is empty")).unwrap();
        let seq = spool.append(&record).unwrap();
        drop(spool);
        let mut read = Vec::new();
        Spool::open(&at, |s, r| read.push((s, r))).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, seq);
        assert_eq!(read[0].1, record);
        assert_eq!(read[0].1.notables.on_disk(), 0);
    }
}
