//! Splunk's view of an event, as data: the add-ons' search-time field extractions, event types and
//! tags, and the CIM data models' datasets, loaded from tables in `tables/` rather than written as
//! code paths.
//!
//! Key design decision: what Splunk configures in `props.conf`, `transforms.conf`,
//! `eventtypes.conf`, `tags.conf` and the data-model JSON is kept in that shape (transcribed, with
//! sources, under `tables/`) and interpreted, so adding a dataset or a source stanza is a table
//! and its tests, not a new code path.

pub mod conf;
pub mod tables;
