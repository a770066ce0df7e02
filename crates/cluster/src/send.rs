//! Publishing a set of messages durably: all are sent, then every acknowledgement is awaited;
//! a message whose acknowledgement fails is sent again under the same id (JetStream drops it if
//! the first copy was stored after all) until it is acknowledged or the attempts run out.

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self};
use bytes::Bytes;

use crate::error::ClusterError;
use crate::wire::Piece;

/// How many acknowledgements may be outstanding.
const WINDOW: usize = 256;
/// Attempts per message.
const ATTEMPTS: u32 = 8;

/// What the server said about a set of messages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Stored.
    pub stored: u64,
    /// Recognised as duplicates (already stored).
    pub duplicates: u64,
}

async fn send_one(
    js: &jetstream::Context,
    subject: &str,
    piece: &Piece,
) -> Result<PublishAckFuture, String> {
    let mut m = PublishMessage::build()
        .payload(Bytes::from(piece.payload.clone()))
        .message_id(&piece.id);
    for (name, value) in &piece.headers {
        m = m.header(*name, value.as_str());
    }
    js.send_publish(subject.to_owned(), m)
        .await
        .map_err(|e| e.to_string())
}

/// Publishes every `(subject, piece)` and waits until each is stored.
pub(crate) async fn publish_all(
    js: &jetstream::Context,
    items: Vec<(String, Piece)>,
) -> Result<Sent, ClusterError> {
    let mut sent = Sent::default();
    let mut pending: VecDeque<(String, Piece, Result<PublishAckFuture, String>)> = VecDeque::new();
    let mut items = items.into_iter();
    loop {
        while pending.len() < WINDOW {
            let Some((subject, piece)) = items.next() else {
                break;
            };
            let ack = send_one(js, &subject, &piece).await;
            pending.push_back((subject, piece, ack));
        }
        let Some((subject, piece, first)) = pending.pop_front() else {
            break;
        };
        let mut attempt = 0u32;
        let mut ack = first;
        loop {
            let outcome = match ack {
                Ok(future) => future.await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(a) if a.duplicate => {
                    sent.duplicates += 1;
                    break;
                }
                Ok(_) => {
                    sent.stored += 1;
                    break;
                }
                Err(e) => {
                    attempt += 1;
                    if attempt >= ATTEMPTS {
                        return Err(ClusterError::nats(format!("publishing {}", piece.id), e));
                    }
                    tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
                    ack = send_one(js, &subject, &piece).await;
                }
            }
        }
    }
    Ok(sent)
}
