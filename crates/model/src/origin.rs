//! Where each field's values come from, for the prefilter's soundness contract
//! ([`cimhunt_spl::search::FieldOrigin`]): raw record text (every plain run of a value is text
//! of the record), optionally or one of a few constants, or derived (no promise).
//!
//! A field's value is computed the way [`crate::event`] computes it, and its origin follows the
//! same layers, taken over *every* stanza of the profile (any event's program is a subset, so
//! what holds for all holds for each):
//!
//! 1. **Extracted** — the generic XML fields are raw text (an `EventData` value, a `System`
//!    element's text, a JSON value), except the `System` attributes (kept with quotes that
//!    JSON and EVTX records do not have), the `*_Xml` blocks and `_raw` (markup), metadata,
//!    `eventtype` and `tag`. A report's value is a capture: from a raw-text field it is a piece
//!    of raw text; from markup it is raw text only when the group sits inside one text node
//!    ([`crate::capture`]); a FORMAT that adds text of its own makes it derived. A report
//!    whose field names come from the match may set any field, so its values count for every
//!    field.
//! 2. **Aliased** — any of the field's own extracted value and the aliased fields' extracted
//!    values.
//! 3. **Evaluated** — any of those and what each `EVAL-` of the field yields, from the aliased
//!    values of what it reads ([`cimhunt_spl::eval::origin`]).
//! 4. **Looked up** — a field a lookup writes is derived.
//!
//! A dataset's field is its last calculation's value (an eval as above, reading the
//! calculations before it or the event's fields; a lookup is derived; a `Rex` capture is a
//! piece of its input), else the event's field.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use cimhunt_spl::Sym;
use cimhunt_spl::eval::EvalExpr;
use cimhunt_spl::eval::origin::value_origin;
use cimhunt_spl::search::{FieldOrigin, Origins};

use crate::Model;
use crate::capture::{Group, in_text_node};
use crate::compile::is_subsumed;
use crate::dataset::{Calc, DatasetId};
use crate::native::NATIVE_TRANSFORMS;
use crate::tables::{Piece, Template};

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

/// What an extracted value is, relative to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Raw text in the contract's sense.
    Raw,
    /// A stretch of the XML document, markup included (`_raw`, the `*_Xml` blocks).
    Markup,
    /// Anything else.
    Derived,
}

impl Kind {
    /// A value that may be of either kind.
    fn either(self, other: Kind) -> Kind {
        self.max(other)
    }

    fn origin(self) -> FieldOrigin {
        match self {
            Kind::Raw => FieldOrigin::raw(&[]),
            Kind::Markup | Kind::Derived => FieldOrigin::derived(),
        }
    }
}

/// One way a report can set a field: the pattern, the group whose text is the value (`None`
/// when the value template adds text of its own), and where the pattern looks.
struct Capture<'m> {
    pattern: &'m str,
    group: Option<Group<'m>>,
    source: Option<&'m str>,
}

/// Origins of the search-time fields of events.
#[derive(Debug)]
pub struct EventOrigins<'m> {
    model: &'m Model,
    memo: RefCell<HashMap<Sym, FieldOrigin>>,
    extracted: RefCell<HashMap<Sym, Kind>>,
}

impl<'m> EventOrigins<'m> {
    pub(crate) fn new(model: &'m Model) -> Self {
        EventOrigins {
            model,
            memo: RefCell::new(HashMap::new()),
            extracted: RefCell::new(HashMap::new()),
        }
    }

    /// The final value's origin (after lookups).
    fn final_origin(&self, f: Sym) -> FieldOrigin {
        if let Some(o) = self.memo.borrow().get(&f) {
            return o.clone();
        }
        let o = self.compute(f);
        self.memo.borrow_mut().insert(f, o.clone());
        o
    }

    fn compute(&self, f: Sym) -> FieldOrigin {
        let name = f.as_str();
        let s = &self.model.syms;
        if s.is_meta(f) || f == s.eventtype || f == s.tag {
            return FieldOrigin::derived();
        }
        for st in &self.model.props {
            for l in st.lookups() {
                let writes = match &l.output {
                    Some((_, fields)) => fields.iter().any(|m| m.event_field == name),
                    // Without an output list a lookup writes every column but its inputs.
                    None => self.model.lookups.get(&l.lookup).is_none_or(|t| {
                        t.column(name).is_some() && !l.inputs.iter().any(|m| m.lookup_field == name)
                    }),
                };
                if writes {
                    return FieldOrigin::derived();
                }
            }
        }
        let mut origin = self.aliased(f);
        for st in &self.model.props {
            for e in st.evals() {
                if e.field != name {
                    continue;
                }
                let Ok(expr) = EvalExpr::parse_deferred(&e.expression) else {
                    return FieldOrigin::derived();
                };
                origin = meet(origin, value_origin(&expr, &mut |g| self.aliased(g)));
            }
        }
        origin
    }

    /// The value after aliases, before `EVAL-`s: what `EVAL-`s read.
    fn aliased(&self, f: Sym) -> FieldOrigin {
        let s = &self.model.syms;
        if s.is_meta(f) || f == s.eventtype || f == s.tag {
            return FieldOrigin::derived();
        }
        let mut kind = self.extracted(f);
        for st in &self.model.props {
            for a in st.aliases() {
                for pair in &a.pairs {
                    if pair.to == f.as_str() {
                        let from = Sym::new(&pair.from);
                        let k = if s.is_meta(from) {
                            Kind::Derived
                        } else {
                            self.extracted(from)
                        };
                        kind = kind.either(k);
                    }
                }
            }
        }
        kind.origin()
    }

    /// The extracted value's kind: natives, then every report that may set it. Reports read
    /// fields other reports set, and a report that names its fields from the match may set
    /// its own source, so the kinds are the least fixed point of those dependencies (computed
    /// by repeating the pass until nothing changes; a kind only grows, so this ends).
    fn extracted(&self, f: Sym) -> Kind {
        if let Some(k) = self.extracted.borrow().get(&f) {
            return *k;
        }
        let mut tentative: HashMap<Sym, Kind> = HashMap::new();
        loop {
            let mut changed = false;
            let k = self.pass(f, &mut tentative, &mut HashSet::new(), &mut changed);
            if !changed {
                self.extracted.borrow_mut().insert(f, k);
                return k;
            }
        }
    }

    fn pass(
        &self,
        f: Sym,
        tentative: &mut HashMap<Sym, Kind>,
        visiting: &mut HashSet<Sym>,
        changed: &mut bool,
    ) -> Kind {
        if let Some(k) = self.extracted.borrow().get(&f) {
            return *k;
        }
        if visiting.contains(&f) {
            return tentative.get(&f).copied().unwrap_or(Kind::Raw);
        }
        visiting.insert(f);
        let name = f.as_str();
        let mut kind = if self.model.syms.block(f).is_some() || f == self.model.syms.raw {
            Kind::Markup
        } else if ATTRIBUTES.contains(&name) || self.model.syms.is_meta(f) {
            Kind::Derived
        } else {
            Kind::Raw
        };
        for c in self.captures(name) {
            let haystack = match c.source {
                None | Some("_raw") => Kind::Markup,
                Some(field) => self.pass(Sym::new(field), tentative, visiting, changed),
            };
            kind = kind.either(capture_kind(&c, haystack));
        }
        visiting.remove(&f);
        if tentative.insert(f, kind) != Some(kind) {
            *changed = true;
        }
        kind
    }

    /// The captures of every report that may set `field`, including those whose field names
    /// come from the match (they may set any field).
    fn captures<'f>(&self, field: &'f str) -> Vec<Capture<'f>>
    where
        'm: 'f,
    {
        let mut out = Vec::new();
        for st in &self.model.props {
            for e in st.extracts() {
                out.push(Capture {
                    pattern: &e.regex,
                    group: Some(Group::Name(field)),
                    source: e.source_field.as_deref(),
                });
            }
            for r in st.reports() {
                for t in &r.transforms {
                    if NATIVE_TRANSFORMS.contains(&t.as_str()) || is_subsumed(t) {
                        continue;
                    }
                    let Some(x) = self.model.transforms.extraction(t) else {
                        continue;
                    };
                    let Some(pattern) = x.regex.as_deref() else {
                        continue;
                    };
                    let source = x.source_key.as_deref();
                    match &x.format {
                        None => out.push(Capture {
                            pattern,
                            group: Some(Group::Name(field)),
                            source,
                        }),
                        Some(format) => {
                            for item in &format.items {
                                let sets = item.name.as_text().is_none_or(|n| n == field);
                                if sets {
                                    out.push(Capture {
                                        pattern,
                                        group: single_group(&item.value),
                                        source,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        // An extraction without that group name does not set the field: keep only captures
        // whose named group exists (a missing group is reported by `in_text_node` as false,
        // which would wrongly make the field derived).
        out.retain(|c| match c.group {
            Some(Group::Name(n)) => has_named_group(c.pattern, n),
            _ => true,
        });
        out
    }
}

/// What a capture holds, given what its haystack is.
fn capture_kind(c: &Capture<'_>, haystack: Kind) -> Kind {
    let Some(group) = c.group else {
        return Kind::Derived;
    };
    match haystack {
        // A piece of raw text.
        Kind::Raw => Kind::Raw,
        Kind::Markup if in_text_node(c.pattern, group) => Kind::Raw,
        Kind::Markup => Kind::Markup,
        Kind::Derived => Kind::Derived,
    }
}

/// The group a value template is exactly made of (`$1`, `"$1"`), if it is one.
fn single_group(t: &Template) -> Option<Group<'static>> {
    match t.0.as_slice() {
        [Piece::Group(n)] if *n > 0 => Some(Group::Number(*n as usize)),
        _ => None,
    }
}

/// Whether `pattern` names a group `name` (`(?<name>`, `(?P<name>`, `(?'name'`).
fn has_named_group(pattern: &str, name: &str) -> bool {
    [
        format!("(?<{name}>"),
        format!("(?P<{name}>"),
        format!("(?'{name}'"),
    ]
    .iter()
    .any(|g| pattern.contains(g.as_str()))
}

impl Origins for EventOrigins<'_> {
    fn origin(&self, field: Sym) -> FieldOrigin {
        self.final_origin(field)
    }
}

/// Origins of a dataset's fields.
///
/// Computing an origin parses `EVAL-` expressions and walks report patterns, so origins are
/// remembered: per field for the events ([`EventOrigins`], which [`EventOrigins::dataset`]
/// shares between the datasets of a job), per field and calculation for the dataset.
#[derive(Debug)]
pub struct DatasetOrigins<'m> {
    events: Events<'m>,
    ds: DatasetId,
    memo: RefCell<HashMap<(Sym, usize), FieldOrigin>>,
}

/// The event origins a dataset's origins fall back on: its own, or shared.
#[derive(Debug)]
enum Events<'m> {
    Owned(EventOrigins<'m>),
    Shared(&'m EventOrigins<'m>),
}

impl<'m> std::ops::Deref for Events<'m> {
    type Target = EventOrigins<'m>;

    fn deref(&self) -> &EventOrigins<'m> {
        match self {
            Events::Owned(e) => e,
            Events::Shared(e) => e,
        }
    }
}

impl EventOrigins<'_> {
    /// The origins of a dataset's fields, sharing these event origins (and what they have
    /// already computed).
    pub fn dataset(&self, ds: DatasetId) -> DatasetOrigins<'_> {
        DatasetOrigins {
            events: Events::Shared(self),
            ds,
            memo: RefCell::new(HashMap::new()),
        }
    }
}

impl<'m> DatasetOrigins<'m> {
    pub(crate) fn new(model: &'m Model, ds: DatasetId) -> Self {
        DatasetOrigins {
            events: Events::Owned(EventOrigins::new(model)),
            ds,
            memo: RefCell::new(HashMap::new()),
        }
    }

    /// The origin of `f` as calculation `k` sees it (`k` = the number of calculations: the
    /// view's final value), remembered.
    fn before(&self, f: Sym, k: usize) -> FieldOrigin {
        if let Some(o) = self.memo.borrow().get(&(f, k)) {
            return o.clone();
        }
        let o = self.compute_before(f, k);
        self.memo.borrow_mut().insert((f, k), o.clone());
        o
    }

    fn compute_before(&self, f: Sym, k: usize) -> FieldOrigin {
        let ds = &self.events.model.datasets[self.ds.0 as usize];
        let earlier = ds
            .producers
            .get(&f)
            .and_then(|p| p.iter().rev().find(|(j, _)| *j < k));
        let Some(&(j, _)) = earlier else {
            return self.events.final_origin(f);
        };
        match &ds.calcs[j] {
            Calc::Eval { expr, .. } => value_origin(expr, &mut |g| self.before(g, j)),
            Calc::Lookup { .. } => FieldOrigin::derived(),
            Calc::Rex { input, .. } => {
                let o = self.before(*input, j);
                if o.raw_text && o.constants.is_empty() {
                    o
                } else {
                    FieldOrigin::derived()
                }
            }
        }
    }
}

impl Origins for DatasetOrigins<'_> {
    fn origin(&self, field: Sym) -> FieldOrigin {
        let n = self.events.model.datasets[self.ds.0 as usize].calcs.len();
        self.before(field, n)
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
