//! Where each field's values come from, for the prefilter's soundness contract
//! ([`cimhunt_spl::search::FieldOrigin`]): raw record text, or text the record need not hold.
//!
//! A field is raw text when, for every source that can define it, its value is a piece of the
//! record's text (an `EventData` value, a `System` element's text, a regular expression's
//! capture, an alias of such a field, or an `EVAL-`/calculation whose result is made only of
//! such pieces, optionally or constant values — which are listed as the field's constants). A
//! `System` attribute is not: the add-on keeps its quotes, which JSON and EVTX records do not
//! have; neither is metadata, an event type, a tag or a lookup's output.

use std::collections::HashSet;

use cimhunt_spl::Sym;
use cimhunt_spl::search::{FieldOrigin, Origins};

use crate::Model;
use crate::dataset::{Calc, DatasetId};

/// The `System` attributes the Windows add-on extracts (with their quotes).
const ATTRIBUTES: &[&str] = &[
    "Name",
    "Guid",
    "EventSourceName",
    "SystemTime",
    "RawTime",
    "ActivityID",
    "RelatedActivityID",
    "ProcessID",
    "ThreadID",
    "ProcessorID",
    "SessionID",
    "KernelTime",
    "UserTime",
    "ProcessorTime",
    "UserID",
    "Qualifiers",
];

/// Origins of the search-time fields of events.
#[derive(Debug)]
pub struct EventOrigins<'m> {
    model: &'m Model,
}

impl<'m> EventOrigins<'m> {
    pub(crate) fn new(model: &'m Model) -> Self {
        EventOrigins { model }
    }

    fn of(&self, f: Sym, seen: &mut HashSet<Sym>) -> FieldOrigin {
        let s = &self.model.syms;
        if s.is_meta(f) || f == s.eventtype || f == s.tag || ATTRIBUTES.contains(&f.as_str()) {
            return FieldOrigin::derived();
        }
        if !seen.insert(f) {
            return FieldOrigin::derived();
        }
        let name = f.as_str();
        let mut origin = FieldOrigin::raw(&[]);
        for st in &self.model.props {
            for e in st.evals() {
                if e.field == name {
                    return FieldOrigin::derived();
                }
            }
            for l in st.lookups() {
                let outputs_it = match &l.output {
                    Some((_, fields)) => fields.iter().any(|m| m.event_field == name),
                    None => true,
                };
                if outputs_it {
                    return FieldOrigin::derived();
                }
            }
            for a in st.aliases() {
                for pair in &a.pairs {
                    if pair.to == name {
                        let from = self.of(Sym::new(&pair.from), seen);
                        origin = meet(origin, from);
                    }
                }
            }
        }
        origin
    }
}

impl Origins for EventOrigins<'_> {
    fn origin(&self, field: Sym) -> FieldOrigin {
        self.of(field, &mut HashSet::new())
    }
}

/// Origins of a dataset's fields.
#[derive(Debug)]
pub struct DatasetOrigins<'m> {
    events: EventOrigins<'m>,
    ds: DatasetId,
}

impl<'m> DatasetOrigins<'m> {
    pub(crate) fn new(model: &'m Model, ds: DatasetId) -> Self {
        DatasetOrigins {
            events: EventOrigins::new(model),
            ds,
        }
    }
}

impl Origins for DatasetOrigins<'_> {
    fn origin(&self, field: Sym) -> FieldOrigin {
        let ds = &self.events.model.datasets[self.ds.0 as usize];
        match ds.producers.get(&field).and_then(|p| p.last()) {
            None => self.events.origin(field),
            Some(&(k, _)) => match &ds.calcs[k] {
                Calc::Eval { .. } | Calc::Lookup { .. } => FieldOrigin::derived(),
                Calc::Rex { input, .. } => self.events.origin(*input),
            },
        }
    }
}

/// The origin of a field that may take either origin's values.
fn meet(a: FieldOrigin, b: FieldOrigin) -> FieldOrigin {
    let mut constants = a.constants;
    for c in b.constants {
        if !constants.contains(&c) {
            constants.push(c);
        }
    }
    FieldOrigin {
        raw_text: a.raw_text && b.raw_text,
        constants,
    }
}
