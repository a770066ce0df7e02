//! `cimhunt hunt`: detections over telemetry → result rows, risk events, notables.
//!
//! Rows are finished, written and dropped one detection at a time (their states were merged by
//! the run), so printing never holds more than one detection's rows beyond what `-f csv` needs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cimhunt_engine::{Job, finish_each, run};
use cimhunt_report::{AlertContext, RowWriter, notable_event, risk_events};
use cimhunt_spl::{ExecCtx, Row, Timestamp};

use crate::args::HuntArgs;
use crate::cmd::{Exit, format_of};
use crate::setup::{self, Loaded};
use crate::ui::{Out, RunObserver, Ui, summary, table_style, thousands};

/// Runs the subcommand.
pub fn run_hunt(args: HuntArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Some(tz) = setup::time_zone(&args.tz, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    options.tz = tz;
    let Some((model, loaded)) = setup::model_and_load(&args.model, &args.content, &mut ui) else {
        return Exit::Error;
    };
    let Some(loaded) = loaded else {
        return ui.exit(false);
    };
    if loaded.is_empty() {
        return ui.exit(false);
    }
    let Some(job) = setup::job(&model, &loaded, &args.run, true, &mut ui) else {
        return Exit::Error;
    };
    let inputs = setup::inputs(&args.paths, &mut ui);

    let mut observer = RunObserver::new(&mut ui, !args.run.no_progress);
    let result = run(&job, &options, inputs, &mut observer);
    observer.finish();
    for (d, e) in &result.errors {
        // A hidden subsearch detection reports under the detection it belongs to.
        let name = &job.detections()[job.root_of(*d)].name();
        ui.error(format!("{name}: {e}"));
    }

    let spilled = result.states.spill_report().clone();
    if let Some(e) = &spilled.error {
        ui.warn(format!(
            "{e}; the rest of the aggregation state stayed in memory (--state-memory, --spill-dir)"
        ));
    }
    let mut alerts = match Alerts::open(&args, options.now) {
        Ok(a) => a,
        Err(e) => {
            ui.error(e);
            Alerts::none(options.now)
        }
    };
    let mut out = Out::stdout();
    let style = table_style();
    let ctx = options.exec_ctx();
    let mut writer =
        RowWriter::new(format_of(args.format), style).with_row_spill(ctx.row_spill().cloned());
    let counts = write_results(
        &job,
        &loaded,
        result.states,
        &ctx,
        options.threads,
        &mut out,
        &mut writer,
        &mut alerts,
        &mut ui,
    );
    for w in ctx.take_warnings() {
        ui.warn(w);
    }
    let rows_spill = ctx.row_spill();
    if let Some(e) = rows_spill.and_then(|s| s.failure()) {
        ui.warn(format!("{e} (--state-memory, --spill-dir)"));
    }
    let spilled_bytes = spilled.bytes + rows_spill.map_or(0, |s| s.written_bytes());
    out.with(|w| writer.finish(w));
    out.finish(&mut ui);
    let (risk_count, notable_count) = alerts.finish(&mut ui);

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
            thousands(counts.rows),
            if counts.rows == 1 { "" } else { "s" }
        ),
    ];
    if loaded.len() > 1 {
        extra.insert(1, format!("{} fired", thousands(counts.fired)));
    }
    if spilled_bytes > 0 {
        extra.push(format!(
            "{} MiB of aggregation state spilled to disk",
            thousands(spilled_bytes.div_ceil(1 << 20))
        ));
    }
    if let Some(n) = risk_count {
        extra.push(format!("{} risk events", thousands(n)));
    }
    if let Some(n) = notable_count {
        extra.push(format!("{} notables", thousands(n)));
    }
    eprintln!("{}", summary(&result.stats, started, &extra));

    setup::count_input_failures(&mut ui, &result.stats, &args.run);
    // The compiled detections and the model are left to the operating system, which takes the
    // process's memory back at once: dropping them piece by piece took 7 ms of the endpoint
    // library's 0.8 s on the EVTX corpus.
    std::mem::forget((job, loaded, model));
    ui.exit(args.fail_on_match && counts.rows > 0)
}

/// Rows written and detections that returned any.
#[derive(Debug, Default)]
struct Counts {
    rows: u64,
    fired: u64,
}

/// Finishes each detection in turn and writes its rows and alerts, dropping them before the
/// next. Stops early when standard output closed and no alert file wants the rows.
#[allow(clippy::too_many_arguments)]
fn write_results(
    job: &Job,
    loaded: &[Loaded],
    states: cimhunt_engine::Finals,
    ctx: &ExecCtx,
    threads: usize,
    out: &mut Out,
    writer: &mut RowWriter,
    alerts: &mut Alerts,
    ui: &mut Ui,
) -> Counts {
    let mut counts = Counts::default();
    finish_each(job, states, ctx, threads, |i, rows| {
        if !out.is_open() && !alerts.wanted() {
            return false;
        }
        let l = &loaded[i];
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                ui.error(format!("{}: {}: {e}", l.origin(), l.detection.name));
                return true;
            }
        };
        if rows.is_empty() {
            return true;
        }
        counts.rows += rows.len() as u64;
        counts.fired += 1;
        // Rows are made again from their compact form as they are written, a few at a time:
        // no format holds a detection's rows (`FinishedRows`, `RowWriter`).
        let name = &l.detection.name;
        let (count, columns) = (rows.len(), rows.columns().to_vec());
        out.with(|w| writer.start(w, name, count, &columns));
        let mut rows = rows.into_rows();
        loop {
            let mut some = Vec::new();
            for row in rows.by_ref().take(STREAM_ROWS) {
                match row {
                    Ok(row) => some.push(row),
                    Err(e) => {
                        ui.error(format!("{}: {name}: {e}", l.origin()));
                        break;
                    }
                }
            }
            if some.is_empty() {
                break;
            }
            alerts.write(l, &some);
            out.with(|w| writer.rows(w, name, &some));
        }
        out.with(|w| writer.end(w));
        true
    });
    counts
}

/// Rows made and written at a time.
const STREAM_ROWS: usize = 256;

/// The risk and notable files, written as each detection's rows arrive.
struct Alerts {
    time: Timestamp,
    risk: Option<AlertFile>,
    notable: Option<AlertFile>,
}

struct AlertFile {
    path: PathBuf,
    out: BufWriter<File>,
    count: u64,
    error: Option<std::io::Error>,
}

impl AlertFile {
    fn create(path: &Path) -> Result<Self, String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(AlertFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            count: 0,
            error: None,
        })
    }

    fn write(&mut self, lines: impl IntoIterator<Item = String>) {
        if self.error.is_some() {
            return;
        }
        for line in lines {
            if let Err(e) = writeln!(self.out, "{line}") {
                self.error = Some(e);
                return;
            }
            self.count += 1;
        }
    }

    /// The count written, or an error naming the file.
    fn finish(mut self, what: &str, ui: &mut Ui) -> u64 {
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
        if let Some(e) = self.error {
            ui.error(format!("{}: cannot write {what}: {e}", self.path.display()));
        }
        self.count
    }
}

impl Alerts {
    fn open(args: &HuntArgs, time: Timestamp) -> Result<Self, String> {
        Ok(Alerts {
            time,
            risk: args.risk.as_deref().map(AlertFile::create).transpose()?,
            notable: args.notable.as_deref().map(AlertFile::create).transpose()?,
        })
    }

    fn none(time: Timestamp) -> Self {
        Alerts {
            time,
            risk: None,
            notable: None,
        }
    }

    fn wanted(&self) -> bool {
        self.risk.is_some() || self.notable.is_some()
    }

    fn write(&mut self, l: &Loaded, rows: &[Row]) {
        if !self.wanted() {
            return;
        }
        let ctx = AlertContext::new(&l.detection, self.time);
        if let Some(f) = &mut self.risk {
            f.write(rows.iter().flat_map(|row| risk_events(&ctx, row)));
        }
        if let Some(f) = &mut self.notable {
            f.write(rows.iter().map(|row| notable_event(&ctx, row)));
        }
    }

    fn finish(self, ui: &mut Ui) -> (Option<u64>, Option<u64>) {
        let risk = self.risk.map(|f| f.finish("risk events", ui));
        let notable = self.notable.map(|f| f.finish("notables", ui));
        (risk, notable)
    }
}
