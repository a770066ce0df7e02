//! Timing one command: run it several times, keep the median wall time, the largest peak
//! resident set (polled from `/proc/PID/status`, Linux only) and the last standard output.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One timed command.
#[derive(Debug, Clone)]
pub struct Case {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Whether standard output is kept (to compare rows); otherwise it goes to /dev/null.
    pub capture: bool,
    /// The folder to run it in, if not this one.
    pub cwd: Option<PathBuf>,
}

impl Case {
    /// A command whose output is discarded.
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> Case {
        Case {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            capture: false,
            cwd: None,
        }
    }

    /// The same command, keeping its output.
    pub fn captured(self) -> Case {
        Case {
            capture: true,
            ..self
        }
    }
}

/// What running a case several times gave.
#[derive(Debug, Clone)]
pub struct Timing {
    pub median: Duration,
    pub peak_rss_kib: Option<u64>,
    pub stdout: Vec<u8>,
    /// What else the run measured, for the report (a `serve` replay's rates).
    pub detail: Option<String>,
    /// For a replay paired with a command timed right before each of its runs: the median over
    /// the runs of the command's time over the replay's (their rates' ratio, one machine
    /// moment each; [`paired_ratio`]).
    pub paired_ratio: Option<f64>,
}

/// The median of `other / own` over pairs of times `(own, other)` taken one right after the
/// other: a ratio of two rates that does not move with the machine's speed between pairs, as a
/// ratio of medians taken minutes apart does. `None` without a pair.
pub fn paired_ratio(pairs: &[(Duration, Duration)]) -> Option<f64> {
    let mut ratios: Vec<f64> = pairs
        .iter()
        .filter(|(own, _)| !own.is_zero())
        .map(|(own, other)| other.as_secs_f64() / own.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied()
}

impl Timing {
    /// Lines of standard output (result rows of `-f jsonl`).
    pub fn lines(&self) -> u64 {
        self.stdout.iter().filter(|&&b| b == b'\n').count() as u64
    }
}

/// Runs a case `runs` times; the median wall time, the largest peak RSS, the last stdout.
pub fn time(c: &Case, runs: usize, out_dir: &Path) -> Result<Timing, String> {
    let mut times = Vec::with_capacity(runs);
    let mut finishing = Vec::new();
    let mut peak = None;
    let stdout_path = out_dir.join("stdout.tmp");
    let stderr_path = out_dir.join("stderr.tmp");
    for _ in 0..runs.max(1) {
        let (stdout, stderr) = if c.capture {
            (
                Stdio::from(File::create(&stdout_path).map_err(|e| e.to_string())?),
                Stdio::from(File::create(&stderr_path).map_err(|e| e.to_string())?),
            )
        } else {
            (Stdio::null(), Stdio::null())
        };
        let started = Instant::now();
        let mut command = Command::new(&c.program);
        if let Some(dir) = &c.cwd {
            command.current_dir(dir);
        }
        let mut child = command
            .args(&c.args)
            .stdout(stdout)
            .stderr(stderr)
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
            return Err(format!("{} exited with {status}", c.program.display()));
        }
        if c.capture
            && let Some(secs) = fs::read_to_string(&stderr_path)
                .ok()
                .and_then(|e| finishing_secs(&e))
        {
            finishing.push(secs);
        }
    }
    times.sort();
    finishing.sort_by(f64::total_cmp);
    let detail = finishing
        .get(finishing.len() / 2)
        .map(|s| format!("detections finished in {s:.2} s after the events were read (median)"));
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
        detail,
        paired_ratio: None,
    })
}

/// The seconds `cimhunt hunt`'s summary says finishing a library's detections took, once
/// every event was read (`…, detections finished in 5.31 s, …`).
fn finishing_secs(stderr: &str) -> Option<f64> {
    const SAID: &str = "detections finished in ";
    let at = stderr.rfind(SAID)? + SAID.len();
    stderr[at..].split(' ').next()?.parse().ok()
}

/// Fewest pairs a command paired with another is run in ([`time_paired`]): both are short,
/// and their ratio is the one the machine's drift moves most.
pub const MIN_PAIRS: usize = 9;

/// Runs `c` `runs` times (at least [`MIN_PAIRS`]), `partner` once right before each run: the
/// median wall time, largest peak and last output of `c`, with `paired_ratio` the median over
/// the pairs of `c`'s time over the partner's.
pub fn time_paired(
    c: &Case,
    partner: &Case,
    runs: usize,
    out_dir: &Path,
) -> Result<Timing, String> {
    let mut pairs = Vec::new();
    let mut times = Vec::new();
    let mut last = None;
    let mut peak: Option<u64> = None;
    for _ in 0..runs.max(MIN_PAIRS) {
        let before = time(partner, 1, out_dir)?.median;
        let t = time(c, 1, out_dir)?;
        pairs.push((before, t.median));
        times.push(t.median);
        peak = peak.max(t.peak_rss_kib);
        last = Some(t);
    }
    times.sort();
    let last = last.ok_or("no run")?;
    Ok(Timing {
        median: times[times.len() / 2],
        peak_rss_kib: peak,
        paired_ratio: paired_ratio(&pairs),
        detail: Some(format!(
            "{} runs, each right after `{}` (their paired ratio below)",
            pairs.len(),
            partner.program.display()
        )),
        ..last
    })
}

/// `VmHWM` (peak resident set) of a running process, in KiB, on Linux.
fn read_hwm(status_file: &str) -> Option<u64> {
    let text = fs::read_to_string(status_file).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The program's path, if it is on the `PATH`.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_paired_ratio_is_the_median_of_each_pairs_ratio() {
        // The machine slows down between pairs (times double), the ratio within each holds:
        // 0.5, 0.6, 0.5. A ratio of the medians would mix the pairs' moments: 400 / 500.
        let pairs = [(ms(200), ms(100)), (ms(500), ms(300)), (ms(1000), ms(500))];
        assert_eq!(paired_ratio(&pairs), Some(0.5));
        // An even count takes the upper middle one, as the timings' medians do.
        assert_eq!(
            paired_ratio(&[(ms(1000), ms(500)), (ms(4000), ms(3000))]),
            Some(0.75)
        );
        assert_eq!(paired_ratio(&[]), None);
        assert_eq!(paired_ratio(&[(Duration::ZERO, ms(5))]), None);
    }

    /// A command paired with another runs right after it, at least `MIN_PAIRS` times, keeps its
    /// own output, and has a paired ratio.
    #[test]
    fn a_paired_command_runs_after_its_partner_each_time() {
        let dir = std::env::temp_dir().join(format!("cimhunt-bench-pairs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let append = |word: &str| {
            let script = format!("echo {word} >> '{}'; echo {word}", log.display());
            Case::new("sh", &["-c", &script]).captured()
        };
        let t = time_paired(&append("seed"), &append("cat"), 2, &dir).unwrap();
        let runs = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let expected = "cat\nseed\n".repeat(MIN_PAIRS);
        assert_eq!(runs, expected);
        assert_eq!(t.stdout, b"seed\n");
        assert!(t.paired_ratio.is_some_and(|r| r > 0.0));
        assert!(t.detail.unwrap().starts_with("9 runs"));
    }

    #[test]
    fn the_finishing_time_is_read_from_the_summary() {
        let summary = "cimhunt: 1 input (1.0 GiB), 766,944 records\n  1128 detections run, \
            83 fired, 81,634 rows, 938 MiB of aggregation state spilled to disk, detections \
            finished in 5.31 s, 21.78 s (35,206 records/s)\n";
        assert_eq!(finishing_secs(summary), Some(5.31));
        assert_eq!(
            finishing_secs("  1 detection run, 4 matches, 4 rows, 0.01 s (400 records/s)"),
            None,
            "one detection's summary does not say"
        );
    }
}
