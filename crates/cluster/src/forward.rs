//! Forwarding the cluster's risk events and notables to a Splunk HEC endpoint, as `cimhunt
//! serve --forward-hec` does: risk events to `index=risk`, notables to `index=notable`,
//! `sourcetype=stash`, each with a stable `cimhunt_id`.
//!
//! Key design decision: the forwarder follows the risk and notable **files** the output
//! writer (`write.rs`) writes, not the `OUTPUTS` stream. The writer already turns the stream
//! into each output exactly once, in order, whole (pieces assembled, copies of a window
//! dropped), and syncs it; following its files reuses all of that, and keeps a slow or
//! unreachable Splunk from holding back the files. Each file has its own cursor (the byte
//! offset of the next line to send, in `<state dir>/forward-<kind>.cursor`), moved only after
//! the receiver answered code 0 (`cimhunt_serve::output::Forwarder`: retries with backoff,
//! forever). An event's `cimhunt_id` is `<file name>:<byte offset>`: the same on every resend,
//! so a receiver can drop the duplicate a crash between "sent" and "cursor saved" can cause.
//! The writer may cut a file back to its last saved length after a crash and write the same
//! lines again; the forwarder then waits for the file to grow past its cursor again.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cimhunt_serve::config::ForwardConfig;
use cimhunt_serve::output::{ForwardKind, ForwardQueue, Forwarder, envelope};

use crate::log::Log;
use crate::worker::Stop;

/// How many records (reads of lines) may wait to be sent before the follower waits.
const MAX_QUEUED: usize = 64;
/// At most this much of a file is read at a time.
const READ_BYTES: usize = 1 << 20;
/// How long the follower sleeps when a file has no new complete line.
const POLL: Duration = Duration::from_millis(200);
/// How long the forwarder goes on sending after the files are done, when Splunk is slow.
const GRACE: Duration = Duration::from_secs(10);

/// One file to follow.
#[derive(Debug, Clone)]
pub struct Followed {
    /// Risk events or notables.
    pub kind: ForwardKind,
    /// The JSON-lines file the writer writes.
    pub path: PathBuf,
}

/// What the forwarders did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardSummary {
    /// Lines read from the files and queued for sending.
    pub queued: u64,
    /// Lines not yet confirmed by the receiver when the forwarders stopped (sent on the next
    /// start).
    pub pending_bytes: u64,
}

/// Forwards new lines of `files` until `done` is set and every line written before it was
/// queued, then for at most [`GRACE`] more until sent. Blocks; run it on its own thread.
pub fn forward_files(
    config: &ForwardConfig,
    files: &[Followed],
    state_dir: &Path,
    done: &Stop,
    log: &Arc<dyn Log>,
) -> Result<ForwardSummary, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("forwarding runtime: {e}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut queues = Vec::new();
    let mut tasks = Vec::new();
    for f in files {
        let name = kind_name(f.kind);
        let q = Arc::new(ForwardQueue::with_cursor(
            config.clone(),
            state_dir.join(format!("forward-{name}.cursor")),
            0,
        ));
        let forwarder = Forwarder::new(Arc::clone(&q))?;
        tasks.push(rt.spawn(forwarder.run(stop_rx.clone(), GRACE)));
        queues.push((f.clone(), q));
    }
    let mut summary = ForwardSummary::default();
    let mut pos: Vec<u64> = queues.iter().map(|(_, q)| q.next()).collect();
    let mut warned = vec![false; queues.len()];
    loop {
        // Read `done` before reading the files: everything written before it was set is read.
        let finishing = done.is_set();
        let mut progressed = false;
        for (i, (f, q)) in queues.iter().enumerate() {
            if q.len() >= MAX_QUEUED {
                continue;
            }
            match follow(f, q, &mut pos[i]) {
                Ok(Some(n)) => {
                    summary.queued += n;
                    progressed = true;
                    warned[i] = false;
                }
                Ok(None) => {}
                Err(e) => {
                    if !warned[i] {
                        log.warn(&format!("forwarding {}: {e}", f.path.display()));
                        warned[i] = true;
                    }
                }
            }
        }
        let backlog = queues.iter().any(|(_, q)| q.len() >= MAX_QUEUED);
        if finishing && !progressed && !backlog {
            break;
        }
        if !progressed {
            std::thread::sleep(POLL);
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = rt.block_on(t);
    }
    for ((_, q), p) in queues.iter().zip(&pos) {
        summary.pending_bytes += p.saturating_sub(q.next());
    }
    Ok(summary)
}

fn kind_name(kind: ForwardKind) -> &'static str {
    match kind {
        ForwardKind::Risk => "risk",
        ForwardKind::Notable => "notable",
    }
}

/// Queues the complete lines of `f` from `*pos` (up to [`READ_BYTES`]); `None` when there
/// is no new complete line.
fn follow(f: &Followed, q: &ForwardQueue, pos: &mut u64) -> Result<Option<u64>, String> {
    let mut file = match std::fs::File::open(&f.path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    if len <= *pos {
        // Nothing new (or cut back by the writer after a crash: it writes the same lines
        // again, and forwarding resumes when the file is past the cursor).
        return Ok(None);
    }
    file.seek(SeekFrom::Start(*pos))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    file.take(READ_BYTES as u64)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    let Some(last_nl) = buf.iter().rposition(|&b| b == b'\n') else {
        if buf.len() >= READ_BYTES {
            return Err(format!(
                "a line at byte {} is longer than {READ_BYTES} bytes",
                *pos
            ));
        }
        return Ok(None);
    };
    let file_name = f
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut envelopes = Vec::new();
    let mut at = *pos;
    let mut lines = 0;
    for line in buf[..=last_nl].split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let offset = at;
        at += line.len() as u64;
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        let event: serde_json::Value = serde_json::from_slice(text)
            .map_err(|e| format!("the line at byte {offset} is not JSON: {e}"))?;
        envelopes.push(envelope(
            q.config(),
            f.kind,
            event,
            format!("{file_name}:{offset}"),
            now,
            "cimhunt",
        ));
    }
    q.push_span(*pos, at, envelopes);
    *pos = at;
    Ok(Some(lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ForwardConfig {
        serde_json::from_str(r#"{"url":"http://127.0.0.1:9","token":"t"}"#).unwrap()
    }

    #[test]
    fn complete_lines_are_queued_from_the_cursor_and_a_partial_one_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("risk.jsonl");
        let first = "{\"risk_object\":\"a\",\"_time\":\"100\"}\n";
        std::fs::write(&path, format!("{first}{{\"risk_object\":\"b\"")).unwrap();
        let q = ForwardQueue::with_cursor(config(), dir.path().join("c"), 0);
        let f = Followed {
            kind: ForwardKind::Risk,
            path: path.clone(),
        };
        let mut pos = 0;
        assert_eq!(follow(&f, &q, &mut pos), Ok(Some(1)));
        assert_eq!(pos, first.len() as u64);
        assert_eq!(q.len(), 1);
        // The second line is not complete yet.
        assert_eq!(follow(&f, &q, &mut pos), Ok(None));
        std::fs::write(&path, format!("{first}{{\"risk_object\":\"b\"}}\n")).unwrap();
        assert_eq!(follow(&f, &q, &mut pos), Ok(Some(1)));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn a_line_that_is_not_json_is_an_error_naming_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notable.jsonl");
        std::fs::write(&path, "{}\nnot json\n").unwrap();
        let q = ForwardQueue::with_cursor(config(), dir.path().join("c"), 0);
        let f = Followed {
            kind: ForwardKind::Notable,
            path,
        };
        let mut pos = 0;
        let e = follow(&f, &q, &mut pos).unwrap_err();
        assert!(e.contains("byte 3"), "{e}");
        assert_eq!(pos, 0, "nothing is queued from a read that failed");
    }
}
