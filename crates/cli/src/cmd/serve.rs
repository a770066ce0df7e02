//! `cimhunt serve`: receive events over Splunk's HTTP Event Collector protocol and run the
//! detections on Enterprise Security's schedule, writing the rows, risk events and notables each
//! window raises (the service is `cimhunt-serve`, the engine behind it `cimhunt-serve-engine`;
//! `docs/serve.md` documents both). With `--nats URL` the service publishes to a NATS
//! JetStream cluster instead (`serve_nats.rs`, `docs/cluster.md`).

use std::num::NonZeroUsize;
use std::sync::Arc;

use cimhunt_serve::{ServeArgs, ServeReport};
use cimhunt_serve_engine::EngineSink;
use clap::Args;

use crate::args::{ContentArgs, ModelArgs, NatsArgs, RunArgs};
use crate::cmd::Exit;
use crate::setup;
use crate::ui::Ui;

/// `cimhunt serve`.
#[derive(Debug, Args)]
pub struct ServeCmdArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub content: ContentArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// With --nats: publish every accepted request to the cluster's events stream (its workers
    /// run the detections) and write the cluster's outputs to --rows, --risk, --notable.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Worker threads of the engine (default: all cores); windows of different detections that
    /// are due together run on as many threads.
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Time zone for `convert ctime` (firstTime, lastTime), e.g. America/New_York.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// Aggregation state (an estimate, in MiB) the engine keeps in memory; beyond it the
    /// largest time buckets go to a temporary file, and a window that closes reads its buckets
    /// back, so the rows are the same; a window's merged groups, its `stats` and `eventstats`
    /// over rows, and the states shared by detections waiting for their other windows keep
    /// what they hold beyond it on disk too, and so does its output (rows, risk events and
    /// notables beyond a quarter of it each) until it is spooled. 0 keeps everything in memory.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub state_memory: u64,
    /// Folder for that temporary file (default: the system's temporary folder, TMPDIR). The
    /// file is removed as it is created, and emptied as windows take their buckets back; a
    /// window that takes more than 4 MiB of them at once keeps them in a file of its own there,
    /// removed the same way.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<std::path::PathBuf>,
}

/// Runs the subcommand.
pub fn run_serve(args: ServeCmdArgs) -> Exit {
    // Before anything else: on success this process is replaced by the same command.
    let not_set = crate::allocator::serve_with_short_purge_delay();
    init_logging();
    if let Some(e) = not_set {
        tracing::warn!(
            "could not restart with {}={}: {e}; the allocator keeps freed memory for its default time",
            crate::allocator::PURGE_DELAY_VAR,
            crate::allocator::SERVE_PURGE_DELAY_MS
        );
    }
    let mut ui = Ui::new(20);
    let config = match args.serve.into_config() {
        Ok(c) => c,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    if args.nats.nats.is_some() {
        return super::serve_nats::run_serve_nats(&args.nats, &args.content, config, ui);
    }
    let Some(tz) = setup::time_zone(&args.tz, &mut ui) else {
        return Exit::Error;
    };
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, mut loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return Exit::Error;
    };
    // Windows, state and outputs are keyed by the detection's name: keep the first of each.
    let mut names = std::collections::HashSet::new();
    loaded.retain(|l| {
        let first = names.insert(l.detection.name.clone());
        if !first {
            ui.warn(format!(
                "{}: {}: skipped, another detection has this name",
                l.origin(),
                l.detection.name
            ));
        }
        first
    });
    if loaded.is_empty() {
        ui.error("no detection to run");
        return Exit::Error;
    }
    let run = RunArgs {
        threads: args.threads,
        no_prefilter: false,
        strict: false,
        max_errors: 20,
        no_progress: true,
        now: None,
        max_groups: None,
        max_values: None,
        max_rows: None,
        state_memory: args.state_memory,
        spill_dir: args.spill_dir.clone(),
    };
    // The sink hands a shared state to each detection that shares it.
    let Some(job) = setup::job(&model, &loaded, &run, true, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&run, &mut ui) else {
        return Exit::Error;
    };
    options.tz = tz;
    let details = loaded.into_iter().map(|l| l.detection).collect();
    let sink = match EngineSink::builder(Arc::new(job), details)
        .options(options)
        .build()
    {
        Ok(s) => s,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    ui.note(format!(
        "serving {} detection(s) on ESCU's schedule, state in {}",
        cimhunt_serve::Sink::detections(&sink).len(),
        config.state_dir.display()
    ));
    match cimhunt_serve::run_blocking(config, Arc::new(sink)) {
        Ok(report) => {
            eprintln!("{}", summary(&report));
            Exit::Ok
        }
        Err(e) => {
            ui.error(e);
            Exit::Error
        }
    }
}

pub(super) fn summary(r: &ServeReport) -> String {
    let mut s = format!(
        "stopped: {} request(s) accepted, {} refused, {} event(s); {} window(s) run",
        r.requests_accepted, r.requests_refused, r.events_accepted, r.windows_run
    );
    if r.replayed.0 > 0 {
        s.push_str(&format!(
            "; {} event(s) replayed from the journal",
            r.replayed.1
        ));
    }
    for (n, what) in [
        (r.windows_failed, "window(s) failed"),
        (r.late_events, "late event(s) (their windows had run)"),
        (r.skipped_events, "event(s) skipped (see the log)"),
        (
            r.forward_pending as u64,
            "output record(s) still to forward",
        ),
    ] {
        if n > 0 {
            s.push_str(&format!("; {n} {what}"));
        }
    }
    s
}

/// Log lines go to standard error; `RUST_LOG` chooses the level (`info` by default, without
/// the EVTX parser's notes about its thread settings): a level, or `target=level` directives
/// separated by commas (`warn,cimhunt_serve=debug`), read by `tracing_subscriber`'s `Targets`.
/// Not its `EnvFilter`: that one's feature makes every regular expression of the program build
/// a full DFA where it can (regex-automata's `dfa-build`, and features are unified), and
/// compiling the library's patterns took 5% of an EVTX run's CPU, a third of it those DFAs.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let (filter, unread) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    if let Some(why) = unread {
        eprintln!("cimhunt: {why}");
    }
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                // Colours only for a terminal: a log piped to a file has no escape codes.
                .with_ansi(
                    std::io::IsTerminal::is_terminal(&std::io::stderr())
                        && std::env::var_os("NO_COLOR").is_none(),
                ),
        )
        .with(filter)
        .try_init();
}

/// What is logged when `RUST_LOG` is unset.
const DEFAULT_LOG: &str = "info,evtx=error";

/// The filter `RUST_LOG`'s value asks for; the default, and why, when the value does not parse.
fn log_filter(value: Option<&str>) -> (tracing_subscriber::filter::Targets, Option<String>) {
    use tracing_subscriber::filter::Targets;
    let default = || DEFAULT_LOG.parse::<Targets>().unwrap_or_default();
    match value.map(str::parse::<Targets>) {
        None => (default(), None),
        Some(Ok(targets)) => (targets, None),
        Some(Err(e)) => (
            default(),
            Some(format!(
                "RUST_LOG={:?} is not read ({e}); logging at {DEFAULT_LOG}",
                value.unwrap_or_default()
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_per_target_and_a_bad_value_falls_back_to_the_default_with_a_reason() {
        let (t, unread) = log_filter(Some("warn,cimhunt_serve=debug"));
        assert_eq!(unread, None);
        assert!(t.would_enable("cimhunt_serve::hec", &Level::DEBUG));
        assert!(t.would_enable("cimhunt_engine", &Level::WARN));
        assert!(!t.would_enable("cimhunt_engine", &Level::INFO));
        // Unset: info, without the EVTX parser's notes.
        let (t, unread) = log_filter(None);
        assert_eq!(unread, None);
        assert!(t.would_enable("cimhunt_serve", &Level::INFO));
        assert!(!t.would_enable("cimhunt_serve", &Level::DEBUG));
        assert!(!t.would_enable("evtx::parser", &Level::WARN));
        assert!(t.would_enable("evtx::parser", &Level::ERROR));
        let (t, unread) = log_filter(Some("bad=["));
        let why = unread.expect("a reason");
        assert!(
            why.contains("RUST_LOG=\"bad=[\"") && why.contains(DEFAULT_LOG),
            "{why}"
        );
        assert!(t.would_enable("cimhunt_serve", &Level::INFO));
    }
}
