//! The subcommands, one module each.

mod check;
mod events;
mod explain;
mod hunt;
mod hunt_nats;
mod publish;
mod status;
mod test;
mod worker;

pub use check::run_check;
pub use events::run_events;
pub use explain::run_explain;
pub use hunt::run_hunt;
pub use hunt_nats::run_hunt_nats;
pub use publish::run_publish;
pub use status::run_status;
pub use test::run_test;
pub use worker::run_worker;

use cimhunt_report::Format;

use crate::args::FormatArg;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, whether or not anything matched.
    Ok,
    /// `--fail-on-match` and rows were produced.
    Matched,
    /// Errors: bad arguments, detections or inputs (or skipped records with `--strict`).
    Error,
}

impl Exit {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Matched => 1,
            Exit::Error => 2,
        }
    }
}

/// The report format for a `--format` value.
pub fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Csv => Format::Csv,
    }
}
