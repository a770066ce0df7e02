//! Counters of a run, for the summary.

use std::collections::BTreeMap;

/// What a run read and did. Every record read ends up in exactly one of `prefiltered`,
/// `process_events`, `other_events` or `skipped_records`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs opened and recognised.
    pub inputs: u64,
    /// Files found by walking directories that hold no event data (unknown format), passed over.
    pub inputs_not_events: u64,
    /// Inputs that could not be read at all, or explicitly given files of unknown format.
    pub inputs_failed: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Records read: XML events, JSON objects, EVTX records.
    pub records: u64,
    /// Records the prefilter skipped undecoded, because no detection can match them.
    pub prefiltered: u64,
    /// Process-creation events presented to detections.
    pub process_events: u64,
    /// Events of other types, passed over.
    pub other_events: u64,
    /// Other events by kind (`Sysmon 3`, `Security 4624`, ...).
    pub other_kinds: BTreeMap<String, u64>,
    /// Records skipped because they could not be read, decoded or normalized.
    pub skipped_records: u64,
    /// Skipped records by reason class.
    pub skipped_reasons: BTreeMap<String, u64>,
}

impl Stats {
    /// Adds another partial count.
    pub fn merge(&mut self, other: &Stats) {
        self.inputs += other.inputs;
        self.inputs_not_events += other.inputs_not_events;
        self.inputs_failed += other.inputs_failed;
        self.bytes += other.bytes;
        self.records += other.records;
        self.prefiltered += other.prefiltered;
        self.process_events += other.process_events;
        self.other_events += other.other_events;
        self.skipped_records += other.skipped_records;
        for (k, v) in &other.other_kinds {
            *self.other_kinds.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.skipped_reasons {
            *self.skipped_reasons.entry(k.clone()).or_default() += v;
        }
    }

    pub(crate) fn skip(&mut self, reason: &str, n: u64) {
        self.skipped_records += n;
        *self.skipped_reasons.entry(reason.to_owned()).or_default() += n;
    }

    pub(crate) fn other(&mut self, kind: String) {
        self.other_events += 1;
        *self.other_kinds.entry(kind).or_default() += 1;
    }
}
