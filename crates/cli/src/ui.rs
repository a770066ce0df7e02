//! What the user sees: messages, the progress bar and the run summary on standard error, and
//! standard output written with a command-line tool's manners ([`Out`]).
//!
//! Key design decision: every command writes its results through [`Out`] and counts its
//! problems in a [`Ui`], which turns them into the exit status of the one policy documented in
//! `cimhunt --help` (see [`crate::cmd::Exit`]). A closed pipe (`| head`) ends the output quietly;
//! any other write error (a full disk) is reported once and fails the run; nothing panics.

use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::time::{Duration, Instant};

use cimhunt_engine::{Observer, RecordError, Stats};
use cimhunt_report::TableStyle;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cmd::Exit;

/// Writes messages to standard error and counts what went wrong, by class.
#[derive(Debug)]
pub struct Ui {
    color: bool,
    max_errors: usize,
    printed_errors: usize,
    /// Errors in inputs, arguments or output (exit status 2): an unreadable input, a full disk.
    pub failures: usize,
    /// Errors in content (exit status 3 unless they are warnings): a detection or macro file
    /// that does not load, a search that does not compile.
    pub content_failures: usize,
    /// `--content-errors warn`: content errors are printed as warnings and do not fail the run.
    pub content_errors_are_warnings: bool,
    /// A content error that `--content-errors warn` cannot excuse: nothing could run.
    nothing_ran: bool,
}

impl Ui {
    /// A UI printing at most `max_errors` skipped-record messages.
    pub fn new(max_errors: usize) -> Self {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Ui {
            color,
            max_errors,
            printed_errors: 0,
            failures: 0,
            content_failures: 0,
            content_errors_are_warnings: false,
            nothing_ran: false,
        }
    }

    /// The exit status for what was counted: input errors (2) before content errors (3,
    /// unless they are warnings) before findings (1).
    pub fn exit(&self, findings: bool) -> Exit {
        if self.failures > 0 {
            Exit::Error
        } else if self.nothing_ran
            || (self.content_failures > 0 && !self.content_errors_are_warnings)
        {
            Exit::ContentError
        } else if findings {
            Exit::Findings
        } else {
            Exit::Ok
        }
    }

    /// No detection could run (all failed or were skipped): an error in content even with
    /// `--content-errors warn`, since the run checked nothing.
    pub fn nothing_to_run(&mut self) {
        self.content_failures += 1;
        self.nothing_ran = true;
        eprintln!("{}: no detection can run", self.tag("error", "31"));
    }

    /// An error in content (a detection, a macro): an error, or a warning with
    /// `--content-errors warn`.
    pub fn content_error(&mut self, message: impl fmt::Display) {
        self.content_failures += 1;
        if self.content_errors_are_warnings {
            self.warn(message);
        } else {
            eprintln!("{}: {message}", self.tag("error", "31"));
        }
    }

    fn tag(&self, name: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{name}\x1b[0m")
        } else {
            name.to_owned()
        }
    }

    /// An error that makes the run fail.
    pub fn error(&mut self, message: impl std::fmt::Display) {
        self.failures += 1;
        eprintln!("{}: {message}", self.tag("error", "31"));
    }

    /// Something the user should know that does not fail the run.
    pub fn warn(&self, message: impl std::fmt::Display) {
        eprintln!("{}: {message}", self.tag("warning", "33"));
    }

    /// An informational note.
    pub fn note(&self, message: impl std::fmt::Display) {
        eprintln!("{}: {message}", self.tag("note", "36"));
    }

    /// A skipped record; printed until the limit, then counted silently.
    pub fn skipped(&mut self, error: &RecordError) {
        self.printed_errors += 1;
        if self.printed_errors <= self.max_errors {
            eprintln!("{}: {error}", self.tag("skipped", "33"));
        } else if self.printed_errors == self.max_errors + 1 {
            self.note(
                "further skipped records are counted in the summary, not shown (--max-errors)",
            );
        }
    }

    /// A rendered SPL diagnostic (miette's graphical report): a content error.
    pub fn diagnostic(&mut self, header: &str, diagnostic: &dyn miette::Diagnostic) {
        self.content_failures += 1;
        let handler = if self.color {
            miette::GraphicalReportHandler::new()
        } else {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        };
        let mut out = String::new();
        if handler.render_report(&mut out, diagnostic).is_err() {
            out = diagnostic.to_string();
        }
        let tag = if self.content_errors_are_warnings {
            self.tag("warning", "33")
        } else {
            self.tag("error", "31")
        };
        eprintln!("{tag}: {header}\n{out}");
    }
}

/// Standard output for a command's results.
///
/// Writes are buffered. The first failed write ends the output: a closed pipe (`EPIPE`, the
/// reader went away, as `head` does) quietly, any other error (`ENOSPC`, a full disk) with an
/// error from [`Out::finish`]. Later writes do nothing, so a command can check
/// [`Out::is_open`] to stop early and never panics the way `println!` does.
pub struct Out {
    inner: BufWriter<Box<dyn Write>>,
    state: OutState,
}

/// Whether output can still be written.
#[derive(Debug)]
pub enum OutState {
    /// Writes go through.
    Open,
    /// The reader closed the pipe: output ended, which is not an error.
    Closed,
    /// A write failed for another reason.
    Failed(io::Error),
}

impl fmt::Debug for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Out")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Out {
    /// The process's standard output.
    pub fn stdout() -> Self {
        Out::new(Box::new(io::stdout().lock()))
    }

    /// Output to any writer (for tests).
    pub fn new(writer: Box<dyn Write>) -> Self {
        Out {
            inner: BufWriter::with_capacity(64 * 1024, writer),
            state: OutState::Open,
        }
    }

    /// `write!`/`writeln!` support: formats and writes, recording a failure.
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) {
        if self.is_open() {
            let result = self.inner.write_fmt(args);
            self.record(result);
        }
    }

    /// Runs a writer function (a reporter's) on the output, recording a failure.
    pub fn with(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
        if self.is_open() {
            let result = f(&mut self.inner);
            self.record(result);
        }
    }

    /// Flushes what is buffered, recording a failure.
    pub fn flush(&mut self) {
        if self.is_open() {
            let result = self.inner.flush();
            self.record(result);
        }
    }

    fn record(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.state = if e.kind() == io::ErrorKind::BrokenPipe {
                OutState::Closed
            } else {
                OutState::Failed(e)
            };
        }
    }

    /// Whether writes still go through.
    pub fn is_open(&self) -> bool {
        matches!(self.state, OutState::Open)
    }

    /// Flushes and reports a failed write as an error (a closed pipe is not one). Returns
    /// whether everything was written.
    pub fn finish(mut self, ui: &mut Ui) -> bool {
        self.flush();
        report_out_state(&mut self.state, ui)
    }
}

/// Reports a failed output as an error, once; whether the output is still open.
fn report_out_state(state: &mut OutState, ui: &mut Ui) -> bool {
    match std::mem::replace(state, OutState::Closed) {
        OutState::Open => {
            *state = OutState::Open;
            true
        }
        OutState::Closed => false,
        OutState::Failed(e) => {
            ui.error(format!("cannot write to standard output: {e}"));
            false
        }
    }
}

/// Ends the process at once, because its output went away: a closed pipe exits quietly with
/// the status so far; a failed write is reported first. Used where the engine cannot be asked
/// to stop (its observer has no way to stop a run yet), so that `cimhunt events … | head -1`
/// does not read the rest of its input.
pub fn exit_now(out: &mut Out, ui: &mut Ui) -> ! {
    report_out_state(&mut out.state, ui);
    std::process::exit(i32::from(ui.exit(false).code()))
}

/// Receives a run's findings: prints skipped records and drives the progress bar.
pub struct RunObserver<'u> {
    ui: &'u mut Ui,
    progress: ProgressBar,
}

impl<'u> RunObserver<'u> {
    /// An observer; the progress bar shows only on a terminal, and not with `--no-progress`.
    pub fn new(ui: &'u mut Ui, show_progress: bool) -> Self {
        let progress = stderr_bar(
            show_progress,
            None,
            "{spinner} {binary_bytes} read ({binary_bytes_per_sec}) {msg}",
        );
        RunObserver { ui, progress }
    }

    /// Removes the progress bar.
    pub fn finish(self) {
        self.progress.finish_and_clear();
    }

    /// Removes the progress bar and ends the process because its output went away (see
    /// [`exit_now`]).
    pub fn exit_now(&mut self, out: &mut Out) -> ! {
        self.progress.finish_and_clear();
        exit_now(out, self.ui)
    }
}

/// A progress bar on standard error, drawn eight times a second with `template`, when `show`
/// and standard error is a terminal; a hidden one otherwise.
fn stderr_bar(show: bool, len: Option<u64>, template: &str) -> ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr_with_hz(8));
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(125));
    bar
}

/// A progress bar for finishing a run's detections, once every event has been read: the
/// library's states over a large input take seconds to finish (a quarter of its time over
/// 1 GiB), with nothing read meanwhile. It shows only on a terminal, with more than one
/// detection, and not with `--no-progress`; [`FinishProgress::around`] takes it off the screen
/// while a detection's rows or errors are printed.
#[derive(Debug)]
pub struct FinishProgress {
    bar: ProgressBar,
}

impl FinishProgress {
    /// A bar over `detections`.
    pub fn new(show_progress: bool, detections: usize) -> Self {
        let bar = stderr_bar(
            show_progress && detections > 1,
            Some(detections as u64),
            "{spinner} finishing detections: {pos}/{len} handed on ({elapsed})",
        );
        FinishProgress { bar }
    }

    /// `done` detections have been handed on.
    pub fn handed_on(&self, done: usize) {
        self.bar.set_position(done as u64);
    }

    /// Runs `f`, which prints, with the bar off the screen.
    pub fn around<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for RunObserver<'_> {
    fn error(&mut self, error: &RecordError) {
        let ui = &mut *self.ui;
        self.progress.suspend(|| ui.skipped(error));
    }

    fn input_failed(&mut self, error: &RecordError) {
        let ui = &mut *self.ui;
        self.progress.suspend(|| ui.error(error));
    }

    fn notice(&mut self, notice: &RecordError) {
        let ui = &mut *self.ui;
        self.progress.suspend(|| ui.warn(notice));
    }

    fn progress(&mut self, stats: &Stats) {
        self.progress.set_position(stats.record_bytes);
        self.progress.set_message(format!(
            "{} records, {} events",
            thousands(stats.records),
            thousands(stats.events)
        ));
    }
}

/// How tables look on standard output: fitted to the terminal's width, with a bold header,
/// when standard output is a terminal (and `NO_COLOR` is unset, for the bold); unbounded and
/// plain otherwise (a file or a pipe gets whole lines).
pub fn table_style() -> TableStyle {
    let terminal = std::io::stdout().is_terminal();
    let width = if terminal {
        console::Term::stdout()
            .size_checked()
            .map(|(_, cols)| cols)
            .filter(|&c| c > 0)
    } else {
        None
    };
    TableStyle {
        color: terminal && std::env::var_os("NO_COLOR").is_none(),
        width,
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The summary printed on standard error at the end of a run.
pub fn summary(stats: &Stats, started: Instant, extra: &[String]) -> String {
    let secs = started.elapsed().as_secs_f64();
    let mut out = String::new();
    let mut line = format!(
        "cimhunt: {} input{} ({}), {} records",
        thousands(stats.inputs),
        if stats.inputs == 1 { "" } else { "s" },
        bytes(stats.bytes),
        thousands(stats.records)
    );
    if stats.prefiltered > 0 {
        line += &format!(
            " ({} skipped undecoded by the prefilter)",
            thousands(stats.prefiltered)
        );
    }
    line += &format!(
        ", {} events, {} skipped records",
        thousands(stats.events),
        thousands(stats.skipped_records)
    );
    out.push_str(&line);
    for (reason, n) in &stats.skipped_reasons {
        out.push_str(&format!("\n  skipped: {} × {reason}", thousands(*n)));
    }
    for (kind, n) in &stats.notices {
        out.push_str(&format!(
            "\n  damage worked around: {} × {kind}",
            thousands(*n)
        ));
    }
    if stats.unverified_records > 0 {
        out.push_str(&format!(
            "\n  {} records kept from EVTX chunks whose checksum fails (values may be altered; --strict fails on them)",
            thousands(stats.unverified_records)
        ));
    }
    if stats.repaired_records > 0 {
        out.push_str(&format!(
            "\n  {} records kept after {} repairs (invalid UTF-8 written \\xNN, lone surrogates, out-of-range numbers)",
            thousands(stats.repaired_records),
            thousands(stats.repairs)
        ));
    }
    if stats.inputs_failed > 0 {
        out.push_str(&format!(
            "\n  {} input{} could not be read (to the end)",
            thousands(stats.inputs_failed),
            if stats.inputs_failed == 1 { "" } else { "s" }
        ));
    }
    if stats.inputs_not_events > 0 {
        out.push_str(&format!(
            "\n  {} file{} without event data passed over",
            thousands(stats.inputs_not_events),
            if stats.inputs_not_events == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    let rate = if secs > 0.0 {
        stats.records as f64 / secs
    } else {
        0.0
    };
    let mut tail = extra.to_vec();
    tail.push(format!(
        "{secs:.2} s ({} records/s)",
        thousands(rate as u64)
    ));
    out.push_str(&format!("\n  {}", tail.join(", ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose every write fails with `kind`.
    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from(self.0))
        }
    }

    #[test]
    fn a_closed_pipe_ends_output_quietly() {
        let mut ui = Ui::new(0);
        let mut out = Out::new(Box::new(Failing(io::ErrorKind::BrokenPipe)));
        writeln!(out, "{}", "x".repeat(100_000));
        assert!(!out.is_open());
        writeln!(out, "ignored");
        assert!(!out.finish(&mut ui));
        assert_eq!(ui.failures, 0);
        assert_eq!(ui.exit(false), Exit::Ok);
    }

    #[test]
    fn a_full_disk_is_an_error() {
        let mut ui = Ui::new(0);
        let mut out = Out::new(Box::new(Failing(io::ErrorKind::StorageFull)));
        writeln!(out, "small, buffered");
        assert!(out.is_open(), "nothing written yet");
        assert!(!out.finish(&mut ui));
        assert_eq!(ui.failures, 1);
        assert_eq!(ui.exit(true), Exit::Error);
    }

    #[test]
    fn exit_policy_orders_errors_content_findings() {
        let mut ui = Ui::new(0);
        assert_eq!(ui.exit(false), Exit::Ok);
        assert_eq!(ui.exit(true), Exit::Findings);
        ui.content_failures = 1;
        assert_eq!(ui.exit(true), Exit::ContentError);
        ui.content_errors_are_warnings = true;
        assert_eq!(ui.exit(true), Exit::Findings);
        ui.failures = 1;
        assert_eq!(ui.exit(true), Exit::Error);
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}
