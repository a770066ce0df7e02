//! Publishing from synchronous code: what `cimhunt serve --nats` calls instead of feeding its
//! local engine.
//!
//! ```text
//! // at start
//! let ingest = Ingest::connect(&nats_options, "hec-1", Limits::default())?;
//! // for each durable request (journal number `seq`), instead of engine.feed(input, meta):
//! ingest.publish(&format!("{seq}"), input, meta)?;   // returns once JetStream stored it
//! ```
//!
//! The key must identify the bytes for good (a journal sequence number does): a request
//! replayed after a crash is published under the same message ids and dropped as a duplicate.

use cimhunt_engine::Meta;
use cimhunt_read::Input;

use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::publish::{Destination, Limits, Published, Publisher, Source};

/// Publishes inputs (files, …) to the live stream as publisher `id`: `cimhunt publish`.
/// `progress` sees the counters after every message.
pub fn publish(
    options: &NatsOptions,
    id: &str,
    limits: Limits,
    sources: Vec<Source>,
    progress: &(dyn Fn(&Published) + Sync),
) -> Result<Published, ClusterError> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        let cluster = Cluster::open(options).await?;
        let publisher = Publisher::new(cluster, id, limits)?;
        publisher
            .publish(sources, &Destination::Live, progress)
            .await
    })
}

/// A publisher with its own runtime.
#[derive(Debug)]
pub struct Ingest {
    rt: tokio::runtime::Runtime,
    publisher: Publisher,
}

impl Ingest {
    /// Connects (creating streams when missing) as publisher `id`.
    pub fn connect(
        options: &NatsOptions,
        id: &str,
        limits: Limits,
    ) -> Result<Ingest, ClusterError> {
        let rt = crate::runtime()?;
        let cluster = rt.block_on(Cluster::open(options))?;
        let publisher = Publisher::new(cluster, id, limits)?;
        Ok(Ingest { rt, publisher })
    }

    /// Publishes one input's records to the live stream; returns once every message is stored.
    /// Read errors are in the result (the records that could be read are published).
    pub fn publish(&self, key: &str, input: Input, meta: Meta) -> Result<Published, ClusterError> {
        let source = Source {
            input,
            meta,
            key: key.to_owned(),
            input_no: 0,
        };
        self.rt.block_on(
            self.publisher
                .publish(vec![source], &Destination::Live, &|_| {}),
        )
    }
}
