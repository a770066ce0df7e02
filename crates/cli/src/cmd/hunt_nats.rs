//! `cimhunt hunt --nats`: the same run as `hunt`, its records processed by a NATS JetStream
//! cluster's workers; prints exactly what `hunt` prints (docs/cluster.md, "Batch mode").

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cimhunt_cluster::{BatchOptions, BatchProgress, ClusterJob, Limits, hunt};
use cimhunt_engine::finish_all;
use cimhunt_report::{AlertContext, Results, TableStyle, notable_event, risk_events, write_rows};
use cimhunt_spl::{Row, Timestamp};

use crate::args::HuntArgs;
use crate::cmd::worker::{model_identity, nats_options};
use crate::cmd::{Exit, format_of};
use crate::setup::{self, Loaded};
use crate::ui::{Ui, summary, thousands};

/// Runs the subcommand.
pub fn run_hunt_nats(args: HuntArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Some(nats) = nats_options(&args.nats, &mut ui) else {
        return Exit::Error;
    };
    if setup::time_zone(&args.tz, &mut ui).is_none() {
        return Exit::Error;
    }
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
    let Some(options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
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
        ui.error(format!("{}: {e}", loaded[*d].detection.name));
    }

    let ctx = options.exec_ctx();
    let finished = finish_all(&job, outcome.states, &ctx, options.threads);
    let mut all_rows: Vec<Vec<Row>> = Vec::with_capacity(loaded.len());
    for (l, rows) in loaded.iter().zip(finished) {
        match rows {
            Ok(rows) => all_rows.push(rows),
            Err(e) => {
                ui.error(format!("{}: {}: {e}", l.origin(), l.detection.name));
                all_rows.push(Vec::new());
            }
        }
    }
    let results: Vec<Results<'_>> = loaded
        .iter()
        .zip(&all_rows)
        .map(|(l, rows)| Results {
            detection: &l.detection.name,
            rows,
        })
        .collect();
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let style = TableStyle { color, width: None };
    let mut out = BufWriter::new(stdout.lock());
    let written =
        write_rows(&mut out, format_of(args.format), &results, style).and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        ui.error(format!("cannot write results: {e}"));
    }
    drop(out);

    let now = options.now;
    let mut extra = vec![format!(
        "{} detection{} run on the cluster ({} messages, batch {})",
        loaded.len(),
        if loaded.len() == 1 { "" } else { "s" },
        thousands(outcome.messages),
        outcome.batch
    )];
    let row_count: usize = all_rows.iter().map(Vec::len).sum();
    extra.push(format!(
        "{} row{}",
        thousands(row_count as u64),
        if row_count == 1 { "" } else { "s" }
    ));
    if let Some(path) = &args.risk {
        match write_alerts(path, &loaded, &all_rows, now, risk_events) {
            Ok(n) => extra.push(format!("{} risk events", thousands(n as u64))),
            Err(e) => ui.error(format!("{}: cannot write risk events: {e}", path.display())),
        }
    }
    if let Some(path) = &args.notable {
        match write_alerts(path, &loaded, &all_rows, now, |c, r| {
            vec![notable_event(c, r)]
        }) {
            Ok(n) => extra.push(format!("{} notables", thousands(n as u64))),
            Err(e) => ui.error(format!("{}: cannot write notables: {e}", path.display())),
        }
    }
    eprintln!("{}", summary(&outcome.stats, started, &extra));

    setup::count_input_failures(&mut ui, &outcome.stats, &args.run);
    ui.exit(args.fail_on_match && row_count > 0)
}

/// Writes one JSON line per alert of every row (as `hunt` does); returns how many.
fn write_alerts(
    path: &Path,
    loaded: &[Loaded],
    all_rows: &[Vec<Row>],
    time: Timestamp,
    alerts: impl Fn(&AlertContext, &Row) -> Vec<String>,
) -> std::io::Result<usize> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut n = 0;
    for (l, rows) in loaded.iter().zip(all_rows) {
        let ctx = AlertContext::new(&l.detection, time);
        for row in rows {
            for line in alerts(&ctx, row) {
                writeln!(out, "{line}")?;
                n += 1;
            }
        }
    }
    out.flush()?;
    Ok(n)
}
