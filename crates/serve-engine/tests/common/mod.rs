//! Shared by the acceptance tests: detections, events as a forwarder would send them, a raw
//! HTTP client, and what `cimhunt hunt --now <scheduled time>` gives for a window's events
//! (the same library calls `hunt` makes: one batch run, `finish_all`, `row_json`,
//! `risk_events`, `notable_event`).
#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cimhunt_content::{ContentOptions, ContentSet, Detection, embedded_default};
use cimhunt_decode::{Decoded as DecodedRecord, decode_json, decode_xml};
use cimhunt_engine::{Job, Meta, Options, Quiet, finish_all, run};
use cimhunt_model::{Decoded, Model, Want};
use cimhunt_read::Input;
use cimhunt_report::{AlertContext, notable_event, risk_events, row_json};
use cimhunt_serve::{ClockSpec, ServeConfig, SimClock, TokenConfig};
use cimhunt_spl::{Timestamp, compile};

pub const TOKEN: &str = "00000000-1111-2222-3333-444444444444";
pub const HOUR: i64 = 3600;

pub fn model() -> Arc<Model> {
    Arc::new(Model::escu().expect("the ESCU profile compiles"))
}

/// The seed detection (Windows MSIExec Remote Download) as a job.
pub fn seed(model: &Arc<Model>) -> (Arc<Job>, Vec<Detection>) {
    let (detection, macros) = embedded_default();
    let compiled = compile(&detection.search, &macros, model.as_ref()).expect("seed compiles");
    let job = Job::builder(Arc::clone(model))
        .detection(detection.name.clone(), compiled.plan, &compiled.expanded)
        .build()
        .unwrap();
    (Arc::new(job), vec![detection])
}

/// A sink running one detection given as its YAML (no macros), on the schedule the YAML gives
/// it.
pub fn one_detection_sink(yaml: &str) -> cimhunt_serve_engine::EngineSink {
    let model = model();
    let detail = cimhunt_content::parse_detection(yaml, Path::new("probe.yml")).unwrap();
    let c = compile(
        &detail.search,
        &cimhunt_spl::MacroSet::new(),
        model.as_ref(),
    )
    .unwrap();
    let job = Job::builder(Arc::clone(&model))
        .detection(detail.name.clone(), c.plan, &c.expanded)
        .build()
        .unwrap();
    cimhunt_serve_engine::EngineSink::builder(Arc::new(job), vec![detail])
        .build()
        .unwrap()
}

/// Every detection under `dirs` of a security_content checkout that compiles, as a job whose
/// detections share states where they can (as `cimhunt serve` builds it).
pub fn library(model: &Arc<Model>, content: &Path, dirs: &[PathBuf]) -> (Arc<Job>, Vec<Detection>) {
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.to_owned()),
        detections: dirs.to_vec(),
        macro_files: Vec::new(),
    })
    .expect("the content loads");
    let mut b = Job::builder(Arc::clone(model)).share_states(true);
    let mut details = Vec::new();
    let mut names = std::collections::HashSet::new();
    for d in set.detections {
        let Ok(c) = compile(&d.search, &set.macros, model.as_ref()) else {
            continue;
        };
        if !names.insert(d.name.clone()) {
            continue;
        }
        if model_rejects(model, &c.plan) {
            continue;
        }
        b = b.detection(d.name.clone(), c.plan, &c.expanded);
        details.push(d);
    }
    (Arc::new(b.build().expect("the job builds")), details)
}

fn model_rejects(model: &Arc<Model>, plan: &cimhunt_spl::Plan) -> bool {
    Job::builder(Arc::clone(model))
        .detection("probe", plan.clone(), "probe")
        .build()
        .is_err()
}

/// The shared reference material.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: this test needs ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// The seed's fixtures: each line an event.
pub fn seed_fixture_texts() -> Vec<(String, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/seed");
    let mut out = Vec::new();
    for (file, json) in [
        ("sysmon.log", false),
        ("security.log", false),
        ("crowdstrike.jsonl", true),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        out.extend(events_of(text.trim_start_matches('\u{feff}'), json).map(|e| (e, json)));
    }
    out
}

/// The events of a fixture: JSON lines, or `<Event>` elements (the fixtures put two on one
/// line and spread one over several, as exports do).
pub fn events_of(text: &str, json: bool) -> impl Iterator<Item = String> + '_ {
    let pieces: Box<dyn Iterator<Item = String>> = if json {
        Box::new(text.lines().map(str::to_owned))
    } else {
        Box::new(text.split_inclusive("</Event>").map(str::to_owned))
    };
    pieces
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
}

/// One event as a forwarder sends it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The event's text (`_raw`).
    pub text: String,
    /// Whether it is a JSON object (sent as an `event` object) rather than XML text.
    pub json: bool,
    /// Its `_time`.
    pub time: Timestamp,
    /// The HEC envelope.
    pub envelope: String,
}

/// The envelope a Universal Forwarder-like shipper writes: Windows events with sourcetype
/// `XmlWinEventLog`, source `XmlWinEventLog:<Channel>`, host `<Computer>`; CrowdStrike events
/// with sourcetype `crowdstrike:events:sensor`; the envelope's `time` is the event's own time.
pub fn sent(model: &Model, text: &str, json: bool) -> Sent {
    let decoded = if json {
        decode_json(text.as_bytes()).unwrap()
    } else {
        DecodedRecord::Windows(decode_xml(text.as_bytes()).unwrap())
    };
    let mut env = serde_json::Map::new();
    match &decoded {
        DecodedRecord::Windows(w) => {
            env.insert("sourcetype".into(), "XmlWinEventLog".into());
            env.insert(
                "source".into(),
                format!("XmlWinEventLog:{}", w.channel().unwrap_or("")).into(),
            );
            if let Some(c) = w.computer() {
                env.insert("host".into(), c.into());
            }
        }
        DecodedRecord::Flat(_) => {
            env.insert("sourcetype".into(), "crowdstrike:events:sensor".into());
        }
        _ => unreachable!(),
    }
    let view = match &decoded {
        DecodedRecord::Windows(w) => Decoded::Windows(w),
        DecodedRecord::Flat(f) => Decoded::Flat(f),
        _ => unreachable!(),
    };
    let meta = Meta::default();
    let want = Want::default();
    let time = model.event(view, &meta, &want, Some(text)).time().unwrap();
    env.insert(
        "time".into(),
        serde_json::from_str(&time.epoch_text()).unwrap(),
    );
    env.insert("index".into(), "main".into());
    let mut envelope = serde_json::Value::Object(env).to_string();
    envelope.pop();
    if json {
        envelope.push_str(&format!(",\"event\":{text}}}"));
    } else {
        envelope.push_str(&format!(
            ",\"event\":{}}}",
            serde_json::Value::String(text.to_owned())
        ));
    }
    Sent {
        text: text.to_owned(),
        json,
        time,
        envelope,
    }
}

/// POSTs a body to the HEC event endpoint; the status code.
pub fn post(addr: SocketAddr, body: &str) -> u16 {
    post_to(addr, "/services/collector/event", body)
}

/// POSTs a body to a HEC path (with its query string); the status code.
pub fn post_to(addr: SocketAddr, path: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Splunk {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A configuration on a loopback port with a simulated clock.
pub fn config(state: &Path, clock: &SimClock, out: &Path) -> ServeConfig {
    let mut c = ServeConfig::new(state);
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.tokens.push(TokenConfig::new(TOKEN));
    c.tick_ms = 5;
    c.clock = ClockSpec::Simulated(clock.clone());
    c.outputs.rows = Some(out.join("rows.jsonl"));
    c.outputs.risk = Some(out.join("risk.jsonl"));
    c.outputs.notable = Some(out.join("notable.jsonl"));
    c
}

/// What one window gives.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outputs {
    pub rows: Vec<String>,
    pub risk: Vec<String>,
    pub notable: Vec<String>,
}

impl Outputs {
    pub fn extend(&mut self, other: Outputs) {
        self.rows.extend(other.rows);
        self.risk.extend(other.risk);
        self.notable.extend(other.notable);
    }

    pub fn read(dir: &Path) -> Outputs {
        let lines = |f: &str| -> Vec<String> {
            std::fs::read_to_string(dir.join(f))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect()
        };
        Outputs {
            rows: lines("rows.jsonl"),
            risk: lines("risk.jsonl"),
            notable: lines("notable.jsonl"),
        }
    }
}

/// What `cimhunt hunt --now <scheduled>` gives for `events` (one input each, in order, with
/// the metadata a file's events get), per detection.
pub fn hunt(
    job: &Job,
    details: &[Detection],
    events: &[&Sent],
    scheduled: Timestamp,
) -> Vec<Outputs> {
    let options = Options {
        threads: 1,
        now: scheduled,
        ..Options::default()
    };
    let inputs = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let input = Input::reader(
                format!("event {i}"),
                Box::new(Cursor::new(e.text.clone().into_bytes())),
            );
            (input, Meta::default())
        })
        .collect();
    let result = run(job, &options, inputs, &mut Quiet);
    assert_eq!(
        result.stats.skipped_records, 0,
        "the window's events all read"
    );
    let finished = finish_all(job, result.states, &options.exec_ctx(), 1);
    details
        .iter()
        .zip(finished)
        .map(|(d, rows)| {
            let rows = rows.expect("rows finish");
            let ctx = AlertContext::new(d, scheduled);
            let mut o = Outputs::default();
            for row in &rows {
                o.rows.push(row_json(&d.name, row));
                o.risk.extend(risk_events(&ctx, row));
                o.notable.push(notable_event(&ctx, row));
            }
            o
        })
        .collect()
}

/// The ESCU windows (hourly at minute 0 over `-70m@m` to `-10m@m`) from the one at `first`
/// to the one at `last`, each with the events whose `_time` it holds.
pub fn windows(events: &[Sent], first: i64, last: i64) -> Vec<(Timestamp, Vec<&Sent>)> {
    (0..=(last - first) / HOUR)
        .map(|k| {
            let t = first + k * HOUR;
            let (from, to) = ((t - 70 * 60) * 1_000_000_000, (t - 10 * 60) * 1_000_000_000);
            let inside = events
                .iter()
                .filter(|e| e.time.as_nanos() >= from && e.time.as_nanos() < to)
                .collect();
            (Timestamp::from_nanos(t * 1_000_000_000, 0), inside)
        })
        .collect()
}

/// The expected outputs of every window, in the order the service runs them (scheduled time,
/// then detection order).
pub fn expected(job: &Job, details: &[Detection], windows: &[(Timestamp, Vec<&Sent>)]) -> Outputs {
    let mut all = Outputs::default();
    // Every window, those without events too: a search without `by` (`| stats count`) gives
    // its one row (count=0) over no events, in a scheduled run as in a hunt.
    for (t, events) in windows {
        for o in hunt(job, details, events, *t) {
            all.extend(o);
        }
    }
    all
}

/// Polls `cond` every 5 ms for up to 60 s (a bound, not a timing assertion).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The hour at or before `t` (seconds).
pub fn hour_floor(t: Timestamp) -> i64 {
    t.as_secs().div_euclid(HOUR) * HOUR
}

/// A running service over the real engine, with a simulated clock and outputs in a temporary
/// directory (`rows.jsonl`, `risk.jsonl`, `notable.jsonl`; state in `state/`).
pub struct Service {
    pub dir: tempfile::TempDir,
    pub clock: SimClock,
    pub sink: Arc<cimhunt_serve_engine::EngineSink>,
    rt: tokio::runtime::Runtime,
    handle: cimhunt_serve::ServeHandle,
}

impl Service {
    /// Starts the service for `job`'s detections with the clock at `start`; `tweak` may change
    /// the configuration first.
    pub fn start(
        job: &Arc<Job>,
        details: &[Detection],
        start: Timestamp,
        tweak: impl FnOnce(&mut ServeConfig),
    ) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let clock = SimClock::new(start);
        // Two workers, so that windows due together also run two at a time (their outputs are
        // compared in order with one-thread hunts) on any machine.
        let options = Options {
            threads: 2,
            ..Options::default()
        };
        let sink = Arc::new(
            cimhunt_serve_engine::EngineSink::builder(Arc::clone(job), details.to_vec())
                .options(options)
                .build()
                .unwrap(),
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut c = config(&dir.path().join("state"), &clock, dir.path());
        tweak(&mut c);
        let handle = rt
            .block_on(cimhunt_serve::start(
                c,
                Arc::clone(&sink) as Arc<dyn cimhunt_serve::Sink>,
            ))
            .unwrap();
        Service {
            dir,
            clock,
            sink,
            rt,
            handle,
        }
    }

    /// Where the service listens.
    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// Stops the service (it runs the windows of the events received) and gives its report and
    /// its outputs.
    pub fn stop(mut self) -> (cimhunt_serve::ServeReport, Outputs) {
        self.handle.stop();
        let report = self.rt.block_on(self.handle.wait()).unwrap();
        (report, Outputs::read(self.dir.path()))
    }
}

/// Submits to `sink`, as batch `seq`, one `_json` event `{"message": m}` of index `main` per
/// `(epoch seconds, m, host)`.
pub fn submit_messages(
    sink: &cimhunt_serve_engine::EngineSink,
    seq: u64,
    events: &[(i64, String, &str)],
) {
    use cimhunt_serve::{Batch, EventBody, HecEvent, JsonText, Sink};
    let events = events
        .iter()
        .map(|(t, m, host)| HecEvent {
            body: EventBody::Json(JsonText::new(&format!(r#"{{"message":"{m}"}}"#)).unwrap()),
            time: Some(Timestamp::from_nanos(t * 1_000_000_000, 0)),
            host: Some((*host).into()),
            source: None,
            sourcetype: Some("_json".into()),
            index: "main".into(),
            fields: Vec::new(),
            received: None,
        })
        .collect();
    sink.submit(Batch {
        seq,
        events,
        replayed: false,
    })
    .unwrap();
}
