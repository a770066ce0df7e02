//! `serve` ingest over loopback: replays a corpus of `XmlWinEventLog` text to a local
//! `cimhunt serve` as a Universal Forwarder sends it (HEC event envelopes carrying each event's
//! time, host, source and sourcetype), from a few keep-alive clients, then stops the service
//! and waits until it has run every event through the detections and exited.
//!
//! Key decision: the clock stops when the service exits, not when the last request is
//! accepted. An accepted request is only journaled; the sustained figure is events over the
//! time until all of them went through the detections and every window ran (the figure the
//! `serve_load` test reports), so it compares with `hunt` over the same file. The request
//! bodies are built before the clock starts, so the client's own JSON encoding is not timed.
//!
//! The HTTP client is the smallest that keeps connections open: one request at a time per
//! connection, responses parsed with `httparse`, a busy reply (503) retried after a pause.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The token the replay's service accepts (it listens on loopback only).
const TOKEN: &str = "6c1d2b9e-3f4a-4b8c-9d0e-1f2a3b4c5d6e";
/// Concurrent clients.
const CLIENTS: usize = 4;
/// Events per request.
const BATCH: usize = 100;
/// How long to wait for the service to start listening (it compiles the detections first).
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// One replay: the service binary, its detection arguments and the corpus.
#[derive(Debug, Clone)]
pub struct Setup {
    pub cimhunt: PathBuf,
    /// Arguments after `serve` that choose the detections (none: the embedded default).
    pub detections: Vec<String>,
    pub corpus: PathBuf,
    /// Where the service keeps its journal and writes its risk events.
    pub work: PathBuf,
}

/// What one replay measured.
#[derive(Debug, Clone)]
pub struct Figures {
    pub events: u64,
    pub requests: u64,
    /// Busy replies (503) that were retried.
    pub busy: u64,
    /// From the first request to the last accepted one.
    pub accepted_in: Duration,
    /// From the first request until the service exited after processing everything.
    pub total: Duration,
    pub peak_rss_kib: Option<u64>,
    /// Lines of the service's risk file.
    pub risk_events: u64,
}

impl Figures {
    /// One line for the report.
    pub fn summary(&self) -> String {
        let rate = |d: Duration| self.events as f64 / d.as_secs_f64().max(1e-9);
        format!(
            "{} events in {} requests: accepted {:.0} events/s, sustained {:.0} events/s (drained in {:.1} s), {} busy replies, {} risk events",
            self.events,
            self.requests,
            rate(self.accepted_in),
            rate(self.total),
            self.total.as_secs_f64(),
            self.busy,
            self.risk_events
        )
    }
}

/// Runs one replay.
pub fn run(setup: &Setup) -> Result<Figures, String> {
    let text = std::fs::read_to_string(&setup.corpus)
        .map_err(|e| format!("{}: {e}", setup.corpus.display()))?;
    let (bodies, events) = bodies(&text).map_err(|e| format!("{}: {e}", setup.corpus.display()))?;
    drop(text);
    let _ = std::fs::remove_dir_all(&setup.work);
    std::fs::create_dir_all(&setup.work).map_err(|e| format!("{}: {e}", setup.work.display()))?;
    let risk = setup.work.join("risk.jsonl");
    let (mut child, addr) = spawn(setup, &risk)?;
    let peak = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let watcher = watch_rss(child.id(), Arc::clone(&peak), Arc::clone(&running));
    let started = Instant::now();
    let sent = send_all(&addr, &bodies);
    let accepted_in = started.elapsed();
    // Stop the service whatever happened, so that no child outlives the bench.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().map_err(|e| e.to_string());
    let total = started.elapsed();
    running.store(false, Ordering::Relaxed);
    let _ = watcher.join();
    let (requests, busy) = sent?;
    let status = status?;
    if !status.success() {
        return Err(format!("cimhunt serve exited with {status}"));
    }
    let risk_events = std::fs::read(&risk)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count() as u64)
        .unwrap_or(0);
    let peak = peak.load(Ordering::Relaxed);
    Ok(Figures {
        events,
        requests,
        busy,
        accepted_in,
        total,
        peak_rss_kib: (peak > 0).then_some(peak),
        risk_events,
    })
}

/// The corpus as request bodies of [`BATCH`] envelopes each, and the number of events.
fn bodies(text: &str) -> Result<(Vec<String>, u64), String> {
    let mut bodies = Vec::new();
    let mut body = String::new();
    let mut in_body = 0;
    let mut events = 0;
    for (n, event) in events_of(text).enumerate() {
        let envelope = envelope(event)
            .ok_or_else(|| format!("event {}: no Channel, Computer or SystemTime", n + 1))?;
        body.push_str(&envelope);
        body.push('\n');
        in_body += 1;
        events += 1;
        if in_body == BATCH {
            bodies.push(std::mem::take(&mut body));
            in_body = 0;
        }
    }
    if in_body > 0 {
        bodies.push(body);
    }
    Ok((bodies, events))
}

/// The `<Event …>…</Event>` texts of an export, one event per line except where a value
/// holds line breaks (script blocks), so events are cut at their closing tag.
fn events_of(text: &str) -> impl Iterator<Item = &str> {
    const END: &str = "</Event>";
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find("<Event")?;
        let end = rest[start..].find(END)? + start + END.len();
        let event = &rest[start..end];
        rest = &rest[end..];
        Some(event)
    })
}

/// The text between `open` and the next `close` after it.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let from = s.find(open)? + open.len();
    let len = s[from..].find(close)?;
    Some(&s[from..from + len])
}

/// A HEC envelope for one event, as a forwarder writes it: the time from `SystemTime` (epoch
/// seconds with microseconds), the computer as host, `XmlWinEventLog:<channel>` as source (what
/// `hunt` gives a file's events).
fn envelope(event: &str) -> Option<String> {
    let channel = between(event, "<Channel>", "</Channel>")?;
    let host = between(event, "<Computer>", "</Computer>")?;
    let quote = event[event.find("SystemTime=")? + "SystemTime=".len()..]
        .chars()
        .next()?;
    let system_time = between(event, &format!("SystemTime={quote}"), &quote.to_string())?;
    let t: jiff::Timestamp = system_time.parse().ok()?;
    let time = format!("{}.{:06}", t.as_second(), t.subsec_microsecond());
    Some(
        serde_json::json!({
            "time": serde_json::Value::String(time),
            "host": host,
            "source": format!("XmlWinEventLog:{channel}"),
            "sourcetype": "XmlWinEventLog",
            "event": event,
        })
        .to_string(),
    )
}

/// Starts `cimhunt serve` on a free loopback port; the child and its address.
fn spawn(setup: &Setup, risk: &Path) -> Result<(Child, String), String> {
    let mut child = Command::new(&setup.cimhunt)
        .arg("serve")
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--clock",
            "events",
        ])
        .arg("--state-dir")
        .arg(setup.work.join("state"))
        .arg("--risk")
        .arg(risk)
        .args(&setup.detections)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", setup.cimhunt.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading after the address is known, so that the child never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.split("HEC listening on ").nth(1) {
                    return Ok((child, addr.trim().to_owned()));
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("cimhunt serve did not start listening".to_owned());
            }
        }
    }
}

/// Polls the child's peak resident set (`VmHWM`) until `running` goes false.
fn watch_rss(
    pid: u32,
    peak: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let file = format!("/proc/{pid}/status");
        while running.load(Ordering::Relaxed) {
            let hwm = std::fs::read_to_string(&file).ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            });
            if let Some(kib) = hwm {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Sends every body from [`CLIENTS`] connections; the requests and busy replies.
fn send_all(addr: &str, bodies: &[String]) -> Result<(u64, u64), String> {
    let next = AtomicUsize::new(0);
    let busy = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    let mut client = Client::new(addr);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else {
                            return Ok(());
                        };
                        loop {
                            match client.post("/services/collector/event", body) {
                                Ok(200) => break,
                                Ok(503) => {
                                    busy.fetch_add(1, Ordering::Relaxed);
                                    std::thread::sleep(Duration::from_millis(10));
                                }
                                Ok(code) => return Err(format!("request {i}: HTTP {code}")),
                                Err(e) => return Err(format!("request {i}: {e}")),
                            }
                        }
                    }
                })
            })
            .collect();
        clients
            .into_iter()
            .try_for_each(|c| c.join().unwrap_or_else(|_| Err("a client panicked".into())))
    })?;
    Ok((bodies.len() as u64, busy.into_inner()))
}

/// One keep-alive connection; it reconnects when the server closed it.
struct Client<'a> {
    addr: &'a str,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl<'a> Client<'a> {
    fn new(addr: &'a str) -> Client<'a> {
        Client {
            addr,
            stream: None,
            buf: Vec::new(),
        }
    }

    /// POSTs `body`; the status code. A connection the server closed is reopened once.
    fn post(&mut self, path: &str, body: &str) -> io::Result<u16> {
        match self.try_post(path, body) {
            Ok(code) => Ok(code),
            Err(_) => {
                self.stream = None;
                self.try_post(path, body)
            }
        }
    }

    fn try_post(&mut self, path: &str, body: &str) -> io::Result<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr)?;
            s.set_read_timeout(Some(Duration::from_secs(120)))?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().expect("connected above");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Splunk {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            let parsed = response
                .parse(&self.buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let httparse::Status::Complete(head_len) = parsed else {
                continue;
            };
            let code = response.code.unwrap_or(0);
            let length: usize = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0);
            let close = response.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
            });
            while self.buf.len() < head_len + length {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                self.buf.extend_from_slice(&chunk[..n]);
            }
            if close {
                self.stream = None;
            }
            return Ok(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4104</EventID><TimeCreated SystemTime='2026-11-18T00:00:01.2500000Z'/><Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>ws-7.corp</Computer></System><EventData><Data Name='ScriptBlockText'>line one\nline two</Data></EventData></Event>";

    #[test]
    fn events_spanning_lines_are_cut_at_their_closing_tag() {
        let text = format!("{EVENT}\n{}\n", EVENT.replace("ws-7", "ws-8"));
        let events: Vec<&str> = events_of(&text).collect();
        assert_eq!(events.len(), 2);
        assert!(events[0].ends_with("</Event>") && events[0].contains("line one\nline two"));
        assert!(events[1].contains("ws-8"));
    }

    #[test]
    fn the_envelope_carries_what_a_forwarder_sends() {
        let v: serde_json::Value = serde_json::from_str(&envelope(EVENT).unwrap()).unwrap();
        assert_eq!(v["time"], "1794960001.250000");
        assert_eq!(v["host"], "ws-7.corp");
        assert_eq!(
            v["source"],
            "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational"
        );
        assert_eq!(v["sourcetype"], "XmlWinEventLog");
        assert_eq!(v["event"], EVENT);
        assert!(envelope("<Event><System></System></Event>").is_none());
    }

    #[test]
    fn bodies_hold_a_batch_each_and_count_every_event() {
        let text = EVENT.repeat(BATCH * 2 + 3);
        let (made, events) = bodies(&text).unwrap();
        assert_eq!(events, (BATCH * 2 + 3) as u64);
        assert_eq!(made.len(), 3);
        assert_eq!(made[2].lines().count(), 3);
        assert!(bodies("<Event></Event>").is_err());
    }
}
