//! Command-line arguments.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit-status policy, shown by `--help` (the same text as the README's).
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success: every input was read and every loadable detection ran (rows or not)
  1  findings: rows with --fail-on-match; a failed test (`cimhunt test`)
  2  an error in inputs, arguments or output: an input that cannot be read, a skipped
     record with --strict, a bad option, a full disk; `test` when no test could run
  3  an error in content: a detection or macro file that does not load, a search that
     does not compile (e.g. an undefined macro); the other detections still ran.
     --content-errors warn makes these warnings, except when no detection can run at all.
When several apply, 2 wins over 3, and 3 over 1. Detections using SPL that cimhunt does not
run yet are skipped with a note, not an error. A closed output pipe (`| head`) is not an
error. An empty file is passed over, named or found in a directory.";

/// Run Splunk ESCU detections on raw endpoint telemetry, without Splunk.
///
/// cimhunt reads Windows events (Sysmon, Security, System, PowerShell and the other channels) and
/// CrowdStrike events as people hold them (EVTX, XmlWinEventLog exports, evtx_dump JSON, EDR JSON
/// lines; gzip or zstd), presents each as the Windows and Sysmon add-ons and the CIM data models
/// do (search-time fields, event types, tags; Endpoint, Network and other datasets), and runs
/// ESCU's detections on them (`tstats` and raw searches) with Splunk's semantics, returning the
/// rows Splunk would return and the risk events and notables Enterprise Security would raise.
#[derive(Debug, Parser)]
#[command(
    name = "cimhunt",
    version,
    max_term_width = 100,
    propagate_version = true,
    after_help = EXIT_STATUS
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run detections over telemetry and print the result rows (and risk events).
    ///
    /// Without --detection, runs the embedded default: Windows MSIExec Remote Download. Without
    /// PATH, runs over a small embedded sample that contains a true positive.
    #[command(after_help = EXIT_STATUS)]
    Hunt(HuntArgs),
    /// Print events as a data model's dataset (Endpoint.Processes by default) or a raw search
    /// presents them.
    ///
    /// The view to use when a detection does not fire: it shows every field a where-clause sees.
    #[command(after_help = EXIT_STATUS)]
    Events(EventsArgs),
    /// Show a detection's expanded search, compiled plan and the literals used to skip records.
    #[command(after_help = EXIT_STATUS)]
    Explain(ExplainArgs),
    /// Compile every detection of a content checkout and report coverage.
    Check(CheckArgs),
    /// Replay each detection's `tests:` attack data and decide PASS/FAIL as contentctl does.
    #[command(after_help = EXIT_STATUS)]
    Test(TestArgs),
    /// Receive events over Splunk's HTTP Event Collector and run the detections on ES's schedule.
    ///
    /// Any HEC client can send (`/services/collector/event`, `/raw`, with acknowledgement). Each
    /// detection runs hourly over -70m@m to -10m@m, as ESCU schedules it, and its rows, risk
    /// events and notables go to --rows, --risk, --notable (JSON lines). SIGTERM stops after
    /// running every window that holds a received event. The service runs with
    /// MIMALLOC_PURGE_DELAY=10 (freed memory returned after 10 ms) unless it is already set.
    /// Logs go to standard error; RUST_LOG sets what is logged: a level, or a level and
    /// target=level directives (`warn,cimhunt_serve=debug`; default `info,evtx=error`).
    Serve(Box<crate::cmd::ServeCmdArgs>),
    /// Run detections on a NATS JetStream cluster's events (see docs/cluster.md).
    ///
    /// Pulls raw events from the cluster's queue (shared by every worker), runs the detections,
    /// publishes partial states, and, when it holds the reducer lease, turns each scheduled
    /// window into rows, risk events and notables on the OUTPUTS stream. Every worker of a
    /// cluster must load the same detections and data model.
    Worker(WorkerArgs),
    /// Publish telemetry files to a NATS JetStream cluster's live stream (see docs/cluster.md).
    Publish(PublishArgs),
    /// Show a NATS JetStream cluster's queue, workers and windows (see docs/cluster.md).
    Status(StatusArgs),
}

/// Which detections and macros to use.
#[derive(Debug, Args, Clone, Default)]
pub struct ContentArgs {
    /// A detection YAML file, or a directory searched recursively for them. Repeatable.
    /// Default: the embedded Windows MSIExec Remote Download.
    #[arg(long = "detection", short = 'd', value_name = "PATH")]
    pub detections: Vec<PathBuf>,
    /// A security_content checkout: macros are read from DIR/macros.
    #[arg(long, value_name = "DIR", env = "CIMHUNT_CONTENT")]
    pub content: Option<PathBuf>,
    /// Macro overrides, e.g. to tune a `<detection>_filter` macro: a file (ESCU-style YAML, a
    /// YAML list of macros, or Splunk macros.conf) or a directory of them (`*.yml`, `*.yaml`,
    /// `*.conf`, read in name order). Repeatable; later definitions win.
    #[arg(long = "macros", value_name = "PATH")]
    pub macros: Vec<PathBuf>,
    /// What errors in content do to the exit status: `fail` (status 3) or `warn` (printed as
    /// warnings; the status reflects the detections that ran).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = ContentErrors::Fail)]
    pub content_errors: ContentErrors,
    /// List every detection that was skipped, under its reason (by default one line per reason).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// A directory of lookup tables (definitions `*.yml` and `*.csv` files) replacing the
    /// content's `lookups/`, e.g. edited allow lists or KV store baselines as CSV.
    #[arg(long, value_name = "DIR")]
    pub lookups: Option<PathBuf>,
}

/// `--content-errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ContentErrors {
    /// Content errors fail the run (exit status 3).
    #[default]
    Fail,
    /// Content errors are warnings.
    Warn,
}

/// How events are presented: which add-on and CIM versions to emulate.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// The add-on and CIM versions events are presented as. `escu` (the default) is what ESCU's
    /// test harness installs: Windows add-on 8.8.0, Sysmon add-on 4.0.0, CIM 5.2.0.
    #[arg(long, value_name = "NAME", default_value = "escu")]
    pub profile: String,
    /// Apply an overlay to the profile (repeatable): `cim-6-process-name` (CIM 6.x
    /// process_name fallback), `sysmon-user-keeps-domain` (Sysmon `user` keeps `DOMAIN\`).
    #[arg(long = "overlay", value_name = "NAME")]
    pub overlays: Vec<String>,
    /// Read the profile's tables from this directory instead of the built-in ones (for other
    /// add-on versions; see `crates/model/tables/README.md`).
    #[arg(long, value_name = "DIR")]
    pub tables: Option<PathBuf>,
    /// CrowdStrike aid → host name inventory (CSV with `aid` and `ComputerName` columns), the
    /// `crowdstrike_aidmaster` lookup that fills `dest` for events without `ComputerName`.
    #[arg(long, value_name = "FILE")]
    pub crowdstrike_aidmaster: Option<PathBuf>,
}

/// How a run reads and reports.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Turn off the shortcuts: decode every record, even those no detection can match; evaluate
    /// every detection on every event, each on its own (rather than once for detections that
    /// aggregate the same events the same way); and keep every group of an aggregation until
    /// the commands after it run (rather than dropping, when it would start, a group that a
    /// filter on its by-fields drops anyway); and finish every subsearch before its search's
    /// commands (rather than only when a command reads it: a `join` reached by no rows never
    /// needs it). The rows are the same, only slower; for checking.
    #[arg(long)]
    pub no_prefilter: bool,
    /// Decode every record (records no detection can match are otherwise skipped undecoded, so
    /// damage in them goes unseen), and exit with status 2 if any record or input was skipped.
    #[arg(long)]
    pub strict: bool,
    /// Print at most this many skipped-record messages (the counts are always complete).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_errors: usize,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// The time the search runs at, for `now()` and `relative_time()` (RFC 3339 or epoch
    /// seconds); the current time by default. Pin it for reproducible runs.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Budget: groups one aggregation (stats, tstats, eventstats) may hold; a detection that
    /// needs more fails with an error naming the limit.
    #[arg(long, value_name = "N")]
    pub max_groups: Option<usize>,
    /// Budget: distinct values one values()/dc() may hold in one group.
    #[arg(long, value_name = "N")]
    pub max_values: Option<usize>,
    /// Budget: rows a search without aggregation may keep, or one command may produce.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,
    /// Aggregation state (an estimate, in MiB) a run keeps in memory; beyond it the largest
    /// states go to a temporary file and are merged back when the run ends, so the rows are
    /// the same. Finishing a detection keeps about this much too (its merged groups, what
    /// `stats` and `eventstats` over rows hold, its result rows, and CSV's rows until its
    /// end), the rest on disk. 0 keeps everything in memory.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub state_memory: u64,
    /// Folder for that temporary file (default: the system's temporary folder, TMPDIR). The
    /// file is removed as it is created, so nothing is left behind.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

/// `cimhunt hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Files or directories of telemetry (`-` for standard input). Default: the embedded sample.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub content: ContentArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format for the result rows.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Write risk events (JSON lines, one per risk object of each row) to FILE.
    #[arg(long, value_name = "FILE")]
    pub risk: Option<PathBuf>,
    /// Write notable events (JSON lines, one per row) to FILE.
    #[arg(long, value_name = "FILE")]
    pub notable: Option<PathBuf>,
    /// Time zone for `convert ctime` (firstTime, lastTime), e.g. America/New_York.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// Exit with status 1 when any detection returned rows (for CI).
    #[arg(long)]
    pub fail_on_match: bool,
    /// After the summary, list each detection that matched events: how many reached its
    /// aggregation (or its rows) and how many rows it returned, most matches first. What
    /// makes a run slow or noisy, to tune or filter. Not with --nats.
    #[arg(long)]
    pub per_detection: bool,
    #[command(flatten)]
    pub nats: NatsArgs,
}

/// `cimhunt events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Files or directories of telemetry (`-` for standard input). Default: the embedded sample.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Show the events of this dataset as a `tstats` over it sees them (e.g. `Endpoint.Registry`,
    /// `Network_Traffic.All_Traffic`). Default: `Endpoint.Processes`.
    #[arg(long, value_name = "DATASET", conflicts_with = "raw")]
    pub datamodel: Option<String>,
    /// Show every event with all its search-time fields, as a raw search sees them (Splunk's
    /// field sidebar).
    #[arg(long)]
    pub raw: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Jsonl)]
    pub format: FormatArg,
}

/// `cimhunt explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub content: ContentArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `cimhunt check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A security_content checkout (detections/ and macros/).
    #[arg(long, value_name = "DIR", env = "CIMHUNT_CONTENT")]
    pub content: PathBuf,
    /// Additional macro override files, or directories of them.
    #[arg(long = "macros", value_name = "PATH")]
    pub macros: Vec<PathBuf>,
    /// A directory of lookup tables replacing the content's `lookups/`.
    #[arg(long, value_name = "DIR")]
    pub lookups: Option<PathBuf>,
    /// Name every detection that does not run, with why.
    #[arg(long)]
    pub list: bool,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `cimhunt test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub content: ContentArgs,
    /// A local checkout of splunk/attack_data (with its Git LFS objects); test URLs are mapped
    /// onto it. No test that can run is an error (exit status 2).
    #[arg(long, value_name = "DIR")]
    pub attack_data: PathBuf,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `--format` for rows and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A readable table.
    Table,
    /// One JSON array.
    Json,
    /// JSON lines.
    Jsonl,
    /// CSV with one header naming every column (written at the end).
    Csv,
}

/// `--format` for `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A readable summary.
    Text,
    /// One JSON object.
    Json,
}

/// Where a NATS JetStream cluster is and how to log in (`--nats` turns `hunt` into a batch run
/// on the cluster's workers).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Cluster (NATS JetStream)")]
pub struct NatsArgs {
    /// The NATS server: nats://HOST:4222 or tls://HOST:4222 (several separated by commas).
    /// With `hunt`, the inputs are processed by the cluster's workers; with `serve`, the HEC
    /// requests are published to them and their outputs written to --rows/--risk/--notable.
    #[arg(long = "nats", value_name = "URL")]
    pub nats: Option<String>,
    /// The prefix of the cluster's streams, consumer and buckets (several clusters can share a
    /// server).
    #[arg(long, value_name = "NAME", default_value = "cimhunt")]
    pub nats_prefix: String,
    /// Log in with a credentials file (user JWT and NKey seed).
    #[arg(long, value_name = "FILE", env = "CIMHUNT_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
    /// Log in with this user name (and --nats-password).
    #[arg(
        long,
        value_name = "USER",
        env = "CIMHUNT_NATS_USER",
        requires = "nats_password"
    )]
    pub nats_user: Option<String>,
    /// The password for --nats-user.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "CIMHUNT_NATS_PASSWORD",
        hide_env_values = true
    )]
    pub nats_password: Option<String>,
    /// Log in with a token.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CIMHUNT_NATS_TOKEN",
        hide_env_values = true
    )]
    pub nats_token: Option<String>,
    /// Trust the certificate authorities in this PEM file (implies TLS).
    #[arg(long, value_name = "FILE")]
    pub nats_ca: Option<PathBuf>,
    /// Present this client certificate (PEM; with --nats-key; implies TLS).
    #[arg(long, value_name = "FILE", requires = "nats_key")]
    pub nats_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "nats_cert")]
    pub nats_key: Option<PathBuf>,
    /// Refuse to connect without TLS.
    #[arg(long)]
    pub nats_tls: bool,
    /// The size limit of the raw events stream in MiB, set when the stream is created (an
    /// existing stream keeps its own). JetStream sets this much of the server's file storage
    /// aside; publishers wait while the stream is full.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u64).range(1..=1 << 30)
    )]
    pub nats_events_mib: u64,
}

impl NatsArgs {
    /// The streams' limits these arguments ask for (the others at their defaults).
    pub fn topology(&self) -> cimhunt_cluster::Topology {
        cimhunt_cluster::Topology {
            events_max_bytes: i64::try_from(self.nats_events_mib << 20).unwrap_or(i64::MAX),
            ..cimhunt_cluster::Topology::default()
        }
    }
}

/// `cimhunt worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub content: ContentArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Time zone for `convert ctime` (firstTime, lastTime), e.g. America/New_York.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// The schedule's clock: `wall` (the system clock), or `events` (the time of the events
    /// received, for replays of old data).
    #[arg(long, value_enum, default_value_t = ClockArg::Wall)]
    pub clock: ClockArg,
    /// Never reduce windows (process events only).
    #[arg(long)]
    pub no_reduce: bool,
    /// Stop once the queue is empty, after running every window that holds received events.
    #[arg(long)]
    pub drain: bool,
    /// The worker's name in `cimhunt status` (letters, digits, '-', '_').
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace the job (detections, data model) registered on the cluster by this worker's.
    #[arg(long)]
    pub replace_job: bool,
    /// How long a due window waits for queued events before it runs anyway, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub reduce_grace: u64,
    /// Seconds a message may stay unacknowledged before it goes to another worker (used when
    /// the workers' consumer is created).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub ack_wait: u64,
    /// Print only warnings.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The system clock.
    Wall,
    /// The events' own time.
    Events,
}

/// `cimhunt publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Files or directories of telemetry (`-` for standard input).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub nats: NatsArgs,
    /// This publisher's name, part of every message id: publishing the same file again under
    /// the same name is recognised and dropped. Default: the HOSTNAME environment variable.
    #[arg(long, value_name = "NAME")]
    pub publisher_id: Option<String>,
    /// Largest message, in KiB of records before compression.
    #[arg(long, value_name = "KIB", default_value_t = 512)]
    pub max_message_kib: usize,
    /// The events' `source` (default: from each event, as a local run sets it).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// The events' `sourcetype`.
    #[arg(long, value_name = "SOURCETYPE")]
    pub sourcetype: Option<String>,
    /// The events' `host`.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// The events' `index`.
    #[arg(long, value_name = "INDEX")]
    pub index: Option<String>,
    /// Never show progress.
    #[arg(long)]
    pub no_progress: bool,
}

/// `cimhunt status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}
