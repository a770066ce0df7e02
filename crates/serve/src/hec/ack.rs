//! Indexer acknowledgement: channels and ack ids.
//!
//! Splunk ("About HTTP Event Collector Indexer Acknowledgment"): with `useACK` on a token,
//! every request names a channel (`X-Splunk-Request-Channel` header or `channel` query
//! parameter, a GUID), the reply carries an `ackId`, and `POST /services/collector/ack` with
//! `{"acks":[0,1]}` answers `{"acks":{"0":true,"1":false}}`; an ack reported true is then
//! forgotten. A request without a channel gets code 10, a channel that is not a GUID code 11,
//! an ack query on a token without acknowledgement code 14.
//!
//! Key design decision: the ack id *is* the journal sequence number of the request's batch,
//! and the reply is sent only once the batch is durable, so an ack is true as soon as it is
//! issued, and ids issued by an earlier process (below this process's first sequence number)
//! are answered true after a restart instead of being forgotten, which would make clients
//! resend durable data. Ids are therefore unique across channels and do not start at 0 per
//! channel as splunkd's do [deliberate difference; clients only echo them].

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::reply::HecStatus;

/// Whether `text` is a GUID (`8-4-4-4-12` hexadecimal digits), the form splunkd requires of a
/// channel [inferred: splunkd's clients send UUIDs; the check's exact rule is not documented].
pub fn is_channel(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[derive(Debug)]
struct Channel {
    pending: HashSet<u64>,
    last_used: Instant,
}

/// The channels of this process.
#[derive(Debug)]
pub struct AckRegistry {
    channels: Mutex<HashMap<String, Channel>>,
    first_id: u64,
    max_channels: usize,
    max_pending: usize,
    idle: Duration,
}

impl AckRegistry {
    /// A registry whose own ids start at `first_id` (the journal's next sequence number).
    pub fn new(first_id: u64, max_channels: usize, max_pending: usize, idle: Duration) -> Self {
        AckRegistry {
            channels: Mutex::new(HashMap::new()),
            first_id,
            max_channels,
            max_pending,
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `channel` can take one more acknowledged request (else: server busy).
    pub fn admit(&self, channel: &str) -> Result<(), HecStatus> {
        let mut map = self.lock();
        if let Some(c) = map.get(channel) {
            return if c.pending.len() < self.max_pending {
                Ok(())
            } else {
                Err(HecStatus::ServerBusy)
            };
        }
        if map.len() >= self.max_channels {
            let now = Instant::now();
            map.retain(|_, c| now.duration_since(c.last_used) < self.idle);
            if map.len() >= self.max_channels {
                return Err(HecStatus::ServerBusy);
            }
        }
        Ok(())
    }

    /// Records the ack id of a durable request.
    pub fn record(&self, channel: &str, id: u64) {
        let mut map = self.lock();
        let c = map.entry(channel.to_owned()).or_insert_with(|| Channel {
            pending: HashSet::new(),
            last_used: Instant::now(),
        });
        c.pending.insert(id);
        c.last_used = Instant::now();
    }

    /// Answers an ack query; ids reported true are forgotten.
    pub fn query(&self, channel: &str, ids: &[u64]) -> Vec<(u64, bool)> {
        let mut map = self.lock();
        let mut c = map.get_mut(channel);
        if let Some(c) = c.as_deref_mut() {
            c.last_used = Instant::now();
        }
        ids.iter()
            .map(|&id| {
                let done =
                    id < self.first_id || c.as_deref_mut().is_some_and(|c| c.pending.remove(&id));
                (id, done)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CH: &str = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba";

    #[test]
    fn channels_must_be_guids() {
        assert!(is_channel(CH));
        assert!(!is_channel("my-channel"));
        assert!(!is_channel("0aeeac95ac744aa9b30d6c4c0ac581ba"));
    }

    #[test]
    fn an_ack_is_true_once_then_forgotten_and_old_ids_stay_true() {
        let r = AckRegistry::new(100, 10, 10, Duration::from_secs(60));
        r.record(CH, 100);
        assert_eq!(
            r.query(CH, &[100, 101, 5]),
            vec![(100, true), (101, false), (5, true)]
        );
        assert_eq!(r.query(CH, &[100]), vec![(100, false)]);
    }

    #[test]
    fn too_many_pending_acks_make_the_server_busy() {
        let r = AckRegistry::new(0, 1, 2, Duration::from_secs(60));
        r.record(CH, 0);
        r.record(CH, 1);
        assert_eq!(r.admit(CH), Err(HecStatus::ServerBusy));
        assert_eq!(
            r.admit("11111111-2222-3333-4444-555555555555"),
            Err(HecStatus::ServerBusy),
            "the channel limit is reached"
        );
        r.query(CH, &[0]);
        assert_eq!(r.admit(CH), Ok(()));
    }
}
