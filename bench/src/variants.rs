//! What one run times, in order: the floors (`cat`, `grep`) and cimhunt on each generated
//! corpus, cimhunt on the EVTX corpus, the peers (Chainsaw, Hayabusa) when installed, and
//! hooks for what cannot run yet. A variant that cannot run is listed with the reason.

use std::fs;
use std::path::{Path, PathBuf};

use crate::measure::{Case, on_path};
use crate::replay;
use crate::settings::Settings;

/// The input a variant reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The process corpus (Sysmon 1 and 4688).
    Process,
    /// The mixed corpus.
    Mixed,
    /// The shared EVTX corpus.
    Evtx,
}

/// What a variant measures; the report refers to variants by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    Cat(Input),
    Grep(Input),
    /// The default detection.
    Seed(Input),
    SeedOneThread(Input),
    SeedNoPrefilter(Input),
    /// The default detection over the process corpus compressed with zstd.
    SeedZstd,
    /// `zstd -dc` of that file: the floor for reading it.
    Unzstd,
    /// Every detection of the library folder.
    Library(Input),
    /// The same with one worker thread.
    LibraryOneThread(Input),
    Chainsaw,
    Hayabusa,
    /// `cimhunt serve` ingest over loopback of the mixed corpus ([`crate::replay`]), with the
    /// default detection or the library.
    ServeIngest {
        library: bool,
    },
}

impl Id {
    /// The variant a `serve` replay is paired with: `hunt` of the same detections over the
    /// same corpus, timed right before each replay ([`crate::measure::paired_ratio`]).
    pub fn paired_with(self) -> Option<Id> {
        match self {
            Id::ServeIngest { library: true } => Some(Id::Library(Input::Mixed)),
            Id::ServeIngest { library: false } => Some(Id::Seed(Input::Mixed)),
            // The seed against the copy floor: the goal the machine's drift moves most.
            Id::Seed(input @ (Input::Process | Input::Mixed)) => Some(Id::Cat(input)),
            _ => None,
        }
    }
}

/// How a variant is measured.
#[derive(Debug, Clone)]
pub enum Work {
    /// A command, timed from start to exit.
    Command(Case),
    /// A replay to `cimhunt serve`, which times itself.
    Serve(replay::Setup),
}

/// One entry of the run.
#[derive(Debug, Clone)]
pub struct Variant {
    pub id: Id,
    pub name: String,
    /// `None` when it cannot run; `not_run` says why.
    pub work: Option<Work>,
    pub not_run: Option<String>,
}

fn run(id: Id, name: impl Into<String>, case: Case) -> Variant {
    Variant {
        id,
        name: name.into(),
        work: Some(Work::Command(case)),
        not_run: None,
    }
}

fn skip(id: Id, name: impl Into<String>, why: impl Into<String>) -> Variant {
    Variant {
        id,
        name: name.into(),
        work: None,
        not_run: Some(why.into()),
    }
}

/// The variants of a run over the generated corpora that exist (`process`, `mixed`).
pub fn variants(s: &Settings, process: Option<&Path>, mixed: Option<&Path>) -> Vec<Variant> {
    let bin = s.cimhunt.clone();
    let content = s.content.to_string_lossy().into_owned();
    let library = s.library().to_string_lossy().into_owned();
    let library_dir = library.clone();
    let default_library = s.library.is_none();
    let library_name = if default_library {
        "all endpoint detections".to_owned()
    } else {
        format!(
            "library {}",
            Path::new(&library)
                .file_name()
                .map_or(library.clone(), |n| n.to_string_lossy().into_owned())
        )
    };
    let have_library = s.content.is_dir() && Path::new(&library).is_dir();
    // cimhunt's runs keep their output, to check they all printed the same rows.
    let hunt = |extra: &[&str]| {
        let args: Vec<&str> = ["hunt", "-f", "jsonl", "--no-progress"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        Case::new(bin.clone(), &args).captured()
    };
    let mut out = Vec::new();
    for (input, path, prefix) in [
        (Input::Process, process, ""),
        (Input::Mixed, mixed, "mixed: "),
    ] {
        let Some(path) = path else { continue };
        let c = path.to_string_lossy().into_owned();
        out.push(run(
            Id::Cat(input),
            format!("{prefix}cat > /dev/null"),
            Case::new("cat", &[&c]),
        ));
        // grep's output must not go to /dev/null: GNU grep then stops at the first match.
        out.push(run(
            Id::Grep(input),
            format!("{prefix}grep -c -i msiexec (LC_ALL=C)"),
            Case::new("sh", &["-c", &format!("LC_ALL=C grep -c -i msiexec '{c}'")]).captured(),
        ));
        out.push(run(
            Id::Seed(input),
            format!("{prefix}cimhunt, seed detection"),
            hunt(&[&c]),
        ));
        if input == Input::Process {
            out.push(run(
                Id::SeedOneThread(input),
                "cimhunt, seed, 1 thread",
                hunt(&["-j", "1", &c]),
            ));
            out.push(run(
                Id::SeedNoPrefilter(input),
                "cimhunt, seed, no prefilter",
                hunt(&["--no-prefilter", &c]),
            ));
            out.extend(compressed(path, &hunt));
        }
        // The library holds detections cimhunt skips (unsupported commands, other sources):
        // they are warnings, not a failed run.
        let name = format!("{prefix}cimhunt, {library_name}");
        if have_library {
            let args = [
                "--content",
                content.as_str(),
                "--content-errors",
                "warn",
                "-d",
                library.as_str(),
                &c,
            ];
            out.push(run(Id::Library(input), name.clone(), hunt(&args)));
            if input == Input::Mixed {
                let one: Vec<&str> = ["-j", "1"].iter().chain(&args).copied().collect();
                out.push(run(
                    Id::LibraryOneThread(input),
                    format!("{name}, 1 thread"),
                    hunt(&one),
                ));
            }
        } else if !default_library || input == Input::Mixed {
            out.push(skip(
                Id::Library(input),
                name,
                format!("{library} or {content} not found"),
            ));
        }
    }
    if s.evtx_runs && s.evtx.is_dir() {
        let evtx = s.evtx.to_string_lossy().into_owned();
        out.push(run(
            Id::Seed(Input::Evtx),
            "EVTX: cimhunt, seed",
            hunt(&[&evtx]),
        ));
        out.push(run(
            Id::SeedNoPrefilter(Input::Evtx),
            "EVTX: cimhunt, seed, no prefilter",
            hunt(&["--no-prefilter", &evtx]),
        ));
        if have_library {
            let args = [
                "--content",
                content.as_str(),
                "--content-errors",
                "warn",
                "-d",
                library.as_str(),
                &evtx,
            ];
            out.push(run(
                Id::Library(Input::Evtx),
                format!("EVTX: cimhunt, {library_name}"),
                hunt(&args),
            ));
        }
        if s.peers {
            out.extend(peers(&evtx, &s.out));
        }
    }
    // serve replays the mixed corpus: the library's figure then compares with `hunt`'s on the
    // same events.
    for library in [false, true] {
        let name = format!(
            "serve ingest over loopback, {}",
            if library { "library" } else { "seed" }
        );
        let id = Id::ServeIngest { library };
        match mixed {
            Some(corpus) if !library || have_library => {
                let detections = if library {
                    [
                        "--content",
                        &content,
                        "--content-errors",
                        "warn",
                        "-d",
                        &library_dir,
                    ]
                    .map(str::to_owned)
                    .to_vec()
                } else {
                    Vec::new()
                };
                out.push(Variant {
                    id,
                    name: format!("mixed: {name}"),
                    work: Some(Work::Serve(replay::Setup {
                        cimhunt: bin.clone(),
                        detections,
                        corpus: corpus.to_path_buf(),
                        work: s.out.join(if library {
                            "serve-library"
                        } else {
                            "serve-seed"
                        }),
                    })),
                    not_run: None,
                });
            }
            Some(_) => out.push(skip(
                id,
                name,
                format!("{library_dir} or {content} not found"),
            )),
            None => out.push(skip(
                id,
                name,
                "it replays the mixed corpus (--corpus mixed or both)",
            )),
        }
    }
    out
}

/// The seed over the process corpus compressed with zstd (`run` writes `<corpus>.zst`), and
/// `zstd -dc` of it when zstd is installed: reading a compressed input costs its decompression,
/// which cimhunt runs beside the cutting.
fn compressed(corpus: &Path, hunt: &dyn Fn(&[&str]) -> Case) -> Vec<Variant> {
    let file = zst_of(corpus);
    let z = file.to_string_lossy().into_owned();
    let (seed, floor) = ("cimhunt, seed, zstd -1 input", "zstd -dc > /dev/null");
    if !file.is_file() {
        let why = format!("{z} not written");
        return vec![
            skip(Id::Unzstd, floor, why.clone()),
            skip(Id::SeedZstd, seed, why),
        ];
    }
    let floor = match on_path("zstd") {
        Some(zstd) => run(Id::Unzstd, floor, Case::new(zstd, &["-dc", "-q", &z])),
        None => skip(Id::Unzstd, floor, "zstd not installed"),
    };
    vec![floor, run(Id::SeedZstd, seed, hunt(&[&z]))]
}

/// Where the zstd copy of a corpus is kept.
pub fn zst_of(corpus: &Path) -> PathBuf {
    let mut name = corpus.as_os_str().to_owned();
    name.push(".zst");
    PathBuf::from(name)
}

/// Chainsaw and Hayabusa running an equivalent Sigma rule over the EVTX corpus, when they are
/// installed: `chainsaw` on the PATH with `CHAINSAW_MAPPING` naming its
/// `sigma-event-logs-all.yml`; `hayabusa` on the PATH, run from `HAYABUSA_DIR` (default: the
/// binary's folder), which must hold its `rules/config`.
fn peers(evtx: &str, out: &Path) -> Vec<Variant> {
    // The peers may run in another folder: give them absolute paths.
    let absolute = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let evtx_dir = absolute(Path::new(evtx));
    let evtx = evtx_dir.to_string_lossy().into_owned();
    let evtx = evtx.as_str();
    let out = absolute(out);
    let sigma = Path::new(env!("CARGO_MANIFEST_DIR")).join("sigma");
    let mut variants = Vec::new();
    let name = "EVTX: chainsaw, one Sigma rule";
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
            variants.push(run(Id::Chainsaw, name, Case::new(chainsaw, &args)));
        }
        (Some(_), Err(_)) => variants.push(skip(
            Id::Chainsaw,
            name,
            "chainsaw found but CHAINSAW_MAPPING is not set",
        )),
        (None, _) => variants.push(skip(Id::Chainsaw, name, "chainsaw not installed")),
    }
    let name = "EVTX: hayabusa, one Sigma rule";
    match on_path("hayabusa") {
        Some(hayabusa) => {
            let dir: PathBuf = std::env::var_os("HAYABUSA_DIR")
                .map(PathBuf::from)
                .or_else(|| hayabusa.parent().map(Path::to_path_buf))
                .unwrap_or_default();
            let help = std::process::Command::new(&hayabusa)
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
            let case = Case {
                cwd: Some(dir),
                ..Case::new(hayabusa, &args)
            };
            variants.push(run(Id::Hayabusa, name, case));
        }
        None => variants.push(skip(Id::Hayabusa, name, "hayabusa not installed")),
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut s =
            Settings::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap();
        s.content = PathBuf::from("no-such-content");
        s.evtx = PathBuf::from("no-such-evtx");
        s
    }

    fn names(v: &[Variant], run: bool) -> Vec<&str> {
        v.iter()
            .filter(|v| v.work.is_some() == run)
            .map(|v| v.name.as_str())
            .collect()
    }

    #[test]
    fn default_run_keeps_the_process_variants() {
        let s = settings(&[]);
        let v = variants(&s, Some(Path::new("c.log")), None);
        assert_eq!(
            names(&v, true),
            [
                "cat > /dev/null",
                "grep -c -i msiexec (LC_ALL=C)",
                "cimhunt, seed detection",
                "cimhunt, seed, 1 thread",
                "cimhunt, seed, no prefilter",
            ]
        );
        // Only the hooks, and the compressed input no one wrote, are listed without a command.
        assert!(
            v.iter()
                .filter(|v| v.work.is_none())
                .all(|v| matches!(v.id, Id::ServeIngest { .. } | Id::Unzstd | Id::SeedZstd))
        );
    }

    #[test]
    fn a_compressed_copy_of_the_process_corpus_is_timed_when_written() {
        let dir = std::env::temp_dir().join(format!("cimhunt-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let corpus = dir.join("c.log");
        let s = settings(&[]);
        let v = variants(&s, Some(&corpus), None);
        assert!(!names(&v, true).contains(&"cimhunt, seed, zstd -1 input"));
        fs::write(zst_of(&corpus), b"").unwrap();
        let v = variants(&s, Some(&corpus), None);
        let seed = v.iter().find(|v| v.id == Id::SeedZstd).unwrap();
        match &seed.work {
            Some(Work::Command(case)) => {
                assert!(format!("{case:?}").contains("c.log.zst"), "{case:?}")
            }
            other => panic!("the seed over the compressed corpus runs: {other:?}"),
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mixed_variants_follow_and_a_missing_library_is_skipped() {
        let s = settings(&["--corpus", "both"]);
        let v = variants(&s, Some(Path::new("c.log")), Some(Path::new("m.log")));
        let run = names(&v, true);
        assert_eq!(
            &run[5..],
            [
                "mixed: cat > /dev/null",
                "mixed: grep -c -i msiexec (LC_ALL=C)",
                "mixed: cimhunt, seed detection",
                "mixed: serve ingest over loopback, seed",
            ]
        );
        // serve with the library needs the library, like hunt with it.
        assert!(names(&v, false).contains(&"serve ingest over loopback, library"));
        assert!(
            names(&v, false).contains(&"mixed: cimhunt, all endpoint detections"),
            "{v:?}"
        );
        let library = settings(&["--corpus", "mixed", "--library", "lib"]);
        let v = variants(&library, None, Some(Path::new("m.log")));
        assert!(names(&v, false).contains(&"mixed: cimhunt, library lib"));
        assert!(!names(&v, true).contains(&"cat > /dev/null"));
    }
}
