//! `cimhunt serve`: a Splunk HTTP Event Collector (HEC) endpoint that runs detections on
//! Enterprise Security's schedule and writes the rows, risk events and notables ES would.
//!
//! Any HEC client (Splunk's logging libraries, Fluent Bit, Vector, the OpenTelemetry
//! collector, a universal forwarder's HTTP output) can send to it. Accepted events are
//! journaled to disk before the client gets its 200, handed to the detection engine through
//! the [`engine::Sink`] trait, and every detection runs on its `cron_schedule` over its
//! `earliest_time`/`latest_time` window; outputs go to JSON-lines files and, optionally, to a
//! real Splunk's HEC.
//!
//! Key design decision: the service knows nothing of detections beyond their schedule. The
//! engine sits behind [`engine::Sink`]; durability, back-pressure, scheduling and delivery are
//! all on this side, so each can be tested with a fake engine. `docs/serve.md` gives the
//! protocol, the error replies, the configuration and the durability argument.
//!
//! Entry points: [`run`] (until SIGTERM) and [`start`] (a handle, for tests and embedding),
//! both taking a [`ServeConfig`] (from a TOML file, or built from [`ServeArgs`]).

mod args;
pub mod config;
pub mod engine;
mod fsutil;
pub mod hec;
mod journal;
mod log;
pub mod output;
mod runner;
pub mod schedule;
mod server;
pub mod texts;

pub use args::ServeArgs;
pub use config::{ClockSpec, ServeConfig, TokenConfig};
pub use engine::{
    Batch, Busy, DetectionId, EventBody, HecEvent, JsonText, ScheduledDetection, Sink, SinkStats,
    Texts, Window, WindowError, WindowOutput,
};
pub use runner::RunnerError;
pub use schedule::SimClock;
pub use server::{ServeError, ServeHandle, ServeReport, run, run_blocking, start};
