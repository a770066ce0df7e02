//! What the user sees on standard error: messages, the progress bar, the run summary.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use cimhunt_engine::{Observer, Origin, RecordError, Stats};
use cimhunt_spl::{Sym, Value};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Writes messages to standard error and counts what went wrong.
#[derive(Debug)]
pub struct Ui {
    color: bool,
    max_errors: usize,
    printed_errors: usize,
    /// Errors that make the run fail (exit status 2): bad detections, unreadable inputs.
    pub failures: usize,
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

    /// A rendered SPL diagnostic (miette's graphical report).
    pub fn diagnostic(&mut self, header: &str, diagnostic: &dyn miette::Diagnostic) {
        self.failures += 1;
        let handler = if self.color {
            miette::GraphicalReportHandler::new()
        } else {
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        };
        let mut out = String::new();
        if handler.render_report(&mut out, diagnostic).is_err() {
            out = diagnostic.to_string();
        }
        eprintln!("{}: {header}\n{out}", self.tag("error", "31"));
    }
}

/// Receives a run's findings: prints skipped records and drives the progress bar; optionally
/// forwards events.
pub struct RunObserver<'u, F: FnMut(&Origin, &[(Sym, Value<'static>)])> {
    ui: &'u mut Ui,
    progress: ProgressBar,
    on_event: F,
}

impl<'u, F: FnMut(&Origin, &[(Sym, Value<'static>)])> RunObserver<'u, F> {
    /// An observer; the progress bar shows only on a terminal, and not with `--no-progress`.
    pub fn new(ui: &'u mut Ui, show_progress: bool, on_event: F) -> Self {
        let progress = if show_progress && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            let style = ProgressStyle::with_template(
                "{spinner} {binary_bytes} read ({binary_bytes_per_sec}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(125));
            bar
        } else {
            ProgressBar::hidden()
        };
        RunObserver {
            ui,
            progress,
            on_event,
        }
    }

    /// Removes the progress bar.
    pub fn finish(self) {
        self.progress.finish_and_clear();
    }
}

impl<F: FnMut(&Origin, &[(Sym, Value<'static>)])> Observer for RunObserver<'_, F> {
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

    fn event(&mut self, origin: &Origin, fields: &[(Sym, Value<'static>)]) {
        (self.on_event)(origin, fields);
    }

    fn progress(&mut self, stats: &Stats) {
        self.progress.set_position(stats.bytes);
        self.progress.set_message(format!(
            "{} records, {} events",
            thousands(stats.records),
            thousands(stats.events)
        ));
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
