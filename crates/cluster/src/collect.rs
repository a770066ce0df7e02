//! Reading partial states back: a subject read from its start with an ordered consumer, and the
//! [`Assembler`] that turns the pieces read into whole bundles, each base id once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;

use crate::error::ClusterError;
use crate::wire::{HEADER_BASE, HEADER_CHUNK, parse_chunk};

/// Puts pieces together and lets every base id through once.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    done: HashSet<String>,
    open: HashMap<String, HashMap<String, Parts>>,
    /// Pieces or wholes seen again (redelivered work, duplicate publishes).
    pub(crate) duplicates: u64,
}

#[derive(Debug)]
struct Parts {
    n: usize,
    got: BTreeMap<usize, Vec<u8>>,
}

impl Assembler {
    /// Takes one message; returns its base id and whole payload when this completes a whole
    /// seen for the first time.
    pub(crate) fn offer(&mut self, msg: &async_nats::Message) -> Option<(String, Vec<u8>)> {
        let headers = msg.headers.as_ref();
        let base = headers
            .and_then(|h| h.get(HEADER_BASE))
            .map(|v| v.as_str().to_owned())
            .or_else(|| {
                headers
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_owned())
            })?;
        if self.done.contains(&base) {
            self.duplicates += 1;
            return None;
        }
        let chunk = headers
            .and_then(|h| h.get(HEADER_CHUNK))
            .and_then(|v| parse_chunk(v.as_str()));
        let Some((k, n, digest)) = chunk else {
            self.open.remove(&base);
            self.done.insert(base.clone());
            return Some((base, msg.payload.to_vec()));
        };
        let by_digest = self.open.entry(base.clone()).or_default();
        let parts = by_digest.entry(digest).or_insert_with(|| Parts {
            n,
            got: BTreeMap::new(),
        });
        if parts.n != n || parts.got.contains_key(&k) {
            self.duplicates += 1;
            return None;
        }
        parts.got.insert(k, msg.payload.to_vec());
        if parts.got.len() < parts.n {
            return None;
        }
        let parts = by_digest
            .drain()
            .find(|(_, p)| p.got.len() == p.n)
            .map(|(_, p)| p)?;
        self.open.remove(&base);
        self.done.insert(base.clone());
        Some((base, parts.got.into_values().flatten().collect()))
    }
}

/// An ordered consumer over one subject from its first message, and how many messages it had
/// when it was created.
pub(crate) async fn open_subject(
    stream: &stream::Stream,
    subject: &str,
) -> Result<(consumer::pull::Ordered, u64), ClusterError> {
    let what = || format!("reading {subject}");
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::nats(what(), e))?;
    let pending = consumer.cached_info().num_pending;
    let messages = consumer
        .messages()
        .await
        .map_err(|e| ClusterError::nats(what(), e))?;
    Ok((messages, pending))
}

/// Reads every message a subject holds now, in order.
pub(crate) async fn read_subject(
    stream: &stream::Stream,
    subject: &str,
    mut each: impl FnMut(jetstream::Message) -> Result<(), ClusterError>,
) -> Result<u64, ClusterError> {
    let (mut messages, pending) = open_subject(stream, subject).await?;
    let mut n = 0;
    while n < pending {
        let next = tokio::time::timeout(Duration::from_secs(30), messages.next()).await;
        let msg = match next {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Err(ClusterError::nats(format!("reading {subject}"), e)),
            Ok(None) | Err(_) => {
                return Err(ClusterError::nats(
                    format!("reading {subject}"),
                    format!("stopped after {n} of {pending} messages"),
                ));
            }
        };
        n += 1;
        let last = msg.info().is_ok_and(|i| i.pending == 0);
        each(msg)?;
        if last {
            break;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::pieces;

    fn message(piece: &crate::wire::Piece) -> async_nats::Message {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", piece.id.as_str());
        for (k, v) in &piece.headers {
            headers.insert(*k, v.as_str());
        }
        async_nats::Message {
            subject: "s".into(),
            reply: None,
            payload: piece.payload.clone().into(),
            headers: Some(headers),
            status: None,
            description: None,
            length: 0,
        }
    }

    #[test]
    fn a_whole_passes_once() {
        let mut a = Assembler::default();
        let p = &pieces("m1", vec![1, 2], 10)[0];
        assert_eq!(a.offer(&message(p)), Some(("m1".to_owned(), vec![1, 2])));
        assert_eq!(a.offer(&message(p)), None);
        assert_eq!(a.duplicates, 1);
    }

    #[test]
    fn pieces_of_two_encodings_of_one_whole_never_mix() {
        // Two workers encoded the same message's states differently (a redelivery); their
        // pieces interleave. The first complete encoding wins, whole; the rest is ignored.
        let first: Vec<u8> = (0..30).collect();
        let second: Vec<u8> = (100..130).collect();
        let a_pieces = pieces("m", first.clone(), 10);
        let b_pieces = pieces("m", second, 10);
        let mut a = Assembler::default();
        assert_eq!(a.offer(&message(&a_pieces[0])), None);
        assert_eq!(a.offer(&message(&b_pieces[0])), None);
        assert_eq!(a.offer(&message(&b_pieces[1])), None);
        assert_eq!(a.offer(&message(&a_pieces[1])), None);
        assert_eq!(
            a.offer(&message(&a_pieces[2])),
            Some(("m".to_owned(), first))
        );
        assert_eq!(a.offer(&message(&b_pieces[2])), None);
    }
}
