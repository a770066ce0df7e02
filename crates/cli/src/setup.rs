//! Wiring shared by the subcommands: detections and macros, normalizer, inputs.

use std::path::PathBuf;

use cimhunt_cim::CimVersion;
use cimhunt_content::{ContentOptions, ContentSet, Detection};
use cimhunt_normalize::{AidMaster, Normalizer, Options, UserDomain};
use cimhunt_pipeline::{Job, Prefilter, Stats};
use cimhunt_read::{Input, expand_paths};
use cimhunt_spl::{Compiled, compile};

use crate::args::{CimArg, ContentArgs, NormalizeArgs, RunArgs, UserDomainArg};
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
        self.detection
            .path
            .as_ref()
            .map_or_else(|| "embedded".to_owned(), |p| p.display().to_string())
    }
}

/// Loads the detections and macros the arguments name and compiles every detection. Problems
/// are printed: a detection that cannot be loaded or whose search is invalid is an error (the
/// run fails at the end); one that uses a construct cimhunt does not support yet is skipped
/// with a warning. Returns `None` when the macros themselves cannot be loaded.
pub fn load(args: &ContentArgs, ui: &mut Ui) -> Option<(ContentSet, Vec<Loaded>)> {
    let options = ContentOptions {
        content_dir: args.content.clone(),
        detections: args.detections.clone(),
        macro_files: args.macros.clone(),
    };
    let mut set = match ContentSet::load(&options) {
        Ok(set) => set,
        Err(e) => {
            ui.error(e);
            return None;
        }
    };
    for e in &set.skipped {
        ui.error(e);
    }
    let mut loaded = Vec::new();
    let mut unsupported = 0;
    for detection in std::mem::take(&mut set.detections) {
        let origin = detection
            .path
            .as_ref()
            .map_or_else(|| "embedded".into(), |p| p.display().to_string());
        match compile(&detection.search, &set.macros) {
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

/// The normalizer the arguments describe; `None` (after printing why) if the aidmaster file
/// cannot be read.
pub fn normalizer(args: &NormalizeArgs, ui: &mut Ui) -> Option<Normalizer> {
    let aidmaster = match &args.crowdstrike_aidmaster {
        None => None,
        Some(path) => match AidMaster::load(path) {
            Ok(m) => Some(m),
            Err(e) => {
                ui.error(e);
                return None;
            }
        },
    };
    Some(Normalizer::new(Options {
        user_domain: match args.user_domain {
            UserDomainArg::Strip => UserDomain::Strip,
            UserDomainArg::Keep => UserDomain::Keep,
        },
        cim_version: match args.cim_version {
            CimArg::V5 => CimVersion::V5,
            CimArg::V6 => CimVersion::V6,
        },
        aidmaster,
    }))
}

/// The inputs: the given paths (directories walked), or the embedded sample when none are
/// given. Paths that cannot be read are errors.
pub fn inputs(paths: &[PathBuf], ui: &mut Ui) -> Vec<Input> {
    if paths.is_empty() {
        ui.note("no PATH given: running over the embedded sample (see --help)");
        return sample::inputs();
    }
    let (inputs, errors) = expand_paths(paths);
    for e in errors {
        ui.error(e);
    }
    inputs
}

/// Applies the run options to a job: the thread count, and the shortcuts `--no-prefilter`
/// turns off (`--strict` turns off the prefilter, to see every record).
pub fn apply_run_args(job: &mut Job, run: &RunArgs) {
    if let Some(n) = run.threads {
        job.threads = n.get();
    }
    if run.no_prefilter || run.strict {
        job.prefilter = Prefilter::admit_all();
    }
    if run.no_prefilter {
        job.gate = None;
    }
}

/// Whether a run failed: errors were reported, an input could not be read, or (with
/// `--strict`) a record was skipped.
pub fn run_failed(ui: &Ui, stats: &Stats, run: &RunArgs) -> bool {
    ui.failures > 0 || stats.inputs_failed > 0 || (run.strict && stats.skipped_records > 0)
}
