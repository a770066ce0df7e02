//! `cimhunt worker`: one process of a NATS JetStream cluster (docs/cluster.md), and what the
//! cluster subcommands share: the connection options and the job's identity.

use std::sync::Arc;
use std::time::Duration;

use cimhunt_cluster::{
    Clock, ClusterJob, Log, NatsOptions, StderrLog, Stop, Topology, WorkerConfig, files_identity,
};

use crate::args::{ClockArg, ModelArgs, NatsArgs, WorkerArgs};
use crate::cmd::Exit;
use crate::setup;
use crate::ui::Ui;

/// The connection options the arguments describe; `None` (with an error printed) without
/// `--nats` or with a bad prefix.
pub(crate) fn nats_options(args: &NatsArgs, ui: &mut Ui) -> Option<NatsOptions> {
    let Some(url) = &args.nats else {
        ui.error("--nats URL is required (the NATS server of the cluster)");
        return None;
    };
    let mut o = match NatsOptions::new(url.clone(), &args.nats_prefix) {
        Ok(o) => o,
        Err(e) => {
            ui.error(e);
            return None;
        }
    };
    if let Some(c) = &args.nats_creds {
        o = o.creds(c.clone());
    }
    if let (Some(u), Some(p)) = (&args.nats_user, &args.nats_password) {
        o = o.user(u.clone(), p.clone());
    }
    if let Some(t) = &args.nats_token {
        o = o.token(t.clone());
    }
    if let Some(ca) = &args.nats_ca {
        o = o.ca(ca.clone());
    }
    if let (Some(c), Some(k)) = (&args.nats_cert, &args.nats_key) {
        o = o.client_cert(c.clone(), k.clone());
    }
    Some(o.require_tls(args.nats_tls).topology(args.topology()))
}

/// What identifies the data model the arguments build: the profile, its overlays, and the
/// contents of the tables and inventory files given.
pub(crate) fn model_identity(args: &ModelArgs) -> String {
    let files: Vec<std::path::PathBuf> = args
        .tables
        .iter()
        .chain(args.crowdstrike_aidmaster.iter())
        .cloned()
        .collect();
    format!(
        "{}|{}|{}",
        args.profile,
        args.overlays.join(","),
        if files.is_empty() {
            String::new()
        } else {
            files_identity(&files)
        }
    )
}

/// Runs the subcommand.
pub fn run_worker(args: WorkerArgs) -> Exit {
    let mut ui = Ui::new(args.run.max_errors);
    let Some(nats) = nats_options(&args.nats, &mut ui) else {
        return Exit::Error;
    };
    let nats = nats.topology(Topology {
        ack_wait: Duration::from_secs(args.ack_wait.max(1)),
        ..args.nats.topology()
    });
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
    let Some(job) = setup::job(&model, &loaded, &args.run, true, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    options.tz = tz;
    if ui.failures > 0 {
        ui.error("a worker must run every detection the cluster runs: fix the errors above");
        return Exit::Error;
    }
    let lanes = options.threads.max(1);
    let detections = loaded.iter().map(|l| l.detection.clone()).collect();
    let job = match ClusterJob::new(
        Arc::new(job),
        detections,
        options,
        &model_identity(&args.model),
    ) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    let name = args
        .name
        .clone()
        .unwrap_or_else(cimhunt_cluster::default_name);
    let config = WorkerConfig {
        name: Some(name.clone()),
        lanes,
        clock: match args.clock {
            ClockArg::Wall => Clock::Wall,
            ClockArg::Events => Clock::Events,
        },
        reduce: !args.no_reduce,
        drain: args.drain,
        replace_job: args.replace_job,
        grace: Duration::from_secs(args.reduce_grace),
        ..WorkerConfig::default()
    };
    let stop = Stop::new();
    stop.on_signals();
    let log: Arc<dyn Log> = Arc::new(StderrLog::new(format!("worker {name}"), args.quiet));
    match cimhunt_cluster::run_worker(&nats, job, config, stop, log) {
        Ok(_) => Exit::Ok,
        Err(e) => {
            ui.error(e);
            Exit::Error
        }
    }
}
