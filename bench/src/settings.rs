//! `cimhunt-bench run`'s flags. Without any of the flags added for the mixed corpus
//! (`--corpus`, `--library`, `--mixed-size`, `--seed`, `--no-evtx`, `--no-peers`), the run and
//! its report are what they were before the mixed corpus existed.

use std::path::PathBuf;

/// Which generated corpora to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpora {
    Process,
    Mixed,
    Both,
}

impl Corpora {
    /// Whether the process corpus is timed.
    pub fn process(self) -> bool {
        matches!(self, Corpora::Process | Corpora::Both)
    }

    /// Whether the mixed corpus is timed.
    pub fn mixed(self) -> bool {
        matches!(self, Corpora::Mixed | Corpora::Both)
    }
}

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub size_mib: u64,
    pub mixed_mib: Option<u64>,
    pub runs: usize,
    pub out: PathBuf,
    pub cimhunt: PathBuf,
    pub content: PathBuf,
    pub evtx: PathBuf,
    pub corpora: Corpora,
    /// Detections for the whole-library variants; `<content>/detections/endpoint` by default.
    pub library: Option<PathBuf>,
    pub seed: Option<u64>,
    pub evtx_runs: bool,
    pub peers: bool,
    /// Whether a flag added with the mixed corpus was given (the report then adds its lines).
    pub extended: bool,
}

impl Settings {
    /// Parses `run`'s flags.
    pub fn parse(args: &[String]) -> Result<Settings, String> {
        let mut s = Settings {
            size_mib: 1024,
            mixed_mib: None,
            runs: 5,
            out: PathBuf::from("bench/out"),
            cimhunt: PathBuf::from("target/release/cimhunt"),
            content: PathBuf::from("../shared/content/security_content"),
            evtx: PathBuf::from("../shared/corpus/evtx"),
            corpora: Corpora::Process,
            library: None,
            seed: None,
            evtx_runs: true,
            peers: true,
            extended: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--no-evtx" => {
                    s.evtx_runs = false;
                    s.extended = true;
                    continue;
                }
                "--no-peers" => {
                    s.peers = false;
                    s.extended = true;
                    continue;
                }
                _ => {}
            }
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
                "--corpus" => {
                    s.corpora = match value.as_str() {
                        "process" => Corpora::Process,
                        "mixed" => Corpora::Mixed,
                        "both" => Corpora::Both,
                        _ => return Err(format!("--corpus: process, mixed or both, not {value}")),
                    };
                    s.extended = true;
                }
                "--library" => {
                    s.library = Some(PathBuf::from(value));
                    s.extended = true;
                }
                "--mixed-size" => {
                    s.mixed_mib = Some(number()?);
                    s.extended = true;
                }
                "--seed" => {
                    s.seed = Some(number()?);
                    s.extended = true;
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(s)
    }

    /// The detections the whole-library variants run.
    pub fn library(&self) -> PathBuf {
        self.library
            .clone()
            .unwrap_or_else(|| self.content.join("detections/endpoint"))
    }

    /// The mixed corpus's size in MiB.
    pub fn mixed_mib(&self) -> u64 {
        self.mixed_mib.unwrap_or(self.size_mib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, String> {
        Settings::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_are_the_process_corpus_only() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.corpora, Corpora::Process);
        assert!(!s.extended);
        assert_eq!(
            s.library(),
            PathBuf::from("../shared/content/security_content/detections/endpoint")
        );
        let s = parse(&["--size", "64", "--runs", "3"]).unwrap();
        assert!(!s.extended);
        assert_eq!((s.size_mib, s.runs, s.mixed_mib()), (64, 3, 64));
    }

    #[test]
    fn new_flags_extend_the_run() {
        let s = parse(&[
            "--corpus",
            "both",
            "--library",
            "lib",
            "--mixed-size",
            "256",
        ])
        .unwrap();
        assert!(s.extended && s.corpora.process() && s.corpora.mixed());
        assert_eq!(s.library(), PathBuf::from("lib"));
        assert_eq!(s.mixed_mib(), 256);
        assert!(parse(&["--corpus", "all"]).is_err());
        assert!(parse(&["--size"]).is_err());
        assert!(parse(&["--bogus", "1"]).is_err());
    }
}
