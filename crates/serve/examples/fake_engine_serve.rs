//! `cimhunt serve` with a fake engine: one row, risk event and notable per event in each
//! window of one hourly ESCU-scheduled detection, under the events clock. The `kill -9` test
//! runs it as a child process; it also shows the integrator the whole service end to end.
//!
//! Usage: `fake_engine_serve STATE_DIR RISK_FILE [ADDR:PORT] [TOKEN]`; prints
//! `listening ADDR:PORT` once ready and runs until SIGTERM.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::io::Write;

use cimhunt_serve::{ClockSpec, DetectionId, ScheduledDetection, ServeConfig, TokenConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(state), Some(risk)) = (args.next(), args.next()) else {
        return Err("usage: fake_engine_serve STATE_DIR RISK_FILE [ADDR:PORT] [TOKEN]".into());
    };
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let token = args.next().unwrap_or_else(|| common::TOKEN.into());
    let mut config = ServeConfig::new(state);
    config.listen = listen.parse()?;
    config.tokens.push(TokenConfig::new(token));
    config.clock = ClockSpec::Events;
    config.tick_ms = 5;
    config.outputs.risk = Some(risk.into());
    let sink = common::FakeSink::new(vec![ScheduledDetection::escu_default(DetectionId::new(
        "Hourly",
    ))]);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        // The handler is installed before the address is announced: a SIGTERM sent as soon as
        // the test reads it must drain, not kill (a flaky failure of kill9.rs otherwise).
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut handle = cimhunt_serve::start(config, sink).await?;
        println!("listening {}", handle.local_addr());
        std::io::stdout().flush()?;
        term.recv().await;
        handle.stop();
        let report = handle.wait().await?;
        eprintln!("{report:?}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
