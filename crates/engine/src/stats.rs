//! Counters of a run, for the summary.

use std::collections::BTreeMap;

/// What a run read and did. Every record read ends up in exactly one of `prefiltered`,
/// `events` or `skipped_records`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs opened and recognised.
    pub inputs: u64,
    /// Files found by walking directories that hold no event data (unknown format), passed over.
    pub inputs_not_events: u64,
    /// Inputs that could not be read at all, or explicitly given files of unknown format.
    pub inputs_failed: u64,
    /// Bytes read (after decompression): each input's whole size, counted when it ends (for
    /// events that arrive cut, an HEC request's, their bytes).
    pub bytes: u64,
    /// Bytes of the records read so far: what progress follows while an input is read.
    pub record_bytes: u64,
    /// Records read: XML events, JSON objects, EVTX records.
    pub records: u64,
    /// Records the prefilter skipped undecoded, because no detection can match them.
    pub prefiltered: u64,
    /// Events decoded and presented to the detections.
    pub events: u64,
    /// Records skipped because they could not be read or decoded.
    pub skipped_records: u64,
    /// Skipped records by reason class.
    pub skipped_reasons: BTreeMap<&'static str, u64>,
    /// Batches whose processing failed (a panic in a parser), and the records they held.
    pub failed_batches: u64,
    /// Damage worked around without losing records, by kind.
    pub notices: BTreeMap<&'static str, u64>,
    /// Records kept from EVTX chunks whose checksum fails (their values may be altered).
    pub unverified_records: u64,
    /// Records decoded only after repairs (bytes that are not UTF-8 escaped as `\xNN`, …),
    /// and how many repairs.
    pub repaired_records: u64,
    /// The repairs made in them.
    pub repairs: u64,
}

impl Stats {
    /// Adds another partial count.
    pub fn merge(&mut self, other: &Stats) {
        self.inputs += other.inputs;
        self.inputs_not_events += other.inputs_not_events;
        self.inputs_failed += other.inputs_failed;
        self.bytes += other.bytes;
        self.record_bytes += other.record_bytes;
        self.records += other.records;
        self.prefiltered += other.prefiltered;
        self.events += other.events;
        self.skipped_records += other.skipped_records;
        self.failed_batches += other.failed_batches;
        self.unverified_records += other.unverified_records;
        self.repaired_records += other.repaired_records;
        self.repairs += other.repairs;
        for (k, v) in &other.notices {
            *self.notices.entry(k).or_default() += v;
        }
        for (k, v) in &other.skipped_reasons {
            *self.skipped_reasons.entry(k).or_default() += v;
        }
    }

    pub(crate) fn skip(&mut self, reason: &'static str, n: u64) {
        self.skipped_records += n;
        *self.skipped_reasons.entry(reason).or_default() += n;
    }
}
