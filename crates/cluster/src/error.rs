//! What can go wrong in cluster mode.

/// A cluster operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// The options are unusable (a bad prefix, an unreadable credentials file, …).
    #[error("{0}")]
    Config(String),
    /// The NATS server could not be reached or refused the connection.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server URL as given.
        url: String,
        /// Why.
        message: String,
    },
    /// A JetStream request failed (creating a stream, publishing, reading a key, …).
    #[error("NATS: {what}: {message}")]
    Nats {
        /// What was being done.
        what: String,
        /// The client's or server's error.
        message: String,
    },
    /// Another job (other detections, another data model) is registered on the cluster.
    #[error(
        "the cluster runs another job ({found}; this process has {mine}): every worker and \
         `hunt --nats` must load the same detections and data model; stop the other workers, \
         use another --nats-prefix, or start a worker with --replace-job"
    )]
    JobMismatch {
        /// The registered job.
        found: String,
        /// This process's job.
        mine: String,
    },
    /// A message on a stream cannot be read by this build.
    #[error("message {id}: {message}")]
    Wire {
        /// The message's id (or subject and sequence).
        id: String,
        /// What is wrong.
        message: String,
    },
    /// Partial states could not be combined (a bug, or states of another build).
    #[error("detection `{detection}`: {message}")]
    State {
        /// The detection.
        detection: String,
        /// What is wrong.
        message: String,
    },
    /// A schedule that cannot be run.
    #[error("schedule: {0}")]
    Schedule(String),
}

impl ClusterError {
    /// A failed NATS operation.
    pub(crate) fn nats(what: impl Into<String>, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::Nats {
            what: what.into(),
            message: e.to_string(),
        }
    }
}
