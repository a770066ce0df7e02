//! Writing the cluster's outputs to JSON-lines files, exactly once across restarts: what
//! `cimhunt serve --nats` does with `--rows`, `--risk` and `--notable`.
//!
//! The reducers publish every row, risk event and notable on the `OUTPUTS` stream, one JSON
//! object per message, under an id made of its group, window, detection and place. The writer
//! reads the stream in order and appends each output's text and a newline to the file of its
//! kind — the line `cimhunt serve` and `cimhunt hunt` write for it.
//!
//! Key design decision: the position in the stream is kept in the writer's own state file,
//! next to the files' lengths, and is the only record of progress. A batch of outputs is
//! written, flushed and synced, then the state file is replaced atomically (the stream
//! sequence to read next, each file's length, the ids of each group's latest window). On start,
//! a file longer than its recorded length is cut back (lines written after the last saved
//! state) and reading resumes at the saved sequence, so a crash anywhere writes every output
//! once. A durable consumer's acknowledgements would not do: after a crash, unacknowledged
//! messages come back only after the ack wait and after newer ones, so the files' order and the
//! resume point would disagree; an ordered consumer from the saved sequence needs neither.
//!
//! Outputs stored twice on the stream (a window reduced again past JetStream's
//! de-duplication window) are written once: the reducers of a group publish all of a window's
//! outputs before committing it and moving to the next, so an output of an older window than
//! the group's latest one written is a copy, and within the latest window each id is kept.
//! Outputs larger than a message arrive in pieces and are written whole; reading resumes at the
//! first piece of an unfinished one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::connect::{Cluster, NatsOptions};
use crate::error::ClusterError;
use crate::log::Log;
use crate::names::OutputKind;
use crate::wire::{HEADER_BASE, HEADER_CHUNK, HEADER_WINDOW, parse_chunk};
use crate::worker::Stop;

const KINDS: [OutputKind; 3] = [OutputKind::Rows, OutputKind::Risk, OutputKind::Notable];

/// Where each kind of output is written (`-`: standard output, at-least-once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputFiles {
    /// Result rows, as `hunt -f jsonl` prints them.
    pub rows: Option<PathBuf>,
    /// Risk events, as `hunt --risk` writes them.
    pub risk: Option<PathBuf>,
    /// Notables, as `hunt --notable` writes them.
    pub notable: Option<PathBuf>,
}

impl OutputFiles {
    fn get(&self, kind: OutputKind) -> Option<&PathBuf> {
        match kind {
            OutputKind::Rows => self.rows.as_ref(),
            OutputKind::Risk => self.risk.as_ref(),
            OutputKind::Notable => self.notable.as_ref(),
        }
    }

    /// Whether any output is wanted.
    pub fn any(&self) -> bool {
        KINDS.iter().any(|k| self.get(*k).is_some())
    }
}

/// How the writer runs.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The files.
    pub files: OutputFiles,
    /// The writer's state file (position in the stream, files' lengths).
    pub state: PathBuf,
    /// Sync files and state to disk after each batch (off only for benchmarks).
    pub fsync: bool,
    /// Outputs written per batch at most (one state save per batch).
    pub batch: usize,
    /// Stop once every output the stream holds is written (tests, one-off exports).
    pub drain: bool,
}

impl WriterConfig {
    /// Writes `files`, keeping the state in `state`.
    pub fn new(files: OutputFiles, state: PathBuf) -> WriterConfig {
        WriterConfig {
            files,
            state,
            fsync: true,
            batch: 512,
            drain: false,
        }
    }
}

/// What a writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterSummary {
    /// Rows written.
    pub rows: u64,
    /// Risk events written.
    pub risk: u64,
    /// Notables written.
    pub notables: u64,
    /// Copies of outputs already written, skipped.
    pub duplicates: u64,
    /// The stream sequence the next start reads from.
    pub next: u64,
}

/// The saved state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// The first stream sequence to read (before `handled + 1` while an output's pieces are
    /// incomplete).
    next: u64,
    /// The last stream sequence handled.
    handled: u64,
    /// The files' lengths after the last batch.
    files: Vec<FileState>,
    /// Per group: its latest window written and that window's output ids.
    windows: BTreeMap<String, Latest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileState {
    kind: String,
    path: PathBuf,
    len: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Latest {
    scheduled: i64,
    ids: BTreeSet<String>,
}

impl State {
    fn load(path: &Path) -> Result<State, ClusterError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ClusterError::Config(format!("{}: not a writer state file: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(ClusterError::Config(format!("{}: {e}", path.display()))),
        }
    }

    fn save(&self, path: &Path, fsync: bool) -> Result<(), ClusterError> {
        let err = |e: std::io::Error| ClusterError::Config(format!("{}: {e}", path.display()));
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(self).expect("the state serializes");
        let mut f = File::create(&tmp).map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        if fsync {
            f.sync_all().map_err(err)?;
        }
        drop(f);
        std::fs::rename(&tmp, path).map_err(err)
    }
}

/// An output being assembled from pieces.
#[derive(Debug)]
struct Open {
    first_seq: u64,
    group: String,
    scheduled: i64,
    n: usize,
    got: BTreeMap<usize, Vec<u8>>,
}

/// One message as the writer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Incoming<'a> {
    seq: u64,
    window: Option<&'a str>,
    base: Option<&'a str>,
    chunk: Option<(usize, usize, String)>,
    payload: &'a [u8],
}

/// What to do with a message.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Write(Vec<u8>),
    /// Already written, or a copy.
    Duplicate,
    /// Handled before this start (read again to finish an output in pieces).
    Seen,
    /// Part of an output not yet complete, or re-read to finish one.
    Wait,
    /// Not an output this writer understands (no window or id).
    Foreign,
}

/// Exactly-once bookkeeping over the stream's order.
#[derive(Debug, Default)]
struct Dedup {
    state: State,
    open: HashMap<(String, String), Open>,
}

impl Dedup {
    fn offer(&mut self, m: Incoming<'_>) -> Verdict {
        let seen = m.seq <= self.state.handled;
        if seen && m.chunk.is_none() {
            return Verdict::Seen;
        }
        if !seen {
            self.state.handled = m.seq;
        }
        let (Some(window), Some(base)) = (m.window, m.base) else {
            return Verdict::Foreign;
        };
        let mut parts = window.split('/');
        let group = parts.next().unwrap_or_default().to_owned();
        let Some(scheduled) = parts.next().and_then(|s| s.parse::<i64>().ok()) else {
            return Verdict::Foreign;
        };
        let latest = self.state.windows.entry(group.clone()).or_default();
        if scheduled < latest.scheduled {
            return Verdict::Duplicate;
        }
        if scheduled > latest.scheduled {
            *latest = Latest {
                scheduled,
                ids: BTreeSet::new(),
            };
            // Pieces of an older window of this group can no longer complete anything new.
            self.open
                .retain(|_, o| o.group != group || o.scheduled >= scheduled);
        }
        if latest.ids.contains(base) {
            return Verdict::Duplicate;
        }
        let whole = match m.chunk {
            None => m.payload.to_vec(),
            Some((k, n, digest)) => {
                let key = (base.to_owned(), digest);
                let open = self.open.entry(key.clone()).or_insert_with(|| Open {
                    first_seq: m.seq,
                    group: group.clone(),
                    scheduled,
                    n,
                    got: BTreeMap::new(),
                });
                if open.n != n || open.got.contains_key(&k) {
                    return Verdict::Duplicate;
                }
                open.got.insert(k, m.payload.to_vec());
                if open.got.len() < open.n || seen {
                    return Verdict::Wait;
                }
                let done = self.open.remove(&key).expect("just used");
                self.open.retain(|(b, _), _| b != base);
                done.got.into_values().flatten().collect()
            }
        };
        latest.ids.insert(base.to_owned());
        Verdict::Write(whole)
    }

    /// Where the next start reads from.
    fn resume(&self) -> u64 {
        self.open
            .values()
            .map(|o| o.first_seq)
            .fold(self.state.handled + 1, u64::min)
    }
}

/// One output file.
#[derive(Debug)]
enum Target {
    Stdout,
    File { file: File, path: PathBuf, len: u64 },
}

fn open_target(
    kind: OutputKind,
    path: &Path,
    saved: &[FileState],
    log: &dyn Log,
) -> Result<Target, ClusterError> {
    if path == Path::new("-") {
        return Ok(Target::Stdout);
    }
    let err = |e: std::io::Error| ClusterError::Config(format!("{}: {e}", path.display()));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    let on_disk = file.metadata().map_err(err)?.len();
    let recorded = saved
        .iter()
        .find(|f| f.kind == kind.as_str() && f.path == path)
        .map(|f| f.len);
    let len = match recorded {
        Some(len) if len < on_disk => {
            // Lines written after the last saved state: they are read and written again.
            file.set_len(len).map_err(err)?;
            len
        }
        Some(len) if len > on_disk => {
            log.warn(&format!(
                "{}: shorter than this writer left it ({on_disk} < {len} bytes): rotated or \
                 cut by someone else; appending",
                path.display()
            ));
            on_disk
        }
        _ => on_disk,
    };
    Ok(Target::File {
        file,
        path: path.to_owned(),
        len,
    })
}

impl Target {
    fn write(&mut self, bytes: &[u8], fsync: bool) -> Result<(), ClusterError> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|e| ClusterError::Config(format!("standard output: {e}")))
            }
            Target::File { file, path, len } => {
                let err =
                    |e: std::io::Error| ClusterError::Config(format!("{}: {e}", path.display()));
                file.write_all(bytes).map_err(err)?;
                file.flush().map_err(err)?;
                if fsync {
                    file.sync_data().map_err(err)?;
                }
                *len += bytes.len() as u64;
                Ok(())
            }
        }
    }
}

/// Writes the cluster's outputs to the files until `stop` (or, with `drain`, until every
/// output the stream holds is written). Builds its own runtime: call it from a plain thread.
pub fn write_outputs(
    options: &NatsOptions,
    config: WriterConfig,
    stop: Stop,
    log: Arc<dyn Log>,
) -> Result<WriterSummary, ClusterError> {
    OutputWriter::open(options, config, log)?.run(stop)
}

/// A writer ready to run: connected, its state file locked and loaded, its files open (a
/// longer file already cut back to its saved length).
pub struct OutputWriter {
    rt: tokio::runtime::Runtime,
    writer: Writer,
    _lock: File,
}

impl std::fmt::Debug for OutputWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputWriter")
            .field("state", &self.writer.config.state)
            .finish_non_exhaustive()
    }
}

impl OutputWriter {
    /// Connects, locks the state file (one writer per state file) and opens the files.
    pub fn open(
        options: &NatsOptions,
        config: WriterConfig,
        log: Arc<dyn Log>,
    ) -> Result<OutputWriter, ClusterError> {
        let lock_path = config.state.with_extension("lock");
        let err = |e: std::io::Error| ClusterError::Config(format!("{}: {e}", lock_path.display()));
        if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let lock = File::create(&lock_path).map_err(err)?;
        lock.try_lock().map_err(|_| {
            ClusterError::Config(format!(
                "{}: another writer of these outputs is running",
                lock_path.display()
            ))
        })?;
        let rt = crate::runtime()?;
        let cluster = rt.block_on(Cluster::open(options))?;
        let writer = Writer::new(cluster, config, log)?;
        Ok(OutputWriter {
            rt,
            writer,
            _lock: lock,
        })
    }

    /// Writes until `stop` (or, with `drain`, until every output the stream holds is written).
    pub fn run(self, stop: Stop) -> Result<WriterSummary, ClusterError> {
        let OutputWriter { rt, writer, _lock } = self;
        rt.block_on(writer.run(stop))
    }
}

struct Writer {
    cluster: Cluster,
    config: WriterConfig,
    log: Arc<dyn Log>,
    dedup: Dedup,
    targets: Vec<(OutputKind, String, Target)>,
    summary: WriterSummary,
}

impl Writer {
    fn new(
        cluster: Cluster,
        config: WriterConfig,
        log: Arc<dyn Log>,
    ) -> Result<Writer, ClusterError> {
        let state = State::load(&config.state)?;
        let mut targets = Vec::new();
        for kind in KINDS {
            if let Some(path) = config.files.get(kind) {
                let target = open_target(kind, path, &state.files, log.as_ref())?;
                targets.push((kind, cluster.names.output(kind), target));
            }
        }
        Ok(Writer {
            cluster,
            config,
            log,
            dedup: Dedup {
                state,
                open: HashMap::new(),
            },
            targets,
            summary: WriterSummary::default(),
        })
    }

    async fn run(mut self, stop: Stop) -> Result<WriterSummary, ClusterError> {
        let mut from = self.dedup.state.next.max(1);
        let last = self.last_sequence().await?;
        if last < self.dedup.state.handled {
            self.log.warn(&format!(
                "the outputs stream ends at {last} but this writer had read up to {}: the \
                 stream was made again; reading it from its start",
                self.dedup.state.handled
            ));
            self.dedup.state.handled = 0;
            from = 1;
        }
        'connect: loop {
            let consumer = self
                .cluster
                .outputs
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: self.cluster.names.outputs_all(),
                    deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                        start_sequence: from,
                    },
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::nats("reading the outputs", e))?;
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| ClusterError::nats("reading the outputs", e))?;
            let mut expected = from;
            loop {
                if stop.is_set() {
                    break 'connect;
                }
                let mut batch = Vec::new();
                let mut caught_up = false;
                let wait = Duration::from_millis(250);
                while batch.len() < self.config.batch.max(1) {
                    let timeout = if batch.is_empty() {
                        wait
                    } else {
                        Duration::from_secs(5)
                    };
                    match tokio::time::timeout(timeout, messages.next()).await {
                        Ok(Some(Ok(msg))) => {
                            let pending = msg.info().map_or(0, |i| i.pending);
                            batch.push(msg);
                            if pending == 0 {
                                caught_up = true;
                                break;
                            }
                        }
                        Ok(Some(Err(e))) => {
                            self.log
                                .warn(&format!("reading the outputs: {e}; reading again"));
                            self.commit(&batch)?;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            // Unfinished pieces are still in memory: go on after the last read.
                            from = self.dedup.state.handled + 1;
                            continue 'connect;
                        }
                        Ok(None) => {
                            self.commit(&batch)?;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            from = self.dedup.state.handled + 1;
                            continue 'connect;
                        }
                        Err(_) => {
                            caught_up = batch.is_empty();
                            break;
                        }
                    }
                }
                if let Some(first) = batch.first().and_then(|m| m.info().ok()) {
                    let seq = first.stream_sequence;
                    if seq > expected && self.dedup.state.handled > 0 {
                        self.log.warn(&format!(
                            "outputs {expected} to {} were removed from the stream (its age \
                             limit) before they were written",
                            seq - 1
                        ));
                    }
                }
                if let Some(last) = batch.last().and_then(|m| m.info().ok()) {
                    expected = last.stream_sequence + 1;
                }
                self.commit(&batch)?;
                if self.config.drain
                    && caught_up
                    && self.last_sequence().await? <= self.dedup.state.handled
                {
                    break 'connect;
                }
            }
        }
        self.summary.next = self.dedup.state.next;
        Ok(self.summary)
    }

    async fn last_sequence(&self) -> Result<u64, ClusterError> {
        let mut stream = self.cluster.outputs.clone();
        let info = stream
            .info()
            .await
            .map_err(|e| ClusterError::nats("reading the outputs stream's state", e))?;
        Ok(info.state.last_sequence)
    }

    /// Writes a batch's outputs, then saves the state.
    fn commit(&mut self, batch: &[async_nats::jetstream::Message]) -> Result<(), ClusterError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut lines: Vec<Vec<u8>> = vec![Vec::new(); self.targets.len()];
        for msg in batch {
            let Ok(info) = msg.info() else { continue };
            let header = |name: &str| {
                msg.headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .map(|v| v.as_str())
            };
            let base = header(HEADER_BASE).or_else(|| header("Nats-Msg-Id"));
            let incoming = Incoming {
                seq: info.stream_sequence,
                window: header(HEADER_WINDOW),
                base,
                chunk: header(HEADER_CHUNK).and_then(parse_chunk),
                payload: &msg.payload,
            };
            match self.dedup.offer(incoming) {
                Verdict::Write(whole) => {
                    let subject = msg.subject.as_str();
                    let Some(i) = self.targets.iter().position(|(_, s, _)| s == subject) else {
                        continue;
                    };
                    lines[i].extend_from_slice(&whole);
                    lines[i].push(b'\n');
                    match self.targets[i].0 {
                        OutputKind::Rows => self.summary.rows += 1,
                        OutputKind::Risk => self.summary.risk += 1,
                        OutputKind::Notable => self.summary.notables += 1,
                    }
                }
                Verdict::Duplicate => self.summary.duplicates += 1,
                Verdict::Wait | Verdict::Seen => {}
                Verdict::Foreign => self.log.warn(&format!(
                    "output {} on {}: no window or id header; not a cimhunt output, skipped",
                    info.stream_sequence,
                    msg.subject.as_str()
                )),
            }
        }
        for ((_, _, target), bytes) in self.targets.iter_mut().zip(&lines) {
            target.write(bytes, self.config.fsync)?;
        }
        self.dedup.state.next = self.dedup.resume();
        self.dedup.state.files = self
            .targets
            .iter()
            .filter_map(|(kind, _, t)| match t {
                Target::File { path, len, .. } => Some(FileState {
                    kind: kind.as_str().to_owned(),
                    path: path.clone(),
                    len: *len,
                }),
                Target::Stdout => None,
            })
            .collect();
        self.dedup.state.save(&self.config.state, self.config.fsync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole<'a>(seq: u64, window: &'a str, id: &'a str, payload: &'a [u8]) -> Incoming<'a> {
        Incoming {
            seq,
            window: Some(window),
            base: Some(id),
            chunk: None,
            payload,
        }
    }

    fn piece<'a>(
        seq: u64,
        window: &'a str,
        id: &'a str,
        k: usize,
        payload: &'a [u8],
    ) -> Incoming<'a> {
        Incoming {
            chunk: Some((k, 2, "d".to_owned())),
            ..whole(seq, window, id, payload)
        }
    }

    #[test]
    fn copies_of_a_window_and_of_an_older_window_are_written_once() {
        let mut d = Dedup::default();
        assert_eq!(
            d.offer(whole(1, "g/100/0/60", "a", b"1")),
            Verdict::Write(b"1".to_vec())
        );
        assert_eq!(
            d.offer(whole(2, "g/100/0/60", "b", b"2")),
            Verdict::Write(b"2".to_vec())
        );
        // A second reducer's copy of the same window, past the de-duplication window.
        assert_eq!(
            d.offer(whole(3, "g/100/0/60", "a", b"1")),
            Verdict::Duplicate
        );
        assert_eq!(
            d.offer(whole(4, "g/200/60/120", "c", b"3")),
            Verdict::Write(b"3".to_vec())
        );
        assert_eq!(
            d.offer(whole(5, "g/100/0/60", "b", b"2")),
            Verdict::Duplicate
        );
        // Another group keeps its own windows.
        assert_eq!(
            d.offer(whole(6, "h/100/0/60", "a", b"4")),
            Verdict::Write(b"4".to_vec())
        );
        // Messages read again after a restart are not written again.
        assert_eq!(d.offer(whole(6, "h/100/0/60", "a", b"4")), Verdict::Seen);
        assert_eq!(
            d.offer(whole(7, "h/100/0/60", "z", b"5")),
            Verdict::Write(b"5".to_vec())
        );
        assert_eq!(d.resume(), 8);
        assert_eq!(
            d.offer(Incoming {
                window: None,
                ..whole(8, "", "q", b"")
            }),
            Verdict::Foreign
        );
    }

    #[test]
    fn an_output_in_pieces_is_written_whole_and_read_again_from_its_first_piece() {
        let mut d = Dedup::default();
        assert_eq!(
            d.offer(piece(1, "g/100/0/60", "big", 0, b"ab")),
            Verdict::Wait
        );
        assert_eq!(
            d.offer(whole(2, "g/100/0/60", "small", b"s")),
            Verdict::Write(b"s".to_vec())
        );
        assert_eq!(
            d.resume(),
            1,
            "the incomplete output is read again from its first piece"
        );
        // A restart: the state as saved, the pieces forgotten.
        let mut again = Dedup {
            state: d.state.clone(),
            open: HashMap::new(),
        };
        assert_eq!(
            again.offer(piece(1, "g/100/0/60", "big", 0, b"ab")),
            Verdict::Wait
        );
        assert_eq!(
            again.offer(whole(2, "g/100/0/60", "small", b"s")),
            Verdict::Seen
        );
        assert_eq!(
            again.offer(piece(3, "g/100/0/60", "big", 1, b"cd")),
            Verdict::Write(b"abcd".to_vec())
        );
        assert_eq!(again.resume(), 4);
        assert_eq!(
            again.offer(piece(4, "g/100/0/60", "big", 1, b"cd")),
            Verdict::Duplicate
        );
    }
}
