//! Event messages a restarted server strands, and their re-delivery.
//!
//! A `nats-server` killed (SIGKILL, a crash, a power cut) and started again on its file store
//! may bring back event messages that had been acknowledged and removed just before the kill:
//! 2.9's file store writes a removal to disk later than the consumer's acknowledgement state.
//! The workers' consumer then believes it is done with them (nothing pending, nothing waiting
//! for an acknowledgement) while the work-queue stream still holds them, and no worker is ever
//! given them again: the queue never empties. They were processed (an acknowledgement is only
//! sent once the message's states are stored), so nothing is lost; but the stream is never
//! drained, and a cluster cannot tell such a message from one that was never processed.
//!
//! Key design decision: the consumer is re-created rather than the messages deleted. A fresh
//! consumer (same durable name, deliver all) gives every message the stream still holds to the
//! workers again; processing a message a second time produces partial states under the same
//! ids (dropped by JetStream or merged once by every reader), so this is always safe, whereas
//! deleting would trust a consumer state that has just been through an unclean restart. The
//! check needs the same oldest message to be seen stranded twice, a tick apart (two separate
//! requests cannot be read atomically: a message acknowledged between them would otherwise
//! look stranded), and one worker at a time re-creates (a key in the lease bucket).

use bytes::Bytes;

use crate::connect::Cluster;
use crate::error::ClusterError;
use crate::names::CONSUMER;

/// The lease-bucket key held by the worker re-creating the consumer (it expires with the
/// lease's lifetime, so a worker that dies meanwhile does not block the next).
const REPAIR_KEY: &str = "repair";

/// Watches the workers' consumer for stranded messages, one look per call.
#[derive(Debug, Default)]
pub(crate) struct StrandedWatch {
    /// The oldest message of the stream, when the last look found it stranded.
    suspect: Option<u64>,
}

impl StrandedWatch {
    /// Looks once; when the stream's oldest message was stranded at this look and the previous
    /// one, re-creates the consumer and returns how many messages the stream held.
    pub(crate) async fn check(
        &mut self,
        cluster: &Cluster,
        me: &str,
    ) -> Result<Option<u64>, ClusterError> {
        // The consumer first: any message it has finished with was removed by then, so a
        // message the stream still holds afterwards and the consumer did not count is stranded.
        let consumer = cluster
            .events
            .consumer_info(CONSUMER)
            .await
            .map_err(|e| ClusterError::nats("reading the workers' consumer", e))?;
        let mut events = cluster.events.clone();
        let stream = events
            .info()
            .await
            .map_err(|e| ClusterError::nats("reading the events stream", e))?
            .state
            .clone();
        let idle = consumer.num_pending == 0 && consumer.num_ack_pending == 0;
        let stranded = (idle && stream.messages > 0).then_some(stream.first_sequence);
        let twice = stranded.is_some() && stranded == self.suspect;
        self.suspect = stranded;
        if !twice {
            return Ok(None);
        }
        if cluster
            .lease
            .create(REPAIR_KEY, Bytes::from(me.to_owned()))
            .await
            .is_err()
        {
            // Another worker is at it.
            return Ok(None);
        }
        self.suspect = None;
        cluster
            .events
            .delete_consumer(CONSUMER)
            .await
            .map_err(|e| ClusterError::nats(format!("deleting consumer {CONSUMER}"), e))?;
        cluster.consumer().await?;
        Ok(Some(stream.messages))
    }
}
