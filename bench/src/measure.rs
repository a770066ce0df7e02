//! Running the benchmark: commands timed several times, medians, peak memory, ratios, and a
//! check that every cimhunt variant printed the same rows.

use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::corpus::{Manifest, generate};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct Settings {
    size_mib: u64,
    runs: usize,
    out: PathBuf,
    cimhunt: PathBuf,
    content: PathBuf,
    evtx: PathBuf,
}

impl Settings {
    /// Parses `run`'s flags.
    pub fn parse(args: &[String]) -> Result<Settings, String> {
        let mut s = Settings {
            size_mib: 1024,
            runs: 5,
            out: PathBuf::from("bench/out"),
            cimhunt: PathBuf::from("target/release/cimhunt"),
            content: PathBuf::from("../shared/content/security_content"),
            evtx: PathBuf::from("../shared/corpus/evtx"),
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag}: not a number: {value}"))
            };
            match flag.as_str() {
                "--size" => s.size_mib = number()?,
                "--runs" => s.runs = number()?.max(1) as usize,
                "--out" => s.out = PathBuf::from(value),
                "--cimhunt" => s.cimhunt = PathBuf::from(value),
                "--content" => s.content = PathBuf::from(value),
                "--evtx" => s.evtx = PathBuf::from(value),
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(s)
    }
}

/// Writes the corpus and its manifest (`FILE.manifest`).
pub fn generate_file(path: &Path, mib: u64) -> std::io::Result<Manifest> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let m = generate(&mut out, mib << 20)?;
    std::io::Write::flush(&mut out)?;
    let text = format!(
        "{} {} {} {}\n",
        m.events, m.bytes, m.true_positives, m.near_misses
    );
    fs::write(manifest_path(path), text)?;
    Ok(m)
}

fn manifest_path(corpus: &Path) -> PathBuf {
    corpus.with_extension("manifest")
}

fn read_manifest(corpus: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(manifest_path(corpus)).ok()?;
    let n: Vec<u64> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let m = Manifest {
        events: n[0],
        bytes: n[1],
        true_positives: n[2],
        near_misses: n[3],
    };
    let size = fs::metadata(corpus).ok()?.len();
    (n.len() == 4 && size == m.bytes).then_some(m)
}

/// One timed command.
struct Case {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    /// Whether standard output is kept (to compare rows); otherwise it goes to /dev/null.
    capture: bool,
}

/// What running a case several times gave.
struct Timing {
    median: Duration,
    peak_rss_kib: Option<u64>,
    stdout: Vec<u8>,
}

fn case(name: &str, program: impl Into<PathBuf>, args: &[&str]) -> Case {
    Case {
        name: name.to_owned(),
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        capture: false,
    }
}

/// Runs a case `runs` times; the median wall time, the largest peak RSS, the last stdout.
fn time(c: &Case, runs: usize, out_dir: &Path) -> Result<Timing, String> {
    let mut times = Vec::with_capacity(runs);
    let mut peak = None;
    let stdout_path = out_dir.join("stdout.tmp");
    for _ in 0..runs {
        let stdout = if c.capture {
            Stdio::from(File::create(&stdout_path).map_err(|e| e.to_string())?)
        } else {
            Stdio::null()
        };
        let started = Instant::now();
        let mut child = Command::new(&c.program)
            .args(&c.args)
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", c.program.display()))?;
        let status_file = format!("/proc/{}/status", child.id());
        let status = loop {
            if let Some(rss) = read_hwm(&status_file) {
                peak = Some(peak.unwrap_or(0).max(rss));
            }
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(status) => break status,
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        times.push(started.elapsed());
        if !status.success() && status.code() != Some(1) {
            return Err(format!("{} exited with {status}", c.name));
        }
    }
    times.sort();
    let mut stdout = Vec::new();
    if c.capture {
        File::open(&stdout_path)
            .and_then(|mut f| f.read_to_end(&mut stdout))
            .map_err(|e| e.to_string())?;
    }
    Ok(Timing {
        median: times[times.len() / 2],
        peak_rss_kib: peak,
        stdout,
    })
}

/// `VmHWM` (peak resident set) of a running process, in KiB, on Linux.
fn read_hwm(status_file: &str) -> Option<u64> {
    let text = fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
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
    let corpus = s.out.join(format!("corpus-{}MiB.log", s.size_mib));
    let manifest = match read_manifest(&corpus) {
        Some(m) => m,
        None => {
            eprintln!("generating {} ...", corpus.display());
            match generate_file(&corpus, s.size_mib) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{}: {e}", corpus.display());
                    return ExitCode::FAILURE;
                }
            }
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {threads} cores; medians of {} runs\n", s.runs);
    let c = corpus.to_string_lossy().into_owned();
    let bin = s.cimhunt.clone();
    let endpoint = s
        .content
        .join("detections/endpoint")
        .to_string_lossy()
        .into_owned();
    let content = s.content.to_string_lossy().into_owned();
    let evtx = s.evtx.to_string_lossy().into_owned();
    let seed = ["hunt", "-f", "jsonl", "--no-progress"];
    let with = |extra: &[&str]| -> Vec<String> {
        seed.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let mut cases = vec![
        case("cat > /dev/null", "cat", &[&c]),
        // grep's output must not go to /dev/null: GNU grep then stops at the first match.
        Case {
            capture: true,
            ..case(
                "grep -c -i msiexec (LC_ALL=C)",
                "sh",
                &["-c", &format!("LC_ALL=C grep -c -i msiexec '{c}'")],
            )
        },
        Case {
            name: "cimhunt, seed detection".into(),
            program: bin.clone(),
            args: with(&[&c]),
            capture: true,
        },
        Case {
            name: "cimhunt, seed, 1 thread".into(),
            program: bin.clone(),
            args: with(&["-j", "1", &c]),
            capture: true,
        },
        Case {
            name: "cimhunt, seed, no prefilter".into(),
            program: bin.clone(),
            args: with(&["--no-prefilter", &c]),
            capture: true,
        },
    ];
    let have_content = s.content.is_dir();
    if have_content {
        cases.push(Case {
            name: "cimhunt, all endpoint detections".into(),
            program: bin.clone(),
            args: with(&["--content", &content, "-d", &endpoint, &c]),
            capture: true,
        });
    }
    let have_evtx = s.evtx.is_dir();
    if have_evtx {
        cases.push(Case {
            name: "EVTX: cimhunt, seed".into(),
            program: bin.clone(),
            args: with(&[&evtx]),
            capture: true,
        });
        cases.push(Case {
            name: "EVTX: cimhunt, seed, no prefilter".into(),
            program: bin.clone(),
            args: with(&["--no-prefilter", &evtx]),
            capture: true,
        });
        if have_content {
            cases.push(Case {
                name: "EVTX: cimhunt, all endpoint detections".into(),
                program: bin.clone(),
                args: with(&["--content", &content, "-d", &endpoint, &evtx]),
                capture: true,
            });
        }
        let rule = Path::new(env!("CARGO_MANIFEST_DIR")).join("sigma/msiexec_remote_download.yml");
        let rule = rule.to_string_lossy().into_owned();
        if let Some(chainsaw) = on_path("chainsaw") {
            cases.push(case(
                "EVTX: chainsaw, one Sigma rule",
                chainsaw,
                &[
                    "hunt",
                    &evtx,
                    "-s",
                    &rule,
                    "--mapping",
                    "mappings/sigma-event-logs-all.yml",
                    "-q",
                ],
            ));
        }
        if let Some(hayabusa) = on_path("hayabusa") {
            cases.push(case(
                "EVTX: hayabusa, one Sigma rule",
                hayabusa,
                &[
                    "csv-timeline",
                    "-d",
                    &evtx,
                    "-r",
                    &rule,
                    "-w",
                    "-q",
                    "-o",
                    "/dev/null",
                ],
            ));
        }
    }
    // Warm the page cache so that every command reads from memory.
    let _ = time(&case("warm", "cat", &[&c]), 1, &s.out);
    let mut results = Vec::new();
    for c in &cases {
        eprint!("{} ... ", c.name);
        match time(c, s.runs, &s.out) {
            Ok(t) => {
                eprintln!("{:.3} s", t.median.as_secs_f64());
                results.push((c.name.clone(), t));
            }
            Err(e) => {
                eprintln!("failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    report(&results, &manifest)
}

fn report(results: &[(String, Timing)], manifest: &Manifest) -> ExitCode {
    let get = |name: &str| results.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    println!("{:<42} {:>9} {:>10}", "command", "median s", "peak RSS");
    for (name, t) in results {
        let rss = t
            .peak_rss_kib
            .map_or("n/a".to_owned(), |k| format!("{} MiB", k / 1024));
        println!("{name:<42} {:>9.3} {rss:>10}", t.median.as_secs_f64());
    }
    let ratio = |a: &str, b: &str| match (get(a), get(b)) {
        (Some(x), Some(y)) => format!("{:.2}", x.median.as_secs_f64() / y.median.as_secs_f64()),
        _ => "n/a".to_owned(),
    };
    println!("\nratios (goal in brackets):");
    println!(
        "  seed / grep                      {}  [<= 1.0]",
        ratio("cimhunt, seed detection", "grep -c -i msiexec (LC_ALL=C)")
    );
    println!(
        "  seed / cat                       {}",
        ratio("cimhunt, seed detection", "cat > /dev/null")
    );
    println!(
        "  all endpoint detections / seed   {}  [<= 3.0]",
        ratio(
            "cimhunt, all endpoint detections",
            "cimhunt, seed detection"
        )
    );
    println!(
        "  1 thread / all threads           {}",
        ratio("cimhunt, seed, 1 thread", "cimhunt, seed detection")
    );
    println!(
        "  no prefilter / prefilter         {}",
        ratio("cimhunt, seed, no prefilter", "cimhunt, seed detection")
    );
    println!(
        "  EVTX no prefilter / prefilter    {}",
        ratio("EVTX: cimhunt, seed, no prefilter", "EVTX: cimhunt, seed")
    );
    println!(
        "  EVTX all detections / seed       {}",
        ratio(
            "EVTX: cimhunt, all endpoint detections",
            "EVTX: cimhunt, seed"
        )
    );
    println!(
        "  chainsaw / cimhunt (EVTX)        {}  [>= 5]",
        ratio("EVTX: chainsaw, one Sigma rule", "EVTX: cimhunt, seed")
    );
    println!(
        "  hayabusa / cimhunt (EVTX)        {}  [>= 8]",
        ratio("EVTX: hayabusa, one Sigma rule", "EVTX: cimhunt, seed")
    );

    // Correctness: every seed variant printed the same rows, one per true positive.
    let mut ok = true;
    if let Some(seed) = get("cimhunt, seed detection") {
        let rows = seed.stdout.iter().filter(|&&b| b == b'\n').count() as u64;
        println!(
            "\nseed rows: {rows} (corpus true positives: {})",
            manifest.true_positives
        );
        ok &= rows == manifest.true_positives;
        for other in ["cimhunt, seed, 1 thread", "cimhunt, seed, no prefilter"] {
            if let Some(t) = get(other) {
                let same = t.stdout == seed.stdout;
                println!(
                    "  {other}: {}",
                    if same {
                        "identical rows"
                    } else {
                        "DIFFERENT rows"
                    }
                );
                ok &= same;
            }
        }
    }
    if let (Some(a), Some(b)) = (
        get("EVTX: cimhunt, seed"),
        get("EVTX: cimhunt, seed, no prefilter"),
    ) {
        let same = a.stdout == b.stdout;
        println!(
            "  EVTX with and without prefilter: {}",
            if same {
                "identical rows"
            } else {
                "DIFFERENT rows"
            }
        );
        ok &= same;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
