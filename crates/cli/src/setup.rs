//! Wiring shared by the subcommands: the data model, detections and macros, the job, inputs.

use std::path::PathBuf;
use std::sync::Arc;

use cimhunt_content::{ContentOptions, ContentSet, Detection};
use cimhunt_engine::{Job, Meta, Options, Stats};
use cimhunt_model::Model;
use cimhunt_model::tables::{LookupTable, Profile};
use cimhunt_read::{Input, expand_paths};
use cimhunt_spl::{Compiled, Timestamp, WithLookups, compile};

use crate::args::{ContentArgs, ModelArgs, RunArgs};
use crate::sample;
use crate::ui::Ui;

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
    let overlays: Vec<&str> = args.overlays.iter().map(String::as_str).collect();
    let profile = match &args.tables {
        Some(dir) => Profile::from_dir(dir, &args.profile, &overlays),
        None => Profile::embedded(&args.profile, &overlays),
    };
    let mut profile = match profile {
        Ok(p) => p,
        Err(e) => {
            ui.error(format!("profile `{}`: {e}", args.profile));
            return None;
        }
    };
    if let Some(path) = &args.crowdstrike_aidmaster {
        let table = match LookupTable::read(path) {
            Ok(t) => t,
            Err(e) => {
                ui.error(e);
                return None;
            }
        };
        if let Err(e) = profile.supply_lookup("crowdstrike_aidmaster", table) {
            ui.error(e);
            return None;
        }
    }
    match Model::new(&profile) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            ui.error(e);
            None
        }
    }
}

/// Loads the detections and macros the arguments name and compiles every detection against
/// the model. Problems are printed: a detection that cannot be loaded or whose search is
/// invalid is an error (the run fails at the end); one that uses a construct cimhunt does not
/// support yet is skipped with a warning. Returns `None` when the macros themselves cannot be
/// loaded.
pub fn load(args: &ContentArgs, model: &Model, ui: &mut Ui) -> Option<(ContentSet, Vec<Loaded>)> {
    let options = ContentOptions {
        content_dir: args.content.clone(),
        detections: args.detections.clone(),
        macro_files: args.macros.clone(),
    };
    let loaded = ContentSet::load(&options).and_then(|set| match &args.lookups {
        Some(dir) => set.with_lookups_dir(dir),
        None => Ok(set),
    });
    let mut set = match loaded {
        Ok(set) => set,
        Err(e) => {
            ui.error(e);
            return None;
        }
    };
    for e in &set.skipped {
        ui.error(e);
    }
    for e in &set.lookup_problems {
        ui.warn(e);
    }
    let catalog = WithLookups::new(model, &set.lookups);
    let mut loaded = Vec::new();
    let mut unsupported = 0;
    for detection in std::mem::take(&mut set.detections) {
        let origin = origin(&detection);
        match compile(&detection.search, &set.macros, &catalog) {
            Ok(compiled) => loaded.push(Loaded {
                detection,
                compiled,
            }),
            Err(e) if e.is_unsupported() => {
                unsupported += 1;
                ui.warn(format!(
                    "{origin}: {}: skipped, {}",
                    detection.name,
                    e.message()
                ));
            }
            Err(e) => {
                ui.diagnostic(
                    &format!("{origin}: {}: the search does not compile", detection.name),
                    &e,
                );
            }
        }
    }
    if unsupported > 1 {
        ui.note(format!(
            "{unsupported} detections use constructs cimhunt does not run yet"
        ));
    }
    Some((set, loaded))
}

/// The job for the loaded detections, with the shortcuts the run arguments leave on.
pub fn job(model: &Arc<Model>, loaded: &[Loaded], run: &RunArgs, ui: &mut Ui) -> Option<Job> {
    let mut b = Job::builder(Arc::clone(model))
        .prefilter(!(run.no_prefilter || run.strict))
        .gate(!run.no_prefilter);
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
/// given. Paths that cannot be read are errors.
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
    inputs.into_iter().map(|i| (i, Meta::default())).collect()
}

/// Whether a run failed: errors were reported, an input could not be read, or (with
/// `--strict`) a record was skipped.
pub fn run_failed(ui: &Ui, stats: &Stats, run: &RunArgs) -> bool {
    ui.failures > 0 || stats.inputs_failed > 0 || (run.strict && stats.skipped_records > 0)
}
