//! `cimhunt hunt --nats`: the same run as `hunt`, its records processed by a NATS JetStream
//! cluster's workers; prints exactly what `hunt` prints (docs/cluster.md, "Batch mode").

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use cimhunt_cluster::{BatchOptions, BatchProgress, ClusterJob, Limits, hunt};

use crate::args::HuntArgs;
use crate::cmd::Exit;
use crate::cmd::worker::{model_identity, nats_options};
use crate::results::write_all;
use crate::setup;
use crate::ui::{Ui, summary, thousands};

/// Runs the subcommand.
pub fn run_hunt_nats(args: HuntArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Some(nats) = nats_options(&args.nats, &mut ui) else {
        return Exit::Error;
    };
    let Some(tz) = setup::time_zone(&args.tz, &mut ui) else {
        return Exit::Error;
    };
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some((_, loaded)) = setup::load(&args.content, &model, &mut ui) else {
        return Exit::Error;
    };
    if loaded.is_empty() {
        ui.error("no detection to run");
        return Exit::Error;
    }
    let Some(job) = setup::job(&model, &loaded, &args.run, false, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    // The collector finishes the detections: times it prints are in the zone asked for.
    options.tz = tz;
    if args.per_detection {
        ui.warn("--per-detection is not available with --nats: workers do not count matches per detection");
    }
    let inputs = setup::inputs(&args.paths, &mut ui);
    let job = Arc::new(job);
    let detections = loaded.iter().map(|l| l.detection.clone()).collect();
    let cjob = match ClusterJob::new(
        Arc::clone(&job),
        detections,
        options.clone(),
        &model_identity(&args.model),
    ) {
        Ok(j) => j,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    let batch = BatchOptions {
        now: options.now,
        tz: args.tz.clone(),
        decode_all: options.decode_all,
        limits: Limits::default(),
        idle_timeout: None,
        spill: options.spill.clone(),
    };
    let show = !args.run.no_progress && std::io::stderr().is_terminal();
    let progress = |p: BatchProgress| {
        if show {
            eprint!(
                "\r{} messages published{}, {} processed{}",
                thousands(p.published),
                if p.all_published { "" } else { " so far" },
                thousands(p.done),
                if p.workers_registered {
                    ""
                } else {
                    " (no worker has registered on this cluster yet)"
                }
            );
        }
    };
    let outcome = hunt(&nats, &cjob, inputs, &batch, &progress);
    if show {
        eprint!("\r\x1b[2K");
    }
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    for e in &outcome.failed_inputs {
        ui.error(e);
    }
    for e in &outcome.errors {
        ui.skipped(e);
    }
    for (d, e) in &outcome.state_errors {
        // A hidden subsearch detection reports under the detection it belongs to.
        ui.error(format!("{}: {e}", job.detections()[job.root_of(*d)].name()));
    }

    let written = write_all(&args, &job, &loaded, outcome.states, &options, &mut ui);
    let mut extra = vec![format!(
        "{} detection{} run on the cluster ({} messages, batch {})",
        loaded.len(),
        if loaded.len() == 1 { "" } else { "s" },
        thousands(outcome.messages),
        outcome.batch
    )];
    written.describe(&mut extra);
    eprintln!("{}", summary(&outcome.stats, started, &extra));

    setup::count_input_failures(&mut ui, &outcome.stats, &args.run);
    ui.exit(args.fail_on_match && written.counts.rows > 0)
}
