//! `cimhunt serve --nats` as a library: the HEC service with `HecSink` publishes the requests
//! it accepts, one worker processes them, and the outputs writer puts the windows' outputs in
//! files — the same lines a local engine gives for each window (`hunt --now <window time>`
//! over the window's events). And the writer writes every output once when it is restarted
//! part-way, after a crash that lost its last saved state, and when the stream holds a copy.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cimhunt_cluster::{
    Clock, HecSink, Limits, Log, NoLog, OutputFiles, OutputKind, Stop, WriterConfig, WriterSummary,
    write_outputs,
};
use cimhunt_serve::{ServeConfig, TokenConfig};
use common::*;

const TOKEN: &str = "00000000-1111-2222-3333-444444444444";

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap() + open.len();
    let end = start + text[start..].find(close).unwrap();
    &text[start..end]
}

/// The seed fixtures as a forwarder sends them: XmlWinEventLog envelopes (channel in
/// `source`, computer in `host`) and CrowdStrike objects.
fn envelopes() -> String {
    let dir = repo().join("crates/engine/tests/fixtures/seed");
    let mut body = String::new();
    for (file, json) in [
        ("sysmon.log", false),
        ("security.log", false),
        ("crowdstrike.jsonl", true),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let pieces: Vec<&str> = if json {
            text.lines().collect()
        } else {
            text.split_inclusive("</Event>").collect()
        };
        for e in pieces.into_iter().map(str::trim).filter(|l| !l.is_empty()) {
            if json {
                body.push_str(&format!(
                    r#"{{"sourcetype":"crowdstrike:events:sensor","event":{e}}}"#
                ));
            } else {
                body.push_str(&format!(
                    r#"{{"host":"{}","source":"XmlWinEventLog:{}","sourcetype":"XmlWinEventLog","event":{}}}"#,
                    between(e, "<Computer>", "</Computer>"),
                    between(e, "<Channel>", "</Channel>"),
                    serde_json::Value::String(e.to_owned())
                ));
            }
        }
    }
    body
}

fn post(addr: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let req = format!(
        "POST /services/collector/event HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Splunk \
         {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

struct Files {
    rows: PathBuf,
    risk: PathBuf,
    notable: PathBuf,
    state: PathBuf,
}

impl Files {
    fn new(dir: &Path) -> Files {
        Files {
            rows: dir.join("rows.jsonl"),
            risk: dir.join("risk.jsonl"),
            notable: dir.join("notable.jsonl"),
            state: dir.join("writer/state.json"),
        }
    }

    /// Runs a writer until it has written everything the stream holds.
    fn drain(&self, nats: &cimhunt_cluster::NatsOptions, batch: usize) -> WriterSummary {
        let mut config = WriterConfig::new(
            OutputFiles {
                rows: Some(self.rows.clone()),
                risk: Some(self.risk.clone()),
                notable: Some(self.notable.clone()),
            },
            self.state.clone(),
        );
        config.batch = batch;
        config.drain = true;
        let log: Arc<dyn Log> = Arc::new(NoLog);
        write_outputs(nats, config, Stop::new(), log).expect("writer")
    }

    fn printed(&self) -> Printed {
        Printed {
            rows: lines(&self.rows),
            risk: lines(&self.risk),
            notables: lines(&self.notable),
        }
    }
}

fn concat<'a>(windows: impl IntoIterator<Item = &'a Printed>) -> Printed {
    let mut all = Printed::default();
    for p in windows {
        all.rows.extend(p.rows.iter().cloned());
        all.risk.extend(p.risk.iter().cloned());
        all.notables.extend(p.notables.iter().cloned());
    }
    all
}

#[test]
fn hec_requests_published_by_serve_nats_give_the_windows_of_a_local_engine() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_job();
    let nats = server.options(&prefix("hec"));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log: Arc<dyn Log> = Arc::new(NoLog);
    let sink = Arc::new(HecSink::connect(&nats, &state, Limits::default(), log).unwrap());
    let mut config = ServeConfig::new(&state);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tokens.push(TokenConfig::new(TOKEN));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut handle = rt
        .block_on(cimhunt_serve::start(config, Arc::clone(&sink) as _))
        .unwrap();
    let addr = handle.local_addr().to_string();
    assert_eq!(post(&addr, &envelopes()), 200);
    handle.stop();
    let report = rt.block_on(handle.wait()).unwrap();
    assert_eq!(report.requests_accepted, 1);
    let stats = sink.hec_stats();
    assert_eq!((stats.requests, stats.skipped_events), (1, 0));
    assert!(stats.messages >= 2, "{stats:?}");

    // One worker processes the requests and runs every window that holds an event.
    drain(&nats, &job, Clock::Events);
    let files = Files::new(dir.path());
    let written = files.drain(&nats, 512);

    let expected = local_windows(&job, &seed_fixtures());
    assert!(expected.len() >= 2, "{} windows", expected.len());
    let expected = concat(expected.values());
    assert!(!expected.risk.is_empty());
    assert_eq!(files.printed(), expected);
    assert_eq!(written.risk, expected.risk.len() as u64);
    assert_eq!(written.duplicates, 0);
}

/// Publishes one message on the outputs stream.
fn publish_output(
    rt: &tokio::runtime::Runtime,
    nats: &cimhunt_cluster::NatsOptions,
    subject: String,
    id: &str,
    headers: &[(&str, &str)],
    payload: &str,
) {
    rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Msg-Id", id);
        for (k, v) in headers {
            h.insert(*k, *v);
        }
        js.publish_with_headers(subject, h, payload.to_owned().into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
}

#[test]
fn the_outputs_writer_writes_each_output_once_across_restarts_and_copies() {
    let _g = serial();
    let Some(server) = Server::start() else {
        return;
    };
    let job = seed_job();
    let nats = server.options(&prefix("wr"));
    let dir = tempfile::tempdir().unwrap();
    // Two halves of a stream of events, published and reduced one after the other.
    let all = synthetic(dir.path(), 1600, 1).remove(0);
    let text = std::fs::read_to_string(&all).unwrap();
    let events: Vec<&str> = text.lines().collect();
    let (first, second) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&first, events[..800].join("\n") + "\n").unwrap();
    std::fs::write(&second, events[800..].join("\n") + "\n").unwrap();
    let files = Files::new(dir.path());

    publish_live(&nats, &[first], "pub-1", Limits::default());
    drain(&nats, &job, Clock::Events);
    let w1 = files.drain(&nats, 3);
    let saved = std::fs::read(&files.state).unwrap();
    let after_first = files.printed();
    assert!(w1.risk > 0, "{w1:?}");

    publish_live(&nats, &[second], "pub-1", Limits::default());
    drain(&nats, &job, Clock::Events);
    let w2 = files.drain(&nats, 3);
    assert!(w2.risk > 0, "{w2:?}");

    let kinds = [OutputKind::Rows, OutputKind::Risk, OutputKind::Notable];
    let stream: Vec<Vec<cimhunt_cluster::Output>> = kinds
        .iter()
        .map(|k| cimhunt_cluster::outputs(&nats, *k).unwrap())
        .collect();
    let expected = Printed {
        rows: stream[0].iter().map(|o| o.json.clone()).collect(),
        risk: stream[1].iter().map(|o| o.json.clone()).collect(),
        notables: stream[2].iter().map(|o| o.json.clone()).collect(),
    };
    assert!(expected.risk.len() > after_first.risk.len());
    assert_eq!(files.printed(), expected, "written once, in stream order");

    // A crash after the second run wrote its lines but before it saved its state, with a line
    // torn in the middle: the restarted writer cuts the files back and writes them again.
    std::fs::write(&files.state, &saved).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&files.risk)
        .unwrap();
    f.write_all(b"{\"torn\":").unwrap();
    drop(f);
    let again = files.drain(&nats, 3);
    assert_eq!(again.risk, w2.risk, "{again:?}");
    assert_eq!(files.printed(), expected, "after the crash");

    // A second reducer's copy of an output of the latest window, stored past JetStream's
    // de-duplication window (another message id, the same output id), and a copy of one of
    // an older window: skipped. A new output of the latest window is written.
    let latest = stream[1].last().unwrap();
    let older = &stream[1][0];
    assert_ne!(latest.window, older.window);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let risk_subject = nats.names().output(OutputKind::Risk);
    for (o, copy) in [(latest, "copy-1"), (older, "copy-2")] {
        publish_output(
            &rt,
            &nats,
            risk_subject.clone(),
            &format!("{}~{copy}", o.id),
            &[
                ("Cimhunt-Base", &o.id),
                ("Cimhunt-Window", &o.window),
                ("Cimhunt-Detection", &o.detection),
            ],
            &o.json,
        );
    }
    publish_output(
        &rt,
        &nats,
        risk_subject,
        &format!("{}-new", latest.id),
        &[
            ("Cimhunt-Base", &format!("{}-new", latest.id)),
            ("Cimhunt-Window", &latest.window),
            ("Cimhunt-Detection", &latest.detection),
        ],
        r#"{"new":1}"#,
    );
    let last = files.drain(&nats, 3);
    assert_eq!((last.risk, last.duplicates), (1, 2), "{last:?}");
    let mut with_new = expected.clone();
    with_new.risk.push(r#"{"new":1}"#.to_owned());
    assert_eq!(files.printed(), with_new);
}
