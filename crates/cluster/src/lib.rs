//! cimhunt on many machines: raw events are published to a NATS JetStream stream, any number of
//! `cimhunt worker` processes run the detections over them, and their partial states are merged
//! into exactly the rows, risk events and notables one process gives for the same events.
//!
//! The flow: [`publish`] (files, or a HEC service's requests) → stream `EVENTS` (a work queue,
//! one durable consumer shared by every worker) → [`worker`] lanes, each feeding one message at
//! a time to a local engine ([`process`]) → the message's partial states per detection and time
//! bucket, bundled and published to `PARTIALS` with ids derived from the message → the message
//! acknowledged → on each schedule, the lease-holding worker [`reduce`]s the window (merge,
//! rows, risk events, notables to `OUTPUTS`, published once); a [`batch`] run (`hunt --nats`)
//! collects its own batch's states instead. `cimhunt serve --nats` publishes its HEC requests
//! through [`HecSink`] and writes the outputs to files with [`write_outputs`].
//!
//! Key design decision: exactly once comes from identity, not from coordination. Every partial
//! state is computed from exactly one event message and named after it; every output is named
//! after its group, window, detection and row. A redelivered message, a duplicate publish, a
//! second reducer of the same window produce the same names: JetStream's de-duplication drops
//! the copies within its window, and every reader merges each name once beyond it. Acks come
//! only after the states they cover are stored (and, live, the shared events clock covers their
//! minutes), so nothing is lost either. `docs/cluster.md` gives the whole argument, the
//! subjects and the operations.

mod batch;
mod collect;
mod connect;
mod error;
mod forward;
mod hec;
mod ingest;
mod job;
mod keys;
mod log;
mod names;
mod outputs;
mod process;
mod publish;
mod reduce;
mod repair;
mod schedule;
mod send;
mod status;
mod wire;
mod worker;
mod write;

pub use batch::{BatchOptions, BatchOutcome, BatchProgress, hunt, new_batch_id};
pub use connect::{Cluster, NatsOptions, Topology};
pub use error::ClusterError;
pub use forward::{Followed, ForwardSummary, forward_files};
pub use hec::{HecSink, HecStats, PUBLISHER_FILE, publisher_name};
pub use ingest::{Ingest, publish};
pub use job::{ClusterJob, files_identity};
pub use log::{Log, NoLog, StderrLog};
pub use names::{CONSUMER, Names, OutputKind};
pub use outputs::{Output, outputs};
pub use process::{LIVE_BUCKET_SECS, Lane, Processed};
pub use publish::{Destination, Limits, Published, Publisher, Source};
pub use reduce::{Clock, Reduced, Reducer, Tick};
pub use schedule::{Group, groups};
pub use status::{QueueStatus, ScheduleStatus, Status, StreamStatus, WorkerStatus, status};
pub use wire::{HEADER_DETECTION, HEADER_WINDOW};
pub use worker::{Stop, WorkerConfig, WorkerSummary, default_name, run_worker};
pub use write::{OutputFiles, OutputWriter, WriterConfig, WriterSummary, write_outputs};

/// The runtime the blocking entry points run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("cannot start the async runtime: {e}")))
}
