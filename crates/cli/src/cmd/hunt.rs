//! `cimhunt hunt`: detections over telemetry → result rows, risk events, notables.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use cimhunt_engine::{finish_all, run};
use cimhunt_report::{AlertContext, Results, TableStyle, notable_event, risk_events, write_rows};
use cimhunt_spl::{Row, Timestamp};
use jiff::tz::TimeZone;

use crate::args::HuntArgs;
use crate::cmd::{Exit, format_of};
use crate::setup::{self, Loaded};
use crate::ui::{RunObserver, Ui, summary, thousands};

/// Runs the subcommand.
pub fn run_hunt(args: HuntArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Ok(tz) = TimeZone::get(&args.tz) else {
        ui.error(format!(
            "--tz {}: not a known time zone (try UTC or America/New_York)",
            args.tz
        ));
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
    let Some(job) = setup::job(&model, &loaded, &args.run, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    options.tz = tz;
    let inputs = setup::inputs(&args.paths, &mut ui);

    let mut observer = RunObserver::new(&mut ui, !args.run.no_progress, |_, _| {});
    let result = run(&job, &options, inputs, &mut observer);
    observer.finish();
    for (d, e) in &result.errors {
        // A hidden subsearch detection reports under the detection it belongs to.
        let name = &job.detections()[job.root_of(*d)].name();
        ui.error(format!("{name}: {e}"));
    }

    let ctx = options.exec_ctx();
    let finished = finish_all(&job, result.states, &ctx, options.threads);
    for w in ctx.take_warnings() {
        ui.warn(w);
    }
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
    let mut risk_count = 0;
    if let Some(path) = &args.risk {
        match write_alerts(path, &loaded, &all_rows, now, |ctx, row| {
            risk_events(ctx, row)
        }) {
            Ok(n) => risk_count = n,
            Err(e) => ui.error(format!("{}: cannot write risk events: {e}", path.display())),
        }
    }
    let mut notable_count = 0;
    if let Some(path) = &args.notable {
        match write_alerts(path, &loaded, &all_rows, now, |ctx, row| {
            vec![notable_event(ctx, row)]
        }) {
            Ok(n) => notable_count = n,
            Err(e) => ui.error(format!("{}: cannot write notables: {e}", path.display())),
        }
    }

    let row_count: usize = all_rows.iter().map(Vec::len).sum();
    let matched: u64 = result.matched.iter().sum();
    let mut extra = vec![
        format!(
            "{} detection{} run",
            loaded.len(),
            if loaded.len() == 1 { "" } else { "s" }
        ),
        format!("{} matches", thousands(matched)),
        format!(
            "{} row{}",
            thousands(row_count as u64),
            if row_count == 1 { "" } else { "s" }
        ),
    ];
    if args.risk.is_some() {
        extra.push(format!("{} risk events", thousands(risk_count as u64)));
    }
    if args.notable.is_some() {
        extra.push(format!("{} notables", thousands(notable_count as u64)));
    }
    eprintln!("{}", summary(&result.stats, started, &extra));

    if setup::run_failed(&ui, &result.stats, &args.run) {
        Exit::Error
    } else if args.fail_on_match && row_count > 0 {
        Exit::Matched
    } else {
        Exit::Ok
    }
}

/// Writes one JSON line per alert of every row; returns how many.
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
