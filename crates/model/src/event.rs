//! One event as a search sees it: its search-time fields, computed on demand.
//!
//! An [`Event`] starts with the fields extraction gives cheaply (the generic Windows XML fields,
//! JSON keys, metadata), and computes every other field — report transforms, aliases, `EVAL-`s,
//! lookups, event types, tags — the first time something reads it, remembering the result.
//! The layers follow Splunk's order (see [`crate::program`]): a field's value is its extracted
//! value, replaced by its aliases, then by its `EVAL-` (which reads the values before any
//! `EVAL-`), then by the lookups that output it, in order.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::sync::Arc;

use cimhunt_decode::{FlatEvent, WinEvent};
use cimhunt_spl::value::Number;
use cimhunt_spl::{Record, Sym, Timestamp, Value};

use crate::Model;
use crate::meta::Resolved;
use crate::native::{block, clean_key, simple_elements};
use crate::program::{FieldDef, Produce, Program, SourceKey, fill};
use crate::syms::Syms;

/// The decoded record an event was made from.
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    /// A Windows event.
    Windows(&'a WinEvent<'a>),
    /// A flat JSON object.
    Flat(&'a FlatEvent<'a>),
}

/// A lookup's outcome for one event.
#[derive(Debug, Clone)]
enum LookupOutcome {
    /// Rows matched (or the default applied): one list of values per output.
    Matched(Vec<Vec<String>>),
    /// No row matched although every input had a value (`OUTPUT` clears its outputs).
    Missed,
    /// An input was null: nothing happens.
    NoInput,
}

/// A name and a value, each as (offset, length) in `_raw`.
type Span2 = ((usize, usize), (usize, usize));

/// An event with its search-time fields.
pub struct Event<'a> {
    pub(crate) model: &'a Model,
    pub(crate) program: Arc<Program>,
    pub(crate) decoded: Decoded<'a>,
    pub(crate) meta: Resolved<'a>,
    pub(crate) extracted: Vec<(Sym, Cow<'a, str>)>,
    /// `extracted`'s names, in the same order.
    names: Vec<Sym>,
    /// Extracted fields already read that have one value: found and typed once, however many
    /// detections read them ([`Seen`]).
    seen: [Cell<Seen>; SEEN],
    pub(crate) time: Option<Timestamp>,
    /// `_time` as a search reads it, formatted once.
    time_value: OnceCell<Value<'static>>,
    /// `_time` as an aggregation reads it back from that text ([`Record::time`]), read once.
    time_read: OnceCell<Option<Timestamp>>,
    /// The record's text when the input was text (XML or JSON).
    given_raw: Option<&'a str>,
    raw: OnceCell<Cow<'a, str>>,
    /// The `RenderingInfo` block's simple elements, as (offset, length) of name and value in
    /// `_raw`; `None` when `_raw` has no such block.
    rendering: OnceCell<Option<Vec<Span2>>>,
    slots: Vec<OnceCell<Value<'static>>>,
    reports: Vec<OnceCell<Vec<(Sym, String)>>>,
    lookups: Vec<OnceCell<LookupOutcome>>,
    eventtypes: OnceCell<Arc<[usize]>>,
    eventtype_value: OnceCell<Value<'a>>,
    tags: OnceCell<Value<'a>>,
}

impl std::fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("meta", &self.meta)
            .field("time", &self.time)
            .field("extracted", &self.extracted)
            .finish_non_exhaustive()
    }
}

impl<'a> Event<'a> {
    pub(crate) fn new(
        model: &'a Model,
        program: Arc<Program>,
        decoded: Decoded<'a>,
        meta: Resolved<'a>,
        extracted: Vec<(Sym, Cow<'a, str>)>,
        time: Option<Timestamp>,
        given_raw: Option<&'a str>,
    ) -> Self {
        let names = extracted.iter().map(|(n, _)| *n).collect();
        let slots = (0..program.slots).map(|_| OnceCell::new()).collect();
        let reports = (0..program.reports.len())
            .map(|_| OnceCell::new())
            .collect();
        let lookups = (0..program.lookups.len())
            .map(|_| OnceCell::new())
            .collect();
        Event {
            model,
            program,
            decoded,
            meta,
            extracted,
            names,
            seen: std::array::from_fn(|_| Cell::new(Seen::EMPTY)),
            time,
            time_value: OnceCell::new(),
            time_read: OnceCell::new(),
            given_raw,
            raw: OnceCell::new(),
            rendering: OnceCell::new(),
            slots,
            reports,
            lookups,
            eventtypes: OnceCell::new(),
            eventtype_value: OnceCell::new(),
            tags: OnceCell::new(),
        }
    }

    /// `_time`, when the event has a readable time.
    pub fn time(&self) -> Option<Timestamp> {
        self.time
    }

    /// The resolved metadata.
    pub fn meta(&self) -> &Resolved<'a> {
        &self.meta
    }

    /// The decoded record.
    pub fn decoded(&self) -> Decoded<'a> {
        self.decoded
    }

    fn syms(&self) -> &Syms {
        &self.model.syms
    }

    /// `_raw`: the XML text of a Windows event as it arrived, or Windows' rendering of it when
    /// it arrived as EVTX or evtx_dump JSON; a JSON event's text.
    pub fn raw(&self) -> &str {
        self.raw.get_or_init(|| match self.decoded {
            Decoded::Windows(w) => match w.raw {
                Some(r) => Cow::Borrowed(r),
                None => {
                    let mut s = String::new();
                    cimhunt_decode::render_xml(w, &mut s);
                    Cow::Owned(s)
                }
            },
            Decoded::Flat(_) => Cow::Borrowed(self.given_raw.unwrap_or("")),
        })
    }

    /// Every search-time field the event has, in a stable order (extracted fields, then the
    /// fields the add-ons compute, by name), as `events --raw` shows them.
    pub fn all_fields(&self) -> Vec<(Sym, Value<'_>)> {
        let s = self.syms();
        let mut names: Vec<Sym> = Vec::new();
        for (n, _) in &self.extracted {
            if !names.contains(n) {
                names.push(*n);
            }
        }
        let mut computed: Vec<Sym> = self.program.fields.keys().copied().collect();
        for i in &self.program.dynamic_reports {
            for (n, _) in self.report(*i) {
                computed.push(*n);
            }
        }
        computed.extend(s.blocks.iter().map(|(b, _)| *b));
        computed.sort_by_cached_key(|s| s.as_str());
        for n in computed {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let mut out = vec![
            (s.time, self.value(s.time)),
            (s.raw, self.value(s.raw)),
            (s.source, self.value(s.source)),
            (s.sourcetype, self.value(s.sourcetype)),
            (s.host, self.value(s.host)),
            (s.index, self.value(s.index)),
        ];
        for n in names {
            let v = self.value(n);
            if !v.is_null() {
                out.push((n, v));
            }
        }
        for n in [s.eventtype, s.tag] {
            let v = self.value(n);
            if !v.is_null() {
                out.push((n, v));
            }
        }
        out
    }

    /// The extracted value (natives, metadata, report transforms).
    fn extracted(&self, f: Sym) -> Value<'_> {
        // Which of the branches below gives `f` depends only on `f` and the event, so a field
        // that came from `extracted` with one value before comes from there again.
        let seen = self.seen[f.index() as usize % SEEN].get();
        if seen.field == Some(f)
            && let Some((_, text)) = self.extracted.get(seen.pos as usize)
        {
            let text = Cow::Borrowed(text.as_ref());
            return if seen.number.is_nan() {
                Value::Str(text)
            } else {
                Value::Num(Number::with_text(seen.number, text))
            };
        }
        let s = self.syms();
        if f == s.source {
            // A JSON record whose input named no source has none (never an empty one).
            return match self.meta.source.as_ref() {
                "" => Value::Null,
                source => Value::from_field(source),
            };
        }
        if f == s.sourcetype {
            return Value::from_field(self.meta.sourcetype.as_ref());
        }
        if f == s.host {
            return match &self.meta.host {
                Some(h) => Value::from_field(h.as_ref()),
                None => Value::Null,
            };
        }
        if f == s.index {
            return Value::from_field(self.meta.index.as_ref());
        }
        if let Some(def) = self.program.def(f)
            && let Some(slot) = def.extracted_slot
        {
            return self.slots[slot]
                .get_or_init(|| self.extract_with_reports(f, def).into_owned())
                .borrowed();
        }
        if let Some(v) = self.block_field(f) {
            return v;
        }
        let (natives, single) = self.natives_at(f);
        if let Some(pos) = single {
            self.seen[f.index() as usize % SEEN].set(Seen {
                field: Some(f),
                pos,
                number: match &natives {
                    Value::Num(n) => n.get(),
                    _ => f64::NAN,
                },
            });
        }
        if natives.is_null() && !self.program.dynamic_reports.is_empty() {
            let mut found: Vec<Value<'_>> = Vec::new();
            for i in &self.program.dynamic_reports {
                for (n, v) in self.report(*i) {
                    if *n == f {
                        found.push(Value::from_field(v.as_str()));
                    }
                }
            }
            return Value::multi(found);
        }
        natives
    }

    fn natives(&self, f: Sym) -> Value<'_> {
        self.natives_at(f).0
    }

    /// [`Event::natives`], with the position in `extracted` of a field that has one value.
    fn natives_at(&self, f: Sym) -> (Value<'_>, Option<u32>) {
        fn single(v: Value<'_>, pos: Option<usize>) -> (Value<'_>, Option<u32>) {
            let pos = match &v {
                Value::Str(_) | Value::Num(_) => pos.and_then(|p| u32::try_from(p).ok()),
                _ => None,
            };
            (v, pos)
        }
        // The names alone, four bytes each, are scanned: a field is looked for once per event
        // (`seen` keeps it), and sorting the names cost more than every scan.
        let mut at = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == f)
            .map(|(i, _)| i);
        let Some(first) = at.next() else {
            return (Value::Null, None);
        };
        let text = |i: usize| self.extracted.get(i).map_or("", |(_, v)| v.as_ref());
        match at.next() {
            None => single(Value::from_field(text(first)), Some(first)),
            Some(second) => {
                let v = Value::from_fields([first, second].into_iter().chain(at).map(text));
                (v, None)
            }
        }
    }

    /// The `*_Xml` block fields and the `RenderingInfo` values, cut from `_raw` on request.
    fn block_field(&self, f: Sym) -> Option<Value<'_>> {
        if !self.program.windows_xml {
            return None;
        }
        if let Some(element) = self.syms().block(f) {
            return Some(match block(self.raw(), element) {
                Some(b) if !b.is_empty() => Value::from_field(b),
                _ => Value::Null,
            });
        }
        None
    }

    /// Natives followed by the reports that produce `f`: the first value wins unless a report
    /// adds values (`MV_ADD`).
    fn extract_with_reports(&self, f: Sym, def: &FieldDef) -> Value<'_> {
        let mut values: Vec<Value<'_>> = match self.natives(f) {
            Value::Null => Vec::new(),
            Value::Multi(v) => v,
            v => vec![v],
        };
        if self.program.windows_xml
            && values.is_empty()
            && let Some(v) = self.rendering_info(f)
        {
            values.push(v);
        }
        for &r in &def.reports {
            let mv_add = self.program.reports[r].mv_add;
            if !values.is_empty() && !mv_add {
                continue;
            }
            for (n, v) in self.report(r) {
                if *n == f {
                    values.push(Value::from_field(v.as_str()));
                }
            }
        }
        Value::multi(values)
    }

    fn rendering_info(&self, f: Sym) -> Option<Value<'_>> {
        let raw = self.raw();
        let elements = self.rendering.get_or_init(|| {
            // Cut once per event, kept as offsets into `_raw`: every field with reports asks.
            let info = block(raw, "RenderingInfo")?;
            let at = |s: &str| s.as_ptr() as usize - raw.as_ptr() as usize;
            let spans = simple_elements(info)
                .into_iter()
                .map(|(n, v)| ((at(n), n.len()), (at(v), v.len())))
                .collect();
            Some(spans)
        });
        let elements = elements.as_ref()?;
        let name = f.as_str();
        let text = |(from, len): (usize, usize)| &raw[from..from + len];
        let vals: Vec<Value<'_>> = elements
            .iter()
            .filter(|(n, _)| text(*n) == name)
            .map(|(_, v)| Value::from_field(text(*v)))
            .collect();
        (!vals.is_empty()).then(|| Value::multi(vals))
    }

    /// A report's outputs for this event (computed once).
    fn report(&self, r: usize) -> &[(Sym, String)] {
        self.reports[r].get_or_init(|| self.run_report(r))
    }

    fn run_report(&self, r: usize) -> Vec<(Sym, String)> {
        let rep = &self.program.reports[r];
        let src_value;
        let hay: &str = match &rep.source {
            SourceKey::Raw => self.raw(),
            SourceKey::Field(f) => {
                src_value = self.extracted(*f).first_text().map(Cow::into_owned);
                match &src_value {
                    Some(v) => v.as_str(),
                    None => return Vec::new(),
                }
            }
        };
        let mut out = Vec::new();
        let mut push = |name: Sym, value: String| {
            if value.is_empty() && !rep.keep_empty {
                return;
            }
            out.push((name, value));
        };
        let mut each = |caps: crate::regex::Captures<'_>| match &rep.produce {
            Produce::Named(items) => {
                for (name, tpl) in items {
                    if let Some(v) = fill(tpl, &caps) {
                        push(*name, v);
                    }
                }
            }
            Produce::Groups(groups) => {
                for (name, group) in groups {
                    if let Some(m) = caps.name(group) {
                        push(*name, m.as_str().to_owned());
                    }
                }
            }
            Produce::Dynamic(items) => {
                for (name, tpl) in items {
                    let (Some(n), Some(v)) = (fill(name, &caps), fill(tpl, &caps)) else {
                        continue;
                    };
                    let n = if rep.clean_keys { clean_key(&n) } else { n };
                    if n.is_empty() {
                        continue;
                    }
                    if let Ok(sym) = Sym::try_new(&n) {
                        push(sym, v);
                    }
                }
            }
        };
        if rep.repeat {
            for caps in rep.regex.captures_iter(hay) {
                each(caps);
            }
        } else if let Some(caps) = rep.regex.captures(hay) {
            each(caps);
        }
        out
    }

    /// The value after aliases (what `EVAL-`s read).
    pub(crate) fn aliased(&self, f: Sym) -> Value<'_> {
        let Some(def) = self.program.def(f).filter(|d| !d.aliases.is_empty()) else {
            return self.extracted(f);
        };
        let mut v = self.extracted(f);
        for a in &def.aliases {
            let src = self.extracted(a.from);
            if !a.keep_existing || v.is_null() {
                v = src;
            }
        }
        v
    }

    /// The value after `EVAL-`s.
    fn evaluated(&self, f: Sym, def: &FieldDef) -> Value<'_> {
        match (def.eval, def.eval_slot) {
            (Some(e), Some(slot)) => self.slots[slot]
                .get_or_init(|| {
                    let (_, expr) = &self.program.evals[e];
                    expr.eval(&AliasLayer(self), self.model.eval_ctx())
                        .into_owned()
                })
                .borrowed(),
            _ => self.aliased(f),
        }
    }

    /// The value a field has before lookup `k` runs.
    fn before_lookup(&self, f: Sym, k: usize) -> Value<'_> {
        let Some(def) = self.program.def(f) else {
            return self.extracted(f);
        };
        let mut v = self.evaluated(f, def);
        for &j in def.lookups.iter().filter(|&&j| j < k) {
            let l = &self.program.lookups[j];
            let Some(idx) = l.outputs.iter().position(|(_, o)| *o == f) else {
                continue;
            };
            match self.lookup(j) {
                LookupOutcome::Matched(outs) if !l.only_new || v.is_null() => {
                    let vals = outs.get(idx).cloned().unwrap_or_default();
                    v = Value::multi(vals.into_iter().map(Value::from_field).collect());
                }
                LookupOutcome::Missed if !l.only_new => v = Value::Null,
                _ => {}
            }
        }
        v
    }

    fn lookup(&self, j: usize) -> &LookupOutcome {
        self.lookups[j].get_or_init(|| {
            let l = &self.program.lookups[j];
            let mut inputs: Vec<(usize, String)> = Vec::with_capacity(l.inputs.len());
            let mut multi: Option<(usize, Vec<String>)> = None;
            for (i, (col, field)) in l.inputs.iter().enumerate() {
                let v = self.before_lookup(*field, j);
                let texts: Vec<String> = v.texts().map(Cow::into_owned).collect();
                match texts.len() {
                    0 => return LookupOutcome::NoInput,
                    1 => inputs.push((*col, texts.into_iter().next().unwrap_or_default())),
                    _ => {
                        inputs.push((*col, String::new()));
                        multi = Some((i, texts));
                    }
                }
            }
            let cols: Vec<usize> = l.outputs.iter().map(|(c, _)| *c).collect();
            let mut gathered: Vec<Vec<String>> = vec![Vec::new(); cols.len()];
            let mut any = false;
            let values: Vec<Vec<String>> = match &multi {
                Some((_, vs)) => vs.iter().map(|v| vec![v.clone()]).collect(),
                None => vec![Vec::new()],
            };
            for v in values {
                let mut ins: Vec<(usize, &str)> =
                    inputs.iter().map(|(c, s)| (*c, s.as_str())).collect();
                if let (Some((i, _)), Some(one)) = (&multi, v.first()) {
                    ins[*i].1 = one.as_str();
                }
                let found = match &l.index {
                    Some(index) => {
                        let values: Vec<&str> = ins.iter().map(|(_, v)| *v).collect();
                        index.find(&values, &cols)
                    }
                    None => l.table.find(&ins, &cols),
                };
                if let Some(found) = found {
                    any = true;
                    for (slot, vals) in gathered.iter_mut().zip(found) {
                        slot.extend(vals);
                    }
                }
            }
            if any {
                LookupOutcome::Matched(gathered)
            } else {
                LookupOutcome::Missed
            }
        })
    }

    /// The event types the event has, as indexes into the model's list.
    pub(crate) fn eventtype_indexes(&self) -> &[usize] {
        self.eventtypes.get_or_init(|| {
            // The event types' searches read nothing but the event's fields: remembered per
            // thread by the values they read (`EventCode` for most programs).
            cimhunt_spl::memo::remembered(&self.program.memo, self, &|rec| {
                let found = self.model.eventtypes.matching(
                    rec,
                    &self.program.eventtypes,
                    &self.program.eventtype_searches,
                );
                (Arc::from(found), true)
            })
        })
    }

    fn final_value(&self, f: Sym, def: &FieldDef) -> Value<'_> {
        self.slots[def.final_slot]
            .get_or_init(|| {
                let n = self.program.lookups.len();
                self.before_lookup(f, n).into_owned()
            })
            .borrowed()
    }
}

/// Entries of an event's [`Seen`] table: fields are placed by their symbol's index, a later
/// field replacing an earlier one in the same place.
const SEEN: usize = 32;

/// An extracted field with one value, already read: its position in `extracted` and the number
/// its text reads as (NaN when it is text; a field's number is never NaN).
#[derive(Debug, Clone, Copy)]
struct Seen {
    field: Option<Sym>,
    pos: u32,
    number: f64,
}

impl Seen {
    const EMPTY: Seen = Seen {
        field: None,
        pos: 0,
        number: f64::NAN,
    };
}

impl Record for Event<'_> {
    fn value(&self, f: Sym) -> Value<'_> {
        let s = self.syms();
        if f == s.time {
            return match self.time {
                Some(t) => self
                    .time_value
                    .get_or_init(|| Value::from_field(t.epoch_text()))
                    .borrowed(),
                None => Value::Null,
            };
        }
        if f == s.raw {
            return Value::Str(Cow::Borrowed(self.raw()));
        }
        if f == s.eventtype {
            return self
                .eventtype_value
                .get_or_init(|| self.model.eventtypes.names(self.eventtype_indexes()))
                .borrowed();
        }
        if f == s.tag {
            return self
                .tags
                .get_or_init(|| self.model.tags_of(self))
                .borrowed();
        }
        match self.program.def(f) {
            // An `EVAL-` result is kept in its own slot: without a lookup after it, that is
            // the final value, and copying it to the final slot would store it twice.
            Some(def) if def.eval.is_some() && def.lookups.is_empty() => self.evaluated(f, def),
            Some(def)
                if !def.aliases.is_empty() || def.eval.is_some() || !def.lookups.is_empty() =>
            {
                self.final_value(f, def)
            }
            _ => self.extracted(f),
        }
    }

    fn time(&self) -> Option<Timestamp> {
        *self
            .time_read
            .get_or_init(|| cimhunt_spl::record::read_time(&self.value(self.syms().time)))
    }
}

/// The event as `EVAL-`s see it: the values after aliases, before any `EVAL-`.
struct AliasLayer<'e, 'a>(&'e Event<'a>);

impl Record for AliasLayer<'_, '_> {
    fn value(&self, f: Sym) -> Value<'_> {
        let s = self.0.syms();
        if f == s.time || f == s.raw {
            return self.0.value(f);
        }
        self.0.aliased(f)
    }
}
