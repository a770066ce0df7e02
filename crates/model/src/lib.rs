//! Splunk's view of an event, as data: the add-ons' search-time field extractions, event types and
//! tags, and the CIM data models' datasets, loaded from tables in `tables/` rather than written as
//! code paths.
//!
//! A [`Model`] is a compiled profile (`tables::Profile`: Windows add-on 8.8.0, Sysmon add-on
//! 4.0.0 and CIM 5.2.0 by default). [`Model::event`] presents a decoded record as an [`Event`]
//! — its search-time fields, what a raw search reads — and [`Model::view`] presents an event
//! through a dataset ([`View`]) — what `tstats` reads. Both are [`cimhunt_spl::Record`]s whose
//! fields are computed on first read. The model also tells the compiler which datasets exist
//! ([`cimhunt_spl::Catalog`]) and the prefilter where each field's value comes from
//! ([`cimhunt_spl::search::Origins`]).
//!
//! Key design decision: what Splunk configures in `props.conf`, `transforms.conf`,
//! `eventtypes.conf`, `tags.conf` and the data-model JSON is kept in that shape (written from the
//! specification, with sources, under `tables/`) and interpreted, so adding a dataset or a
//! source stanza is a table and its tests, not a new code path. The one exception is the
//! Windows add-on's generic XML extraction, which every Windows event goes through: it is done
//! natively from the decoded event ([`native`]), with each rule stated against the transform it
//! replaces.

pub mod conf;
pub mod tables;

mod capture;
mod compile;
mod dataset;
mod event;
mod eventtypes;
mod index;
mod meta;
mod native;
mod origin;
mod partial;
mod program;
mod regex;
mod relaxed;
mod syms;
mod time_format;
mod want;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cimhunt_decode::WinEvent;
use cimhunt_spl::eval::EvalCtx;
use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::{Catalog, DatasetInfo, Sym, Timestamp, Value};

pub use dataset::{DatasetId, View};
pub use event::{Decoded, Event};
pub use meta::{
    CROWDSTRIKE_SOURCETYPE, DEFAULT_INDEX, JSON_SOURCETYPE, Meta, Resolved, XML_SOURCETYPE,
};
pub use origin::{DatasetOrigins, EventOrigins};
pub use want::Want;

use crate::dataset::Dataset;
use crate::eventtypes::EventTypes;
use crate::meta::WINDOWS_SOURCE;
use crate::native::Keep;
use crate::program::{Program, TimeRule};
use crate::syms::Syms;
use crate::tables::{Profile, PropsMatch, PropsStanza, TableError, Transforms};

/// Why a profile could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The tables did not load.
    #[error(transparent)]
    Tables(#[from] TableError),
    /// Expressions, regular expressions or references in the tables that do not compile.
    #[error("the add-on tables do not compile:\n  {}", .0.join("\n  "))]
    Compile(Vec<String>),
}

/// A compiled profile.
#[derive(Debug)]
pub struct Model {
    name: String,
    pub(crate) syms: Syms,
    pub(crate) props: Vec<PropsStanza>,
    pub(crate) transforms: Transforms,
    pub(crate) lookups: HashMap<String, Arc<LookupTable>>,
    pub(crate) eventtypes: EventTypes,
    pub(crate) datasets: Vec<Dataset>,
    deps: HashMap<Sym, Vec<Sym>>,
    /// `rename`s of `[<sourcetype>]` stanzas.
    renames: hashbrown::HashMap<String, String>,
    /// Programs by sourcetype, then source (bounded: see [`Programs`]).
    programs: RwLock<Programs>,
    /// What the add-ons' expressions are evaluated with (they never read the time of the run).
    eval_ctx: EvalCtx,
}

impl Model {
    /// The default profile: what ESCU's test harness installs.
    pub fn escu() -> Result<Model, ModelError> {
        Model::new(&Profile::escu()?)
    }

    /// Compiles a profile. Every expression, regular expression and reference of the tables
    /// must compile; the props programs of the Windows channels are compiled up front so that
    /// their problems are found here too.
    pub fn new(profile: &Profile) -> Result<Model, ModelError> {
        let mut problems = Vec::new();
        let lookups = compile::lookups(profile);
        let eventtypes = compile::eventtypes(profile, &mut problems);
        let datasets = compile::datasets(profile, &lookups, &mut problems);
        let mut model = Model {
            name: profile.name().to_owned(),
            syms: Syms::new(),
            props: profile.props().stanzas().to_vec(),
            transforms: profile.transforms().clone(),
            lookups,
            eventtypes,
            datasets,
            deps: HashMap::new(),
            renames: profile
                .props()
                .stanzas()
                .iter()
                .filter_map(|s| match (s.matcher(), s.rename()) {
                    (PropsMatch::Sourcetype(name), Some(to)) => Some((name.clone(), to.to_owned())),
                    _ => None,
                })
                .collect(),
            programs: RwLock::new(Programs::default()),
            eval_ctx: EvalCtx::new(Timestamp::from_nanos(0, 0)),
        };
        model.deps = compile::dependencies(&model);
        for channel in [
            "Security",
            "System",
            "Application",
            "Microsoft-Windows-Sysmon/Operational",
            "Microsoft-Windows-PowerShell/Operational",
        ] {
            let source = format!("{WINDOWS_SOURCE}{channel}");
            let p = compile::program(&model, XML_SOURCETYPE, &source, &mut problems);
            if !profile.is_embedded() {
                // Patterns are compiled when first used; tables read from a directory have
                // their programs' EXTRACT and transform patterns compiled now, so that one that
                // does not compile is reported (the built-in ones are compiled by a test). An
                // EVAL's literal pattern that parses but does not compile is not reported here:
                // it matches nothing, counted as a match that gave up.
                for r in &p.reports {
                    if let Some(err) = r.regex.failed() {
                        problems.push(format!("{}: {err}", r.name));
                    }
                }
            }
            model.cache(XML_SOURCETYPE, &source, p);
        }
        compile::check(problems)?;
        Ok(model)
    }

    pub(crate) fn eval_ctx(&self) -> &EvalCtx {
        &self.eval_ctx
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn cache(&self, sourcetype: &str, source: &str, p: Program) -> Arc<Program> {
        let p = Arc::new(p);
        let mut programs = self.programs.write().unwrap_or_else(|e| e.into_inner());
        programs.insert(sourcetype, source, p)
    }

    /// The program for events of a sourcetype and source (compiled on first use; problems of
    /// stanzas that only apply to unusual sources are left out, as Splunk skips what it
    /// cannot apply).
    pub(crate) fn program(&self, sourcetype: &str, source: &str) -> Arc<Program> {
        {
            let programs = self.programs.read().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = programs.get(sourcetype, source) {
                return p;
            }
        }
        let mut problems = Vec::new();
        let p = compile::program(self, sourcetype, source, &mut problems);
        self.cache(sourcetype, source, p)
    }

    /// How many times the program cache was emptied because more distinct (sourcetype,
    /// source) pairs arrived than it holds (see [`MAX_PROGRAMS`]). Growing steadily, it means
    /// an input sends ever new sources: events are still presented correctly, each new pair
    /// costing one compilation.
    pub fn program_cache_resets(&self) -> u64 {
        self.programs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resets
    }

    /// The fields a field is computed from (over every source).
    pub(crate) fn dependencies(&self, f: Sym) -> Vec<Sym> {
        self.deps.get(&f).cloned().unwrap_or_default()
    }

    /// A dataset by full name (`Endpoint.Processes`).
    pub fn dataset(&self, name: &str) -> Option<DatasetId> {
        self.datasets
            .iter()
            .position(|d| d.name == name)
            .map(|i| DatasetId(i as u32))
    }

    /// Every dataset.
    pub fn dataset_ids(&self) -> impl Iterator<Item = DatasetId> + '_ {
        (0..self.datasets.len()).map(|i| DatasetId(i as u32))
    }

    /// A dataset's name.
    pub fn dataset_name(&self, ds: DatasetId) -> &str {
        &self.datasets[ds.0 as usize].name
    }

    /// The fields a dataset presents, sorted by name (`_time` and the other metadata first).
    pub fn dataset_fields(&self, ds: DatasetId) -> Vec<Sym> {
        let d = &self.datasets[ds.0 as usize];
        let meta = ["_time", "host", "source", "sourcetype"];
        let mut names: Vec<Sym> = d
            .fields
            .iter()
            .copied()
            .filter(|f| !meta.contains(&f.as_str()))
            .collect();
        names.sort_by_key(|s| s.as_str());
        meta.iter().map(|m| Sym::new(m)).chain(names).collect()
    }

    /// The fields a dataset's calculations output, in calculation order: its main CIM fields.
    pub fn dataset_calculated(&self, ds: DatasetId) -> Vec<Sym> {
        let d = &self.datasets[ds.0 as usize];
        let mut out: Vec<Sym> = Vec::new();
        for c in &d.calcs {
            for o in c.outputs() {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        out
    }

    /// What a dataset cannot present faithfully, if anything.
    pub fn dataset_unsupported(&self, ds: DatasetId) -> Option<&str> {
        self.datasets[ds.0 as usize].unsupported.as_deref()
    }

    /// Every field a dataset's view reads from events.
    pub(crate) fn dataset_reads(&self, ds: DatasetId) -> Vec<Sym> {
        self.datasets[ds.0 as usize].reads()
    }

    /// The tags of an event.
    pub(crate) fn tags_of(&self, ev: &Event<'_>) -> Value<'_> {
        self.eventtypes.tags(ev)
    }

    /// Presents a decoded record as an event. `meta` is what the input says about it; `want`
    /// the fields to extract; `text` the record's text when the input was text (it is `_raw`
    /// for JSON events).
    pub fn event<'a>(
        &'a self,
        decoded: Decoded<'a>,
        meta: &'a Meta,
        want: &'a Want,
        text: Option<&'a str>,
    ) -> Event<'a> {
        let resolved = self.resolve(decoded, meta);
        let program = self.program(&resolved.sourcetype, &resolved.source);
        let mut extracted: Vec<(Sym, Cow<'a, str>)> = Vec::new();
        for (k, v) in &meta.fields {
            if let Some(sym) = want.keep(k) {
                extracted.push((sym, Cow::Borrowed(v.as_ref())));
            }
        }
        match decoded {
            Decoded::Windows(w) => {
                if program.windows_xml {
                    native::windows_fields(w, want, &mut extracted);
                }
            }
            Decoded::Flat(f) => {
                for (k, v) in &f.fields {
                    if v.is_empty() {
                        continue;
                    }
                    if let Some(sym) = want.keep(k) {
                        extracted.push((sym, Cow::Borrowed(v.as_ref())));
                    }
                }
            }
        }
        let time = meta
            .time
            .or_else(|| event_time(&program.time, decoded))
            .or(meta.fallback_time);
        Event::new(self, program, decoded, resolved, extracted, time, text)
    }

    /// The search-time name of a sourcetype that a `[<sourcetype>]` stanza renames
    /// (`props.conf.spec`, `rename`: "Renames [<sourcetype>] as <string> at search time …
    /// Data from a renamed sourcetype only uses the search-time configuration for the target
    /// sourcetype"). The Windows and Sysmon add-ons rename every `XmlWinEventLog:<channel>`
    /// sourcetype to `xmlwineventlog`.
    fn rename(&self, sourcetype: &str) -> Option<&str> {
        self.renames.get(sourcetype).map(String::as_str)
    }

    /// The metadata of an event: what its input says, else derived as [`meta`] documents; a
    /// sourcetype an add-on renames is shown under its new name.
    fn resolve<'a>(&'a self, decoded: Decoded<'a>, meta: &'a Meta) -> Resolved<'a> {
        let (source, sourcetype, host): (Cow<'a, str>, Cow<'a, str>, Option<Cow<'a, str>>) =
            match decoded {
                Decoded::Windows(w) => {
                    let channel = w.channel().unwrap_or("");
                    let mut source = String::with_capacity(WINDOWS_SOURCE.len() + channel.len());
                    source.push_str(WINDOWS_SOURCE);
                    source.push_str(channel);
                    (
                        Cow::Owned(source),
                        Cow::Borrowed(XML_SOURCETYPE),
                        w.computer().filter(|c| !c.is_empty()).map(Cow::Borrowed),
                    )
                }
                Decoded::Flat(f) => {
                    let cs = f.get("event_simpleName").is_some() && f.get("aid").is_some();
                    let st = if cs {
                        CROWDSTRIKE_SOURCETYPE
                    } else {
                        JSON_SOURCETYPE
                    };
                    (Cow::Borrowed(""), Cow::Borrowed(st), None)
                }
            };
        let sourcetype = meta.sourcetype.as_deref().map_or(sourcetype, Cow::Borrowed);
        let sourcetype = match self.rename(&sourcetype) {
            Some(to) => Cow::Borrowed(to),
            None => sourcetype,
        };
        Resolved {
            source: meta.source.as_deref().map_or(source, Cow::Borrowed),
            sourcetype,
            host: meta.host.as_deref().map(Cow::Borrowed).or(host),
            index: Cow::Borrowed(meta.index.as_deref().unwrap_or(DEFAULT_INDEX)),
        }
    }

    /// An event seen through a dataset, when it belongs to it.
    pub fn view<'e, 'a>(&'e self, ev: &'e Event<'a>, ds: DatasetId) -> Option<View<'e, 'a>> {
        let i = ds.0 as usize;
        if !ev.program.datasets.contains(&i) {
            return None;
        }
        let d = &self.datasets[i];
        d.contains(ev).then(|| View::new(d, ev))
    }

    /// Where the fields of raw events come from, for the prefilter.
    pub fn event_origins(&self) -> EventOrigins<'_> {
        EventOrigins::new(self)
    }

    /// Where the fields of a dataset come from, for the prefilter.
    pub fn dataset_origins(&self, ds: DatasetId) -> DatasetOrigins<'_> {
        DatasetOrigins::new(self, ds)
    }
}

impl Catalog for Model {
    fn dataset(&self, model: &str, dataset: &str) -> Option<DatasetInfo> {
        let full = if dataset.is_empty() {
            // `datamodel=Network_Traffic`: the model's only root dataset.
            let roots: Vec<&Dataset> = self
                .datasets
                .iter()
                .filter(|d| {
                    d.name
                        .strip_prefix(model)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| !r.contains('.'))
                })
                .collect();
            match roots.as_slice() {
                [one] => one.name.clone(),
                _ => return None,
            }
        } else {
            format!("{model}.{dataset}")
        };
        let d = self.datasets.iter().find(|d| d.name == full)?;
        Some(DatasetInfo {
            name: d.name.clone(),
            prefixes: d.prefixes.clone(),
        })
    }
}

/// How many (sourcetype, source) programs the model keeps at most. A program depends on the
/// pair only through the stanzas, event types and datasets the pair selects, so a real
/// deployment has a few dozen; an input that names ever new sources (any HTTP Event Collector
/// client can) must not make the cache grow without bound.
pub const MAX_PROGRAMS: usize = 512;

/// How many bytes of (sourcetype, source) names the program cache keeps at most; a pair longer
/// than this is compiled for each event and never kept.
pub const MAX_PROGRAM_KEY_BYTES: usize = 1 << 20;

/// The program cache. Key design decision: when full, it is emptied and starts again (counted
/// in `resets`) rather than refusing new pairs, so the pairs in use are cached again at the
/// cost of one compilation each, and neither memory nor the time per event grows with the
/// number of distinct pairs ever seen.
#[derive(Debug, Default)]
struct Programs {
    map: hashbrown::HashMap<String, hashbrown::HashMap<String, Arc<Program>>>,
    entries: usize,
    key_bytes: usize,
    resets: u64,
}

impl Programs {
    fn get(&self, sourcetype: &str, source: &str) -> Option<Arc<Program>> {
        self.map.get(sourcetype)?.get(source).cloned()
    }

    /// Keeps `p` for the pair unless a program is already kept for it; returns the kept one.
    fn insert(&mut self, sourcetype: &str, source: &str, p: Arc<Program>) -> Arc<Program> {
        if let Some(kept) = self.get(sourcetype, source) {
            return kept;
        }
        let cost = sourcetype.len() + source.len();
        if cost > MAX_PROGRAM_KEY_BYTES {
            return p;
        }
        if self.entries >= MAX_PROGRAMS || self.key_bytes + cost > MAX_PROGRAM_KEY_BYTES {
            self.map.clear();
            self.entries = 0;
            self.key_bytes = 0;
            self.resets += 1;
        }
        self.entries += 1;
        self.key_bytes += cost;
        self.map
            .entry(sourcetype.to_owned())
            .or_default()
            .insert(source.to_owned(), Arc::clone(&p));
        p
    }
}

/// `_time` by the program's rule: the `TIME_PREFIX` data field in its format and zone, else
/// the default for the record kind.
fn event_time(rule: &TimeRule, decoded: Decoded<'_>) -> Option<Timestamp> {
    match (rule, decoded) {
        (TimeRule::DataField { field, format }, Decoded::Windows(w)) => w
            .data(field)
            .and_then(|text| format.parse(text))
            .or_else(|| windows_time(w)),
        (_, Decoded::Windows(w)) => windows_time(w),
        (_, Decoded::Flat(f)) => f
            .get("timestamp")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .map(Timestamp::from_millis)
            .or_else(|| {
                f.get("_time")
                    .and_then(|t| Timestamp::parse_epoch_secs(t.trim()).ok())
            }),
    }
}

fn windows_time(w: &WinEvent<'_>) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(w.system_time()?.trim()).ok()
}

#[cfg(test)]
mod program_cache_tests {
    use super::*;

    #[test]
    fn distinct_sources_cannot_grow_the_program_cache_without_bound() {
        let model = Model::escu().unwrap();
        let known = model.program(XML_SOURCETYPE, "XmlWinEventLog:Security");
        for i in 0..MAX_PROGRAMS + 10 {
            // A sourcetype no stanza names: cheap programs, one per source.
            let _ = model.program("hostile", &format!("source-{i}"));
        }
        let cached = model.programs.read().unwrap().entries;
        assert!(cached <= MAX_PROGRAMS, "{cached} programs kept");
        assert_eq!(model.program_cache_resets(), 1);
        // Pairs in use are compiled again and give the same program.
        let again = model.program(XML_SOURCETYPE, "XmlWinEventLog:Security");
        assert_eq!(again.datasets, known.datasets);
        assert_eq!(again.windows_xml, known.windows_xml);
        // A pair too long to keep is compiled and not kept.
        let long = "x".repeat(MAX_PROGRAM_KEY_BYTES + 1);
        let before = model.programs.read().unwrap().key_bytes;
        let _ = model.program("hostile", &long);
        assert_eq!(model.programs.read().unwrap().key_bytes, before);
    }
}
