//! The command-line options of `cimhunt serve`, for the CLI to flatten into its subcommand.
//! (`--detection`, `--content` and `--macros` belong to the CLI, as in `hunt`.)

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{
    ClockSpec, ConfigError, ForwardConfig, ServeConfig, TlsConfig, TokenConfig, parse_time,
};

/// When the scheduler's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockArg {
    /// The system clock.
    Wall,
    /// The largest `_time` received so far: replaying old data triggers the runs it would
    /// have triggered.
    Events,
}

/// Receive events over Splunk's HTTP Event Collector protocol and run the detections on
/// Enterprise Security's schedule.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file (tokens with their indexes and defaults, limits, TLS,
    /// outputs, forwarding); the options below override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port of the HEC listener [default: 127.0.0.1:8088].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,

    /// Accept this HEC token (repeatable); it may write to any index. Use the configuration
    /// file for per-token indexes, defaults, acknowledgement.
    #[arg(
        long = "token",
        value_name = "TOKEN",
        env = "CIMHUNT_HEC_TOKEN",
        hide_env_values = true
    )]
    pub tokens: Vec<String>,

    /// Directory for the event journal, the output spool and the schedule state
    /// [default: cimhunt-state]. Events acknowledged with 200 survive a crash here.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Write risk events as JSON lines to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub risk: Option<PathBuf>,

    /// Write notables as JSON lines to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub notable: Option<PathBuf>,

    /// Write result rows as JSON lines to FILE (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub rows: Option<PathBuf>,

    /// Where the scheduler's time comes from [default: wall].
    #[arg(long, value_enum, value_name = "CLOCK", conflicts_with = "now")]
    pub clock: Option<ClockArg>,

    /// Start the clock at TIME (RFC 3339 or epoch seconds) and let it advance from there.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Forward risk events (index `risk`) and notables (index `notable`), sourcetype
    /// `stash`, to the Splunk HEC at URL (`https://splunk:8088`), with retries and an
    /// on-disk spool. With --nats, the cluster's risk and notable files are followed and
    /// forwarded (docs/cluster.md).
    #[arg(long, value_name = "URL", requires = "forward_token")]
    pub forward_hec: Option<String>,

    /// The HEC token of the Splunk to forward to.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CIMHUNT_FORWARD_TOKEN",
        hide_env_values = true
    )]
    pub forward_token: Option<String>,

    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The configuration these options describe (the file, then the options over it).
    pub fn into_config(self) -> Result<ServeConfig, ConfigError> {
        let mut c = match &self.config {
            Some(path) => ServeConfig::from_toml_file_unchecked(path)?,
            None => ServeConfig::new("cimhunt-state"),
        };
        if let Some(l) = self.listen {
            c.listen = l;
        }
        for t in self.tokens {
            c.tokens.push(TokenConfig::new(t));
        }
        if let Some(d) = self.state_dir {
            c.state_dir = d;
        }
        if self.risk.is_some() {
            c.outputs.risk = self.risk;
        }
        if self.notable.is_some() {
            c.outputs.notable = self.notable;
        }
        if self.rows.is_some() {
            c.outputs.rows = self.rows;
        }
        if let Some(now) = &self.now {
            c.clock =
                ClockSpec::StartingAt(parse_time(now).map_err(|message| ConfigError::Invalid {
                    path: None,
                    message: format!("--now: {message}"),
                })?);
        }
        match self.clock {
            Some(ClockArg::Events) => c.clock = ClockSpec::Events,
            Some(ClockArg::Wall) => c.clock = ClockSpec::Wall,
            None => {}
        }
        if let (Some(url), Some(token)) = (self.forward_hec, self.forward_token) {
            c.forward = Some(match c.forward.take() {
                Some(f) => ForwardConfig { url, token, ..f },
                None => ForwardConfig::new(url, token),
            });
        }
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            c.tls = Some(TlsConfig { cert, key });
        }
        c.validate().map_err(|message| ConfigError::Invalid {
            path: self.config.clone(),
            message,
        })?;
        Ok(c)
    }
}
