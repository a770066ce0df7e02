//! Connecting to NATS and creating what the cluster needs there: three streams, the workers'
//! durable consumer and three key-value buckets, each created when missing and left as they are
//! when present (so an operator may tune limits with the `nats` tool, and every process can
//! start in any order).

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, stream};

use crate::error::ClusterError;
use crate::names::{CONSUMER, Names};

/// How to reach the NATS server and how to log in.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    url: String,
    names: Names,
    creds: Option<PathBuf>,
    user: Option<(String, String)>,
    token: Option<String>,
    ca: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    require_tls: bool,
    name: String,
    topology: Topology,
}

/// Limits of the streams and the consumer, used when they are created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// How long a message may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// The raw events stream's size limit in bytes; publishers wait while it is full.
    pub events_max_bytes: i64,
    /// How long JetStream remembers message ids of raw events (publish de-duplication).
    pub events_duplicate_window: Duration,
    /// How long JetStream remembers message ids of partial states.
    pub partials_duplicate_window: Duration,
    /// How long partial states are kept (longer than the longest window and the reduce grace).
    pub partials_max_age: Duration,
    /// How long outputs are kept.
    pub outputs_max_age: Duration,
    /// How long a reducer's lease lasts without renewal.
    pub lease: Duration,
    /// How long a worker's heartbeat lasts.
    pub heartbeat: Duration,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            ack_wait: Duration::from_secs(60),
            events_max_bytes: 1 << 30,
            events_duplicate_window: Duration::from_secs(120),
            partials_duplicate_window: Duration::from_secs(120),
            partials_max_age: Duration::from_secs(48 * 3600),
            outputs_max_age: Duration::from_secs(7 * 24 * 3600),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(30),
        }
    }
}

impl NatsOptions {
    /// A server (`nats://host:4222`, `tls://host:4222`; several separated by commas) and the
    /// prefix of every name the cluster uses there.
    pub fn new(url: impl Into<String>, prefix: &str) -> Result<NatsOptions, ClusterError> {
        Ok(NatsOptions {
            url: url.into(),
            names: Names::new(prefix)?,
            creds: None,
            user: None,
            token: None,
            ca: None,
            client_cert: None,
            require_tls: false,
            name: "cimhunt".to_owned(),
            topology: Topology::default(),
        })
    }

    /// Logs in with a credentials file (a user JWT and its NKey seed).
    pub fn creds(mut self, path: PathBuf) -> Self {
        self.creds = Some(path);
        self
    }

    /// Logs in with a user name and password.
    pub fn user(mut self, user: String, password: String) -> Self {
        self.user = Some((user, password));
        self
    }

    /// Logs in with a token.
    pub fn token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    /// Trusts the certificate authorities of a PEM file (for a server with its own CA).
    pub fn ca(mut self, path: PathBuf) -> Self {
        self.ca = Some(path);
        self
    }

    /// Presents a client certificate (mutual TLS).
    pub fn client_cert(mut self, cert: PathBuf, key: PathBuf) -> Self {
        self.client_cert = Some((cert, key));
        self
    }

    /// Refuses to talk to the server without TLS.
    pub fn require_tls(mut self, on: bool) -> Self {
        self.require_tls = on;
        self
    }

    /// The connection name the server shows (`nats server report connections`).
    pub fn connection_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Stream and consumer limits used when they are created.
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    /// The names.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The server URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn connect_options(&self) -> Result<async_nats::ConnectOptions, ClusterError> {
        let mut o = async_nats::ConnectOptions::new()
            .name(&self.name)
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5));
        if let Some(path) = &self.creds {
            o = o.credentials_file(path).await.map_err(|e| {
                ClusterError::Config(format!("--nats-creds {}: {e}", path.display()))
            })?;
        }
        if let Some((user, password)) = &self.user {
            o = o.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            o = o.token(token.clone());
        }
        if let Some(ca) = &self.ca {
            o = o.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.client_cert {
            o = o.add_client_certificate(cert.clone(), key.clone());
        }
        if self.require_tls || self.ca.is_some() || self.client_cert.is_some() {
            o = o.require_tls(true);
        }
        Ok(o)
    }
}

/// A connection with every stream, consumer and bucket in place.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) names: Names,
    pub(crate) topology: Topology,
    pub(crate) events: stream::Stream,
    pub(crate) partials: stream::Stream,
    pub(crate) outputs: stream::Stream,
    pub(crate) state: kv::Store,
    pub(crate) lease: kv::Store,
    pub(crate) workers: kv::Store,
}

impl Cluster {
    /// Connects and creates whatever is missing. Waits for the server while it cannot be
    /// reached at first (the first attempt must answer within a few seconds).
    pub async fn open(options: &NatsOptions) -> Result<Cluster, ClusterError> {
        let connect = options.connect_options().await?;
        let client = tokio::time::timeout(Duration::from_secs(20), connect.connect(&options.url))
            .await
            .map_err(|_| ClusterError::Connect {
                url: options.url.clone(),
                message: "no answer within 20 s".to_owned(),
            })?
            .map_err(|e| ClusterError::Connect {
                url: options.url.clone(),
                message: e.to_string(),
            })?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .build(client.clone());
        let names = options.names.clone();
        let t = &options.topology;
        let events = ensure_stream(
            &js,
            stream::Config {
                name: names.events_stream(),
                description: Some("cimhunt: raw events waiting for a worker".to_owned()),
                subjects: vec![names.events_all()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                max_bytes: t.events_max_bytes,
                discard: stream::DiscardPolicy::New,
                duplicate_window: t.events_duplicate_window,
                ..Default::default()
            },
        )
        .await?;
        let partials = ensure_stream(
            &js,
            stream::Config {
                name: names.partials_stream(),
                description: Some("cimhunt: partial states of detections".to_owned()),
                subjects: vec![names.partials_all()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: t.partials_max_age,
                duplicate_window: t.partials_duplicate_window,
                ..Default::default()
            },
        )
        .await?;
        let outputs = ensure_stream(
            &js,
            stream::Config {
                name: names.outputs_stream(),
                description: Some("cimhunt: rows, risk events and notables".to_owned()),
                subjects: vec![names.outputs_all()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: t.outputs_max_age,
                duplicate_window: t.lease.max(Duration::from_secs(600)) * 2,
                ..Default::default()
            },
        )
        .await?;
        let state = ensure_kv(&js, &names.state_bucket(), Duration::ZERO).await?;
        let lease = ensure_kv(&js, &names.lease_bucket(), t.lease).await?;
        let workers = ensure_kv(&js, &names.workers_bucket(), t.heartbeat).await?;
        Ok(Cluster {
            client,
            js,
            names,
            topology: t.clone(),
            events,
            partials,
            outputs,
            state,
            lease,
            workers,
        })
    }

    /// The names in use.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The workers' durable pull consumer, created when missing.
    pub async fn consumer(&self) -> Result<consumer::PullConsumer, ClusterError> {
        let config = consumer::pull::Config {
            durable_name: Some(CONSUMER.to_owned()),
            description: Some("cimhunt workers".to_owned()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.topology.ack_wait,
            max_deliver: -1,
            max_ack_pending: 10_000,
            ..Default::default()
        };
        let mut last = None;
        for _ in 0..3 {
            match self
                .events
                .get_or_create_consumer(CONSUMER, config.clone())
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(ClusterError::nats(
            format!("creating consumer {CONSUMER}"),
            last.unwrap_or_default(),
        ))
    }

    /// The largest payload the server accepts in one message.
    pub(crate) fn max_payload(&self) -> usize {
        self.client.server_info().max_payload.max(64 << 10)
    }
}

/// JetStream's error code for a stream whose limits exceed the storage the server has left.
const INSUFFICIENT_STORAGE: &str = "10047";

async fn ensure_stream(
    js: &jetstream::Context,
    config: stream::Config,
) -> Result<stream::Stream, ClusterError> {
    let name = config.name.clone();
    let mut last = String::new();
    // Two processes starting together may both try to create it: the loser finds it.
    for _ in 0..3 {
        match js.get_or_create_stream(config.clone()).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
        if last.contains(INSUFFICIENT_STORAGE) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if last.contains(INSUFFICIENT_STORAGE) && config.max_bytes > 0 {
        last = format!(
            "{last}; the stream asks the server to set {} MiB of its file storage aside, and \
             the server has less (its max_file_store, which by default follows its disk's free \
             space): give it more, or ask for less with --nats-events-mib",
            config.max_bytes >> 20
        );
    }
    Err(ClusterError::nats(format!("creating stream {name}"), last))
}

async fn ensure_kv(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
) -> Result<kv::Store, ClusterError> {
    // The bucket's stream is made here as the client's `create_key_value` would make it:
    // that call first reads the account's information, which the client cannot parse from a
    // 2.9 server (Debian's).
    let config = stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(format!("cimhunt: key-value bucket {bucket}")),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    ensure_stream(js, config).await?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| ClusterError::nats(format!("opening bucket {bucket}"), e))
}
