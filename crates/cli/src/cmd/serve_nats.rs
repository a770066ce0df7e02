//! `cimhunt serve --nats URL`: the HTTP Event Collector in front of a NATS JetStream cluster.
//!
//! Every request the service accepts (journaled first, as without `--nats`) is published to the
//! cluster's live events stream by `cimhunt_cluster::HecSink`, keyed by its journal number; the
//! cluster's workers run the detections and their reducers publish the windows' outputs. The
//! service runs no detection itself. `--rows`, `--risk` and `--notable` are written from the
//! cluster's `OUTPUTS` stream by `cimhunt_cluster::OutputWriter`, exactly once across restarts,
//! with its state next to the journal (`nats-outputs.json`). With `--forward-hec`, the risk
//! and notable files the writer writes are followed and forwarded to Splunk
//! (`cimhunt_cluster::forward_files`). `docs/cluster.md` ("`cimhunt serve --nats`") documents
//! them.

use std::sync::Arc;

use cimhunt_cluster::{
    Followed, HecSink, Limits, Log, OutputFiles, OutputWriter, Stop, WriterConfig, WriterSummary,
    forward_files,
};
use cimhunt_serve::output::ForwardKind;
use cimhunt_serve::{ServeConfig, Sink};

use super::serve::summary;
use crate::args::{ContentArgs, NatsArgs};
use crate::cmd::Exit;
use crate::cmd::worker::nats_options;
use crate::ui::Ui;

/// The writer's state file in the service's state directory.
const WRITER_STATE: &str = "nats-outputs.json";
/// With `--forward-hec` and no `--risk`: the risk events file the forwarder follows.
const FORWARD_RISK: &str = "nats-risk.jsonl";
/// With `--forward-hec` and no `--notable`: the notables file the forwarder follows.
const FORWARD_NOTABLE: &str = "nats-notable.jsonl";

/// The cluster's messages, as the service's log lines.
#[derive(Debug)]
struct TracingLog;

impl Log for TracingLog {
    fn info(&self, message: &str) {
        tracing::info!("{message}");
    }
    fn warn(&self, message: &str) {
        tracing::warn!("{message}");
    }
}

/// Runs `serve --nats` with the service's configuration already read.
pub(super) fn run_serve_nats(
    nats: &NatsArgs,
    content: &ContentArgs,
    mut config: ServeConfig,
    mut ui: Ui,
) -> Exit {
    let Some(nats) = nats_options(nats, &mut ui) else {
        return Exit::Error;
    };
    if !content.detections.is_empty() || content.content.is_some() {
        ui.warn(
            "--detection and --content are ignored with --nats: the cluster's workers run the \
             detections they load",
        );
    }
    let nats = nats.connection_name("cimhunt serve");
    let log: Arc<dyn Log> = Arc::new(TracingLog);
    let forward_log = Arc::clone(&log);
    // The service's own output files stay empty in this mode: the writer owns the files.
    let outputs = std::mem::take(&mut config.outputs);
    let mut files = OutputFiles {
        rows: outputs.rows,
        risk: outputs.risk,
        notable: outputs.notable,
    };
    // Forwarding follows the writer's risk and notable files (docs/cluster.md): without
    // --risk/--notable they are kept in the state directory.
    let forward = config.forward.take();
    let mut followed = Vec::new();
    if forward.is_some() {
        for (kind, slot, default) in [
            (ForwardKind::Risk, &mut files.risk, FORWARD_RISK),
            (ForwardKind::Notable, &mut files.notable, FORWARD_NOTABLE),
        ] {
            let path = match slot {
                Some(p) if p.as_os_str() != "-" => p.clone(),
                Some(_) => {
                    ui.error(
                        "--forward-hec with --nats follows the risk and notable files: give \
                         them as files, not `-`",
                    );
                    return Exit::Error;
                }
                None => config.state_dir.join(default),
            };
            *slot = Some(path.clone());
            followed.push(Followed { kind, path });
        }
    }
    let writer = if files.any() {
        let mut wc = WriterConfig::new(files, config.state_dir.join(WRITER_STATE));
        wc.fsync = config.journal.fsync;
        if let Err(e) = std::fs::create_dir_all(&config.state_dir) {
            ui.error(format!("{}: {e}", config.state_dir.display()));
            return Exit::Error;
        }
        match OutputWriter::open(&nats, wc, Arc::clone(&log)) {
            Ok(w) => Some(w),
            Err(e) => {
                ui.error(e);
                return Exit::Error;
            }
        }
    } else {
        None
    };
    let sink = match HecSink::connect(&nats, &config.state_dir, Limits::default(), log) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    ui.note(format!(
        "publishing to the cluster at {} (prefix {}) as {}{}, state in {}",
        nats.url(),
        nats.names().prefix(),
        sink.publisher(),
        if writer.is_some() {
            "; writing its outputs"
        } else {
            ""
        },
        config.state_dir.display()
    ));
    let stop = Stop::new();
    let writing = writer.map(|w| {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("cimhunt-outputs".into())
            .spawn(move || {
                let r = w.run(stop);
                if let Err(e) = &r {
                    tracing::error!("outputs: {e}; they are no longer written (restart to resume)");
                }
                r
            })
    });
    let written_all = Stop::new();
    let forwarding = forward.map(|fc| {
        let (done, log, dir) = (
            written_all.clone(),
            Arc::clone(&forward_log),
            config.state_dir.clone(),
        );
        std::thread::Builder::new()
            .name("cimhunt-forward".into())
            .spawn(move || forward_files(&fc, &followed, &dir, &done, &log))
    });
    let served = cimhunt_serve::run_blocking(config, Arc::clone(&sink) as Arc<dyn Sink>);
    stop.stop();
    let written = match writing {
        None => None,
        Some(Err(e)) => {
            ui.error(format!("cannot start the outputs writer: {e}"));
            return Exit::Error;
        }
        Some(Ok(handle)) => Some(handle.join().unwrap_or_else(|_| {
            Err(cimhunt_cluster::ClusterError::Config(
                "the outputs writer panicked".to_owned(),
            ))
        })),
    };
    // The files are complete: the forwarder sends what is left, then stops.
    written_all.stop();
    let forwarded = match forwarding {
        None => None,
        Some(Err(e)) => {
            ui.error(format!("cannot start the forwarder: {e}"));
            return Exit::Error;
        }
        Some(Ok(handle)) => Some(
            handle
                .join()
                .unwrap_or_else(|_| Err("the forwarder panicked".to_owned())),
        ),
    };
    let mut exit = Exit::Ok;
    match served {
        Ok(report) => {
            let h = sink.hec_stats();
            let mut s = summary(&report);
            s.push_str(&format!(
                "; {} message(s) published to the cluster",
                h.messages
            ));
            if h.duplicates > 0 {
                s.push_str(&format!(" ({} already there)", h.duplicates));
            }
            eprintln!("{s}");
        }
        Err(e) => {
            ui.error(e);
            exit = Exit::Error;
        }
    }
    match written {
        Some(Ok(w)) => eprintln!("{}", writer_summary(&w)),
        Some(Err(e)) => {
            ui.error(format!("outputs: {e}"));
            exit = Exit::Error;
        }
        None => {}
    }
    match forwarded {
        Some(Ok(f)) => {
            let mut s = format!("forwarded to Splunk: {} event(s) queued", f.queued);
            if f.pending_bytes > 0 {
                s.push_str(&format!(
                    "; {} byte(s) of outputs not yet confirmed, sent on the next start",
                    f.pending_bytes
                ));
            }
            eprintln!("{s}");
        }
        Some(Err(e)) => {
            ui.error(format!("forwarding: {e}"));
            exit = Exit::Error;
        }
        None => {}
    }
    exit
}

fn writer_summary(w: &WriterSummary) -> String {
    let mut s = format!(
        "outputs written: {} row(s), {} risk event(s), {} notable(s)",
        w.rows, w.risk, w.notables
    );
    if w.duplicates > 0 {
        s.push_str(&format!("; {} copies skipped", w.duplicates));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_summary_names_copies_only_when_there_were_some() {
        let w = WriterSummary {
            rows: 2,
            risk: 3,
            notables: 2,
            ..WriterSummary::default()
        };
        assert_eq!(
            writer_summary(&w),
            "outputs written: 2 row(s), 3 risk event(s), 2 notable(s)"
        );
        let w = WriterSummary { duplicates: 1, ..w };
        assert!(writer_summary(&w).ends_with("; 1 copies skipped"));
    }
}
