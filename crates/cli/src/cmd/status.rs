//! `cimhunt status`: a NATS JetStream cluster's queue, workers and windows.

use std::io::Write;

use crate::args::{CheckFormat, StatusArgs};
use crate::cmd::Exit;
use crate::cmd::worker::nats_options;
use crate::ui::Ui;

/// Runs the subcommand.
pub fn run_status(args: StatusArgs) -> Exit {
    let mut ui = Ui::new(20);
    let Some(nats) = nats_options(&args.nats, &mut ui) else {
        return Exit::Error;
    };
    match cimhunt_cluster::status(&nats) {
        Ok(s) => {
            let text = match args.format {
                CheckFormat::Text => s.to_string(),
                CheckFormat::Json => format!("{}\n", s.to_json()),
            };
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    ui.error(format!("cannot write the status: {e}"));
                    Exit::Error
                }
                _ => Exit::Ok,
            }
        }
        Err(e) => {
            ui.error(e);
            Exit::Error
        }
    }
}
