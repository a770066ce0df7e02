//! The subcommands, one module each.

mod check;
mod events;
mod explain;
mod hunt;
mod hunt_nats;
mod publish;
mod serve;
mod serve_nats;
mod status;
mod test;
mod worker;

pub use check::run_check;
pub use events::run_events;
pub use explain::run_explain;
pub use hunt::run_hunt;
pub use hunt_nats::run_hunt_nats;
pub use publish::run_publish;
pub use serve::{ServeCmdArgs, run_serve};
pub use status::run_status;
pub use test::run_test;
pub use worker::run_worker;

use cimhunt_report::Format;

use crate::args::FormatArg;

/// How the process ends: the exit-status policy (`cimhunt --help`, README "Exit status").
///
/// Three classes of outcome are kept apart so that a CI job can tell them: findings (1), errors
/// in the inputs, arguments or output (2), and errors in the detection content (3). When several
/// happen, the highest in the order 2, 3, 1 wins: unread evidence matters most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran; nothing to report (or findings without `--fail-on-match`).
    Ok,
    /// Findings: rows with `--fail-on-match`; a failed test in `cimhunt test`.
    Findings,
    /// An error in the inputs, arguments or output: an input that cannot be read (with
    /// `--strict`, a skipped record), a bad option, a full disk; `test` with no test run.
    Error,
    /// An error in the content: a detection or macro file that does not load, a search that
    /// does not compile (an undefined macro). The other detections still ran.
    /// `--content-errors warn` makes these warnings (status 0 or 1), except when no detection
    /// can run at all.
    ContentError,
}

impl Exit {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Findings => 1,
            Exit::Error => 2,
            Exit::ContentError => 3,
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
