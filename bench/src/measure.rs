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
    let [events, bytes, true_positives, near_misses] = n[..] else {
        return None;
    };
    let size = fs::metadata(corpus).ok()?.len();
    (size == bytes).then_some(Manifest {
        events,
        bytes,
        true_positives,
        near_misses,
    })
}

/// Chainsaw and Hayabusa running an equivalent Sigma rule over the EVTX corpus, when they are
/// installed: `chainsaw` on the PATH with `CHAINSAW_MAPPING` naming its
/// `sigma-event-logs-all.yml`; `hayabusa` on the PATH, run from `HAYABUSA_DIR` (default: the
/// binary's folder), which must hold its `rules/config`.
fn peer_cases(evtx: &str, out: &Path) -> Vec<Case> {
    // The peers may run in another folder: give them absolute paths.
    let absolute = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let evtx_dir = absolute(Path::new(evtx));
    let evtx = evtx_dir.to_string_lossy().into_owned();
    let evtx = evtx.as_str();
    let out = absolute(out);
    let sigma = Path::new(env!("CARGO_MANIFEST_DIR")).join("sigma");
    let mut cases = Vec::new();
    match (on_path("chainsaw"), std::env::var("CHAINSAW_MAPPING")) {
        (Some(chainsaw), Ok(mapping)) => {
            let rule = sigma
                .join("msiexec_remote_download.yml")
                .to_string_lossy()
                .into_owned();
            let args = [
                "hunt",
                evtx,
                "-s",
                &rule,
                "--mapping",
                &mapping,
                "-q",
                "--skip-errors",
            ];
            cases.push(case("EVTX: chainsaw, one Sigma rule", chainsaw, &args));
        }
        (Some(_), Err(_)) => eprintln!("chainsaw found but CHAINSAW_MAPPING is not set: skipped"),
        (None, _) => eprintln!("chainsaw not installed: skipped"),
    }
    match on_path("hayabusa") {
        Some(hayabusa) => {
            let dir = std::env::var_os("HAYABUSA_DIR")
                .map(PathBuf::from)
                .or_else(|| hayabusa.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            let help = Command::new(&hayabusa)
                .arg("help")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default();
            let timeline = if String::from_utf8_lossy(&help).contains("dfir-timeline") {
                "dfir-timeline"
            } else {
                "csv-timeline"
            };
            let rule = sigma
                .join("msiexec_remote_download_channels.yml")
                .to_string_lossy()
                .into_owned();
            let output = out.join("hayabusa.csv").to_string_lossy().into_owned();
            let args = [
                timeline, "-d", evtx, "-r", &rule, "-w", "-q", "-N", "-C", "-o", &output,
            ];
            cases.push(Case {
                cwd: Some(dir),
                ..case("EVTX: hayabusa, one Sigma rule", hayabusa, &args)
            });
        }
        None => eprintln!("hayabusa not installed: skipped"),
    }
    cases
}

/// One timed command.
struct Case {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    /// Whether standard output is kept (to compare rows); otherwise it goes to /dev/null.
    capture: bool,
    /// The folder to run it in, if not this one.
    cwd: Option<PathBuf>,
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
        cwd: None,
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
        let mut command = Command::new(&c.program);
        if let Some(dir) = &c.cwd {
            command.current_dir(dir);
        }
        let mut child = command
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
    // cimhunt's runs keep their output, to check they all printed the same rows.
    let hunt = |name: &str, extra: &[&str]| {
        let args: Vec<&str> = ["hunt", "-f", "jsonl", "--no-progress"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        Case {
            capture: true,
            ..case(name, bin.clone(), &args)
        }
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
        hunt("cimhunt, seed detection", &[&c]),
        hunt("cimhunt, seed, 1 thread", &["-j", "1", &c]),
        hunt("cimhunt, seed, no prefilter", &["--no-prefilter", &c]),
    ];
    let have_content = s.content.is_dir();
    if have_content {
        cases.push(hunt(
            "cimhunt, all endpoint detections",
            &["--content", &content, "-d", &endpoint, &c],
        ));
    }
    if s.evtx.is_dir() {
        cases.push(hunt("EVTX: cimhunt, seed", &[&evtx]));
        cases.push(hunt(
            "EVTX: cimhunt, seed, no prefilter",
            &["--no-prefilter", &evtx],
        ));
        if have_content {
            let args = [
                "--content",
                content.as_str(),
                "-d",
                endpoint.as_str(),
                evtx.as_str(),
            ];
            cases.push(hunt("EVTX: cimhunt, all endpoint detections", &args));
        }
        cases.extend(peer_cases(&evtx, &s.out));
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
