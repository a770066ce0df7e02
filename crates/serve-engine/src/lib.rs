//! The detection engine behind `cimhunt serve`: [`EngineSink`] implements
//! [`cimhunt_serve::Sink`] over a long-running [`cimhunt_engine::Engine`], so that events
//! received over Splunk's HTTP Event Collector reach the same decoders, add-on stanzas, data
//! models and detections as files do, and each detection's scheduled windows give exactly the
//! rows, risk events and notables `cimhunt hunt` gives for the events of that window.
//!
//! Key design decision: this crate is separate from `cimhunt-serve` so that the service
//! (network, journal, schedule, outputs) stays testable with a fake engine and cheap to build,
//! and from the CLI so that the real-engine acceptance tests can drive it in-process. It owns
//! the one mapping that matters: scheduled windows onto the engine's time buckets (see the
//! `sink` module), and the journal positions those buckets still need (`ledger`).
//! `docs/serve.md` gives the Splunk behaviours and their sources.

mod grid;
mod ledger;
mod merging;
mod observer;
mod probe;
mod shared;
mod sink;

pub use grid::{Grid, MAX_BUCKET_SECS};
pub use probe::{Kind as EventKind, Skip as Unreadable, classify, meta_of as envelope_meta};
pub use sink::{EngineSink, SinkBuilder, SinkError, content_schedule};
