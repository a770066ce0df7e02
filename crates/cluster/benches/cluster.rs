//! A bounded benchmark on loopback: the same batch through a local `hunt` and through the
//! cluster with 1, 2 and 4 workers (one lane each), with the whole ESCU library over a slice of
//! the shared corpus. Prints a table; it checks that every cluster run gives the local rows but
//! asserts nothing about speed.
//!
//! `bench/cluster` runs it (`cargo bench -p cimhunt-cluster --bench cluster`, a release build;
//! not part of `cargo test`). `CIMHUNT_BENCH_FILES=N` takes the first N files of the corpus
//! slice; `CIMHUNT_BENCH_DIR=DIR` takes every EVTX file under DIR instead, and
//! `CIMHUNT_BENCH_INPUT=FILE` that one file (any format);
//! `CIMHUNT_BENCH_SEED=1` runs the seed detection alone. Needs `../shared` and
//! `nats-server`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use cimhunt_cluster::{Clock, Limits};
use common::*;

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no other arguments.
    let Some(server) = Server::start() else {
        eprintln!("nats-server is not available: see .ci/nats-server");
        std::process::exit(2);
    };
    let job = if std::env::var_os("CIMHUNT_BENCH_SEED").is_some() {
        seed_job()
    } else {
        library_job()
    };
    let mut files = match (
        std::env::var_os("CIMHUNT_BENCH_INPUT"),
        std::env::var_os("CIMHUNT_BENCH_DIR"),
    ) {
        (Some(file), _) => vec![std::path::PathBuf::from(file)],
        (None, Some(dir)) => evtx_under(std::path::Path::new(&dir)),
        (None, None) => corpus_slice(),
    };
    if let Some(n) = std::env::var("CIMHUNT_BENCH_FILES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        files.truncate(n);
    }
    if files.is_empty() {
        eprintln!("no input files (CIMHUNT_BENCH_DIR names a directory without EVTX files?)");
        std::process::exit(2);
    }
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    // Warm the page cache and the model.
    let (expected, stats) = local_hunt(&job, &files);
    let records = stats.records;
    let mut table = Vec::new();
    for threads in [1, 2] {
        let options = cimhunt_engine::Options {
            now: now(),
            threads,
            ..cimhunt_engine::Options::default()
        };
        let t = Instant::now();
        let inputs = files
            .iter()
            .map(|p| {
                (
                    cimhunt_read::Input::path(p),
                    cimhunt_engine::Meta::default(),
                )
            })
            .collect();
        let r = cimhunt_engine::run(&job.job, &options, inputs, &mut cimhunt_engine::Quiet);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(r.stats.records, records);
        table.push((format!("local hunt, {threads} thread(s)"), secs));
    }
    for n in [1, 2, 4] {
        let nats = server.options(&prefix("bench"));
        let workers = start_workers(n, &nats, &job.cluster(now()), &test_config(Clock::Wall));
        // Let the workers register before the clock starts.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let t = Instant::now();
        let (got, outcome) = cluster_hunt(&nats, &job, &files, Limits::default());
        let secs = t.elapsed().as_secs_f64();
        workers.stop();
        assert_eq!(got, expected);
        table.push((
            format!(
                "cluster, {n} worker(s) ({} messages, {:.1} MiB on the wire)",
                outcome.messages,
                outcome.bytes.1 as f64 / (1 << 20) as f64
            ),
            secs,
        ));
    }
    println!(
        "\n{} detections, {} files, {:.1} MiB, {} records",
        job.detections.len(),
        files.len(),
        bytes as f64 / (1 << 20) as f64,
        records
    );
    let base = table[0].1;
    for (what, secs) in &table {
        println!(
            "{what:<60} {secs:>7.2} s {:>9.0} records/s  x{:.2} of local 1-thread time",
            records as f64 / secs,
            secs / base
        );
    }
}

/// Every `.evtx` file under `dir`, in path order.
fn evtx_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
