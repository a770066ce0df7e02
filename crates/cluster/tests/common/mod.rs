//! What the cluster tests share: a real `nats-server -js` on loopback (installed by the
//! project's `.ci/nats-server` when missing), the jobs, a local run to compare with, worker
//! threads and worker processes.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cimhunt_cluster::{
    BatchOptions, ClusterJob, Limits, Log, NatsOptions, NoLog, Stop, Topology, WorkerConfig,
    WorkerSummary, run_worker,
};
use cimhunt_content::{ContentOptions, ContentSet, Detection, embedded_default};
use cimhunt_engine::{Job, Meta, Options, Quiet, State, finish_all, run};
use cimhunt_model::Model;
use cimhunt_read::Input;
use cimhunt_report::{AlertContext, notable_event, risk_events, row_json};
use cimhunt_spl::{Row, Timestamp, compile};

/// The tests of one binary run one at a time: each starts a server and several workers, and
/// the machine is small.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared`, for the tests that need the ESCU content and the corpus.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// The seed fixtures.
pub fn seed_fixtures() -> Vec<PathBuf> {
    let dir = repo().join("crates/engine/tests/fixtures/seed");
    ["sysmon.log", "security.log", "crowdstrike.jsonl"]
        .iter()
        .map(|f| dir.join(f))
        .collect()
}

/// A slice of the shared EVTX corpus: DeepBlueCLI's samples (19 files, 7 MiB).
pub fn corpus_slice() -> Vec<PathBuf> {
    let dir = shared().join("corpus/evtx/DeepBlueCLI");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    files.sort();
    files
}

/// Writes `n` Sysmon process events made from the seed's, spread over hosts and hours (one every
/// 7 seconds from 2026-01-05T08:00:00Z), into `dir`, in `files` files.
pub fn synthetic(dir: &Path, n: usize, files: usize) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(repo().join("crates/engine/tests/fixtures/seed/sysmon.log"))
        .unwrap();
    let templates: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}'))
        .filter(|l| l.starts_with("<Event"))
        .collect();
    let base = Timestamp::parse_rfc3339("2026-01-05T08:00:00Z")
        .unwrap()
        .as_secs();
    let mut outs: Vec<std::io::BufWriter<std::fs::File>> = Vec::new();
    let mut paths = Vec::new();
    for f in 0..files {
        let p = dir.join(format!("synthetic-{f}.log"));
        outs.push(std::io::BufWriter::new(std::fs::File::create(&p).unwrap()));
        paths.push(p);
    }
    for i in 0..n {
        let t = templates[i % templates.len()];
        let time = Timestamp::from_nanos((base + 7 * i as i64) * 1_000_000_000 + 5, 9);
        let mut e = replace_between(t, "SystemTime='", "'", &time.to_string());
        e = replace_between(&e, "<Computer>", "</Computer>", &format!("host-{}", i % 37));
        e = replace_between(&e, "<EventRecordID>", "</EventRecordID>", &i.to_string());
        writeln!(outs[i % files], "{e}").unwrap();
    }
    for mut o in outs {
        o.flush().unwrap();
    }
    paths
}

fn replace_between(s: &str, open: &str, close: &str, with: &str) -> String {
    let Some(a) = s.find(open) else {
        return s.to_owned();
    };
    let start = a + open.len();
    let Some(b) = s[start..].find(close) else {
        return s.to_owned();
    };
    format!("{}{with}{}", &s[..start], &s[start + b..])
}

fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(Model::escu().expect("the default profile"))))
}

/// A job and the content detections in its order.
#[derive(Clone)]
pub struct TestJob {
    pub job: Arc<Job>,
    pub detections: Vec<Detection>,
}

impl TestJob {
    /// The cluster's view of it, with `now` as the engine's time.
    pub fn cluster(&self, now: Timestamp) -> Arc<ClusterJob> {
        self.cluster_with(now, None)
    }

    /// The job as a `cimhunt worker` with a state budget (`--state-memory`) builds it.
    pub fn cluster_with(
        &self,
        now: Timestamp,
        spill: Option<cimhunt_engine::SpillOptions>,
    ) -> Arc<ClusterJob> {
        let options = Options {
            now,
            spill,
            ..Options::default()
        };
        Arc::new(
            ClusterJob::new(
                Arc::clone(&self.job),
                self.detections.clone(),
                options,
                "escu",
            )
            .unwrap(),
        )
    }
}

fn build(detections: Vec<Detection>, macros: &cimhunt_spl::MacroSet) -> TestJob {
    let m = model();
    // As `cimhunt worker` builds it: detections that aggregate the same events the same way
    // share one state, which a lane copies to each of them.
    let mut b = Job::builder(Arc::clone(&m)).share_states(true);
    let mut kept = Vec::new();
    for d in detections {
        if let Ok(c) = compile(&d.search, macros, m.as_ref()) {
            b = b.detection(d.name.clone(), c.plan, &c.expanded);
            kept.push(d);
        }
    }
    TestJob {
        job: Arc::new(b.build().expect("job")),
        detections: kept,
    }
}

/// The seed detection alone.
pub fn seed_job() -> TestJob {
    static JOB: OnceLock<TestJob> = OnceLock::new();
    JOB.get_or_init(|| {
        let (d, macros) = embedded_default();
        build(vec![d], &macros)
    })
    .clone()
}

/// The seed detection, a copy of it under another name (the same plan, so the same
/// fingerprint), and a variant whose search adds a command after the aggregation (another
/// plan over the same events, aggregated the same way): both share the seed's state.
pub fn seed_copies_job() -> TestJob {
    let (d, macros) = embedded_default();
    let mut copy = d.clone();
    copy.name = format!("{} (copy)", d.name);
    let mut variant = d.clone();
    variant.name = format!("{} (variant)", d.name);
    variant.search = format!("{} | eval variant=1", d.search);
    let job = build(vec![d, copy, variant], &macros);
    let dets = job.job.detections();
    assert_eq!(dets[1].fingerprint(), dets[0].fingerprint());
    assert_ne!(dets[2].fingerprint(), dets[0].fingerprint());
    assert_eq!(
        job.job.alias_of(1),
        Some(0),
        "the copy shares the seed's state"
    );
    assert_eq!(
        job.job.alias_of(2),
        Some(0),
        "the variant shares the seed's state"
    );
    job
}

/// Every ESCU detection of `../shared` that compiles against the model.
pub fn library_job() -> TestJob {
    static JOB: OnceLock<TestJob> = OnceLock::new();
    JOB.get_or_init(|| {
        let content = shared().join("content/security_content");
        let set = ContentSet::load(&ContentOptions {
            content_dir: Some(content.clone()),
            detections: vec![content.join("detections")],
            macro_files: Vec::new(),
        })
        .expect("ESCU content loads");
        let job = build(set.detections, &set.macros);
        assert!(
            job.detections.len() > 300,
            "{} detections",
            job.detections.len()
        );
        job
    })
    .clone()
}

/// The run's fixed time.
pub fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-02-01T00:00:00Z").unwrap()
}

/// What a run prints: rows (JSON lines as `hunt -f jsonl`), risk events, notables.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Printed {
    pub rows: Vec<String>,
    pub risk: Vec<String>,
    pub notables: Vec<String>,
}

/// Turns merged states into what `hunt` prints.
pub fn printed(
    job: &TestJob,
    states: impl Into<cimhunt_engine::Finals>,
    now: Timestamp,
) -> Printed {
    let options = Options {
        now,
        ..Options::default()
    };
    let rows = finish_all(&job.job, states, &options.exec_ctx(), 2);
    let mut out = Printed::default();
    for (d, rows) in job.detections.iter().zip(rows) {
        let rows: Vec<Row> = rows.expect("rows");
        let ctx = AlertContext::new(d, now);
        for row in &rows {
            out.rows.push(row_json(&d.name, row));
            out.risk.extend(risk_events(&ctx, row));
            out.notables.push(notable_event(&ctx, row));
        }
    }
    out
}

/// A local `hunt` over the files.
pub fn local_hunt(job: &TestJob, files: &[PathBuf]) -> (Printed, cimhunt_engine::Stats) {
    let options = Options {
        now: now(),
        threads: 2,
        ..Options::default()
    };
    let inputs = files
        .iter()
        .map(|p| (Input::path(p), Meta::default()))
        .collect();
    let result = run(&job.job, &options, inputs, &mut Quiet);
    assert!(result.errors.is_empty());
    (printed(job, result.states, now()), result.stats)
}

/// `hunt --nats` over the files.
pub fn cluster_hunt(
    nats: &NatsOptions,
    job: &TestJob,
    files: &[PathBuf],
    limits: Limits,
) -> (Printed, cimhunt_cluster::BatchOutcome) {
    let (printed, outcome, _) = cluster_hunt_with(nats, job, files, limits, None);
    (printed, outcome)
}

/// `hunt --nats` over the files, the merged states beyond `spill`'s budget on disk.
pub fn cluster_hunt_with(
    nats: &NatsOptions,
    job: &TestJob,
    files: &[PathBuf],
    limits: Limits,
    spill: Option<cimhunt_engine::SpillOptions>,
) -> (
    Printed,
    cimhunt_cluster::BatchOutcome,
    cimhunt_engine::SpillReport,
) {
    let inputs = files
        .iter()
        .map(|p| (Input::path(p), Meta::default()))
        .collect();
    let batch = BatchOptions {
        now: now(),
        tz: "UTC".to_owned(),
        decode_all: false,
        limits,
        idle_timeout: Some(Duration::from_secs(120)),
        spill,
    };
    let cjob = job.cluster(now());
    let mut outcome = cimhunt_cluster::hunt(nats, &cjob, inputs, &batch, &|_| {}).expect("hunt");
    let spilled = outcome.states.spill_report().clone();
    let states = std::mem::replace(&mut outcome.states, Vec::new().into());
    (printed(job, states, now()), outcome, spilled)
}

/// A NATS server with JetStream on a loopback port, its file store in a temporary directory.
pub struct Server {
    bin: String,
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

fn works(bin: &str) -> bool {
    Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Server {
    /// Starts a server, installing it first when missing; `None` (with a message saying why)
    /// only when it cannot be installed.
    pub fn start() -> Option<Server> {
        let bin = std::env::var("CIMHUNT_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        if !works(&bin) {
            let script = repo().join(".ci/nats-server");
            let installed = Command::new(&script)
                .arg("--install-only")
                .status()
                .is_ok_and(|s| s.success());
            if !installed || !works(&bin) {
                eprintln!(
                    "SKIPPED: nats-server is not installed and {} could not install it",
                    script.display()
                );
                return None;
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Server {
            bin,
            port,
            store: tempfile::tempdir().unwrap(),
            child: None,
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Options for a fresh prefix, with test limits: a small events stream (the server reserves
    /// its size) and quick redelivery.
    pub fn options(&self, prefix: &str) -> NatsOptions {
        NatsOptions::new(self.url(), prefix)
            .unwrap()
            .topology(test_topology())
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the server and starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Limits for tests.
pub fn test_topology() -> Topology {
    Topology {
        events_max_bytes: 64 << 20,
        ack_wait: Duration::from_secs(3),
        lease: Duration::from_secs(2),
        heartbeat: Duration::from_secs(10),
        ..Topology::default()
    }
}

/// Worker threads.
pub struct Workers {
    running: Vec<(Stop, std::thread::JoinHandle<Result<WorkerSummary, String>>)>,
}

/// `n` worker threads running `job`.
pub fn start_workers(
    n: usize,
    nats: &NatsOptions,
    job: &Arc<ClusterJob>,
    config: &WorkerConfig,
) -> Workers {
    let running = (0..n)
        .map(|i| {
            let stop = Stop::new();
            let (nats, job, stop2) = (nats.clone(), Arc::clone(job), stop.clone());
            let mut config = config.clone();
            config.name = Some(format!("t{i}-{}", std::process::id()));
            let log: Arc<dyn Log> = Arc::new(NoLog);
            let h = std::thread::spawn(move || {
                run_worker(&nats, job, config, stop2, log).map_err(|e| e.to_string())
            });
            (stop, h)
        })
        .collect();
    Workers { running }
}

impl Workers {
    /// Stops them and returns what each did.
    pub fn stop(self) -> Vec<WorkerSummary> {
        for (s, _) in &self.running {
            s.stop();
        }
        self.running
            .into_iter()
            .map(|(_, h)| h.join().unwrap().expect("worker"))
            .collect()
    }
}

/// A worker in a child process (this test binary run again, see `child_worker_process`).
pub struct ChildWorker(Child);

/// The environment variable that makes a test binary a worker.
pub const CHILD_URL: &str = "CIMHUNT_TEST_CHILD_URL";
/// Its prefix.
pub const CHILD_PREFIX: &str = "CIMHUNT_TEST_CHILD_PREFIX";
/// Its clock (`wall` or `events`).
pub const CHILD_CLOCK: &str = "CIMHUNT_TEST_CHILD_CLOCK";
/// Its tick in milliseconds (500 when unset).
pub const CHILD_TICK: &str = "CIMHUNT_TEST_CHILD_TICK_MS";

impl ChildWorker {
    /// Starts one.
    pub fn start(nats_url: &str, prefix: &str, clock: &str) -> ChildWorker {
        ChildWorker::start_with_tick(nats_url, prefix, clock, Duration::from_millis(500))
    }

    /// Starts one that runs its periodic work (heartbeat, lease, reducing) every `tick`.
    pub fn start_with_tick(
        nats_url: &str,
        prefix: &str,
        clock: &str,
        tick: Duration,
    ) -> ChildWorker {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child_worker_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_URL, nats_url)
            .env(CHILD_PREFIX, prefix)
            .env(CHILD_CLOCK, clock)
            .env(CHILD_TICK, tick.as_millis().to_string())
            .stdout(Stdio::null())
            .stderr(child_stderr())
            .spawn()
            .expect("child worker starts");
        ChildWorker(child)
    }

    /// `kill -9`.
    pub fn kill9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a child worker's log goes: appended to the file `CIMHUNT_TEST_CHILD_LOG` names, for
/// debugging a failure; nowhere otherwise.
fn child_stderr() -> Stdio {
    std::env::var_os("CIMHUNT_TEST_CHILD_LOG")
        .and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        })
        .map_or_else(Stdio::null, Stdio::from)
}

impl Drop for ChildWorker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a worker when this process was started as one; returns false otherwise.
pub fn run_child_worker(job: &TestJob) -> bool {
    let (Ok(url), Ok(prefix)) = (std::env::var(CHILD_URL), std::env::var(CHILD_PREFIX)) else {
        return false;
    };
    let clock = match std::env::var(CHILD_CLOCK).as_deref() {
        Ok("events") => cimhunt_cluster::Clock::Events,
        _ => cimhunt_cluster::Clock::Wall,
    };
    let nats = NatsOptions::new(url, &prefix)
        .unwrap()
        .topology(test_topology());
    let tick = std::env::var(CHILD_TICK)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(500);
    let config = WorkerConfig {
        clock,
        tick: Duration::from_millis(tick),
        ..WorkerConfig::default()
    };
    let log: Arc<dyn Log> = Arc::new(cimhunt_cluster::StderrLog::new("child", false));
    run_worker(&nats, job.cluster(now()), config, Stop::new(), log).expect("child worker");
    true
}

/// A worker configuration for tests: quick ticks.
pub fn test_config(clock: cimhunt_cluster::Clock) -> WorkerConfig {
    WorkerConfig {
        clock,
        tick: Duration::from_millis(300),
        grace: Duration::from_secs(120),
        ..WorkerConfig::default()
    }
}

/// Waits until `f` holds, at most `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A unique prefix.
pub fn prefix(name: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}{:x}", t & 0xfffff)
}

/// A window's key: scheduled time, earliest, latest (epoch seconds).
pub type WindowKey = (i64, i64, i64);

/// Publishes the files to the live stream as publisher `id`.
pub fn publish_live(nats: &NatsOptions, files: &[PathBuf], id: &str, limits: Limits) -> u64 {
    let ingest = cimhunt_cluster::Ingest::connect(nats, id, limits).expect("connect");
    let mut messages = 0;
    for f in files {
        let key = f.file_name().unwrap().to_string_lossy().replace('.', "_");
        let p = ingest
            .publish(&key, Input::path(f), Meta::default())
            .expect("publish");
        messages += p.messages;
    }
    messages
}

/// Waits until every event message has been processed.
pub fn wait_queue_empty(nats: &NatsOptions, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = cimhunt_cluster::status(nats).expect("status");
        if s.events.messages == 0
            && s.queue
                .as_ref()
                .is_some_and(|q| q.pending == 0 && q.in_flight == 0)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the queue to empty: {:?}, {:?}",
            s.events,
            s.queue
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs a draining worker: it processes what is left and runs every window that holds events.
pub fn drain(nats: &NatsOptions, job: &TestJob, clock: cimhunt_cluster::Clock) {
    drain_with(nats, job.cluster(now()), clock);
}

/// [`drain`] by a worker of this job; what it did.
pub fn drain_with(
    nats: &NatsOptions,
    cjob: Arc<ClusterJob>,
    clock: cimhunt_cluster::Clock,
) -> cimhunt_cluster::WorkerSummary {
    let config = WorkerConfig {
        drain: true,
        name: Some("drainer".to_owned()),
        ..test_config(clock)
    };
    let log: Arc<dyn Log> = Arc::new(NoLog);
    let stop = Stop::new();
    let (nats, stop2) = (nats.clone(), stop.clone());
    let worker = std::thread::spawn(move || run_worker(&nats, cjob, config, stop2, log));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !worker.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let in_time = worker.is_finished();
    stop.stop();
    let summary = worker.join().unwrap().expect("drain");
    assert!(in_time, "the draining worker did not finish within 120 s");
    summary
}

/// The outputs the reducers published, by window.
pub fn cluster_windows(nats: &NatsOptions) -> std::collections::BTreeMap<WindowKey, Printed> {
    use cimhunt_cluster::OutputKind;
    let mut out: std::collections::BTreeMap<WindowKey, Printed> = Default::default();
    for kind in [OutputKind::Rows, OutputKind::Risk, OutputKind::Notable] {
        for o in cimhunt_cluster::outputs(nats, kind).expect("outputs") {
            let parts: Vec<i64> = o
                .window
                .split('/')
                .skip(1)
                .map(|p| p.parse().unwrap())
                .collect();
            let p = out.entry((parts[0], parts[1], parts[2])).or_default();
            match kind {
                OutputKind::Rows => p.rows.push(o.json),
                OutputKind::Risk => p.risk.push(o.json),
                _ => p.notables.push(o.json),
            }
        }
    }
    out
}

/// Asserts that the cluster's windows are the local run's, saying first which windows differ
/// and by how many outputs (the whole texts run to megabytes).
pub fn assert_windows_eq(
    got: &std::collections::BTreeMap<WindowKey, Printed>,
    expected: &std::collections::BTreeMap<WindowKey, Printed>,
) {
    let counts = |m: &std::collections::BTreeMap<WindowKey, Printed>| -> Vec<_> {
        m.iter()
            .map(|(k, p)| (*k, p.rows.len(), p.risk.len(), p.notables.len()))
            .collect()
    };
    assert_eq!(
        counts(got),
        counts(expected),
        "windows (scheduled, earliest, latest) and their rows, risk events, notables"
    );
    for (k, p) in expected {
        assert!(got.get(k) == Some(p), "window {k:?} differs");
    }
}

/// What a single engine fed the same files gives for each ESCU window (hourly at minute 0 over
/// `-70m@m`..`-10m@m`), from the first window that ends after the earliest event with a
/// matching detection to the last that starts at or before the latest: the windows an
/// events-clock cluster runs. Windows without output are left out.
pub fn local_windows(
    job: &TestJob,
    files: &[PathBuf],
) -> std::collections::BTreeMap<WindowKey, Printed> {
    use cimhunt_engine::Engine;
    let options = Options {
        now: now(),
        threads: 2,
        bucket_secs: Some(60),
        ..Options::default()
    };
    let engine = Engine::start(Arc::clone(&job.job), options, 4, Box::new(Quiet));
    for f in files {
        engine.feed(Input::path(f), Meta::default()).unwrap();
    }
    engine.flush();
    let n = job.job.detections().len();
    let mut buckets: Vec<Vec<(i64, State)>> = Vec::new();
    for d in 0..n {
        // The engine holds no state for a detection that shares an earlier one's.
        if let Some(o) = job.job.alias_of(d) {
            buckets.push(buckets[o].clone());
            continue;
        }
        let mut b = engine.take(d, i64::MIN + 1, i64::MAX).unwrap();
        b.retain(|(_, s)| !s.is_empty());
        buckets.push(b);
    }
    let all: Vec<i64> = buckets.iter().flatten().map(|(b, _)| *b).collect();
    let (Some(&min), Some(&max)) = (all.iter().min(), all.iter().max()) else {
        return Default::default();
    };
    let horizon = max + 59;
    let mut t = (min.div_euclid(3600) - 2) * 3600;
    while t - 600 <= min {
        t += 3600;
    }
    let mut out = std::collections::BTreeMap::new();
    while t - 4200 <= horizon {
        let (from, to) = (t - 4200, t - 600);
        let mut states = Vec::new();
        for (d, det) in job.job.detections().iter().enumerate() {
            let mut s = State::new(det.agg().is_some());
            for (b, st) in &buckets[d] {
                if *b >= from && *b < to {
                    s.merge(det.agg(), st.clone()).unwrap();
                }
            }
            states.push(s);
        }
        let p = printed(job, states, Timestamp::from_nanos(t * 1_000_000_000, 0));
        if p != Printed::default() {
            out.insert((t, from, to), p);
        }
        t += 3600;
    }
    out
}
