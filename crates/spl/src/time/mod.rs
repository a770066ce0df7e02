//! Time: an event's `_time` ([`Timestamp`]) and Splunk's time modifiers ([`TimeModifier`]).

mod modifier;
mod timestamp;

pub use modifier::{TimeModifier, TimeModifierError};
pub use timestamp::{Timestamp, TimestampError};
