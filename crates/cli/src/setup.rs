//! Wiring shared by the subcommands: the data model, detections and macros, the job, inputs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::BTreeMap;

use cimhunt_content::{
    ContentError, ContentOptions, ContentSet, Detection, filter_mismatch, unmatched_filter_macros,
};
use cimhunt_engine::{Job, Meta, Options, Stats};
use cimhunt_model::Model;
use cimhunt_model::tables::{LookupTable, Profile};
use cimhunt_read::{Input, InputName, expand_paths};
use cimhunt_spl::{Compiled, Timestamp, WithLookups, compile};
use rayon::prelude::*;

use crate::args::{ContentArgs, ContentErrors, ModelArgs, RunArgs};
use crate::sample;
use crate::ui::{Ui, thousands};

/// A detection ready to run.
#[derive(Debug)]
pub struct Loaded {
    /// The detection.
    pub detection: Detection,
    /// Its compiled search.
    pub compiled: Compiled,
}

impl Loaded {
    /// The detection's file, or `embedded` for the built-in default.
    pub fn origin(&self) -> String {
        origin(&self.detection)
    }
}

fn origin(d: &Detection) -> String {
    d.path
        .as_ref()
        .map_or_else(|| "embedded".to_owned(), |p| p.display().to_string())
}

/// The data model the arguments describe: a profile of the built-in tables (or of a
/// directory), its overlays, and the CrowdStrike inventory when given.
pub fn model(args: &ModelArgs, ui: &mut Ui) -> Option<Arc<Model>> {
    build_model(args).map_err(|e| ui.error(e)).ok()
}

/// [`model`], with its error as text.
fn build_model(args: &ModelArgs) -> Result<Arc<Model>, String> {
    let overlays: Vec<&str> = args.overlays.iter().map(String::as_str).collect();
    let profile = match &args.tables {
        Some(dir) => Profile::from_dir(dir, &args.profile, &overlays),
        None => Profile::embedded(&args.profile, &overlays),
    };
    let mut profile = profile.map_err(|e| format!("profile `{}`: {e}", args.profile))?;
    if let Some(path) = &args.crowdstrike_aidmaster {
        let table = LookupTable::read(path).map_err(|e| e.to_string())?;
        profile
            .supply_lookup("crowdstrike_aidmaster", table)
            .map_err(|e| e.to_string())?;
    }
    Model::new(&profile)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// [`model`] and [`load`] at once: the model is built while the content is read (both take
/// a while for the whole library, and reading the content does not need the model). `None`
/// when the model cannot be built (the one error reported); the detections are `None` when
/// [`load`] would give `None`.
pub fn model_and_load(
    model_args: &ModelArgs,
    content: &ContentArgs,
    ui: &mut Ui,
) -> Option<(Arc<Model>, Option<Vec<Loaded>>)> {
    let (model, set) = rayon::join(|| build_model(model_args), || read_content(content));
    let model = model.map_err(|e| ui.error(e)).ok()?;
    let loaded = compile_content(content, set, &model, ui).map(|(_, l)| l);
    Some((model, loaded))
}

/// The content the arguments name, read (not compiled).
fn read_content(args: &ContentArgs) -> Result<ContentSet, ContentError> {
    let options = ContentOptions {
        content_dir: args.content.clone(),
        detections: args.detections.clone(),
        macro_files: args.macros.clone(),
    };
    ContentSet::load(&options).and_then(|set| match &args.lookups {
        Some(dir) => set.with_lookups_dir(dir),
        None => Ok(set),
    })
}

/// Loads the detections and macros the arguments name and compiles every detection against
/// the model. Problems are printed: a detection that cannot be loaded or whose search is
/// invalid is a content error (the others still run); one that uses a construct cimhunt does
/// not support yet is skipped, and the skipped ones are summarised by reason. YAML found by
/// walking a directory that is not a detection is passed over and counted. Returns `None`
/// when the macros themselves cannot be loaded.
pub fn load(args: &ContentArgs, model: &Model, ui: &mut Ui) -> Option<(ContentSet, Vec<Loaded>)> {
    compile_content(args, read_content(args), model, ui)
}

/// [`load`], from the content read.
fn compile_content(
    args: &ContentArgs,
    loaded: Result<ContentSet, ContentError>,
    model: &Model,
    ui: &mut Ui,
) -> Option<(ContentSet, Vec<Loaded>)> {
    ui.content_errors_are_warnings = args.content_errors == ContentErrors::Warn;
    let mut set = match loaded {
        Ok(set) => set,
        Err(e) => {
            ui.content_error(e);
            return None;
        }
    };
    let mut not_detections = 0;
    for e in &set.skipped {
        let walked = !args.detections.iter().any(|p| p == e.path());
        if walked && matches!(e, ContentError::NotADetection { .. }) {
            not_detections += 1;
            if args.verbose {
                ui.note(format!("passed over: {e}"));
            }
        } else {
            ui.content_error(e);
        }
    }
    if not_detections > 0 {
        ui.note(format!(
            "{not_detections} YAML file{} in the detection directories passed over: not detections{}",
            plural(not_detections),
            if args.verbose { "" } else { " (--verbose lists them)" }
        ));
    }
    report_unmatched_filters(&set, args, ui);
    for e in &set.lookup_problems {
        ui.warn(e);
    }
    let catalog = WithLookups::new(model, &set.lookups);
    let mut loaded = Vec::new();
    let mut skipped = Skipped::default();
    // Compiled on every core (a fifth of start-up for the whole library when serial), then
    // reported in the detections' order.
    let detections = std::mem::take(&mut set.detections);
    let compiled: Vec<_> = detections
        .par_iter()
        .map(|d| match filter_mismatch(d, &set) {
            Some(mismatch) => Err(mismatch),
            None => Ok(compile(&d.search, &set.macros, &catalog)),
        })
        .collect();
    for (detection, compiled) in detections.into_iter().zip(compiled) {
        let origin = origin(&detection);
        let compiled = match compiled {
            Ok(c) => c,
            Err(mismatch) => {
                ui.content_error(format!("{origin}: {}: {mismatch}", detection.name));
                continue;
            }
        };
        match compiled {
            Ok(compiled) => loaded.push(Loaded {
                detection,
                compiled,
            }),
            Err(e) if e.is_unsupported() => {
                let reason = e.unsupported_label().unwrap_or(e.message()).to_owned();
                skipped.add(reason, format!("{} ({origin})", detection.name));
            }
            Err(e) => {
                ui.diagnostic(
                    &format!("{origin}: {}: the search does not compile", detection.name),
                    &e,
                );
            }
        }
    }
    skipped.report(loaded.len(), args.verbose, ui);
    if loaded.is_empty() {
        ui.nothing_to_run();
    }
    Some((set, loaded))
}

/// Warns about filter macros given with `--macros` that no loaded detection calls, naming the
/// closest detection. (Those of a content checkout are for its whole library, most of which a
/// run may not load.)
fn report_unmatched_filters(set: &ContentSet, args: &ContentArgs, ui: &mut Ui) {
    const SHOWN: usize = 5;
    let verbose = args.verbose;
    let content_macros = args.content.as_ref().map(|dir| dir.join("macros"));
    let unmatched: Vec<_> = unmatched_filter_macros(set)
        .into_iter()
        .filter(|u| {
            content_macros
                .as_ref()
                .is_none_or(|dir| !Path::new(&u.origin).starts_with(dir))
        })
        .collect();
    for u in unmatched
        .iter()
        .take(if verbose { usize::MAX } else { SHOWN })
    {
        ui.warn(u);
    }
    if !verbose && unmatched.len() > SHOWN {
        ui.warn(format!(
            "{} more filter macros match no loaded detection (--verbose lists them)",
            unmatched.len() - SHOWN
        ));
    }
}

/// Detections skipped because they use SPL cimhunt does not run yet, by reason.
#[derive(Debug, Default)]
pub struct Skipped {
    by_reason: BTreeMap<String, Vec<String>>,
    total: usize,
}

impl Skipped {
    fn add(&mut self, reason: String, detection: String) {
        self.by_reason.entry(reason).or_default().push(detection);
        self.total += 1;
    }

    /// Prints the summary: each skipped detection when there are few, else one line per reason
    /// (the most frequent first, at most [`Skipped::REASONS_SHOWN`]); `verbose` lists every
    /// reason with its detections.
    fn report(&self, ran: usize, verbose: bool, ui: &Ui) {
        if self.total == 0 {
            return;
        }
        if self.total <= 3 && !verbose {
            for (reason, names) in &self.by_reason {
                for name in names {
                    ui.note(format!(
                        "{name}: skipped, cimhunt does not run {reason} yet"
                    ));
                }
            }
            return;
        }
        ui.note(format!(
            "{} of {} detections skipped: they use SPL cimhunt does not run yet ({} reason{}):",
            thousands(self.total as u64),
            thousands((self.total + ran) as u64),
            self.by_reason.len(),
            plural(self.by_reason.len())
        ));
        let mut ranked: Vec<(&String, &Vec<String>)> = self.by_reason.iter().collect();
        ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        let shown = if verbose {
            ranked.len()
        } else {
            Self::REASONS_SHOWN
        };
        for (reason, names) in ranked.iter().take(shown) {
            eprintln!("  {:>5}  {reason}", names.len());
            if verbose {
                for name in names.iter() {
                    eprintln!("           {name}");
                }
            }
        }
        if ranked.len() > shown {
            let rest: usize = ranked[shown..].iter().map(|(_, n)| n.len()).sum();
            eprintln!(
                "  {rest:>5}  {} other reasons (--verbose lists every reason and detection)",
                ranked.len() - shown
            );
        }
    }

    /// How many reasons the summary shows without `--verbose`.
    const REASONS_SHOWN: usize = 12;
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The job for the loaded detections, with the shortcuts the run arguments leave on.
/// `share`: detections with the same events and aggregation may share one state, because
/// the job runs once over its inputs ([`cimhunt_engine::run`]) or is served by a sink that
/// hands the shared state to each of them (`cimhunt_serve_engine::EngineSink`).
pub fn job(
    model: &Arc<Model>,
    loaded: &[Loaded],
    run: &RunArgs,
    share: bool,
    ui: &mut Ui,
) -> Option<Job> {
    let mut b = Job::builder(Arc::clone(model))
        .prefilter(!(run.no_prefilter || run.strict))
        .gate(!run.no_prefilter)
        .key_filter(!run.no_prefilter)
        .share_states(share && !run.no_prefilter)
        .lazy_subsearches(!run.no_prefilter);
    for l in loaded {
        b = b.detection(
            l.detection.name.clone(),
            l.compiled.plan.clone(),
            &l.compiled.expanded,
        );
    }
    match b.build() {
        Ok(job) => Some(job),
        Err(e) => {
            ui.error(e);
            None
        }
    }
}

/// The time zone `--tz` names, or an error said and `None`.
pub fn time_zone(name: &str, ui: &mut Ui) -> Option<jiff::tz::TimeZone> {
    match jiff::tz::TimeZone::get(name) {
        Ok(tz) => Some(tz),
        Err(_) => {
            ui.error(format!(
                "--tz {name}: not a known time zone (try UTC or America/New_York)"
            ));
            None
        }
    }
}

/// The engine options the run arguments describe.
pub fn options(run: &RunArgs, ui: &mut Ui) -> Option<Options> {
    let mut o = Options::default();
    if let Some(n) = run.threads {
        o.threads = n.get();
    }
    o.decode_all = run.strict || run.no_prefilter;
    if let Some(n) = run.max_groups {
        o.limits.max_groups = n;
    }
    if let Some(n) = run.max_values {
        o.limits.max_values = n;
    }
    if let Some(n) = run.max_rows {
        o.limits.max_rows = n;
    }
    if run.state_memory > 0 {
        let dir = run.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        if !dir.is_dir() {
            ui.error(format!(
                "--spill-dir {}: not a folder (it holds the state beyond --state-memory)",
                dir.display()
            ));
            return None;
        }
        o.spill = Some(cimhunt_engine::SpillOptions {
            dir,
            budget_bytes: usize::try_from(run.state_memory.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
        });
    }
    if let Some(text) = &run.now {
        match parse_time(text) {
            Some(t) => o.now = t,
            None => {
                ui.error(format!(
                    "--now {text}: expected an RFC 3339 time (2026-12-01T10:00:00Z) or epoch seconds"
                ));
                return None;
            }
        }
    }
    Some(o)
}

fn parse_time(text: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(text)
        .or_else(|_| Timestamp::parse_epoch_secs(text))
        .ok()
}

/// The inputs: the given paths (directories walked), or the embedded sample when none are
/// given. Paths that cannot be read are errors. An empty file (no bytes, or only whitespace)
/// named on the command line is passed over as one found in a directory is, so that the same
/// file gives the same status either way.
pub fn inputs(paths: &[PathBuf], ui: &mut Ui) -> Vec<(Input, Meta)> {
    if paths.is_empty() {
        ui.note("no PATH given: running over the embedded sample (see --help)");
        return sample::inputs()
            .into_iter()
            .map(|i| (i, Meta::default()))
            .collect();
    }
    let (inputs, errors) = expand_paths(paths);
    for e in errors {
        ui.error(e);
    }
    inputs
        .into_iter()
        .map(|mut input| {
            if input.explicit
                && let InputName::Path(path) = input.name.as_ref()
                && is_blank_file(path)
            {
                input.explicit = false;
            }
            (input, Meta::default())
        })
        .collect()
}

/// Whether a path is a regular file holding nothing but whitespace (and a UTF-8 byte-order
/// mark). Only small files are read to decide.
fn is_blank_file(path: &Path) -> bool {
    const SMALL: u64 = 64 * 1024;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => true,
        Ok(m) if m.is_file() && m.len() <= SMALL => std::fs::read(path).is_ok_and(|bytes| {
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            body.iter().all(u8::is_ascii_whitespace)
        }),
        _ => false,
    }
}

/// Counts what a run's statistics say went wrong beyond what was reported one by one (inputs
/// that could not be read are errors as they happen): with `--strict`, any skipped record.
pub fn count_input_failures(ui: &mut Ui, stats: &Stats, run: &RunArgs) {
    if run.strict && stats.skipped_records > 0 {
        ui.error(format!(
            "--strict: {} record{} skipped",
            thousands(stats.skipped_records),
            plural(stats.skipped_records as usize)
        ));
    }
    if run.strict && stats.unverified_records > 0 {
        ui.error(format!(
            "--strict: {} record{} kept from EVTX chunks whose checksum fails",
            thousands(stats.unverified_records),
            plural(stats.unverified_records as usize)
        ));
    }
}
