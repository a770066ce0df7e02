//! Helpers of the `model_*` tests: the shared corpus, a job run over it, the events it
//! presents.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cimhunt_engine::{
    EventsView, Job, Meta, Observer, Options, Origin, RecordError, RunResult, run,
};
use cimhunt_model::Model;
use cimhunt_read::{Input, expand_paths};
use cimhunt_spl::{Sym, Value};

/// The shared reference material (`../shared`, or `CIMHUNT_SHARED`).
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// The default model, shared.
pub fn model() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(M.get_or_init(|| Arc::new(Model::escu().expect("the default profile compiles"))))
}

/// Every input of the shared EVTX corpus.
pub fn corpus_inputs() -> Vec<(Input, Meta)> {
    let (inputs, errors) = expand_paths(&[shared().join("corpus/evtx")]);
    assert!(errors.is_empty(), "{errors:?}");
    inputs.into_iter().map(|i| (i, Meta::default())).collect()
}

/// One presented event: where it came from and its fields.
pub struct Presented {
    pub origin: String,
    pub fields: Vec<(Sym, Value<'static>)>,
}

impl Presented {
    /// A field's values as text.
    pub fn get(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k.as_str() == name)
            .flat_map(|(_, v)| v.texts().map(|t| t.into_owned()).collect::<Vec<_>>())
            .collect()
    }

    /// A field's single value.
    pub fn one(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (v.len() == 1).then(|| v.into_iter().next().unwrap_or_default())
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k.as_str() == name)
    }
}

/// Calls a function on every presented event; counts errors.
pub struct Each<F: FnMut(Presented)> {
    pub f: F,
    pub errors: Vec<String>,
}

impl<F: FnMut(Presented)> Observer for Each<F> {
    fn error(&mut self, error: &RecordError) {
        self.errors.push(error.to_string());
    }
    fn input_failed(&mut self, error: &RecordError) {
        self.errors.push(error.to_string());
    }
    fn event(&mut self, origin: &Origin, fields: &[(Sym, Value<'static>)]) {
        (self.f)(Presented {
            origin: origin.to_string(),
            fields: fields.to_vec(),
        });
    }
}

/// Runs a job with no detections over the inputs and hands every event to `f` as `view`
/// presents it.
pub fn present(
    inputs: Vec<(Input, Meta)>,
    view: EventsView,
    f: impl FnMut(Presented),
) -> (RunResult, Vec<String>) {
    let job = Job::builder(model()).all_fields(true).build().expect("job");
    let options = Options {
        threads: 2,
        events: view,
        ..Options::default()
    };
    let mut each = Each {
        f,
        errors: Vec::new(),
    };
    let result = run(&job, &options, inputs, &mut each);
    (result, each.errors)
}
