//! One benchmark run: make sure the corpora exist (generating them once under the output
//! folder), build the list of variants, time each, and print the report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::corpora;
use crate::measure::{Case, Timing, time, time_paired};
use crate::mixed::Options;
use crate::mixed::manifest::MixedManifest;
use crate::replay;
use crate::report::{self, Results};
use crate::settings::Settings;
use crate::variants::{Work, variants, zst_of};

/// The process corpus, generated if needed: its path and true positives.
fn process_corpus(s: &Settings) -> Result<(PathBuf, u64), String> {
    let corpus = s.out.join(format!("corpus-{}MiB.log", s.size_mib));
    let manifest = match corpora::read_process(&corpus) {
        Some(m) => m,
        None => {
            eprintln!("generating {} ...", corpus.display());
            corpora::generate_process(&corpus, s.size_mib).map_err(|e| e.to_string())?
        }
    };
    println!(
        "corpus: {} ({} MiB, {} events, {} true positives, {} near misses)",
        corpus.display(),
        manifest.bytes >> 20,
        manifest.events,
        manifest.true_positives,
        manifest.near_misses
    );
    write_zst(&corpus)?;
    Ok((corpus, manifest.true_positives))
}

/// Writes the zstd copy of the process corpus (level 1, what a log shipper would use) unless
/// one as new as the corpus is there.
fn write_zst(corpus: &Path) -> Result<(), String> {
    let zst = zst_of(corpus);
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    if matches!((modified(&zst), modified(corpus)), (Some(z), Some(c)) if z >= c) {
        return Ok(());
    }
    eprintln!("compressing {} ...", zst.display());
    let tmp = zst.with_extension("zst.tmp");
    let written = fs::File::open(corpus).and_then(|from| {
        let to = fs::File::create(&tmp)?;
        zstd::stream::copy_encode(from, to, 1)
    });
    written
        .and_then(|()| fs::rename(&tmp, &zst))
        .map_err(|e| format!("{}: {e}", zst.display()))
}

/// The mixed corpus, generated if needed: its path and its manifest.
fn mixed_corpus(s: &Settings) -> Result<(PathBuf, MixedManifest), String> {
    let mib = s.mixed_mib();
    let mut options = Options {
        bytes: mib << 20,
        ..Options::default()
    };
    let name = match s.seed {
        Some(seed) => {
            options.seed = seed;
            format!("mixed-{mib}MiB-seed{seed}.log")
        }
        None => format!("mixed-{mib}MiB.log"),
    };
    let corpus = s.out.join(name);
    let manifest = match corpora::read_mixed(&corpus) {
        Some(m) => m,
        None => {
            eprintln!(
                "generating {} from the templates in {} ...",
                corpus.display(),
                s.evtx.display()
            );
            corpora::generate_mixed(&corpus, &s.evtx, &options)
                .map_err(|e| e.to_string())?
                .0
        }
    };
    let planted: u64 = manifest.detections.iter().map(|d| d.planted).sum();
    println!(
        "mixed corpus: {} ({} MiB, {} events, {} hosts, {} true positives of {} detections, {} near misses)",
        corpus.display(),
        manifest.bytes >> 20,
        manifest.events,
        manifest.hosts,
        planted,
        manifest.detections.len(),
        manifest
            .detections
            .iter()
            .map(|d| d.near_misses)
            .sum::<u64>()
    );
    Ok((corpus, manifest))
}

/// Runs the whole benchmark and prints the report.
pub fn run(s: &Settings) -> ExitCode {
    if let Err(e) = fs::create_dir_all(&s.out) {
        eprintln!("{}: {e}", s.out.display());
        return ExitCode::FAILURE;
    }
    if !s.cimhunt.is_file() {
        eprintln!(
            "{}: not found (build with cargo build --release)",
            s.cimhunt.display()
        );
        return ExitCode::FAILURE;
    }
    let process = if s.corpora.process() {
        match process_corpus(s) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mixed = if s.corpora.mixed() {
        match mixed_corpus(s) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("{e}\nmixed corpus: skipped");
                None
            }
        }
    } else {
        None
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {threads} cores; medians of {} runs\n", s.runs);
    let list = variants(
        s,
        process.as_ref().map(|(p, _)| p.as_path()),
        mixed.as_ref().map(|(p, _)| p.as_path()),
    );
    // Warm the page cache so that every command reads from memory.
    let corpora = process
        .iter()
        .map(|(p, _)| p)
        .chain(mixed.iter().map(|(p, _)| p));
    for corpus in corpora {
        warm(corpus, &s.out);
    }
    let mut measured = Vec::new();
    let mut not_run = Vec::new();
    for v in &list {
        let Some(work) = &v.work else {
            eprintln!(
                "{}: skipped ({})",
                v.name,
                v.not_run.as_deref().unwrap_or_default()
            );
            not_run.push(v);
            continue;
        };
        eprint!("{} ... ", v.name);
        let partner =
            v.id.paired_with()
                .and_then(|id| list.iter().find(|p| p.id == id))
                .and_then(|p| match &p.work {
                    Some(Work::Command(case)) => Some(case),
                    _ => None,
                });
        let timing = match (work, partner) {
            (Work::Command(case), Some(partner)) => time_paired(case, partner, s.runs, &s.out),
            (Work::Command(case), None) => time(case, s.runs, &s.out),
            (Work::Serve(setup), partner) => replay_median(setup, s.runs, partner, &s.out),
        };
        match timing {
            Ok(t) => {
                eprintln!("{:.3} s", t.median.as_secs_f64());
                measured.push((v, t));
            }
            Err(e) => {
                eprintln!("failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    report::print(&Results {
        measured,
        not_run,
        process_seed_rows: process.as_ref().map(|(_, n)| *n),
        mixed: mixed.as_ref().map(|(_, m)| m),
        library: &s.library(),
        extended: s.extended,
    })
}

fn warm(corpus: &Path, out: &Path) {
    let c = corpus.to_string_lossy();
    let _ = time(&Case::new("cat", &[&c]), 1, out);
}

/// Replays `runs` times; the run with the median total time, with the largest peak RSS. With a
/// `partner`, it is timed once right before each replay, and the paired ratio reported.
fn replay_median(
    setup: &replay::Setup,
    runs: usize,
    partner: Option<&Case>,
    out: &Path,
) -> Result<Timing, String> {
    let mut all = Vec::with_capacity(runs);
    let mut pairs = Vec::new();
    for _ in 0..runs.max(1) {
        let before = match partner {
            Some(case) => Some(time(case, 1, out)?.median),
            None => None,
        };
        let replay = replay::run(setup)?;
        if let Some(before) = before {
            pairs.push((replay.total, before));
        }
        all.push(replay);
    }
    let peak = all.iter().filter_map(|f| f.peak_rss_kib).max();
    all.sort_by_key(|f| f.total);
    let median = all.swap_remove(all.len() / 2);
    Ok(Timing {
        median: median.total,
        peak_rss_kib: peak,
        stdout: Vec::new(),
        detail: Some(median.summary()),
        paired_ratio: crate::measure::paired_ratio(&pairs),
    })
}
