//! CIM data-model datasets: which events belong to one (its constraint and its ancestors'), and
//! the fields it presents (the event's fields it declares, and its calculated fields).
//!
//! Rules (ADDON_FIELDS 2.1; CIM 5.2.0 `Endpoint.json` and siblings):
//! - An event is in a dataset when it satisfies the constraints of the dataset and of every
//!   ancestor (a child's constraint narrows its parent's).
//! - The calculations run in the order the JSON lists them, root dataset's first, each reading
//!   the event's fields and the outputs of the calculations before it [inferred: Splunk applies
//!   them as successive evals]. A base search's `| eval` assignments count as calculations
//!   that run first.
//! - A search through the dataset (`tstats`) sees only the fields the dataset declares, its
//!   ancestors declare, or its calculations output, plus `_time`, `host`, `source` and
//!   `sourcetype`; any other name is null (ADDON_FIELDS 4.13 [inferred]).
//! - A base search's `| mvexpand f` (`Endpoint.Ports`: `transport_dest_port`) would make one
//!   row per value of `f`. A view presents the event once, with `f`'s values together as one
//!   multivalue. `tstats` groups a multivalue by-field by each of its values (SPLUNK_SEMANTICS
//!   3.6), so the rows are the same as Splunk's whenever `f` has one value — every Windows event
//!   the dataset receives: Security 5158/4957 have one `transport` and one `dest_port`
//!   [inferred]. A where-clause on `f` over a multivalue `f` would keep the whole event where
//!   Splunk keeps only the matching rows.

use std::cell::OnceCell;
use std::sync::Arc;

use cimhunt_spl::eval::EvalExpr;
use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::search::Expr;
use cimhunt_spl::{Record, Sym, Timestamp, Value};

use crate::event::Event;
use crate::regex::Regex;
use crate::syms::{SymMap, SymSet};

/// A dataset of the model, by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetId(pub(crate) u32);

/// One calculation.
#[derive(Debug, Clone)]
pub(crate) enum Calc {
    /// An eval expression and its output field.
    Eval { output: Sym, expr: Arc<EvalExpr> },
    /// A lookup: (column, event field) inputs and outputs.
    Lookup {
        table: Arc<LookupTable>,
        inputs: Vec<(usize, Sym)>,
        outputs: Vec<(usize, Sym)>,
    },
    /// A regular expression with named groups applied to a field.
    Rex {
        input: Sym,
        regex: Arc<Regex>,
        outputs: Vec<(String, Sym)>,
    },
}

impl Calc {
    pub(crate) fn outputs(&self) -> Vec<Sym> {
        match self {
            Calc::Eval { output, .. } => vec![*output],
            Calc::Lookup { outputs, .. } => outputs.iter().map(|(_, s)| *s).collect(),
            Calc::Rex { outputs, .. } => outputs.iter().map(|(_, s)| *s).collect(),
        }
    }

    pub(crate) fn reads(&self) -> Vec<Sym> {
        match self {
            Calc::Eval { expr, .. } => expr.fields().collect(),
            Calc::Lookup { inputs, .. } => inputs.iter().map(|(_, s)| *s).collect(),
            Calc::Rex { input, .. } => vec![*input],
        }
    }
}

/// A compiled dataset.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    /// `Endpoint.Processes`.
    pub name: String,
    /// Prefixes searches put before field names, longest first.
    pub prefixes: Vec<String>,
    /// The lineage's constraints, root first.
    pub constraints: Vec<Expr>,
    /// The lineage's calculations, in order.
    pub calcs: Vec<Calc>,
    /// Every field the dataset presents.
    pub fields: SymSet,
    /// For each calculated field, the calculations that output it and the output's index, in
    /// order.
    pub producers: SymMap<Vec<(usize, usize)>>,
    /// Fields a base search's `| mvexpand` expands (kept as multivalues, see the module).
    pub expanded: Vec<Sym>,
    /// What the dataset cannot present faithfully (a base-search command cimhunt does not run).
    pub unsupported: Option<String>,
}

impl Dataset {
    /// Whether an event belongs to the dataset.
    pub(crate) fn contains(&self, ev: &Event<'_>) -> bool {
        self.constraints.iter().all(|c| c.matches(ev))
    }

    /// Every field its constraints and calculations read.
    pub(crate) fn reads(&self) -> Vec<Sym> {
        let mut out: Vec<Sym> = self.fields.iter().copied().collect();
        for c in &self.constraints {
            out.extend(c.fields());
        }
        for c in &self.calcs {
            out.extend(c.reads());
        }
        out.sort();
        out.dedup();
        out
    }
}

/// An event seen through a dataset: what `tstats` over the dataset reads.
pub struct View<'e, 'a> {
    ds: &'e Dataset,
    ev: &'e Event<'a>,
    memo: Vec<OnceCell<Vec<Value<'static>>>>,
}

impl std::fmt::Debug for View<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("dataset", &self.ds.name)
            .finish_non_exhaustive()
    }
}

impl<'e, 'a> View<'e, 'a> {
    pub(crate) fn new(ds: &'e Dataset, ev: &'e Event<'a>) -> Self {
        View {
            ds,
            ev,
            memo: (0..ds.calcs.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The event.
    pub fn event(&self) -> &'e Event<'a> {
        self.ev
    }

    /// The dataset's name.
    pub fn dataset(&self) -> &str {
        &self.ds.name
    }

    /// Every field the dataset presents, with its value (nulls left out), sorted by name, the
    /// metadata first: what `events --datamodel` shows.
    pub fn fields(&self) -> Vec<(Sym, Value<'_>)> {
        let mut names: Vec<Sym> = self.ds.fields.iter().copied().collect();
        names.sort_by_key(|s| s.as_str());
        let meta = ["_time", "host", "source", "sourcetype"];
        let mut out: Vec<(Sym, Value<'_>)> = meta
            .iter()
            .map(|m| Sym::new(m))
            .map(|s| (s, self.value(s)))
            .collect();
        for n in names {
            if meta.contains(&n.as_str()) {
                continue;
            }
            let v = self.value(n);
            if !v.is_null() {
                out.push((n, v));
            }
        }
        out
    }

    fn calc(&self, k: usize) -> &[Value<'static>] {
        self.memo[k].get_or_init(|| {
            let upto = UpTo { view: self, k };
            match &self.ds.calcs[k] {
                Calc::Eval { expr, .. } => {
                    vec![expr.eval(&upto, self.ev.model.eval_ctx()).into_owned()]
                }
                Calc::Lookup {
                    table,
                    inputs,
                    outputs,
                } => {
                    let values: Vec<Option<String>> = inputs
                        .iter()
                        .map(|(_, f)| upto.value(*f).first_text().map(|t| t.into_owned()))
                        .collect();
                    let ins: Option<Vec<(usize, &str)>> = inputs
                        .iter()
                        .zip(&values)
                        .map(|((c, _), v)| v.as_deref().map(|v| (*c, v)))
                        .collect();
                    let cols: Vec<usize> = outputs.iter().map(|(c, _)| *c).collect();
                    match ins.and_then(|ins| table.find(&ins, &cols)) {
                        Some(found) => found
                            .into_iter()
                            .map(|vs| Value::multi(vs.into_iter().map(Value::from_field).collect()))
                            .collect(),
                        None => vec![Value::Null; outputs.len()],
                    }
                }
                Calc::Rex {
                    input,
                    regex,
                    outputs,
                } => {
                    let v = upto.value(*input);
                    let text = v.first_text().map(|t| t.into_owned()).unwrap_or_default();
                    let caps = regex.captures(&text);
                    outputs
                        .iter()
                        .map(|(g, _)| {
                            caps.as_ref()
                                .and_then(|c| c.name(g))
                                .map_or(Value::Null, |m| Value::from_field(m.as_str().to_owned()))
                        })
                        .collect()
                }
            }
        })
    }
}

impl Record for View<'_, '_> {
    fn value(&self, f: Sym) -> Value<'_> {
        if let Some(&(k, i)) = self.ds.producers.get(&f).and_then(|p| p.last()) {
            return self.calc(k).get(i).map_or(Value::Null, Value::borrowed);
        }
        if self.ds.fields.contains(&f) {
            return self.ev.value(f);
        }
        Value::Null
    }

    fn time(&self) -> Option<Timestamp> {
        // As `value` finds `_time`: a calculation's output, else the event's.
        let t = cimhunt_spl::record::time_sym();
        if self.ds.producers.contains_key(&t) {
            return cimhunt_spl::record::read_time(&self.value(t));
        }
        if self.ds.fields.contains(&t) {
            return self.ev.time();
        }
        None
    }
}

/// The view as calculation `k` sees it: earlier calculations' outputs, else the event.
struct UpTo<'v, 'e, 'a> {
    view: &'v View<'e, 'a>,
    k: usize,
}

impl Record for UpTo<'_, '_, '_> {
    fn value(&self, f: Sym) -> Value<'_> {
        let earlier = self
            .view
            .ds
            .producers
            .get(&f)
            .and_then(|p| p.iter().rev().find(|(j, _)| *j < self.k));
        match earlier {
            Some(&(j, i)) => self
                .view
                .calc(j)
                .get(i)
                .map_or(Value::Null, Value::borrowed),
            None => self.view.ev.value(f),
        }
    }
}
