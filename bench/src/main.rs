//! cimhunt's benchmark: generates a deterministic corpus and times cimhunt against `cat` and
//! `grep` on the same file, one detection against many, one thread against all, and the EVTX
//! corpus with and without the prefilter. Figures are medians of several runs, printed as
//! ratios against a baseline measured in the same run. Start it with `bench/run`.

mod corpus;
mod measure;

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cimhunt-bench gen FILE [SIZE_MIB]\n       cimhunt-bench run [--size MIB] [--runs N] [--out DIR] [--cimhunt BIN] [--content DIR] [--evtx DIR]"
    );
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
            match measure::generate_file(&PathBuf::from(path), mib) {
                Ok(m) => {
                    println!(
                        "{} events, {} bytes, {} true positives, {} near misses",
                        m.events, m.bytes, m.true_positives, m.near_misses
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{path}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("run") => match measure::Settings::parse(&args[1..]) {
            Ok(settings) => measure::run(&settings),
            Err(e) => {
                eprintln!("{e}");
                usage()
            }
        },
        _ => usage(),
    }
}
