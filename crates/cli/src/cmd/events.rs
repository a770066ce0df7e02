//! `cimhunt events`: process events as the data model presents them to a search.

use std::io::{BufWriter, Write};
use std::time::Instant;

use cimhunt_pipeline::{Job, Origin, Place, run};
use cimhunt_report::{EventOrigin, EventWriter};

use crate::args::EventsArgs;
use crate::cmd::{Exit, format_of};
use crate::setup;
use crate::ui::{RunObserver, Ui, summary};

/// Runs the subcommand.
pub fn run_events(args: EventsArgs) -> Exit {
    let started = Instant::now();
    let mut ui = Ui::new(args.run.max_errors);
    let Some(normalizer) = setup::normalizer(&args.normalize, &mut ui) else {
        return Exit::Error;
    };
    let inputs = setup::inputs(&args.paths, &mut ui);
    let mut job = Job::new(Vec::new(), normalizer);
    job.collect_events = true;
    setup::apply_run_args(&mut job, &args.run);

    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut writer = EventWriter::new(format_of(args.format));
    let mut write_error: Option<std::io::Error> = None;
    let mut observer = RunObserver::new(&mut ui, !args.run.no_progress, |origin, event| {
        if write_error.is_none()
            && let Err(e) = writer.write(&mut out, &event_origin(origin), event)
        {
            write_error = Some(e);
        }
    });
    let result = run(&job, inputs, &mut observer);
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
        Place::Text { line, record } => vec![("_line", line), ("_record", record)],
        Place::Evtx { chunk, record_id } => vec![("_chunk", chunk), ("_record_id", record_id)],
    };
    EventOrigin {
        input: origin.input.to_string(),
        position,
    }
}
