//! Which extracted fields events keep: the projection computed from the loaded detections.
//!
//! Extracting a field costs (an owned copy for attribute values, a symbol lookup for every
//! name); most of the dozens of fields a Windows event carries are read by no detection. A
//! [`Want`] lists the fields the detections read, closed over what the add-ons compute them
//! from (`process_name` needs `Image`, `ImageLoaded`, `TargetImage` and `EventCode`), and
//! extraction keeps only those. `events --raw` and searches that show whole events keep all.

use std::collections::HashSet;

use hashbrown::HashMap;

use cimhunt_spl::Sym;

use crate::Model;
use crate::dataset::DatasetId;
use crate::native::Keep;

/// The fields to extract.
#[derive(Debug, Clone, Default)]
pub struct Want {
    all: bool,
    /// Asked for every field name of every event, so hashed with hashbrown's fast hasher
    /// rather than SipHash (names come from the loaded content, not from the input's choice).
    names: HashMap<&'static str, Sym>,
}

impl Want {
    /// Keeps every field.
    pub fn all(&mut self) {
        self.all = true;
    }

    /// Whether every field is kept.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Keeps `field`, and every field the model computes it from.
    pub fn field(&mut self, model: &Model, field: Sym) {
        let mut todo = vec![field];
        let mut seen: HashSet<Sym> = HashSet::new();
        while let Some(f) = todo.pop() {
            if !seen.insert(f) {
                continue;
            }
            self.names.insert(f.as_str(), f);
            todo.extend(model.dependencies(f));
        }
    }

    /// Keeps what a dataset's view reads: its fields and constraints, closed as in
    /// [`Want::field`].
    pub fn dataset(&mut self, model: &Model, ds: DatasetId) {
        for f in model.dataset_reads(ds) {
            self.field(model, f);
        }
    }

    /// Keeps what every dataset reads.
    pub fn all_datasets(&mut self, model: &Model) {
        for ds in model.dataset_ids() {
            self.dataset(model, ds);
        }
    }

    /// Whether a field is kept.
    pub fn contains(&self, name: &str) -> bool {
        self.all || self.names.contains_key(name)
    }
}

impl Keep for Want {
    fn keep(&self, name: &str) -> Option<Sym> {
        match self.names.get(name) {
            Some(s) => Some(*s),
            None if self.all => Sym::try_new(name).ok(),
            None => None,
        }
    }
}
