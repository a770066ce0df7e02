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
        /// 1-based record number (0 when the bytes held no complete record).
        record: u64,
    },
    /// An EVTX record: its chunk and `EventRecordID`.
    Evtx {
        /// 0-based chunk number.
        chunk: u64,
        /// The record's `EventRecordID` (0 when unreadable).
        record_id: u64,
    },
}

impl Origin {
    /// The origin of a text record.
    pub fn text(input: &Arc<InputName>, span: &Span) -> Origin {
        Origin {
            input: Arc::clone(input),
            place: Place::Text {
                line: span.line().unwrap_or(0),
                record: span.ordinal,
            },
        }
    }

    /// The origin of an EVTX record.
    pub fn evtx(input: &Arc<InputName>, chunk: u64, record_id: u64) -> Origin {
        Origin {
            input: Arc::clone(input),
            place: Place::Evtx { chunk, record_id },
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Text { line, record: 0 } => write!(f, "{}:{line}", self.input),
            Place::Text { line, record } => write!(f, "{}:{line} (record {record})", self.input),
            Place::Evtx {
                chunk,
                record_id: 0,
            } => write!(f, "{} (chunk {chunk})", self.input),
            Place::Evtx { chunk, record_id } => {
                write!(f, "{} (chunk {chunk}, record {record_id})", self.input)
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
    /// How many records this cost.
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
