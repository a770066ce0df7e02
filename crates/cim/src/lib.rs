//! The CIM `Endpoint.Processes` data model, as cimhunt presents it to searches.
//!
//! Every stage after normalization speaks this crate's types: a [`CimEvent`] is one process event
//! with its fields named by the [`Field`] enum, and [`DataModel`] applies what Splunk's data model
//! does to an event before `tstats` sees it (the calculated fields that turn null into `unknown`,
//! the lowercased integrity level).
//!
//! Key design decision: an event is a fixed array of slots indexed by [`Field`], holding values
//! borrowed from the record they came from (`Cow<str>`). Reading a field is an array index, not a
//! hash lookup, and normalizing a record copies no text unless a value has to be rewritten. Field
//! names are resolved to [`Field`] once, when a search is compiled.

mod datamodel;
mod event;
mod field;
mod time;

pub use datamodel::{CimVersion, DataModel};
pub use event::{CimEvent, Values};
pub use field::{Field, FieldOrigin, is_plain, plain_runs};
pub use time::{Timestamp, TimestampError};

/// The value the data model's calculated fields put in place of a null or empty value.
pub const UNKNOWN: &str = "unknown";
