//! The names of everything the cluster keeps on the NATS server, derived from one prefix so that
//! several clusters (or test runs) can share a server without seeing each other.
//!
//! | What | Name (prefix `cimhunt`) | Subjects |
//! |---|---|---|
//! | raw events, work queue | stream `CIMHUNT_EVENTS` | `cimhunt.ev.live.<partition>`, `cimhunt.ev.batch.<batch>` |
//! | the workers' consumer | durable `workers` on `CIMHUNT_EVENTS` | all of the stream |
//! | partial states | stream `CIMHUNT_PARTIALS` | `cimhunt.part.live.<hour>`, `cimhunt.part.batch.<batch>` |
//! | rows, risk events, notables | stream `CIMHUNT_OUTPUTS` | `cimhunt.out.rows`, `cimhunt.out.risk`, `cimhunt.out.notable` |
//! | job, committed windows, event clock | key-value bucket `cimhunt_state` | |
//! | the reducer's lease, the consumer repair's | key-value bucket `cimhunt_lease` (entries expire) | |
//! | worker heartbeats | key-value bucket `cimhunt_workers` (entries expire) | |

use crate::error::ClusterError;

/// The durable consumer every worker pulls from.
pub const CONSUMER: &str = "workers";

/// How many live partitions raw events are spread over (by host, or by input when the host is
/// not known before decoding).
pub const PARTITIONS: u64 = 16;

/// Names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

/// What a reduced window produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutputKind {
    /// Result rows, one JSON object per message.
    Rows,
    /// Risk events as ES writes them to `index=risk`.
    Risk,
    /// Notable events as ES writes them to `index=notable`.
    Notable,
}

impl OutputKind {
    /// The subject token.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Rows => "rows",
            OutputKind::Risk => "risk",
            OutputKind::Notable => "notable",
        }
    }
}

impl Names {
    /// Names under `prefix` (letters, digits, `-` and `_`; it starts every subject, stream and
    /// bucket name).
    pub fn new(prefix: &str) -> Result<Names, ClusterError> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ClusterError::Config(format!(
                "--nats-prefix {prefix:?}: expected 1 to 32 letters, digits, '-' or '_'"
            )));
        }
        Ok(Names {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn stream(&self, what: &str) -> String {
        format!(
            "{}_{what}",
            self.prefix.to_ascii_uppercase().replace('-', "_")
        )
    }

    /// The raw events stream (a work queue).
    pub fn events_stream(&self) -> String {
        self.stream("EVENTS")
    }

    /// The partial states stream.
    pub fn partials_stream(&self) -> String {
        self.stream("PARTIALS")
    }

    /// The outputs stream.
    pub fn outputs_stream(&self) -> String {
        self.stream("OUTPUTS")
    }

    /// The key-value bucket of shared state.
    pub fn state_bucket(&self) -> String {
        format!("{}_state", self.prefix)
    }

    /// The key-value bucket of the reducer's lease.
    pub fn lease_bucket(&self) -> String {
        format!("{}_lease", self.prefix)
    }

    /// The key-value bucket of worker heartbeats.
    pub fn workers_bucket(&self) -> String {
        format!("{}_workers", self.prefix)
    }

    /// Every raw-event subject.
    pub fn events_all(&self) -> String {
        format!("{}.ev.>", self.prefix)
    }

    /// The subject of live events of one partition.
    pub fn live_events(&self, partition: u64) -> String {
        format!("{}.ev.live.{partition}", self.prefix)
    }

    /// Every subject of batch events.
    pub fn batch_events_all(&self) -> String {
        format!("{}.ev.batch.*", self.prefix)
    }

    /// The subject of one batch's events.
    pub fn batch_events(&self, batch: &str) -> String {
        format!("{}.ev.batch.{batch}", self.prefix)
    }

    /// Every partial-state subject.
    pub fn partials_all(&self) -> String {
        format!("{}.part.>", self.prefix)
    }

    /// Every live partial-state subject.
    pub fn live_partials_all(&self) -> String {
        format!("{}.part.live.*", self.prefix)
    }

    /// The subject of live partial states whose time buckets lie in one hour (`hour` = bucket
    /// start in seconds divided by 3600, rounded down).
    pub fn live_partials(&self, hour: i64) -> String {
        format!("{}.part.live.{hour}", self.prefix)
    }

    /// The hour of a live partial-state subject.
    pub fn hour_of(&self, subject: &str) -> Option<i64> {
        subject
            .strip_prefix(&self.prefix)?
            .strip_prefix(".part.live.")?
            .parse()
            .ok()
    }

    /// The subject of one batch's partial states.
    pub fn batch_partials(&self, batch: &str) -> String {
        format!("{}.part.batch.{batch}", self.prefix)
    }

    /// Every output subject.
    pub fn outputs_all(&self) -> String {
        format!("{}.out.>", self.prefix)
    }

    /// The subject of one kind of output.
    pub fn output(&self, kind: OutputKind) -> String {
        format!("{}.out.{}", self.prefix, kind.as_str())
    }
}

/// Whether `s` can be one token of a subject and part of a message id (batch ids, worker and
/// publisher names).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let n = Names::new("test-1").unwrap();
        assert_eq!(n.events_stream(), "TEST_1_EVENTS");
        assert_eq!(n.live_partials(-3), "test-1.part.live.-3");
        assert_eq!(n.hour_of("test-1.part.live.-3"), Some(-3));
        assert_eq!(n.hour_of("test-1.part.batch.x"), None);
        assert_eq!(n.state_bucket(), "test-1_state");
    }

    #[test]
    fn a_prefix_with_subject_syntax_is_refused() {
        assert!(Names::new("a.b").is_err());
        assert!(Names::new("a*").is_err());
        assert!(Names::new("").is_err());
        assert!(!is_token("a.b") && is_token("b-1_x"));
    }
}
