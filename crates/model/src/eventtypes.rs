//! Event types and tags (`eventtypes.conf`, `tags.conf`): the searches that classify an event,
//! and the tags each class gives it — what data-model constraints (`tag=process tag=report`)
//! select on.
//!
//! An event type's search may name other event types (`eventtype=wineventlog_security OR …`);
//! they are evaluated first (the list is kept in dependency order), and the search sees the
//! ones found so far as its `eventtype` field. An event's `eventtype` field lists its event
//! types and its `tag` field their enabled tags, both sorted by name [inferred: Splunk's
//! display order is not documented]; a `[field=value]` stanza of `tags.conf` tags events whose
//! field has that value (compared case-insensitively, as searches compare values).

use std::collections::BTreeSet;

use cimhunt_spl::search::Expr;
use cimhunt_spl::{CompareOp, Pattern, Record, Sym, Value};

use crate::event::Event;
use crate::partial::{Known, Tri, partial_eval};

/// One event type, compiled.
#[derive(Debug, Clone)]
pub(crate) struct EventType {
    pub name: String,
    pub expr: Expr,
    /// Indexes of the event types its search names.
    pub deps: Vec<usize>,
    /// Its enabled tags.
    pub tags: Vec<String>,
}

/// All event types, in dependency order, and the field-value tags.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventTypes {
    pub list: Vec<EventType>,
    /// `[field=value]` tags.
    pub field_tags: Vec<(Sym, Pattern, Vec<String>)>,
    eventtype: Option<Sym>,
}

impl EventTypes {
    pub(crate) fn new(list: Vec<EventType>, field_tags: Vec<(Sym, Pattern, Vec<String>)>) -> Self {
        EventTypes {
            list,
            field_tags,
            eventtype: Some(Sym::new("eventtype")),
        }
    }

    /// The index of an event type by name.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|e| e.name == name)
    }

    /// The event types (among `candidates`, which are in dependency order) the event has;
    /// `searches` are the candidates' searches, in the same order (simplified for the event's
    /// program).
    pub(crate) fn matching(
        &self,
        ev: &dyn Record,
        candidates: &[usize],
        searches: &[Expr],
    ) -> Vec<usize> {
        let mut found: Vec<usize> = Vec::new();
        for (&i, search) in candidates.iter().zip(searches) {
            let view = SoFar {
                ev,
                found: &found,
                types: self,
            };
            if search.matches(&view) {
                found.push(i);
            }
        }
        found
    }

    /// The `eventtype` field for these event types: their names, sorted.
    pub(crate) fn names(&self, idx: &[usize]) -> Value<'_> {
        let mut names: Vec<&str> = idx.iter().map(|&i| self.list[i].name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        Value::multi(names.into_iter().map(Value::from_field).collect())
    }

    /// The tags of an event: those of its event types and of its field values, sorted.
    ///
    /// The values borrow the tag names held here: an event asks for its tags once, and each
    /// of its dozen tags was an allocation when they were copied.
    pub(crate) fn tags(&self, ev: &Event<'_>) -> Value<'_> {
        let mut tags: Vec<&str> = Vec::new();
        for &i in ev.eventtype_indexes() {
            tags.extend(self.list[i].tags.iter().map(String::as_str));
        }
        for (field, value, t) in &self.field_tags {
            if ev.value(*field).texts().any(|v| value.matches(&v)) {
                tags.extend(t.iter().map(String::as_str));
            }
        }
        tags.sort_unstable();
        tags.dedup();
        Value::multi(tags.into_iter().map(Value::from_field).collect())
    }

    /// The event types that can match events whose metadata is `known` (the others are
    /// definitely false), closed under dependencies, in dependency order.
    pub(crate) fn candidates(&self, known: &Known<'_>) -> Vec<usize> {
        let mut verdicts: Vec<Tri> = Vec::with_capacity(self.list.len());
        for et in &self.list {
            let v = partial_eval(&et.expr, known, &|name: &str| {
                self.index(name)
                    .and_then(|i| verdicts.get(i).copied())
                    .unwrap_or(Tri::Unknown)
            });
            verdicts.push(v);
        }
        let mut keep = vec![false; self.list.len()];
        for (i, v) in verdicts.iter().enumerate() {
            if *v != Tri::False {
                keep[i] = true;
            }
        }
        // Dependencies of kept types are needed to evaluate them.
        for i in (0..self.list.len()).rev() {
            if keep[i] {
                for &d in &self.list[i].deps {
                    keep[d] = true;
                }
            }
        }
        (0..self.list.len()).filter(|&i| keep[i]).collect()
    }

    /// The tags events whose metadata is `known` can have.
    pub(crate) fn possible_tags(&self, candidates: &[usize]) -> BTreeSet<String> {
        let mut tags: BTreeSet<String> = candidates
            .iter()
            .flat_map(|&i| self.list[i].tags.iter().cloned())
            .collect();
        for (_, _, t) in &self.field_tags {
            tags.extend(t.iter().cloned());
        }
        tags
    }
}

/// The event as an event type's search sees it: `eventtype` holds the types found so far.
struct SoFar<'e> {
    ev: &'e dyn Record,
    found: &'e [usize],
    types: &'e EventTypes,
}

impl Record for SoFar<'_> {
    fn value(&self, f: Sym) -> Value<'_> {
        if Some(f) == self.types.eventtype {
            // Borrowed and unsorted: a search compares each value, in any order.
            return Value::multi(
                self.found
                    .iter()
                    .map(|&i| Value::Str(std::borrow::Cow::Borrowed(&self.types.list[i].name)))
                    .collect(),
            );
        }
        self.ev.value(f)
    }
}

/// An event type search `eventtype=<name>` term's name, if the comparison is one.
pub(crate) fn referenced(expr: &Expr, eventtype: Sym) -> Vec<String> {
    let mut out = Vec::new();
    expr.visit(&mut |e| {
        if let Expr::Compare {
            field,
            op: CompareOp::Eq,
            value,
        } = e
            && *field == eventtype
        {
            out.push(value.text().to_owned());
        }
    });
    out
}
