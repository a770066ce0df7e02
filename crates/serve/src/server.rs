//! Starting, running and stopping the service.
//!
//! Start: lock the state directory, load the schedule state, read the spool (re-delivering
//! what the files and the forwarder had not yet taken), replay the journal into the engine,
//! start the journal, feeder and scheduler threads and the forwarder, and open the listener.
//!
//! Stop (SIGTERM, SIGINT, or [`ServeHandle::stop`]) drains: new requests get 503, requests in
//! flight finish, the journal writes and syncs what it holds, the feeder hands everything to
//! the engine, the scheduler runs every window that holds a received event and writes its
//! outputs, the forwarder gets a grace period to send them, and the report is returned.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::config::{ServeConfig, TlsConfig};
use crate::engine::Sink;
use crate::hec::ack::AckRegistry;
use crate::hec::auth::TokenStore;
use crate::hec::routes::{HecState, router};
use crate::journal::{Journal, JournalError};
use crate::log::LogError;
use crate::output::{FileOutput, ForwardQueue, Forwarder, OutputError, OutputKind, Spool};
use crate::runner::{Control, Counters, Runner, RunnerError};
use crate::schedule::{Clock, ScheduleError, ScheduleState, Scheduler, StateError};

/// What a run did, for the final summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeReport {
    /// Requests answered with code 0.
    pub requests_accepted: u64,
    /// Requests refused.
    pub requests_refused: u64,
    /// Events accepted.
    pub events_accepted: u64,
    /// Batches and events replayed from the journal at start.
    pub replayed: (u64, u64),
    /// Windows run.
    pub windows_run: u64,
    /// Windows the engine failed.
    pub windows_failed: u64,
    /// Late events, as the engine counted them.
    pub late_events: u64,
    /// Events the engine could not use, as it counted them.
    pub skipped_events: u64,
    /// Spool records not yet forwarded at exit (sent on the next start).
    pub forward_pending: usize,
}

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The state directory is in use or unusable.
    #[error("state directory {path}: {message}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The schedule state file.
    #[error(transparent)]
    State(#[from] StateError),
    /// A detection's schedule.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The journal.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The output spool.
    #[error("output spool: {0}")]
    Spool(#[from] LogError),
    /// An output file.
    #[error("output: {0}")]
    Output(#[from] OutputError),
    /// The listener.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// TLS certificate or key.
    #[error("TLS ({}, {}): {message}", .tls.cert.display(), .tls.key.display())]
    Tls {
        /// The configured files.
        tls: TlsConfig,
        /// What is wrong.
        message: String,
    },
    /// The scheduler stopped on an error.
    #[error("scheduler: {0}")]
    Runner(#[from] RunnerError),
    /// The forwarder could not start.
    #[error("forwarding: {0}")]
    Forward(String),
}

/// A running service.
#[derive(Debug)]
pub struct ServeHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<ServeReport, ServeError>>,
}

impl ServeHandle {
    /// The address the listener is bound to (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the graceful stop (as SIGTERM does).
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the service has stopped.
    pub async fn wait(self) -> Result<ServeReport, ServeError> {
        match self.done.await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Config(format!("the service task failed: {e}"))),
        }
    }

    /// Whether the service has stopped (after [`ServeHandle::stop`] or on an error).
    pub fn is_finished(&self) -> bool {
        self.done.is_finished()
    }
}

/// Starts the service and returns once it listens.
pub async fn start(config: ServeConfig, sink: Arc<dyn Sink>) -> Result<ServeHandle, ServeError> {
    config.validate().map_err(ServeError::Config)?;
    let state_dir = config.state_dir.clone();
    let dir_err = |message: String| ServeError::StateDir {
        path: state_dir.clone(),
        message,
    };
    std::fs::create_dir_all(&state_dir).map_err(|e| dir_err(e.to_string()))?;
    let lock = File::create(state_dir.join("lock")).map_err(|e| dir_err(e.to_string()))?;
    lock.try_lock()
        .map_err(|_| dir_err("another cimhunt serve is using it".into()))?;

    let state_path = state_dir.join("schedule.json");
    let mut state = ScheduleState::load(&state_path)?;

    // The spool: the windows committed after the state file was last written, and what the
    // outputs have not yet taken.
    let mut retained = Vec::new();
    let spool = Spool::open(&state_dir.join("spool"), |seq, record| {
        retained.push((seq, record))
    })?;
    for (seq, record) in &retained {
        if *seq >= state.spool_next {
            let t = record.scheduled;
            let last = state
                .last_window
                .entry(record.detection.clone())
                .or_insert(t);
            *last = (*last).max(t);
        }
    }
    let scheduler = Scheduler::new(sink.detections(), &state)?;
    sink.resume(&scheduler.committed_windows()?);

    let mut files = Vec::new();
    for (kind, path) in [
        (OutputKind::Rows, &config.outputs.rows),
        (OutputKind::Risk, &config.outputs.risk),
        (OutputKind::Notable, &config.outputs.notable),
    ] {
        if let Some(path) = path {
            let mut f = FileOutput::open(kind, path, &state_dir, spool.next_seq())?;
            for (seq, record) in &retained {
                f.write(*seq, record)?;
            }
            files.push(f);
        }
    }
    let forward = match &config.forward {
        Some(fc) => {
            let q = Arc::new(ForwardQueue::open(fc.clone(), &state_dir, spool.next_seq()));
            for (seq, record) in &retained {
                // Retained records were read whole from the spool: nothing to fail.
                q.push(*seq, record)
                    .map_err(|e| dir_err(format!("forwarding: {e}")))?;
            }
            Some(q)
        }
        None => None,
    };
    drop(retained);

    let (journal, threads) = Journal::open(
        &state_dir.join("journal"),
        config.journal.segment_bytes,
        config.journal.fsync,
        state.journal_watermark,
        (
            config.limits.max_pending_events,
            config.limits.max_pending_bytes,
        ),
        Arc::clone(&sink),
    )?;
    if threads.replayed.0 > 0 {
        tracing::info!(
            "replayed {} request(s), {} event(s) from the journal",
            threads.replayed.0,
            threads.replayed.1
        );
    }

    // A clock that reads time (not events) anchors the schedule now, when the service starts,
    // not at the scheduler thread's first tick: events posted at once are then in the first
    // windows whatever the threads' timing.
    let mut scheduler = scheduler;
    let clock = Clock::new(&config.clock, &sink);
    if !clock.follows_events()
        && !scheduler.is_anchored()
        && let Some(now) = clock.now()
    {
        scheduler.anchor(now, None);
    }
    let counters = Arc::new(Counters::default());
    let runner = Runner {
        sink: Arc::clone(&sink),
        scheduler,
        clock,
        spool,
        files,
        forward: forward.clone(),
        state,
        state_path,
        journal: journal.clone(),
        counters: Arc::clone(&counters),
        tick: Duration::from_millis(config.tick_ms.max(1)),
    };
    let (control_tx, control_rx) = mpsc::channel();
    let (runner_done_tx, runner_done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("cimhunt-scheduler".into())
        .spawn(move || {
            let r = runner.run(control_rx);
            let _ = runner_done_tx.send(r);
        })
        .map_err(|e| dir_err(format!("cannot start the scheduler: {e}")))?;

    let (stop_fwd_tx, stop_fwd_rx) = watch::channel(false);
    let forwarder = match &forward {
        Some(q) => {
            let f = Forwarder::new(Arc::clone(q)).map_err(ServeError::Forward)?;
            Some(tokio::spawn(f.run(stop_fwd_rx, Duration::from_secs(10))))
        }
        None => None,
    };

    let hec = Arc::new(HecState {
        tokens: TokenStore::new(&config.tokens),
        limits: config.limits.clone(),
        acks: AckRegistry::new(
            threads.first_seq,
            config.limits.max_channels,
            config.limits.max_pending_acks,
            Duration::from_secs(config.limits.channel_idle_seconds),
        ),
        journal: journal.clone(),
        permits: Arc::new(tokio::sync::Semaphore::new(
            config.limits.max_concurrent_requests,
        )),
        accepting: AtomicBool::new(true),
        counters: Arc::clone(&counters),
        clock: Clock::new(&config.clock, &sink),
    });
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let app = router(Arc::clone(&hec));
    let handle = axum_server::Handle::new();
    let server = match &config.tls {
        Some(tls) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|e| ServeError::Tls {
                    tls: tls.clone(),
                    message: e.to_string(),
                })?;
            let s = axum_server::tls_rustls::from_tcp_rustls(listener, rustls)
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?
                .handle(handle.clone());
            tokio::spawn(s.serve(app.into_make_service()))
        }
        None => {
            let s = axum_server::from_tcp(listener)
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?
                .handle(handle.clone());
            tokio::spawn(s.serve(app.into_make_service()))
        }
    };
    tracing::info!("HEC listening on {addr}");

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let _lock = lock;
        let mut runner_done = runner_done_rx;
        let runner_result = tokio::select! {
            _ = stop_rx => None,
            r = &mut runner_done => Some(r),
        };
        // 1. Stop accepting; let requests in flight finish.
        hec.accepting.store(false, Ordering::Release);
        handle.graceful_shutdown(Some(Duration::from_secs(30)));
        let _ = server.await;
        // 2. The journal writes what it holds; the feeder hands it all to the engine.
        journal.close();
        drop(hec);
        let writer = threads.writer;
        let feeder = threads.feeder;
        let _ = tokio::task::spawn_blocking(move || {
            let _ = writer.join();
            let _ = feeder.join();
        })
        .await;
        // 3. Run every window that holds a received event, and write the outputs.
        let runner_result = match runner_result {
            Some(r) => r,
            None => {
                let _ = control_tx.send(Control::Drain);
                runner_done.await
            }
        };
        // 4. Give the forwarder its grace period.
        let _ = stop_fwd_tx.send(true);
        if let Some(f) = forwarder {
            let _ = f.await;
        }
        match runner_result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ServeError::Runner(e)),
            Err(_) => return Err(ServeError::Config("the scheduler thread died".into())),
        }
        Ok(ServeReport {
            requests_accepted: counters.requests_accepted.load(Ordering::Relaxed),
            requests_refused: counters.requests_refused.load(Ordering::Relaxed),
            events_accepted: counters.events_accepted.load(Ordering::Relaxed),
            replayed: threads.replayed,
            windows_run: counters.windows_run.load(Ordering::Relaxed),
            windows_failed: counters.windows_failed.load(Ordering::Relaxed),
            late_events: sink.stats().late_events,
            skipped_events: sink.stats().skipped_events,
            forward_pending: forward.as_ref().map_or(0, |q| q.len()),
        })
    });
    Ok(ServeHandle {
        addr,
        stop: Some(stop_tx),
        done,
    })
}

/// Runs the service until SIGTERM or SIGINT, then drains and returns the report. This is the
/// entry point `cimhunt serve` calls, inside a Tokio runtime.
pub async fn run(config: ServeConfig, sink: Arc<dyn Sink>) -> Result<ServeReport, ServeError> {
    // The handlers are installed before the service starts (and announces its address), so a
    // SIGTERM sent as soon as it listens drains it instead of killing it.
    let signalled = signals();
    let mut handle = start(config, sink).await?;
    tokio::pin!(signalled);
    loop {
        tokio::select! {
            _ = &mut signalled => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if handle.is_finished() {
                    break;
                }
            }
        }
    }
    tracing::info!("stopping: draining the journal and running the last windows");
    handle.stop();
    handle.wait().await
}

/// [`run`] on a Tokio runtime of its own, for callers that have none (the `cimhunt` binary).
pub fn run_blocking(config: ServeConfig, sink: Arc<dyn Sink>) -> Result<ServeReport, ServeError> {
    let runtime = runtime()
        .map_err(|e| ServeError::Config(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(run(config, sink))
}

/// The name of the runtime's threads.
const THREAD_NAME: &str = "cimhunt-hec";

/// How long a thread of the runtime's blocking pool, where request bodies are parsed, stays
/// idle before it exits: 100 ms, where Tokio's default is 10 s. Events are parsed on those
/// threads and freed on the engine's, and the allocator takes back a thread's freed memory only
/// when that thread allocates again or exits; so idle parsing threads held the memory of the
/// last requests they had parsed (up to the whole backlog) while the last windows ran. On the
/// bench's replay of the mixed corpus through the whole library, peaks of 186 to 207 MiB became
/// 170 to 182 MiB (eight pairs, same events/s; ARCHITECTURE.md, "The service's peak, window by
/// window"). Starting a thread again costs far less than parsing one request.
const BLOCKING_IDLE: Duration = Duration::from_millis(100);

/// The runtime [`run_blocking`] runs the service on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(THREAD_NAME)
        .thread_keep_alive(BLOCKING_IDLE)
        .build()
}

/// Installs the SIGTERM and SIGINT handlers now, and gives the future that ends at the first
/// of them. (A future that installed them when first polled would leave a window in which the
/// default action, termination without draining, still applies.)
fn signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut t), Some(mut i)) => {
                    tokio::select! {
                        _ = t.recv() => {}
                        _ = i.recv() => {}
                    }
                }
                (Some(mut t), None) => {
                    t.recv().await;
                }
                (None, Some(mut i)) => {
                    i.recv().await;
                }
                (None, None) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The threads of this process named as the runtime's.
    fn runtime_threads() -> usize {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return 0;
        };
        tasks
            .filter_map(Result::ok)
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|name| name.trim_end() == THREAD_NAME)
            })
            .count()
    }

    #[test]
    fn idle_parsing_threads_exit_and_so_give_back_what_they_parsed() {
        let rt = runtime().unwrap();
        let workers = rt.metrics().num_workers();
        // Four bodies parsed at once, each on a blocking thread of its own; each counts the
        // threads while all four are there.
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let seen = rt.block_on(async {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    tokio::task::spawn_blocking(move || {
                        barrier.wait();
                        runtime_threads()
                    })
                })
                .collect();
            let mut seen = 0;
            for t in tasks {
                seen = seen.max(t.await.unwrap());
            }
            seen
        });
        assert!(seen >= 4, "four blocking threads ran ({seen} counted)");
        // Tokio's default keeps them for 10 s; BLOCKING_IDLE lets them go after 100 ms.
        let deadline = std::time::Instant::now() + Duration::from_secs(4);
        while runtime_threads() > workers && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            runtime_threads(),
            workers,
            "idle blocking threads still there after 4 s"
        );
    }
}
