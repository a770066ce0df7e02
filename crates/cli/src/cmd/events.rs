//! `cimhunt events`: events as a search sees them — a dataset's view, or every search-time
//! field.

use std::sync::Arc;
use std::time::Instant;

use cimhunt_engine::{EventsView, Job, Observer, Origin, Place, RecordError, Stats, run};
use cimhunt_report::{EventOrigin, EventWriter, Format};
use cimhunt_spl::{Sym, Value};

use crate::args::EventsArgs;
use crate::cmd::{Exit, format_of};
use crate::setup;
use crate::ui::{Out, RunObserver, Ui, summary, table_style};

/// The columns a table of process events shows (the rest are in the JSON forms).
const PROCESS_TABLE: &[&str] = &[
    "dest",
    "user",
    "parent_process_name",
    "process_name",
    "process",
    "process_id",
];

/// The columns table and CSV show for raw events.
const RAW_COLUMNS: &[&str] = &["source", "EventCode", "RecordNumber", "Computer"];

/// Runs the subcommand.
pub fn run_events(args: EventsArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Some(model) = setup::model(&args.model, &mut ui) else {
        return Exit::Error;
    };
    let Some(mut options) = setup::options(&args.run, &mut ui) else {
        return Exit::Error;
    };
    let format = format_of(args.format);
    let (view, columns): (EventsView, Vec<Sym>) = if args.raw {
        (
            EventsView::Raw,
            RAW_COLUMNS.iter().map(|c| Sym::new(c)).collect(),
        )
    } else {
        let name = args.datamodel.as_deref().unwrap_or("Endpoint.Processes");
        let Some(ds) = model.dataset(name) else {
            let known: Vec<String> = model
                .dataset_ids()
                .map(|d| model.dataset_name(d).to_owned())
                .collect();
            ui.error(format!(
                "--datamodel {name}: no such dataset (known: {})",
                known.join(", ")
            ));
            return Exit::Error;
        };
        let columns = match (format, name) {
            (Format::Table, "Endpoint.Processes") => {
                PROCESS_TABLE.iter().map(|c| Sym::new(c)).collect()
            }
            (Format::Table, _) => model.dataset_calculated(ds),
            _ => model
                .dataset_fields(ds)
                .into_iter()
                .filter(|f| f.as_str() != "_time")
                .collect(),
        };
        (EventsView::Dataset(ds), columns)
    };
    options.events = view.clone();
    let mut builder = Job::builder(Arc::clone(&model)).prefilter(false);
    match &view {
        EventsView::Raw => builder = builder.all_fields(true),
        EventsView::Dataset(ds) => builder = builder.show_dataset(*ds),
        _ => {}
    }
    let job = match builder.build() {
        Ok(j) => j,
        Err(e) => {
            ui.error(e);
            return Exit::Error;
        }
    };
    let inputs = setup::inputs(&args.paths, &mut ui);

    let style = table_style();
    let mut out = Out::stdout();
    let mut observer = EventsObserver {
        base: RunObserver::new(&mut ui, !args.run.no_progress),
        writer: EventWriter::new(format, columns, style),
        out: &mut out,
    };
    let result = run(&job, &options, inputs, &mut observer);
    let EventsObserver { base, writer, .. } = observer;
    base.finish();
    out.with(|w| writer.finish(w));
    out.finish(&mut ui);
    eprintln!("{}", summary(&result.stats, started, &[]));
    setup::count_input_failures(&mut ui, &result.stats, &args.run);
    ui.exit(false)
}

/// Writes each event as it is delivered. When standard output goes away (a closed pipe, a full
/// disk) it ends the process at once: the engine's observer has no way to stop a run yet, and
/// there is nothing left to do with the events.
struct EventsObserver<'a, 'u> {
    base: RunObserver<'u>,
    writer: EventWriter,
    out: &'a mut Out,
}

impl Observer for EventsObserver<'_, '_> {
    fn error(&mut self, error: &RecordError) {
        self.base.error(error);
    }

    fn input_failed(&mut self, error: &RecordError) {
        self.base.input_failed(error);
    }

    fn event(&mut self, origin: &Origin, fields: &[(Sym, Value<'static>)]) {
        let writer = &mut self.writer;
        self.out
            .with(|w| writer.write(w, &event_origin(origin), fields));
        if !self.out.is_open() {
            self.base.exit_now(self.out);
        }
    }

    fn progress(&mut self, stats: &Stats) {
        self.base.progress(stats);
    }
}

fn event_origin(origin: &Origin) -> EventOrigin {
    let position = match origin.place {
        Place::Text { line, record } => {
            let mut p = vec![("_line", line)];
            p.extend(record.map(|r| ("_record", r)));
            p
        }
        Place::Evtx {
            chunk,
            record,
            event_record_id,
        } => {
            let mut p = vec![("_chunk", chunk)];
            p.extend(record.map(|r| ("_record", r)));
            p.extend(event_record_id.map(|r| ("_record_id", r)));
            p
        }
    };
    EventOrigin {
        input: origin.input.to_string(),
        position,
    }
}
