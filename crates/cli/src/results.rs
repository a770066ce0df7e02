//! Writing a run's results, for `hunt` and `hunt --nats` alike: each detection is finished in
//! turn, its rows written (`-f`) and its risk events and notables appended (`--risk`,
//! `--notable`), then dropped before the next, so printing holds a few rows at a time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cimhunt_engine::{Finals, Job, Options, finish_each};
use cimhunt_report::{AlertContext, RowWriter, notable_event, risk_events};
use cimhunt_spl::{ExecCtx, Row, Timestamp};

use crate::args::HuntArgs;
use crate::cmd::format_of;
use crate::setup::Loaded;
use crate::ui::{FinishProgress, Out, Ui, table_style, thousands};

/// What [`write_all`] wrote.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) counts: Counts,
    /// Risk events and notables written, when asked for.
    pub(crate) risk: Option<u64>,
    pub(crate) notable: Option<u64>,
    /// Bytes of aggregation state and of rows written to disk beyond the budget.
    pub(crate) spilled_bytes: u64,
    /// How long finishing and writing the detections took, when there were several: a
    /// library's states take seconds to finish once every event is read.
    pub(crate) finished_in: Option<Duration>,
}

impl Written {
    /// The summary's words for it: rows, and what was spilled and written when any.
    pub(crate) fn describe(&self, extra: &mut Vec<String>) {
        let rows = self.counts.rows;
        extra.push(format!(
            "{} row{}",
            thousands(rows),
            if rows == 1 { "" } else { "s" }
        ));
        if self.spilled_bytes > 0 {
            extra.push(format!(
                "{} MiB of aggregation state spilled to disk",
                thousands(self.spilled_bytes.div_ceil(1 << 20))
            ));
        }
        if let Some(n) = self.risk {
            extra.push(format!("{} risk events", thousands(n)));
        }
        if let Some(n) = self.notable {
            extra.push(format!("{} notables", thousands(n)));
        }
        if let Some(t) = self.finished_in {
            extra.push(format!("detections finished in {:.2} s", t.as_secs_f64()));
        }
    }
}

/// Finishes every detection of a run and writes its rows to standard output in `args`'s
/// format, and its alerts to `args`'s files; reports what went wrong on the way.
pub(crate) fn write_all(
    args: &HuntArgs,
    job: &Job,
    loaded: &[Loaded],
    states: Finals,
    options: &Options,
    ui: &mut Ui,
) -> Written {
    let started = Instant::now();
    let spilled = states.spill_report().clone();
    if let Some(e) = &spilled.error {
        ui.warn(format!(
            "{e}; the rest of the aggregation state stayed in memory (--state-memory, --spill-dir)"
        ));
    }
    let mut alerts = match Alerts::open(args, options.now) {
        Ok(a) => a,
        Err(e) => {
            ui.error(e);
            Alerts::none(options.now)
        }
    };
    let mut out = Out::stdout();
    let ctx = options.exec_ctx();
    let mut writer = RowWriter::new(format_of(args.format), table_style())
        .with_row_spill(ctx.row_spill().cloned());
    let progress = FinishProgress::new(!args.run.no_progress, loaded.len());
    let counts = write_results(
        job,
        loaded,
        states,
        &ctx,
        options.threads,
        &mut out,
        &mut writer,
        &mut alerts,
        ui,
        &progress,
    );
    progress.finish();
    for w in ctx.take_warnings() {
        ui.warn(w);
    }
    let rows_spill = ctx.row_spill();
    if let Some(e) = rows_spill.and_then(|s| s.failure()) {
        ui.warn(format!("{e} (--state-memory, --spill-dir)"));
    }
    let spilled_bytes = spilled.bytes + rows_spill.map_or(0, |s| s.written_bytes());
    out.with(|w| writer.finish(w));
    out.finish(ui);
    let (risk, notable) = alerts.finish(ui);
    Written {
        counts,
        risk,
        notable,
        spilled_bytes,
        finished_in: (loaded.len() > 1).then(|| started.elapsed()),
    }
}

/// Rows written and detections that returned any.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) rows: u64,
    pub(crate) fired: u64,
    /// Rows per detection, in the job's order of the detections added to it.
    pub(crate) rows_of: Vec<u64>,
}

/// Finishes each detection in turn and writes its rows and alerts, dropping them before the
/// next. Stops early when standard output closed and no alert file wants the rows.
#[allow(clippy::too_many_arguments)]
fn write_results(
    job: &Job,
    loaded: &[Loaded],
    states: Finals,
    ctx: &ExecCtx,
    threads: usize,
    out: &mut Out,
    writer: &mut RowWriter,
    alerts: &mut Alerts,
    ui: &mut Ui,
    progress: &FinishProgress,
) -> Counts {
    let mut counts = Counts {
        rows_of: vec![0; loaded.len()],
        ..Counts::default()
    };
    finish_each(job, states, ctx, threads, |i, rows| {
        progress.handed_on(i + 1);
        if !out.is_open() && !alerts.wanted() {
            return false;
        }
        if matches!(&rows, Ok(r) if r.is_empty()) {
            return true;
        }
        progress
            .around(|| write_detection(&loaded[i], rows, &mut counts, i, out, writer, alerts, ui))
    });
    counts
}

/// Writes one finished detection's rows and alerts; false when nothing more should be written.
#[allow(clippy::too_many_arguments)]
fn write_detection(
    l: &Loaded,
    rows: cimhunt_engine::Finished,
    counts: &mut Counts,
    i: usize,
    out: &mut Out,
    writer: &mut RowWriter,
    alerts: &mut Alerts,
    ui: &mut Ui,
) -> bool {
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
    counts.rows_of[i] = rows.len() as u64;
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
