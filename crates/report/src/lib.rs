//! Reporters: print what a run found — result rows as tables, JSON or CSV; normalized events;
//! risk events and notables as Enterprise Security would write them; test reports.
//!
//! Key design decision: reporters take finished values (rows, events, detection metadata) and
//! only format them. They hold no search logic, so the same rows print identically whichever
//! way the run was split across threads, and a new output format never touches the engine.

mod csv_record;
mod events;
mod json;
mod risk;
mod rows;
mod table;
mod testing;

pub use events::{EventOrigin, EventWriter, event_json};
pub use json::Object;
pub use risk::{AlertContext, notable_event, render_message, risk_events};
pub use rows::{RowWriter, row_json};
pub use table::{SAMPLE_ROWS, TableStyle, TableWriter};
pub use testing::{TestCase, TestOutcome, Verdict, junit_xml, verdict};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}
