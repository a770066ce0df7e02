//! The `cimhunt` binary: parses arguments and wires the stages; every behaviour lives in the
//! library crates (read → decode → normalize → match → aggregate → report).

mod allocator;
mod args;
mod cmd;
mod results;
mod sample;
mod setup;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// mimalloc rather than the system allocator: the library path allocates per event and per
/// group, and glibc's malloc spent about a quarter of a library run's time in its own
/// bookkeeping (`ARCHITECTURE.md`, "The library on a fleet's mix"); `CRATES.md` measured it
/// first on the decoder. Built without transparent huge pages (`no_thp`): with them, one
/// detection's peak memory doubled (35 → 65 MiB) and `serve`'s quintupled, for no speed.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Hunt(a) if a.nats.nats.is_some() => cmd::run_hunt_nats(a),
        Command::Hunt(a) => cmd::run_hunt(a),
        Command::Events(a) => cmd::run_events(a),
        Command::Explain(a) => cmd::run_explain(a),
        Command::Check(a) => cmd::run_check(a),
        Command::Test(a) => cmd::run_test(a),
        Command::Serve(a) => cmd::run_serve(*a),
        Command::Worker(a) => cmd::run_worker(a),
        Command::Publish(a) => cmd::run_publish(a),
        Command::Status(a) => cmd::run_status(a),
    };
    ExitCode::from(exit.code())
}
