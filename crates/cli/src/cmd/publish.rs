//! `cimhunt publish`: telemetry files to a NATS JetStream cluster's live stream.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use cimhunt_cluster::{Limits, Published, Source, publish};
use cimhunt_engine::Meta;
use cimhunt_read::expand_paths;

use crate::args::PublishArgs;
use crate::cmd::Exit;
use crate::cmd::worker::nats_options;
use crate::ui::{Ui, bytes, thousands};

/// The default publisher name: the host's, when the environment says it.
fn default_publisher() -> String {
    let host = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default();
    let clean: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        "publish".to_owned()
    } else {
        clean
    }
}

/// Runs the subcommand.
pub fn run_publish(args: PublishArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(20);
    let Some(nats) = nats_options(&args.nats, &mut ui) else {
        return Exit::Error;
    };
    let meta = Meta {
        source: args.source.as_deref().map(Arc::from),
        sourcetype: args.sourcetype.as_deref().map(Arc::from),
        host: args.host.as_deref().map(Arc::from),
        index: args.index.as_deref().map(Arc::from),
        ..Meta::default()
    };
    let (inputs, errors) = expand_paths(&args.paths);
    for e in errors {
        ui.error(e);
    }
    let sources = inputs
        .into_iter()
        .map(|i| Source::file(i, meta.clone()))
        .collect();
    let id = args.publisher_id.clone().unwrap_or_else(default_publisher);
    let limits = Limits {
        max_bytes: args.max_message_kib.max(1) << 10,
        ..Limits::default()
    };
    let show = !args.no_progress && std::io::stderr().is_terminal();
    let progress = |p: &Published| {
        if show && p.messages.is_multiple_of(64) {
            eprint!(
                "\rpublished {} messages, {} records",
                thousands(p.messages),
                thousands(p.records)
            );
        }
    };
    let result = publish(&nats, &id, limits, sources, &progress);
    if show {
        eprint!("\r\x1b[2K");
    }
    match result {
        Ok(p) => {
            for e in &p.failed_inputs {
                ui.error(e);
            }
            for e in &p.errors {
                ui.skipped(e);
            }
            eprintln!(
                "cimhunt: published {} records in {} messages ({} of records, {} on the wire) \
                 as {id}{}, {:.2} s",
                thousands(p.records),
                thousands(p.messages),
                bytes(p.bytes),
                bytes(p.wire_bytes),
                if p.duplicates > 0 {
                    format!("; {} already published", thousands(p.duplicates))
                } else {
                    String::new()
                },
                started.elapsed().as_secs_f64()
            );
            if ui.failures > 0 {
                Exit::Error
            } else {
                Exit::Ok
            }
        }
        Err(e) => {
            ui.error(e);
            Exit::Error
        }
    }
}
