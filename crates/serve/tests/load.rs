//! A bounded load test on loopback (a few seconds): events per second and request latency
//! with the fake engine, with and without the journal's fsync. It prints the figures and
//! asserts only that every accepted event reached the engine.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

const CLIENTS: usize = 4;
const BATCH: usize = 50;
const RUN: Duration = Duration::from_secs(3);

async fn measure(fsync: bool) -> (f64, Duration, Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.journal.fsync = fsync;
    let sink = FakeSink::new(vec![]);
    let mut h = start(c, sink.clone()).await;
    let body: Arc<String> = Arc::new(
        (0..BATCH)
            .map(|i| {
                format!(
                    r#"{{"time":1714521600.{i:03},"host":"ws{i}","sourcetype":"XmlWinEventLog","event":"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4688</EventID></System><EventData><Data Name='CommandLine'>msiexec.exe /i http://x/{i}.msi</Data></EventData></Event>"}}"#
                )
            })
            .collect(),
    );
    let target = url(&h, "/services/collector/event");
    let start_at = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let http = client();
        let body = Arc::clone(&body);
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while start_at.elapsed() < RUN {
                let t = Instant::now();
                let r = http
                    .post(&target)
                    .header("Authorization", format!("Splunk {TOKEN}"))
                    .body(body.as_str().to_owned())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start_at.elapsed();
    lat.sort();
    let events = lat.len() * BATCH;
    wait_until("every event in the engine", || {
        sink.events().len() == events
    })
    .await;
    h.stop();
    h.wait().await.unwrap();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (
        events as f64 / elapsed.as_secs_f64(),
        p(0.5),
        p(0.99),
        lat.len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_figures() {
    for fsync in [true, false] {
        let (eps, p50, p99, requests) = measure(fsync).await;
        println!(
            "load: fsync={fsync} clients={CLIENTS} batch={BATCH}: {requests} requests, {eps:.0} events/s, p50 {p50:?}, p99 {p99:?}"
        );
    }
}
