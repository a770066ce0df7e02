//! `cimhunt events`: events as a search sees them — a dataset's view, or every search-time
//! field.

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use cimhunt_engine::{EventsView, Job, Origin, Place, run};
use cimhunt_report::{EventOrigin, EventWriter, Format};
use cimhunt_spl::Sym;

use crate::args::EventsArgs;
use crate::cmd::{Exit, format_of};
use crate::setup;
use crate::ui::{RunObserver, Ui, summary};

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

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut writer = EventWriter::new(format, columns);
    let mut write_error: Option<std::io::Error> = None;
    let mut observer = RunObserver::new(&mut ui, !args.run.no_progress, |origin, fields| {
        if write_error.is_none()
            && let Err(e) = writer.write(&mut out, &event_origin(origin), fields)
        {
            write_error = Some(e);
        }
    });
    let result = run(&job, &options, inputs, &mut observer);
    observer.finish();
    let finished = writer.finish(&mut out).and_then(|()| out.flush());
    if let Some(e) = write_error.or(finished.err())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        ui.error(format!("cannot write events: {e}"));
    }
    eprintln!("{}", summary(&result.stats, started, &[]));
    if setup::run_failed(&ui, &result.stats, &args.run) {
        Exit::Error
    } else {
        Exit::Ok
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
        _ => Vec::new(),
    };
    EventOrigin {
        input: origin.input.to_string(),
        position,
    }
}
