//! Where a worker's messages go: standard error with the time, or nowhere (tests).

use std::fmt;

/// Receives a worker's messages.
pub trait Log: Send + Sync + fmt::Debug {
    /// Something worth knowing.
    fn info(&self, message: &str);
    /// Something that went wrong and was handled.
    fn warn(&self, message: &str);
}

/// Writes to standard error, `2026-01-05T10:00:00Z worker w1: message`.
#[derive(Debug, Clone)]
pub struct StderrLog {
    who: String,
    quiet: bool,
}

impl StderrLog {
    /// Messages prefixed with `who`; `quiet` keeps only warnings.
    pub fn new(who: impl Into<String>, quiet: bool) -> StderrLog {
        StderrLog {
            who: who.into(),
            quiet,
        }
    }
}

impl Log for StderrLog {
    fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{} {}: {message}", cimhunt_engine::now(), self.who);
        }
    }
    fn warn(&self, message: &str) {
        eprintln!("{} {}: warning: {message}", cimhunt_engine::now(), self.who);
    }
}

/// Drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLog;

impl Log for NoLog {
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
