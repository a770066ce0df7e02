//! cimhunt's benchmark: generates deterministic corpora and times cimhunt against `cat` and
//! `grep` on the same files, one detection against the whole library, one thread against all,
//! and the EVTX corpus with and without the prefilter. Figures are medians of several runs,
//! printed with peak memory and as ratios against baselines measured in the same run. Start it
//! with `bench/run`.
//!
//! Two corpora: the process corpus (Sysmon 1 and 4688 from templates written for cimhunt, kept
//! unchanged so that figures stay comparable) and the mixed corpus (every event type ESCU's
//! Windows library reads, shaped after the shared corpus's real events, from a fleet of
//! thousands of hosts, with planted true positives for a few dozen detections).

mod corpora;
mod corpus;
mod measure;
mod mixed;
mod replay;
mod report;
mod rows;
mod run;
mod settings;
mod variants;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: cimhunt-bench gen FILE [SIZE_MIB]
       cimhunt-bench gen-mixed FILE [SIZE_MIB] [--seed N] [--hosts N] [--evtx DIR]
       cimhunt-bench run [--size MIB] [--runs N] [--out DIR] [--cimhunt BIN] [--content DIR]
                         [--evtx DIR] [--corpus process|mixed|both] [--library DIR]
                         [--mixed-size MIB] [--seed N] [--no-evtx] [--no-peers]
       cimhunt-bench replay CORPUS [--cimhunt BIN] [--work DIR] [-- SERVE_ARGS...]";

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let Some(path) = args.get(1) else {
                return usage();
            };
            let mib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1024);
            match corpora::generate_process(&PathBuf::from(path), mib) {
                Ok(m) => {
                    println!(
                        "{} events, {} bytes, {} true positives, {} near misses",
                        m.events, m.bytes, m.true_positives, m.near_misses
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("gen-mixed") => gen_mixed(&args[1..]),
        Some("replay") => replay(&args[1..]),
        Some("run") => match settings::Settings::parse(&args[1..]) {
            Ok(settings) => run::run(&settings),
            Err(e) => {
                eprintln!("{e}");
                usage()
            }
        },
        _ => usage(),
    }
}

/// One `serve` replay by itself (what `run` times as "serve ingest over loopback").
fn replay(args: &[String]) -> ExitCode {
    let (own, serve) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let mut corpus = None;
    let mut cimhunt = PathBuf::from("target/release/cimhunt");
    let mut work = std::env::temp_dir().join("cimhunt-bench-replay");
    let mut it = own.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.clone().next()) {
            ("--cimhunt", Some(v)) => cimhunt = PathBuf::from(v),
            ("--work", Some(v)) => work = PathBuf::from(v),
            (a, _) if corpus.is_none() && !a.starts_with("--") => {
                corpus = Some(PathBuf::from(a));
                continue;
            }
            _ => return usage(),
        }
        it.next();
    }
    let Some(corpus) = corpus else {
        return usage();
    };
    let setup = replay::Setup {
        cimhunt,
        detections: serve,
        corpus,
        work,
    };
    match replay::run(&setup) {
        Ok(f) => {
            println!("{}", f.summary());
            if let Some(kib) = f.peak_rss_kib {
                println!("peak RSS {} MiB", kib / 1024);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn gen_mixed(args: &[String]) -> ExitCode {
    let mut path = None;
    let mut mib = 1024;
    let mut options = mixed::Options::default();
    let mut evtx = PathBuf::from("../shared/corpus/evtx");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(());
        let number = |v: Result<&String, ()>| v.ok().and_then(|s| s.parse::<u64>().ok());
        match arg.as_str() {
            "--seed" => match number(value()) {
                Some(n) => options.seed = n,
                None => return usage(),
            },
            "--hosts" => match number(value()) {
                Some(n) => options.hosts = n as usize,
                None => return usage(),
            },
            "--evtx" => match value() {
                Ok(v) => evtx = PathBuf::from(v),
                Err(()) => return usage(),
            },
            _ if path.is_none() => path = Some(PathBuf::from(arg)),
            _ => match arg.parse() {
                Ok(n) => mib = n,
                Err(_) => return usage(),
            },
        }
    }
    let Some(path) = path else {
        return usage();
    };
    options.bytes = mib << 20;
    let started = Instant::now();
    match corpora::generate_mixed(&path, &evtx, &options) {
        Ok((m, t)) => {
            println!(
                "templates: {} records of {} EVTX files read, {} of the corpus's event types ({} files and {} records unreadable)",
                t.records, t.files, t.candidates, t.unreadable_files, t.unreadable_records
            );
            println!(
                "{}: {} events, {} bytes, {} hosts, seed {}, in {:.1} s",
                path.display(),
                m.events,
                m.bytes,
                m.hosts,
                m.seed,
                started.elapsed().as_secs_f64()
            );
            for (kind, n) in &m.kinds {
                println!("  {:<16} {n:>9}", kind.label());
            }
            println!(
                "  process starts (Sysmon 1 + 4688): {}; other events: {}",
                m.process_starts(),
                m.events - m.process_starts()
            );
            let planted: u64 = m.detections.iter().map(|d| d.planted).sum();
            let missed: u64 = m.detections.iter().map(|d| d.near_misses).sum();
            println!(
                "  {} detections: {planted} true positives, {missed} near misses planted; manifest: {}",
                m.detections.len(),
                corpora::manifest_path(&path).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
