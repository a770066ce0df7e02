//! `ServeConfig`: everything `cimhunt serve` needs, read from a TOML file and the command line.
//!
//! Every key is documented in `docs/serve.md` ("Configuration") and shown in
//! `crates/serve/examples/serve.toml`. Unknown keys are errors, so a misspelt limit is not
//! silently ignored.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cimhunt_spl::time::Timestamp;
use serde::Deserialize;

use crate::schedule::SimClock;

/// A HEC token and what it allows (the settings of an `[http://NAME]` stanza in Splunk's
/// inputs.conf: `token`, `indexes`, `index`, `sourcetype`, `source`, `host`, `disabled`,
/// `useACK`, `allowQueryStringAuth`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret the client sends.
    pub value: String,
    /// A name for logs and reports (never the value).
    #[serde(default)]
    pub name: Option<String>,
    /// Indexes the token may write to; empty: any index.
    #[serde(default)]
    pub indexes: Vec<String>,
    /// The index of events that name none (`main` when unset, as in Splunk).
    #[serde(default)]
    pub default_index: Option<String>,
    /// Default `sourcetype`.
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// Default `source`.
    #[serde(default)]
    pub source: Option<String>,
    /// Default `host`.
    #[serde(default)]
    pub host: Option<String>,
    /// A disabled token is refused with code 1.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Indexer acknowledgement (`useACK`): requests need a channel and get an `ackId`.
    #[serde(default)]
    pub ack: bool,
    /// Accept this token as the `token` query parameter (`allowQueryStringAuth`).
    #[serde(default)]
    pub allow_query_string_auth: bool,
}

fn yes() -> bool {
    true
}

impl TokenConfig {
    /// An enabled token with no restriction and no default, as `--token` gives.
    pub fn new(value: impl Into<String>) -> TokenConfig {
        TokenConfig {
            value: value.into(),
            name: None,
            indexes: Vec::new(),
            default_index: None,
            sourcetype: None,
            source: None,
            host: None,
            enabled: true,
            ack: false,
            allow_query_string_auth: false,
        }
    }

    /// The name to show in logs: the configured name, else a placeholder (never the value).
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("(unnamed token)")
    }

    /// The index for an event that names `requested` (or none).
    pub fn index_for<'a>(&'a self, requested: Option<&'a str>) -> &'a str {
        requested
            .or(self.default_index.as_deref())
            .unwrap_or("main")
    }

    /// Whether the token may write to `index`.
    pub fn allows_index(&self, index: &str) -> bool {
        self.indexes.is_empty() || self.indexes.iter().any(|i| i == index)
    }
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("value", &"<redacted>")
            .field("name", &self.name)
            .field("indexes", &self.indexes)
            .field("default_index", &self.default_index)
            .field("enabled", &self.enabled)
            .field("ack", &self.ack)
            .finish_non_exhaustive()
    }
}

/// Size and count limits. Defaults in `docs/serve.md`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body as sent (compressed or not), in bytes.
    pub max_content_length: usize,
    /// Largest body after gzip decompression, in bytes (the gzip-bomb guard).
    pub max_decompressed_length: usize,
    /// Deepest nesting of an `event` object or array.
    pub max_json_depth: usize,
    /// Longest `/raw` line, in bytes.
    pub max_line_length: usize,
    /// Events accepted but not yet taken by the engine; beyond it requests get 503.
    pub max_pending_events: usize,
    /// Journaled bytes of those events (what bounds their memory); beyond it requests get 503.
    pub max_pending_bytes: usize,
    /// Requests whose bodies are read at once; beyond it requests get 503.
    pub max_concurrent_requests: usize,
    /// Indexer-acknowledgement channels kept at once.
    pub max_channels: usize,
    /// Acknowledgements per channel not yet queried.
    pub max_pending_acks: usize,
    /// A channel unused this long (seconds) is forgotten.
    pub channel_idle_seconds: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_content_length: 16 << 20,
            max_decompressed_length: 64 << 20,
            max_json_depth: 64,
            max_line_length: 1 << 20,
            max_pending_events: 200_000,
            max_pending_bytes: 32 << 20,
            max_concurrent_requests: 64,
            max_channels: 10_000,
            max_pending_acks: 100_000,
            channel_idle_seconds: 600,
        }
    }
}

/// The event journal.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Sync each group of appended requests to disk before replying (`false` trades the
    /// `kill -9` guarantee for a machine crash guarantee of nothing: only for benchmarks).
    pub fsync: bool,
    /// Segment size in bytes; whole segments are deleted once the engine no longer needs them.
    pub segment_bytes: u64,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            fsync: true,
            segment_bytes: 64 << 20,
        }
    }
}

/// Where rows, risk events and notables are written as JSON lines (`-` is standard output).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OutputsConfig {
    /// Result rows.
    #[serde(default)]
    pub rows: Option<PathBuf>,
    /// Risk events.
    #[serde(default)]
    pub risk: Option<PathBuf>,
    /// Notables.
    #[serde(default)]
    pub notable: Option<PathBuf>,
}

/// Forwarding risk events and notables to a Splunk HEC endpoint.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// The receiving Splunk's HEC base URL (`https://splunk.example:8088`); the path
    /// `/services/collector/event` is added.
    pub url: String,
    /// The receiving HEC token.
    pub token: String,
    /// Index of risk events.
    #[serde(default = "risk_index")]
    pub risk_index: String,
    /// Index of notables.
    #[serde(default = "notable_index")]
    pub notable_index: String,
    /// Sourcetype of both.
    #[serde(default = "stash")]
    pub sourcetype: String,
    /// Longest wait between retries, in milliseconds.
    #[serde(default = "max_backoff")]
    pub max_backoff_ms: u64,
    /// Events per HEC request.
    #[serde(default = "batch_events")]
    pub batch_events: usize,
    /// The envelopes kept in memory for windows waiting to be forwarded, in bytes; the
    /// windows beyond it wait in the spool on disk, and each is read back when its turn comes
    /// (so an unreachable Splunk delays, and does not grow the service's memory).
    #[serde(default = "max_held_bytes")]
    pub max_held_bytes: usize,
}

fn risk_index() -> String {
    "risk".into()
}
fn notable_index() -> String {
    "notable".into()
}
fn stash() -> String {
    "stash".into()
}
fn max_backoff() -> u64 {
    30_000
}
fn batch_events() -> usize {
    500
}
fn max_held_bytes() -> usize {
    32 << 20
}

impl ForwardConfig {
    /// Forwarding to `url` with `token` and ES's indexes and sourcetype.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> ForwardConfig {
        ForwardConfig {
            url: url.into(),
            token: token.into(),
            risk_index: risk_index(),
            notable_index: notable_index(),
            sourcetype: stash(),
            max_backoff_ms: max_backoff(),
            batch_events: batch_events(),
            max_held_bytes: max_held_bytes(),
        }
    }
}

impl fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardConfig")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("risk_index", &self.risk_index)
            .field("notable_index", &self.notable_index)
            .field("sourcetype", &self.sourcetype)
            .finish_non_exhaustive()
    }
}

/// TLS for the HEC listener: a PEM certificate chain and its PEM private key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// How the scheduler learns the time.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum ClockSpec {
    /// The system clock.
    #[default]
    Wall,
    /// Starts at the given time and advances with the system clock (`--now`).
    StartingAt(Timestamp),
    /// The largest `_time` received so far (`--clock events`): replaying old data triggers
    /// the runs it would have triggered.
    Events,
    /// A clock a test moves by hand.
    Simulated(SimClock),
}

/// The complete, checked configuration of one `serve` run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (`--listen`).
    pub listen: SocketAddr,
    /// TLS certificate and key; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// Directory of the journal, the spool and the schedule state (`--state-dir`).
    pub state_dir: PathBuf,
    /// Accepted tokens.
    pub tokens: Vec<TokenConfig>,
    /// Limits.
    pub limits: Limits,
    /// Journal settings.
    pub journal: JournalConfig,
    /// File outputs.
    pub outputs: OutputsConfig,
    /// HEC forwarding.
    pub forward: Option<ForwardConfig>,
    /// The clock.
    pub clock: ClockSpec,
    /// How often the scheduler looks at the clock, in milliseconds.
    pub tick_ms: u64,
}

impl ServeConfig {
    /// Defaults: `127.0.0.1:8088`, no token, the given state directory, the wall clock.
    pub fn new(state_dir: impl Into<PathBuf>) -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            tls: None,
            state_dir: state_dir.into(),
            tokens: Vec::new(),
            limits: Limits::default(),
            journal: JournalConfig::default(),
            outputs: OutputsConfig::default(),
            forward: None,
            clock: ClockSpec::Wall,
            tick_ms: 1000,
        }
    }

    /// Reads a TOML configuration file.
    pub fn from_toml_file(path: &Path) -> Result<ServeConfig, ConfigError> {
        let c = ServeConfig::from_toml_file_unchecked(path)?;
        c.validate().map_err(|message| ConfigError::Invalid {
            path: Some(path.to_owned()),
            message,
        })?;
        Ok(c)
    }

    /// Reads a TOML configuration file without the final checks (command-line options may
    /// still add tokens).
    pub fn from_toml_file_unchecked(path: &Path) -> Result<ServeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        ServeConfig::parse_toml(&text).map_err(|e| match e {
            ConfigError::Toml { message, .. } => ConfigError::Toml {
                path: Some(path.to_owned()),
                message,
            },
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: Some(path.to_owned()),
                message,
            },
            other => other,
        })
    }

    /// Reads a TOML configuration from text.
    pub fn from_toml_str(text: &str) -> Result<ServeConfig, ConfigError> {
        let c = ServeConfig::parse_toml(text)?;
        c.validate().map_err(|message| ConfigError::Invalid {
            path: None,
            message,
        })?;
        Ok(c)
    }

    fn parse_toml(text: &str) -> Result<ServeConfig, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: None,
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: None,
            message,
        };
        let mut config = ServeConfig::new(file.state_dir.unwrap_or_else(|| "cimhunt-state".into()));
        if let Some(listen) = file.listen {
            config.listen = listen
                .parse()
                .map_err(|_| invalid(format!("listen: `{listen}` is not ADDRESS:PORT")))?;
        }
        config.tls = file.tls;
        config.tokens = file.tokens;
        config.limits = file.limits;
        config.journal = file.journal;
        config.outputs = file.outputs;
        config.forward = file.forward;
        config.tick_ms = file.tick_ms.unwrap_or(1000);
        config.clock = match (file.clock.as_deref(), file.now) {
            (None | Some("wall"), None) => ClockSpec::Wall,
            (None | Some("wall"), Some(now)) => {
                ClockSpec::StartingAt(parse_time(&now).map_err(invalid)?)
            }
            (Some("events"), None) => ClockSpec::Events,
            (Some("events"), Some(_)) => {
                return Err(invalid(
                    "`now` and `clock = \"events\"` exclude each other".into(),
                ));
            }
            (Some(other), _) => {
                return Err(invalid(format!(
                    "clock: `{other}` is neither `wall` nor `events`"
                )));
            }
        };
        Ok(config)
    }

    /// Checks what serde cannot: at least one token, distinct token values, sane limits.
    pub fn validate(&self) -> Result<(), String> {
        if self.tokens.is_empty() {
            return Err("no HEC token: give `--token` or a `[[tokens]]` table".into());
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.value.trim().is_empty() || t.value.chars().any(char::is_whitespace) {
                return Err(format!("token {} is empty or contains whitespace", i + 1));
            }
            if self.tokens[..i].iter().any(|o| o.value == t.value) {
                return Err(format!("token {} is configured twice", t.display_name()));
            }
            if let Some(d) = &t.default_index
                && !t.allows_index(d)
            {
                return Err(format!(
                    "token {}: default_index `{d}` is not among its indexes",
                    t.display_name()
                ));
            }
        }
        let l = &self.limits;
        if l.max_content_length == 0
            || l.max_decompressed_length == 0
            || l.max_line_length == 0
            || l.max_pending_events == 0
            || l.max_pending_bytes == 0
            || l.max_concurrent_requests == 0
        {
            return Err("limits must be positive".into());
        }
        if let Some(f) = &self.forward
            && !(f.url.starts_with("http://") || f.url.starts_with("https://"))
        {
            return Err(format!("forward.url `{}` is not an http(s) URL", f.url));
        }
        Ok(())
    }
}

/// A time as `--now` takes it: RFC 3339 (`2024-05-01T10:00:00Z`) or epoch seconds.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
        .or_else(|_| Timestamp::parse_epoch_secs(text))
        .map_err(|_| format!("`{text}` is neither an RFC 3339 time nor epoch seconds"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    state_dir: Option<PathBuf>,
    clock: Option<String>,
    now: Option<String>,
    tick_ms: Option<u64>,
    tls: Option<TlsConfig>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    journal: JournalConfig,
    #[serde(default)]
    outputs: OutputsConfig,
    forward: Option<ForwardConfig>,
    #[serde(default)]
    tokens: Vec<TokenConfig>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{}{message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Toml {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The parser's message (line, column, caret).
        message: String,
    },
    /// The values are inconsistent.
    #[error("{}{message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Invalid {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_configuration_parses() {
        let text = include_str!("../examples/serve.toml");
        let c = ServeConfig::from_toml_str(text).unwrap();
        assert_eq!(c.tokens.len(), 2);
        assert!(c.tokens[1].ack);
        assert_eq!(c.forward.as_ref().unwrap().risk_index, "risk");
        assert!(!format!("{c:?}").contains("00000000-0000-0000-0000-000000000001"));
    }

    #[test]
    fn a_misspelt_key_is_an_error_with_its_position() {
        let err = ServeConfig::from_toml_str("[[tokens]]\nvalue = \"t\"\n[limits]\nmax_body = 5\n")
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("max_body"), "{text}");
        assert!(text.contains("line 4"), "{text}");
    }

    #[test]
    fn a_default_index_outside_the_allowed_ones_is_refused() {
        let err = ServeConfig::from_toml_str(
            "[[tokens]]\nvalue = \"t\"\nindexes = [\"a\"]\ndefault_index = \"b\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("default_index"), "{err}");
    }
}
