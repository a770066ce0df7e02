//! `cimhunt serve --nats`: the HEC service's [`Sink`] that publishes every durable request to
//! the cluster's live events stream instead of feeding a local engine.
//!
//! The service journals a request before it answers 200 and offers it to the sink in journal
//! order ([`Sink::submit`]). [`HecSink`] cuts the request into runs of events with equal
//! metadata and format — the same runs `cimhunt serve`'s engine sink feeds as one input each —
//! and publishes each run with [`Ingest::publish`](crate::Ingest::publish), which returns once
//! JetStream has stored every message. Only then does `submit` return, so the journal may
//! forget the request (`needed_from` is unbounded: nothing submitted is needed again).
//!
//! Key design decision: a run's key is the request's journal sequence number (with the
//! position of the run's first event when it is not the first event of the request), and the
//! publisher's name is stored in the state directory, so a request replayed after a crash is
//! published under exactly the ids it had: JetStream drops the copy within its de-duplication
//! window, the reducers merge each bundle id once beyond it. The name is unique per state
//! directory (two services never share ids, even though both number their requests from 0).
//! When NATS cannot store a run, the request is handed back as [`Busy`]: the service keeps it,
//! offers it again and answers new requests with 503 meanwhile, so nothing acknowledged is lost.
//!
//! The sink schedules no detection: the cluster's workers run them and their reducers publish
//! the windows' outputs on the `OUTPUTS` stream (see [`crate::write_outputs`] for the files).

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cimhunt_engine::Meta;
use cimhunt_read::Input;
use cimhunt_serve::{
    Batch, Busy, ScheduledDetection, Sink, SinkStats, Window, WindowError, WindowOutput,
};
use cimhunt_serve_engine::{EventKind as Kind, Unreadable as Skip, classify};

use crate::connect::NatsOptions;
use crate::error::ClusterError;
use crate::ingest::Ingest;
use crate::log::Log;
use crate::publish::{Limits, short_hash};

/// The file in the service's state directory that holds the publisher's name.
pub const PUBLISHER_FILE: &str = "nats-publisher";

/// How often a skipped event is logged: the first 100, then every 10,000th.
fn logs(n: u64) -> bool {
    n <= 100 || n.is_multiple_of(10_000)
}

/// What the sink did, for the service's final summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HecStats {
    /// Requests whose events are all stored on the cluster.
    pub requests: u64,
    /// Messages published (including copies the server already had).
    pub messages: u64,
    /// Of which the server already had (requests replayed after a restart).
    pub duplicates: u64,
    /// Events skipped before publishing (not Windows event XML nor a JSON object, or several
    /// `<Event>` elements in one HEC event), or records the reader could not cut.
    pub skipped_events: u64,
    /// Times a request was handed back because NATS could not store it.
    pub retries: u64,
}

/// The HEC service's sink in cluster mode. See the module documentation.
pub struct HecSink {
    ingest: Ingest,
    publisher: String,
    log: Arc<dyn Log>,
    stats: Mutex<HecStats>,
    /// Consecutive failures (logged when they start and every 100th).
    failing: AtomicU64,
}

impl std::fmt::Debug for HecSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HecSink")
            .field("publisher", &self.publisher)
            .finish_non_exhaustive()
    }
}

/// One run of events with equal metadata and format: one input.
#[derive(Debug)]
struct Run {
    kind: Kind,
    meta: Meta,
    first: usize,
    body: Vec<u8>,
}

impl HecSink {
    /// Connects to the cluster (creating its streams when missing) as the publisher named in
    /// `state_dir` (created there on first use).
    pub fn connect(
        options: &NatsOptions,
        state_dir: &Path,
        limits: Limits,
        log: Arc<dyn Log>,
    ) -> Result<HecSink, ClusterError> {
        let publisher = publisher_name(state_dir)?;
        let ingest = Ingest::connect(options, &publisher, limits)?;
        Ok(HecSink {
            ingest,
            publisher,
            log,
            stats: Mutex::new(HecStats::default()),
            failing: AtomicU64::new(0),
        })
    }

    /// The publisher's name (the first part of every message id).
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// What the sink did so far.
    pub fn hec_stats(&self) -> HecStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_stats(&self, f: impl FnOnce(&mut HecStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn skip(&self, seq: u64, i: usize, why: &dyn std::fmt::Display) {
        let mut n = 0;
        self.with_stats(|s| {
            s.skipped_events += 1;
            n = s.skipped_events;
        });
        if logs(n) {
            self.log
                .warn(&format!("HEC request {seq}, event {i}: skipped: {why}"));
        }
    }
}

/// The publisher name kept in `state_dir`, made on first use: the host's name and a digest of
/// the moment, the process and the directory (unique per state directory, stable across
/// restarts).
pub fn publisher_name(state_dir: &Path) -> Result<String, ClusterError> {
    let path = state_dir.join(PUBLISHER_FILE);
    let err = |e: std::io::Error| ClusterError::Config(format!("{}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let name = text.trim().to_owned();
            if crate::names::is_token(&name) {
                return Ok(name);
            }
            return Err(ClusterError::Config(format!(
                "{}: {name:?} is not a publisher name (letters, digits, '-', '_'); remove the \
                 file only if this state directory's journal is empty",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    std::fs::create_dir_all(state_dir).map_err(err)?;
    let host: String = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    let seed = format!(
        "{:?}|{}|{}",
        std::time::SystemTime::now(),
        std::process::id(),
        state_dir.display()
    );
    let name = format!(
        "hec-{}{}{}",
        host,
        if host.is_empty() { "" } else { "-" },
        short_hash(seed.as_bytes())
    );
    let tmp = state_dir.join(format!("{PUBLISHER_FILE}.tmp"));
    std::fs::write(&tmp, format!("{name}\n")).map_err(err)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(name)
}

/// The runs of a request and the events skipped (with their positions).
fn runs(batch: &Batch) -> (Vec<Run>, Vec<(usize, Skip)>) {
    let mut runs: Vec<Run> = Vec::new();
    let mut skipped = Vec::new();
    for (i, event) in batch.events.iter().enumerate() {
        let (kind, text) = match classify(event) {
            Ok(k) => k,
            Err(why) => {
                skipped.push((i, why));
                continue;
            }
        };
        let meta = cimhunt_serve_engine::envelope_meta(event);
        match runs.last_mut() {
            Some(r) if r.kind == kind && r.meta == meta => {
                r.body.push(b'\n');
                r.body.extend_from_slice(text.as_bytes());
            }
            _ => runs.push(Run {
                kind,
                meta,
                first: i,
                body: text.as_bytes().to_vec(),
            }),
        }
    }
    (runs, skipped)
}

/// The key of a run: the journal sequence number, and the run's first event when it is not the
/// request's first.
fn run_key(seq: u64, first: usize) -> String {
    if first == 0 {
        seq.to_string()
    } else {
        format!("{seq}-{first}")
    }
}

impl Sink for HecSink {
    fn detections(&self) -> Vec<ScheduledDetection> {
        Vec::new()
    }

    fn submit(&self, batch: Batch) -> Result<(), Busy> {
        let (runs, skipped) = runs(&batch);
        let mut published = Vec::with_capacity(runs.len());
        for run in runs {
            let key = run_key(batch.seq, run.first);
            let name = format!("HEC request {} from event {}", batch.seq, run.first);
            let input = Input::reader(name, Box::new(Cursor::new(run.body)));
            match self.ingest.publish(&key, input, run.meta) {
                Ok(p) => published.push(p),
                Err(e) => {
                    let n = self.failing.fetch_add(1, Ordering::Relaxed);
                    if n.is_multiple_of(100) {
                        self.log.warn(&format!(
                            "HEC request {}: not stored on the cluster, kept in the journal and \
                             retried: {e}",
                            batch.seq
                        ));
                    }
                    self.with_stats(|s| s.retries += 1);
                    // Runs already stored are published again under the same ids: dropped.
                    return Err(Busy(batch));
                }
            }
        }
        if self.failing.swap(0, Ordering::Relaxed) > 0 {
            self.log.info(&format!(
                "HEC request {}: stored on the cluster again",
                batch.seq
            ));
        }
        for (i, why) in skipped {
            self.skip(batch.seq, i, &why);
        }
        for p in &published {
            for e in p.errors.iter().chain(&p.failed_inputs) {
                let mut n = 0;
                self.with_stats(|s| {
                    s.skipped_events += e.skipped.max(1);
                    n = s.skipped_events;
                });
                if logs(n) {
                    self.log.warn(&format!("{e}"));
                }
            }
        }
        self.with_stats(|s| {
            s.requests += 1;
            for p in &published {
                s.messages += p.messages;
                s.duplicates += p.duplicates;
            }
        });
        Ok(())
    }

    fn run_window(&self, window: &Window) -> Result<WindowOutput, WindowError> {
        Err(WindowError {
            detection: window.detection.clone(),
            earliest: window.earliest,
            latest: window.latest,
            message: "cimhunt serve --nats runs no detection itself (the cluster's workers do)"
                .to_owned(),
        })
    }

    fn window_committed(&self, _window: &Window) {}

    fn needed_from(&self) -> u64 {
        // A request is stored on the cluster before `submit` returns: the service may forget
        // everything it has submitted.
        u64::MAX
    }

    fn stats(&self) -> SinkStats {
        SinkStats {
            skipped_events: self.hec_stats().skipped_events,
            ..SinkStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_serve::{EventBody, HecEvent, JsonText};

    const XML: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>1</EventID><Computer>pc1</Computer></System></Event>";

    fn event(body: EventBody, sourcetype: Option<&str>, host: &str) -> HecEvent {
        HecEvent {
            body,
            time: None,
            host: Some(host.to_owned()),
            source: None,
            sourcetype: sourcetype.map(str::to_owned),
            index: "main".into(),
            fields: Vec::new(),
            received: None,
        }
    }

    #[test]
    fn a_request_is_cut_into_runs_of_equal_metadata_and_format_keyed_by_its_sequence() {
        let json = JsonText::new(r#"{"event_simpleName":"ProcessRollup2"}"#).unwrap();
        let batch = Batch {
            seq: 42,
            events: vec![
                event(EventBody::Text(XML.into()), Some("XmlWinEventLog"), "a"),
                event(
                    EventBody::Text(format!("\u{feff} {XML}\n")),
                    Some("XmlWinEventLog:Security"),
                    "a",
                ),
                event(EventBody::Text("GET / 200".into()), None, "a"),
                event(EventBody::Json(json.clone()), None, "a"),
                event(EventBody::Text(format!("{XML}{XML}")), None, "a"),
                event(EventBody::Text(XML.into()), Some("XmlWinEventLog"), "b"),
            ],
            replayed: false,
        };
        let (runs, skipped) = runs(&batch);
        let shape: Vec<_> = runs
            .iter()
            .map(|r| (run_key(42, r.first), r.kind, r.meta.host.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                ("42".to_owned(), Kind::Xml, Some("a")),
                ("42-3".to_owned(), Kind::Json, Some("a")),
                ("42-5".to_owned(), Kind::Xml, Some("b")),
            ]
        );
        assert_eq!(runs[0].body, format!("{XML}\n{XML}").into_bytes());
        assert_eq!(
            runs[0].meta.sourcetype.as_deref(),
            Some(cimhunt_model::XML_SOURCETYPE)
        );
        assert_eq!(runs[1].body, json.get().as_bytes());
        assert_eq!(skipped, [(2, Skip::Format), (4, Skip::Several)]);
    }

    #[test]
    fn the_publisher_name_is_made_once_per_state_directory() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = publisher_name(a.path()).unwrap();
        assert!(crate::names::is_token(&first), "{first}");
        assert_eq!(publisher_name(a.path()).unwrap(), first);
        assert_ne!(publisher_name(b.path()).unwrap(), first);
        std::fs::write(a.path().join(PUBLISHER_FILE), "a b").unwrap();
        assert!(publisher_name(a.path()).is_err());
    }
}
