//! One compiled set of search-time operations: the props stanzas that apply to events of one
//! sourcetype and source, merged and put in Splunk's order.
//!
//! Which stanzas apply, and how they merge (ADDON_FIELDS 1.1–1.2; `props.conf.spec`): the
//! `[<sourcetype>]` stanza, `[host::…]` stanzas whose pattern matches the host, and
//! `[source::…]` stanzas whose pattern matches the source. A setting of the same key in several
//! of them is taken from the source stanza first, then the host stanza, then the sourcetype
//! stanza; different keys all apply. Within each kind of operation the classes run in ASCII
//! order of their names — across stanzas too, which Splunk does not document [U]; that order
//! puts the Windows add-on's `REPORT-0xml_*` before the Sysmon add-on's `REPORT-sysmon`, which
//! ADDON_FIELDS 1.4 shows is what real Splunk output looks like.
//!
//! The operations, in Splunk's order: `EXTRACT-` and `REPORT-` (regular expressions over
//! `_raw` or a field; the Windows add-on's generic XML transforms are done natively, see
//! [`crate::native`]), `KV_MODE` (JSON for CrowdStrike), `FIELDALIAS-`, `EVAL-` (all reading
//! the values from before any `EVAL-`), `LOOKUP-` (in order; `OUTPUTNEW` fills only null
//! fields, `OUTPUT` overwrites and clears its outputs when the inputs are present but no row
//! matches). Each field knows which operations define it, so an event computes a field only
//! when something reads it.

use std::sync::Arc;

use cimhunt_spl::Sym;
use cimhunt_spl::eval::EvalExpr;
use cimhunt_spl::lookup::LookupTable;

use crate::regex::Regex;
use crate::syms::SymMap;
use crate::tables::{Piece, Template};

/// Where a report's regular expression looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceKey {
    /// `_raw`.
    Raw,
    /// A field's value (as extracted so far).
    Field(Sym),
}

/// What a report's match produces.
#[derive(Debug, Clone)]
pub(crate) enum Produce {
    /// Fixed names with value templates (`$1`, `"$1"`, text): `FORMAT = user::"$1"`.
    Named(Vec<(Sym, Template)>),
    /// Names taken from the match (`FORMAT = $1::$2`): (name template, value template).
    Dynamic(Vec<(Template, Template)>),
    /// The regular expression's named groups (inline `EXTRACT-`, or a transform without
    /// `FORMAT`).
    Groups(Vec<(Sym, String)>),
}

/// A FORMAT template filled from a match's groups; `None` when a referenced group did not
/// participate.
pub(crate) fn fill(t: &Template, caps: &crate::regex::Captures<'_>) -> Option<String> {
    let mut out = String::new();
    for p in &t.0 {
        match p {
            Piece::Text(text) => out.push_str(text),
            Piece::Group(g) => out.push_str(caps.get(*g as usize)?.as_str()),
        }
    }
    Some(out)
}

/// A compiled `EXTRACT-` or `REPORT-` transform.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The class and transform names, for `explain` and messages.
    pub name: String,
    pub regex: Arc<Regex>,
    pub source: SourceKey,
    pub produce: Produce,
    pub mv_add: bool,
    pub clean_keys: bool,
    pub keep_empty: bool,
    /// Extract every match (search-time transforms without `FORMAT` and inline extractions
    /// match once; `REPEAT_MATCH` and `MV_ADD` transforms every time) [inferred].
    pub repeat: bool,
}

/// One `FIELDALIAS-` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Alias {
    pub from: Sym,
    /// `ASNEW`: keep an existing value.
    pub keep_existing: bool,
}

/// A compiled automatic lookup.
#[derive(Debug, Clone)]
pub(crate) struct AutoLookup {
    /// The lookup's name, for `explain` and messages.
    #[allow(dead_code)]
    pub name: String,
    pub table: Arc<LookupTable>,
    /// (column, event field).
    pub inputs: Vec<(usize, Sym)>,
    /// (column, event field); all columns but the inputs when the stanza names none.
    pub outputs: Vec<(usize, Sym)>,
    /// `OUTPUTNEW`.
    pub only_new: bool,
    /// A hash index on the input columns, when they are all matched exactly.
    pub index: Option<Arc<crate::index::LookupIndex>>,
}

/// How `_time` is read.
#[derive(Debug, Clone, Default)]
pub(crate) enum TimeRule {
    /// The default for the input kind: `System/TimeCreated/@SystemTime` for Windows events,
    /// `timestamp` (epoch milliseconds) for CrowdStrike, the envelope's time for HEC.
    #[default]
    Default,
    /// `TIME_PREFIX` naming an `EventData` value (`<Data Name='UtcTime'>`), read with
    /// `TIME_FORMAT` in `TZ`.
    DataField {
        field: String,
        format: crate::time_format::TimeFormat,
    },
}

/// Everything that defines one field.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldDef {
    /// Reports that can produce it, in order.
    pub reports: Vec<usize>,
    /// Aliases onto it, in order.
    pub aliases: Vec<Alias>,
    /// Its `EVAL-`.
    pub eval: Option<usize>,
    /// Lookups that output it, in order.
    pub lookups: Vec<usize>,
    /// Memo slot of its extracted value (when reports produce it).
    pub extracted_slot: Option<usize>,
    /// Memo slot of its final value.
    pub final_slot: usize,
    /// Memo slot of its `EVAL-` value.
    pub eval_slot: Option<usize>,
}

/// The compiled operations for one (sourcetype, source).
#[derive(Debug, Default)]
pub(crate) struct Program {
    /// Whether the Windows add-on's generic XML extraction applies.
    pub windows_xml: bool,
    /// `KV_MODE = json`.
    pub kv_json: bool,
    pub reports: Vec<Report>,
    /// Reports whose output names come from the match.
    pub dynamic_reports: Vec<usize>,
    pub evals: Vec<(Sym, Arc<EvalExpr>)>,
    pub lookups: Vec<AutoLookup>,
    pub fields: SymMap<FieldDef>,
    pub time: TimeRule,
    /// Number of memo slots an event of this program needs.
    pub slots: usize,
    /// Indexes of the event types that may match events of this program.
    pub eventtypes: Vec<usize>,
    /// Their searches, simplified for this program's `source` and `sourcetype`
    /// ([`crate::partial::simplify`]), in the same order.
    pub eventtype_searches: Vec<cimhunt_spl::search::Expr>,
    /// Datasets whose constraint may hold for events of this program.
    pub datasets: Vec<usize>,
    /// The identity under which the event types found for its events are remembered.
    pub memo: cimhunt_spl::memo::MemoKey,
}

impl Program {
    /// The definition of a field, when the program computes it.
    #[inline]
    pub(crate) fn def(&self, f: Sym) -> Option<&FieldDef> {
        self.fields.get(&f)
    }

    /// The definition entry of a field, created on first use with a final slot.
    pub(crate) fn def_mut(&mut self, f: Sym) -> &mut FieldDef {
        let slots = &mut self.slots;
        self.fields.entry(f).or_insert_with(|| {
            let d = FieldDef {
                final_slot: *slots,
                ..FieldDef::default()
            };
            *slots += 1;
            d
        })
    }

    /// A new memo slot.
    pub(crate) fn slot(&mut self) -> usize {
        self.slots += 1;
        self.slots - 1
    }
}
