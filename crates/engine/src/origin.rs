//! Where an event came from, and what went wrong with a record.

use std::fmt;
use std::sync::Arc;

use cimhunt_read::{InputName, Span};

/// The place of one record: its input and position there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The input.
    pub input: Arc<InputName>,
    /// Where in it.
    pub place: Place,
}

/// A position in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A text record: the line it starts on and its number among the input's records.
    Text {
        /// 1-based line.
        line: u64,
        /// 1-based record number; `None` for bytes that held no complete record.
        record: Option<u64>,
    },
    /// An EVTX record (or chunk).
    Evtx {
        /// 0-based chunk number.
        chunk: u64,
        /// The number in the record's header (its position in the file), when readable.
        record: Option<u64>,
        /// The event's `System/EventRecordID`: the number Event Viewer shows, when readable.
        event_record_id: Option<u64>,
    },
}

impl Origin {
    /// The origin of a text record starting on `line` (its batch counts it: `Batch::line`).
    pub fn text(input: &Arc<InputName>, line: Option<u64>, span: &Span) -> Origin {
        Origin {
            input: Arc::clone(input),
            place: Place::Text {
                line: line.unwrap_or(0),
                record: Some(span.ordinal).filter(|n| *n > 0),
            },
        }
    }

    /// The origin of an EVTX record, or of a whole chunk (`record` and `event_record_id`
    /// unknown).
    pub fn evtx(
        input: &Arc<InputName>,
        chunk: u64,
        record: Option<u64>,
        event_record_id: Option<u64>,
    ) -> Origin {
        Origin {
            input: Arc::clone(input),
            place: Place::Evtx {
                chunk,
                record,
                event_record_id,
            },
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Text { line, record: None } => write!(f, "{}:{line}", self.input),
            Place::Text {
                line,
                record: Some(record),
            } => write!(f, "{}:{line} (record {record})", self.input),
            Place::Evtx {
                chunk,
                record,
                event_record_id,
            } => {
                write!(f, "{} (chunk {chunk}", self.input)?;
                if let Some(id) = event_record_id {
                    write!(f, ", EventRecordID {id}")?;
                } else if let Some(r) = record {
                    write!(f, ", record {r}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A record that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where, as precisely as known: a record, or an input (`place: None`).
    pub input: Arc<InputName>,
    /// The position, when one record or chunk is concerned.
    pub place: Option<Place>,
    /// What happened.
    pub message: String,
    /// How many records this cost (0 for a notice: damage worked around without loss).
    pub skipped: u64,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Some(place) => {
                let origin = Origin {
                    input: Arc::clone(&self.input),
                    place,
                };
                write!(f, "{origin}: {}", self.message)
            }
            None => write!(f, "{}: {}", self.input, self.message),
        }
    }
}
