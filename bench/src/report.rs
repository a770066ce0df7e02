//! The benchmark's report: a table of medians and peak memory, ratios against baselines of the
//! same run (with the goals of issue 12 in brackets), and checks that cimhunt printed the rows
//! the corpora's manifests promise and the same rows in every variant of one input.

use std::path::Path;
use std::process::ExitCode;

use crate::measure::Timing;
use crate::mixed::manifest::MixedManifest;
use crate::rows::{per_detection, verdicts};
use crate::variants::{Id, Input, Variant};

/// What the run measured, with what the manifests say.
#[derive(Debug)]
pub struct Results<'a> {
    pub measured: Vec<(&'a Variant, Timing)>,
    pub not_run: Vec<&'a Variant>,
    /// True positives of the seed detection in the process corpus.
    pub process_seed_rows: Option<u64>,
    /// The mixed corpus's manifest, when it was timed.
    pub mixed: Option<&'a MixedManifest>,
    /// The library the whole-library variants ran.
    pub library: &'a Path,
    /// Whether to print the lines added with the mixed corpus.
    pub extended: bool,
}

impl Results<'_> {
    fn get(&self, id: Id) -> Option<&Timing> {
        self.measured
            .iter()
            .find(|(v, _)| v.id == id)
            .map(|(_, t)| t)
    }

    fn ratio(&self, a: Id, b: Id) -> String {
        match (self.get(a), self.get(b)) {
            (Some(x), Some(y)) => {
                format!("{:.2}", x.median.as_secs_f64() / y.median.as_secs_f64())
            }
            _ => "n/a".to_owned(),
        }
    }
}

fn rss(t: &Timing) -> String {
    t.peak_rss_kib
        .map_or("n/a".to_owned(), |k| format!("{} MiB", k / 1024))
}

/// Prints the report; failure when a check failed.
pub fn print(r: &Results<'_>) -> ExitCode {
    println!("{:<42} {:>9} {:>10}", "command", "median s", "peak RSS");
    for (v, t) in &r.measured {
        println!(
            "{:<42} {:>9.3} {:>10}",
            v.name,
            t.median.as_secs_f64(),
            rss(t)
        );
    }
    for (v, t) in &r.measured {
        if let Some(detail) = &t.detail {
            println!("  {}: {detail}", v.name);
        }
    }
    if r.extended {
        for v in &r.not_run {
            println!(
                "{:<42} {:>9} {:>10}  not run: {}",
                v.name,
                "-",
                "-",
                v.not_run.as_deref().unwrap_or_default()
            );
        }
    }
    ratios(r);
    checks(r)
}

/// A ratio's goal as the report prints it after the ratio; nothing when there is none.
fn bracketed(goal: &str) -> String {
    if goal.is_empty() {
        String::new()
    } else {
        format!("  [{goal}]")
    }
}

/// The paired ratio of a variant timed beside its partner ([`Id::paired_with`]), with its goal
/// in brackets when it has one.
fn paired(r: &Results<'_>, label: &str, id: Id, goal: &str) {
    let ratio = r
        .get(id)
        .and_then(|t| t.paired_ratio)
        .map_or("n/a".to_owned(), |x| format!("{x:.2}"));
    println!("  {label:<32} {ratio}{}", bracketed(goal));
}

fn ratios(r: &Results<'_>) {
    use Input::{Evtx, Mixed, Process};
    println!("\nratios (goal in brackets):");
    let line = |label: &str, a: Id, b: Id, goal: &str| {
        println!("  {label:<32} {}{}", r.ratio(a, b), bracketed(goal));
    };
    line(
        "seed / grep",
        Id::Seed(Process),
        Id::Grep(Process),
        "<= 1.0",
    );
    line("seed / cat", Id::Seed(Process), Id::Cat(Process), "");
    paired(r, "  paired", Id::Seed(Process), "<= 1.5");
    line(
        "all endpoint detections / seed",
        Id::Library(Process),
        Id::Seed(Process),
        "<= 3.0",
    );
    line(
        "1 thread / all threads",
        Id::SeedOneThread(Process),
        Id::Seed(Process),
        "",
    );
    line(
        "no prefilter / prefilter",
        Id::SeedNoPrefilter(Process),
        Id::Seed(Process),
        "",
    );
    line("seed, zstd input / zstd -dc", Id::SeedZstd, Id::Unzstd, "");
    line(
        "seed, zstd input / plain",
        Id::SeedZstd,
        Id::Seed(Process),
        "",
    );
    line(
        "EVTX no prefilter / prefilter",
        Id::SeedNoPrefilter(Evtx),
        Id::Seed(Evtx),
        "",
    );
    line(
        "EVTX all detections / seed",
        Id::Library(Evtx),
        Id::Seed(Evtx),
        "",
    );
    line(
        "chainsaw / cimhunt (EVTX)",
        Id::Chainsaw,
        Id::Seed(Evtx),
        ">= 5",
    );
    line(
        "hayabusa / cimhunt (EVTX)",
        Id::Hayabusa,
        Id::Seed(Evtx),
        ">= 8",
    );
    if !r.extended {
        return;
    }
    line("mixed: seed / cat", Id::Seed(Mixed), Id::Cat(Mixed), "");
    paired(r, "  paired", Id::Seed(Mixed), "<= 1.5");
    line(
        "mixed: library / grep",
        Id::Library(Mixed),
        Id::Grep(Mixed),
        "<= 1.0",
    );
    line(
        "mixed: library / seed",
        Id::Library(Mixed),
        Id::Seed(Mixed),
        "<= 3.0",
    );
    line(
        "mixed: library 1 thread / all",
        Id::LibraryOneThread(Mixed),
        Id::Library(Mixed),
        "",
    );
    line(
        "mixed: serve/hunt events/s, seed",
        Id::Seed(Mixed),
        Id::ServeIngest { library: false },
        "",
    );
    line(
        "mixed: serve/hunt events/s, library",
        Id::Library(Mixed),
        Id::ServeIngest { library: true },
        "",
    );
    // The same ratios, each replay beside a `hunt` timed right before it.
    paired(r, "  paired, seed", Id::ServeIngest { library: false }, "");
    paired(
        r,
        "  paired, library",
        Id::ServeIngest { library: true },
        ">= 0.5",
    );
    line(
        "process: library / grep",
        Id::Library(Process),
        Id::Grep(Process),
        "",
    );
    line(
        "EVTX library / chainsaw one rule",
        Id::Library(Evtx),
        Id::Chainsaw,
        "< 1.0",
    );
    line(
        "EVTX library / hayabusa one rule",
        Id::Library(Evtx),
        Id::Hayabusa,
        "< 1.0",
    );
    println!("\npeak RSS (goal in brackets):");
    for (v, t) in &r.measured {
        let goal = match v.id {
            Id::Seed(_) | Id::SeedZstd | Id::ServeIngest { library: false } => "<= 100 MiB",
            Id::Library(_) | Id::LibraryOneThread(_) | Id::ServeIngest { library: true } => {
                "<= 200 MiB"
            }
            _ => continue,
        };
        println!("  {:<40} {:>9}  [{goal}]", v.name, rss(t));
    }
}

fn identical(label: &str, a: &Timing, b: &Timing) -> bool {
    let same = a.stdout == b.stdout;
    println!(
        "  {label}: {}",
        if same {
            "identical rows"
        } else {
            "DIFFERENT rows"
        }
    );
    same
}

fn checks(r: &Results<'_>) -> ExitCode {
    use Input::{Evtx, Mixed, Process};
    // Correctness: every seed variant printed the same rows, one per true positive.
    let mut ok = true;
    if let Some(seed) = r.get(Id::Seed(Process)) {
        let rows = seed.lines();
        println!(
            "\nseed rows: {rows} (corpus true positives: {})",
            r.process_seed_rows.unwrap_or(0)
        );
        ok &= Some(rows) == r.process_seed_rows;
        for (id, name) in [
            (Id::SeedOneThread(Process), "cimhunt, seed, 1 thread"),
            (Id::SeedNoPrefilter(Process), "cimhunt, seed, no prefilter"),
            (Id::SeedZstd, "cimhunt, seed, zstd -1 input"),
        ] {
            if let Some(t) = r.get(id) {
                ok &= identical(name, t, seed);
            }
        }
    }
    if let (Some(a), Some(b)) = (r.get(Id::Seed(Evtx)), r.get(Id::SeedNoPrefilter(Evtx))) {
        ok &= identical("EVTX with and without prefilter", a, b);
    }
    if let (Some(seed), Some(m)) = (r.get(Id::Seed(Mixed)), r.mixed) {
        let rows = seed.lines();
        let expected = m
            .detections
            .iter()
            .find(|d| d.name == SEED)
            .map_or(0, |d| d.matching);
        println!("mixed seed rows: {rows} (manifest: {expected} planted events)");
        ok &= rows == expected;
    }
    if let (Some(library), Some(m)) = (r.get(Id::Library(Mixed)), r.mixed) {
        ok &= planted_rows(library, m, r.library);
        if let Some(one) = r.get(Id::LibraryOneThread(Mixed)) {
            ok &= identical("mixed: library with 1 thread and with all", one, library);
        }
    }
    if r.extended {
        for (v, t) in &r.measured {
            if matches!(v.id, Id::Library(_)) {
                println!("{} rows: {}", v.name, t.lines());
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The embedded default detection.
const SEED: &str = "Windows MSIExec Remote Download";

/// Prints, per planted detection of the library, the rows the manifest expects and the rows the
/// library run returned; false when any differs.
fn planted_rows(library: &Timing, m: &MixedManifest, dir: &Path) -> bool {
    let verdicts = verdicts(&m.detections, dir, &per_detection(&library.stdout));
    println!(
        "\nmixed: planted detections in the library run ({} of {}):",
        verdicts.len(),
        m.detections.len()
    );
    println!(
        "  {:<58} {:>7} {:>8} {:>6}",
        "detection", "planted", "expected", "rows"
    );
    let mut ok = true;
    for v in &verdicts {
        println!(
            "  {:<58} {:>7} {:>8} {:>6}{}",
            v.name,
            v.planted,
            v.expected,
            v.rows,
            match (v.ok(), v.unset_by) {
                (false, _) => "  WRONG".to_owned(),
                (true, Some(why)) => format!("  ({why})"),
                (true, None) => String::new(),
            }
        );
        ok &= v.ok();
    }
    let wrong = verdicts.iter().filter(|v| !v.ok()).count();
    println!(
        "  {}",
        if wrong == 0 {
            "every planted detection returned its rows".to_owned()
        } else {
            format!("{wrong} planted detections returned the wrong rows: the run FAILS")
        }
    );
    ok
}
