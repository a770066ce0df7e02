//! Compiling a profile's tables into what events are evaluated with: lookups, event types and
//! datasets once, props programs per (sourcetype, source) on first use.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cimhunt_spl::eval::EvalExpr;
use cimhunt_spl::lookup::{ColumnMatch, LookupTable};
use cimhunt_spl::search::{Expr, parse_expr};
use cimhunt_spl::{Macro, MacroSet, Pattern, Sym};

use crate::ModelError;
use crate::dataset::{Calc, Dataset};
use crate::eventtypes::{EventType, EventTypes, referenced};
use crate::index::LookupIndex;
use crate::native::NATIVE_TRANSFORMS;
use crate::partial::{Known, Tri, partial_eval};
use crate::program::{Alias, AutoLookup, Produce, Program, Report, SourceKey, TimeRule};
use crate::regex::Regex;
use crate::syms::SymMap;
use crate::tables::{
    self, AliasMode, CalcKind, KvMode, MatchKind, OutputMode, Profile, PropsMatch, PropsStanza,
    Transform,
};
use crate::time_format::TimeFormat;

/// Every lookup definition with a file, as a matching table.
pub(crate) fn lookups(profile: &Profile) -> HashMap<String, Arc<LookupTable>> {
    let mut out = HashMap::new();
    for t in profile.transforms().all() {
        let Transform::Lookup(def) = t else { continue };
        let Some(file) = profile.lookup_table(&def.name) else {
            continue;
        };
        let mut table = LookupTable::new(
            def.name.clone(),
            file.columns().to_vec(),
            file.rows().to_vec(),
        )
        .with_case_sensitive(def.case_sensitive_match)
        .with_matches(
            def.min_matches as usize,
            def.max_matches() as usize,
            def.default_match.clone(),
        );
        for (kind, col) in &def.match_types {
            let how = match kind {
                MatchKind::Wildcard => ColumnMatch::Wildcard,
                MatchKind::Cidr => ColumnMatch::Cidr,
                MatchKind::Exact => ColumnMatch::Exact,
            };
            table = table.with_match(col, how);
        }
        out.insert(def.name.clone(), Arc::new(table));
    }
    out
}

/// The event types in dependency order, with their tags, and the field-value tags.
pub(crate) fn eventtypes(profile: &Profile, problems: &mut Vec<String>) -> EventTypes {
    let et_sym = Sym::new("eventtype");
    let mut parsed: Vec<(String, Expr, Vec<String>)> = Vec::new();
    for et in profile.eventtypes().all() {
        if et.disabled {
            continue;
        }
        match parse_expr(&et.search) {
            Ok(expr) => {
                let refs = referenced(&expr, et_sym);
                parsed.push((et.name.clone(), expr, refs));
            }
            Err(e) => problems.push(format!("event type `{}`: {e}", et.name)),
        }
    }
    // Dependency order: repeatedly take the types whose references are all placed.
    let mut order: Vec<usize> = Vec::new();
    let mut placed = vec![false; parsed.len()];
    loop {
        let mut progress = false;
        for i in 0..parsed.len() {
            if placed[i] {
                continue;
            }
            let ready = parsed[i].2.iter().all(|r| {
                parsed
                    .iter()
                    .position(|(n, _, _)| n == r)
                    .is_none_or(|j| placed[j] && j != i)
            });
            if ready {
                placed[i] = true;
                order.push(i);
                progress = true;
            }
        }
        if !progress {
            break;
        }
    }
    for (i, p) in placed.iter().enumerate() {
        if !p {
            problems.push(format!(
                "event type `{}` references itself through others; left out",
                parsed[i].0
            ));
        }
    }
    let names: Vec<String> = order.iter().map(|&i| parsed[i].0.clone()).collect();
    let list: Vec<EventType> = order
        .iter()
        .map(|&i| {
            let (name, expr, refs) = &parsed[i];
            let deps = refs
                .iter()
                .filter_map(|r| names.iter().position(|n| n == r))
                .collect();
            let tags = profile
                .tags()
                .for_event_type(name)
                .map(str::to_owned)
                .collect();
            EventType {
                name: name.clone(),
                expr: expr.clone(),
                deps,
                tags,
            }
        })
        .collect();
    let field_tags = profile
        .tags()
        .all()
        .iter()
        .filter(|t| t.field != "eventtype")
        .map(|t| {
            (
                Sym::new(&t.field),
                Pattern::new(&t.value),
                t.enabled().map(str::to_owned).collect(),
            )
        })
        .collect();
    EventTypes::new(list, field_tags)
}

/// The CIM macros (`cim_Endpoint_indexes` …) for expanding dataset constraints.
fn cim_macros(profile: &Profile) -> MacroSet {
    let mut set = MacroSet::with_builtins();
    for m in profile.macros().all() {
        set.insert(Macro {
            name: m.name.clone(),
            args: m.args.clone(),
            definition: m.definition.clone(),
            origin: m.origin.file().to_owned(),
        });
    }
    set
}

/// Every dataset, compiled with its lineage.
pub(crate) fn datasets(
    profile: &Profile,
    lookups: &HashMap<String, Arc<LookupTable>>,
    problems: &mut Vec<String>,
) -> Vec<Dataset> {
    let macros = cim_macros(profile);
    let models = profile.datamodels();
    let meta = ["_time", "host", "source", "sourcetype"];
    let mut out = Vec::new();
    for d in models.all() {
        let lineage = models.lineage(d.name());
        let mut ds = Dataset {
            name: d.name().to_owned(),
            prefixes: prefixes(&lineage.iter().map(|l| l.object_name()).collect::<Vec<_>>()),
            constraints: Vec::new(),
            calcs: Vec::new(),
            fields: meta.iter().map(|m| Sym::new(m)).collect(),
            producers: SymMap::default(),
            expanded: Vec::new(),
            unsupported: None,
        };
        for level in &lineage {
            let search = level.base_search().or(level.constraint()).unwrap_or("");
            if let Err(e) = constraint(search, &macros, &mut ds) {
                problems.push(format!("dataset `{}`: {e}", d.name()));
            }
            for f in level.fields() {
                ds.fields.insert(Sym::new(&f.name));
            }
            for c in level.calculations() {
                match calc(c, lookups) {
                    Ok(Some(calc)) => push_calc(&mut ds, calc),
                    Ok(None) => {}
                    Err(e) => problems.push(format!("dataset `{}`: {e}", d.name())),
                }
            }
        }
        out.push(ds);
    }
    out
}

/// The prefixes a search may write before a dataset's fields: `Processes.` for
/// `Endpoint.Processes`, and for a child both its own name and its lineage
/// (`All_Traffic.Traffic_By_Action.`, `Traffic_By_Action.`, `All_Traffic.`).
fn prefixes(lineage: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in 0..lineage.len() {
        out.push(format!("{}.", lineage[i..].join(".")));
        out.push(format!("{}.", lineage[..=i].join(".")));
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out.dedup();
    out
}

fn push_calc(ds: &mut Dataset, calc: Calc) {
    let k = ds.calcs.len();
    for (i, o) in calc.outputs().into_iter().enumerate() {
        ds.fields.insert(o);
        ds.producers.entry(o).or_default().push((k, i));
    }
    ds.calcs.push(calc);
}

/// A constraint or base search: its search part becomes a constraint, its `| eval`
/// assignments calculations; other commands make the dataset unsupported.
fn constraint(text: &str, macros: &MacroSet, ds: &mut Dataset) -> Result<(), String> {
    let expanded = macros.expand(text).map_err(|e| e.to_string())?;
    let text = expanded.text();
    let mut parts = split_pipes(text).into_iter();
    let search = parts.next().unwrap_or_default();
    ds.constraints
        .push(parse_expr(&search).map_err(|e| e.to_string())?);
    for cmd in parts {
        let cmd = cmd.trim();
        if let Some(assignments) = cmd.strip_prefix("eval ") {
            for a in split_top_level(assignments, ',') {
                let Some((name, expr)) = a.split_once('=') else {
                    return Err(format!("`eval {a}` is not an assignment"));
                };
                let expr = EvalExpr::parse_deferred(expr.trim()).map_err(|e| e.to_string())?;
                push_calc(
                    ds,
                    Calc::Eval {
                        output: Sym::new(name.trim()),
                        expr: Arc::new(expr),
                    },
                );
            }
        } else if let Some(field) = cmd
            .strip_prefix("mvexpand ")
            .map(str::trim)
            .filter(|f| !f.is_empty() && !f.contains(char::is_whitespace))
        {
            // See `dataset`: the view keeps the field's values together.
            ds.expanded.push(Sym::new(field));
        } else {
            ds.unsupported = Some(format!("base search command `{cmd}`"));
        }
    }
    Ok(())
}

/// Splits at `|` outside quotes.
fn split_pipes(text: &str) -> Vec<String> {
    split_top_level(text, '|')
}

/// Splits at `sep` outside double quotes and parentheses.
fn split_top_level(text: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut depth = 0i32;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            cur.push(c);
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn calc(
    c: &tables::Calculation,
    lookups: &HashMap<String, Arc<LookupTable>>,
) -> Result<Option<Calc>, String> {
    Ok(Some(match &c.kind {
        CalcKind::Eval { expression } => {
            let Some(out) = c.outputs.first() else {
                return Err(format!("calculation {} has no output", c.number));
            };
            Calc::Eval {
                output: Sym::new(&out.name),
                expr: Arc::new(EvalExpr::parse_deferred(expression).map_err(|e| e.to_string())?),
            }
        }
        CalcKind::Lookup { lookup, inputs } => {
            let table = lookups
                .get(lookup)
                .ok_or_else(|| format!("calculation {}: no lookup `{lookup}`", c.number))?;
            let col = |name: &str| {
                table
                    .column(name)
                    .ok_or_else(|| format!("lookup `{lookup}` has no column `{name}`"))
            };
            let inputs = inputs
                .iter()
                .map(|(column, field)| Ok((col(column)?, Sym::new(field))))
                .collect::<Result<_, String>>()?;
            let outputs = c
                .outputs
                .iter()
                .map(|o| {
                    Ok((
                        col(o.column.as_deref().unwrap_or(&o.name))?,
                        Sym::new(&o.name),
                    ))
                })
                .collect::<Result<_, String>>()?;
            Calc::Lookup {
                table: Arc::clone(table),
                inputs,
                outputs,
            }
        }
        CalcKind::Rex { input, expression } => Calc::Rex {
            input: Sym::new(input),
            regex: Arc::new(Regex::new(expression)?),
            outputs: c
                .outputs
                .iter()
                .map(|o| (o.name.clone(), Sym::new(&o.name)))
                .collect(),
        },
        // GeoIP needs a database cimhunt does not ship; its outputs stay null.
        _ => return Ok(None),
    }))
}

/// The props stanzas that apply to a sourcetype and source, source stanzas last.
fn applicable<'p>(
    stanzas: &'p [PropsStanza],
    sourcetype: &str,
    source: &str,
) -> Vec<&'p PropsStanza> {
    let mut st: Vec<&PropsStanza> = Vec::new();
    let mut src: Vec<&PropsStanza> = Vec::new();
    for s in stanzas {
        match s.matcher() {
            PropsMatch::Sourcetype(name) if name == sourcetype => st.push(s),
            PropsMatch::Source(pattern) if source_matches(pattern, source) => src.push(s),
            _ => {}
        }
    }
    st.extend(src);
    st
}

/// Splunk's source patterns: `...` matches anything, `*` anything but a path separator
/// (`props.conf.spec`, "[source::<source>]"); matching is case-sensitive.
pub(crate) fn source_matches(pattern: &str, source: &str) -> bool {
    if !pattern.contains('*') && !pattern.contains("...") && !pattern.contains('(') {
        return pattern == source;
    }
    let mut re = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("...") {
            re.push_str(".*");
            rest = r;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            match c {
                '*' => re.push_str("[^/\\\\]*"),
                '(' | ')' | '|' => re.push(c),
                c => re.push_str(&regex_escape(c)),
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push('$');
    Regex::new(&re).is_ok_and(|r| r.captures(source).is_some())
}

fn regex_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() || c == '_' {
        c.to_string()
    } else if c.is_ascii() {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// Compiles the program for events of `sourcetype` and `source`.
pub(crate) fn program(
    model: &crate::Model,
    sourcetype: &str,
    source: &str,
    problems: &mut Vec<String>,
) -> Program {
    let stanzas = applicable(&model.props, sourcetype, source);
    let mut p = Program::default();
    // Settings of the same class: later stanzas (source stanzas) replace earlier ones.
    let mut extracts: Vec<(&str, &tables::Extract)> = Vec::new();
    let mut reports: Vec<(&str, &tables::TransformList)> = Vec::new();
    let mut aliases: Vec<(&str, &tables::FieldAlias)> = Vec::new();
    let mut evals: Vec<(&str, &tables::Eval)> = Vec::new();
    let mut autolookups: Vec<(&str, &tables::AutoLookup)> = Vec::new();
    for s in &stanzas {
        fn put<'a, T>(list: &mut Vec<(&'a str, &'a T)>, key: &'a str, v: &'a T) {
            match list.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = v,
                None => list.push((key, v)),
            }
        }
        for e in s.extracts() {
            put(&mut extracts, &e.class, e);
        }
        for r in s.reports() {
            put(&mut reports, &r.class, r);
        }
        for a in s.aliases() {
            put(&mut aliases, &a.class, a);
        }
        for e in s.evals() {
            put(&mut evals, &e.field, e);
        }
        for l in s.lookups() {
            put(&mut autolookups, &l.class, l);
        }
        if let Some(kv) = s.kv_mode() {
            p.kv_json = kv == KvMode::Json;
        }
        if let Some(prefix) = &s.time().prefix {
            p.time = time_rule(prefix, s.time());
        }
    }
    for list in [
        &mut extracts as &mut dyn SortByKey,
        &mut reports,
        &mut aliases,
        &mut autolookups,
    ] {
        list.sort_keys();
    }
    // EXTRACT-: inline regexes with named groups.
    for (class, e) in &extracts {
        match Regex::new(&format!("(?ms){}", e.regex)) {
            Ok(regex) => {
                let groups = regex
                    .group_names()
                    .into_iter()
                    .map(|(_, n)| (Sym::new(&n), n))
                    .collect();
                let source = match &e.source_field {
                    Some(f) if f != "_raw" => SourceKey::Field(Sym::new(f)),
                    _ => SourceKey::Raw,
                };
                add_report(
                    &mut p,
                    Report {
                        name: format!("EXTRACT-{class}"),
                        regex: Arc::new(regex),
                        source,
                        produce: Produce::Groups(groups),
                        mv_add: false,
                        clean_keys: false,
                        keep_empty: false,
                        repeat: false,
                    },
                );
            }
            Err(err) => problems.push(format!("EXTRACT-{class}: {err}")),
        }
    }
    // REPORT-: transforms.
    for (class, r) in &reports {
        for name in &r.transforms {
            if NATIVE_TRANSFORMS.contains(&name.as_str()) {
                p.windows_xml = true;
                continue;
            }
            if is_subsumed(name) {
                continue;
            }
            let Some(t) = model.transforms.extraction(name) else {
                problems.push(format!("REPORT-{class}: no transform `{name}`"));
                continue;
            };
            match report(class, t) {
                Ok(rep) => add_report(&mut p, rep),
                Err(e) => problems.push(format!("REPORT-{class} `{name}`: {e}")),
            }
        }
    }
    // FIELDALIAS-.
    for (_, a) in &aliases {
        for pair in &a.pairs {
            let alias = Alias {
                from: Sym::new(&pair.from),
                keep_existing: pair.mode == AliasMode::AsNew,
            };
            p.def_mut(Sym::new(&pair.to)).aliases.push(alias);
        }
    }
    // EVAL-.
    for (field, e) in &evals {
        match EvalExpr::parse_deferred(&e.expression) {
            Ok(expr) => {
                let f = Sym::new(field);
                let idx = p.evals.len();
                p.evals.push((f, Arc::new(expr)));
                let slot = p.slot();
                let def = p.def_mut(f);
                def.eval = Some(idx);
                def.eval_slot = Some(slot);
            }
            Err(err) => problems.push(format!("EVAL-{field}: {err}")),
        }
    }
    // LOOKUP-.
    for (class, l) in &autolookups {
        match autolookup(model, l) {
            Ok(al) => {
                let idx = p.lookups.len();
                for (_, out) in &al.outputs {
                    p.def_mut(*out).lookups.push(idx);
                }
                p.lookups.push(al);
            }
            Err(e) => problems.push(format!("LOOKUP-{class}: {e}")),
        }
    }
    // What events of this program can be: their event types and datasets.
    let syms = &model.syms;
    let known = Known {
        fields: vec![(syms.source, source), (syms.sourcetype, sourcetype)],
    };
    p.eventtypes = model.eventtypes.candidates(&known);
    p.eventtype_searches = p
        .eventtypes
        .iter()
        .map(|&i| crate::partial::simplify(&model.eventtypes.list[i].expr, &known))
        .collect();
    let tags = model.eventtypes.possible_tags(&p.eventtypes);
    for (i, ds) in model.datasets.iter().enumerate() {
        let possible = ds.constraints.iter().all(|c| {
            partial_eval(c, &known, &|_| Tri::Unknown) != Tri::False && tags_possible(c, &tags)
        });
        if possible {
            p.datasets.push(i);
        }
    }
    p
}

/// Whether a constraint's required `tag=x` terms can all be satisfied by the tags events can
/// have.
fn tags_possible(c: &Expr, tags: &std::collections::BTreeSet<String>) -> bool {
    let tag = Sym::new("tag");
    let mut ok = true;
    // Only top-level conjunctions of `tag=…` are required.
    let items: Vec<&Expr> = match c {
        Expr::And(items) => items.iter().collect(),
        e => vec![e],
    };
    for e in items {
        if let Expr::Compare {
            field,
            op: cimhunt_spl::CompareOp::Eq,
            value,
        } = e
            && *field == tag
            && !value.has_wildcard()
            && !tags.iter().any(|t| value.matches(t))
        {
            ok = false;
        }
    }
    ok
}

/// Sysmon transforms that duplicate the Windows add-on's generic extraction: the generic
/// transforms run first (their class sorts first) and, without `MV_ADD`, a duplicate value is
/// discarded, so these add nothing (ADDON_FIELDS 1.4: "use the Sysmon transforms only for the
/// fields the Windows add-on does not produce").
pub(crate) fn is_subsumed(name: &str) -> bool {
    matches!(
        name,
        "sysmon-eventid"
            | "sysmon-version"
            | "sysmon-level"
            | "sysmon-task"
            | "sysmon-opcode"
            | "sysmon-keywords"
            | "sysmon-computer"
            | "sysmon-data"
    )
}

fn add_report(p: &mut Program, rep: Report) {
    let idx = p.reports.len();
    let names: Vec<Sym> = match &rep.produce {
        Produce::Named(items) => items.iter().map(|(s, _)| *s).collect(),
        Produce::Groups(groups) => groups.iter().map(|(s, _)| *s).collect(),
        Produce::Dynamic(_) => {
            p.dynamic_reports.push(idx);
            Vec::new()
        }
    };
    p.reports.push(rep);
    for n in names {
        if p.def(n).and_then(|d| d.extracted_slot).is_none() {
            let slot = p.slot();
            p.def_mut(n).extracted_slot = Some(slot);
        }
        p.def_mut(n).reports.push(idx);
    }
}

fn report(class: &str, t: &tables::Extraction) -> Result<Report, String> {
    let regex_text = t
        .regex
        .as_deref()
        .ok_or("no REGEX (DELIMS is not supported)")?;
    let regex = Arc::new(Regex::new(regex_text)?);
    let source = match t.source_key.as_deref() {
        None | Some("_raw") => SourceKey::Raw,
        Some(f) => SourceKey::Field(Sym::new(f)),
    };
    let produce = match &t.format {
        None => Produce::Groups(
            regex
                .group_names()
                .into_iter()
                .map(|(_, n)| (Sym::new(&n), n))
                .collect(),
        ),
        Some(format) => {
            if format.items.iter().all(|i| i.name.as_text().is_some()) {
                Produce::Named(
                    format
                        .items
                        .iter()
                        .map(|i| {
                            (
                                Sym::new(i.name.as_text().unwrap_or_default()),
                                i.value.clone(),
                            )
                        })
                        .collect(),
                )
            } else {
                Produce::Dynamic(
                    format
                        .items
                        .iter()
                        .map(|i| (i.name.clone(), i.value.clone()))
                        .collect(),
                )
            }
        }
    };
    let repeat = t.mv_add || t.repeat_match || matches!(produce, Produce::Dynamic(_));
    Ok(Report {
        name: format!("REPORT-{class} {}", t.name),
        regex,
        source,
        produce,
        mv_add: t.mv_add,
        clean_keys: t.clean_keys,
        keep_empty: t.keep_empty_vals,
        repeat,
    })
}

fn autolookup(model: &crate::Model, l: &tables::AutoLookup) -> Result<AutoLookup, String> {
    let table = model
        .lookups
        .get(&l.lookup)
        .ok_or_else(|| format!("no lookup table `{}` (or its file)", l.lookup))?;
    let col = |name: &str| {
        table
            .column(name)
            .ok_or_else(|| format!("lookup `{}` has no column `{name}`", l.lookup))
    };
    let inputs: Vec<(usize, Sym)> = l
        .inputs
        .iter()
        .map(|m| Ok((col(&m.lookup_field)?, Sym::new(&m.event_field))))
        .collect::<Result<_, String>>()?;
    let (only_new, outputs) = match &l.output {
        Some((mode, fields)) => (
            *mode == OutputMode::OutputNew,
            fields
                .iter()
                .map(|m| Ok((col(&m.lookup_field)?, Sym::new(&m.event_field))))
                .collect::<Result<Vec<_>, String>>()?,
        ),
        None => (
            false,
            table
                .columns()
                .iter()
                .enumerate()
                .filter(|(i, _)| !inputs.iter().any(|(c, _)| c == i))
                .map(|(i, c)| (i, Sym::new(c)))
                .collect(),
        ),
    };
    let index = model.transforms.lookup(&l.lookup).and_then(|def| {
        let cols: Vec<usize> = inputs.iter().map(|(c, _)| *c).collect();
        LookupIndex::new(table, def, &cols).map(Arc::new)
    });
    Ok(AutoLookup {
        name: l.lookup.clone(),
        table: Arc::clone(table),
        inputs,
        outputs,
        only_new,
        index,
    })
}

fn time_rule(prefix: &str, t: &tables::TimeSettings) -> TimeRule {
    match (time_data_field(prefix), &t.format) {
        (Some(f), Some(format)) => TimeRule::DataField {
            field: f.to_owned(),
            format: TimeFormat::new(format, t.zone.as_deref()),
        },
        _ => TimeRule::Default,
    }
}

/// The `EventData` value a `TIME_PREFIX` names (`<Data Name='UtcTime'>`), read directly.
fn time_data_field(prefix: &str) -> Option<&str> {
    prefix
        .strip_prefix("<Data Name='")
        .and_then(|r| r.strip_suffix("'>"))
        .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Lists sorted by their class keys, in ASCII order.
trait SortByKey {
    fn sort_keys(&mut self);
}

impl<T> SortByKey for Vec<(&str, &T)> {
    fn sort_keys(&mut self) {
        self.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
}

/// For each field, the fields it is computed from, over every stanza, dataset and event type
/// (a superset for any one event): what [`crate::Want`] closes over.
pub(crate) fn dependencies(model: &crate::Model) -> HashMap<Sym, Vec<Sym>> {
    let mut deps: HashMap<Sym, HashSet<Sym>> = HashMap::new();
    let mut add = |to: Sym, from: Sym| {
        deps.entry(to).or_default().insert(from);
    };
    for s in &model.props {
        for a in s.aliases() {
            for pair in &a.pairs {
                add(Sym::new(&pair.to), Sym::new(&pair.from));
            }
        }
        for e in s.evals() {
            if let Ok(expr) = EvalExpr::parse_deferred(&e.expression) {
                for f in expr.fields() {
                    add(Sym::new(&e.field), f);
                }
            }
        }
        for l in s.lookups() {
            let ins: Vec<Sym> = l.inputs.iter().map(|m| Sym::new(&m.event_field)).collect();
            let outs: Vec<Sym> = match &l.output {
                Some((_, fields)) => fields.iter().map(|m| Sym::new(&m.event_field)).collect(),
                None => model
                    .lookups
                    .get(&l.lookup)
                    .map(|t| t.columns().iter().map(|c| Sym::new(c)).collect())
                    .unwrap_or_default(),
            };
            for o in &outs {
                for i in &ins {
                    add(*o, *i);
                }
            }
        }
        for r in s.reports() {
            for name in &r.transforms {
                let Some(t) = model.transforms.extraction(name) else {
                    continue;
                };
                let Some(src) = t.source_key.as_deref().filter(|k| *k != "_raw") else {
                    continue;
                };
                if let Some(format) = &t.format {
                    for item in &format.items {
                        if let Some(n) = item.name.as_text() {
                            add(Sym::new(n), Sym::new(src));
                        }
                    }
                }
            }
        }
        // The field `_time` is read from, when the format to read it is given too.
        if let Some(prefix) = &s.time().prefix
            && s.time().format.is_some()
            && let Some(field) = time_data_field(prefix)
        {
            add(Sym::new("_time"), Sym::new(field));
        }
    }
    let et = Sym::new("eventtype");
    let tag = Sym::new("tag");
    add(tag, et);
    for e in &model.eventtypes.list {
        for f in e.expr.fields() {
            add(et, f);
        }
    }
    for (f, _, _) in &model.eventtypes.field_tags {
        add(tag, *f);
    }
    for ds in &model.datasets {
        for c in &ds.calcs {
            for o in c.outputs() {
                for r in c.reads() {
                    add(o, r);
                }
            }
        }
    }
    deps.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

/// A compiled profile's problems, as errors.
pub(crate) fn check(problems: Vec<String>) -> Result<(), ModelError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ModelError::Compile(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_patterns_follow_props_conf_spec() {
        assert!(source_matches(
            "XmlWinEventLog:Security",
            "XmlWinEventLog:Security"
        ));
        assert!(!source_matches(
            "XmlWinEventLog:Security",
            "xmlwineventlog:security"
        ));
        assert!(source_matches(
            "...WindowsUpdate.Log",
            "C:\\x\\WindowsUpdate.Log"
        ));
        assert!(source_matches(
            "(WMI:WinEventLog|WinEventLog)...",
            "WinEventLog:System"
        ));
        assert!(!source_matches("a*c", "ab/c"));
    }

    /// The tables' regular expressions are compiled when first used (`Regex::new`,
    /// `EvalExpr::parse_deferred`), so a pattern that parses but does not compile would only
    /// match nothing: every pattern of the built-in tables is compiled here.
    #[test]
    fn every_pattern_of_the_tables_compiles() {
        let profile = crate::tables::Profile::escu().unwrap();
        let mut checked = 0;
        for s in profile.props().stanzas() {
            for e in s.extracts() {
                let re = Regex::new(&format!("(?ms){}", e.regex)).unwrap();
                assert_eq!(re.failed(), None, "EXTRACT-{}", e.class);
                checked += 1;
            }
            for e in s.evals() {
                // Parsed as a detection's eval is: every literal pattern compiled now.
                EvalExpr::parse(&e.expression)
                    .unwrap_or_else(|err| panic!("EVAL-{}: {err}", e.field));
                checked += 1;
            }
        }
        for t in profile.transforms().all() {
            if let tables::Transform::Extraction(x) = t
                && let Some(text) = &x.regex
            {
                let re = Regex::new(text).unwrap();
                assert_eq!(re.failed(), None, "transform {}", x.name);
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} patterns and EVALs");
    }

    #[test]
    fn prefixes_cover_the_lineage() {
        assert_eq!(prefixes(&["Processes"]), ["Processes."]);
        assert_eq!(
            prefixes(&["All_Traffic", "Traffic_By_Action"]),
            [
                "All_Traffic.Traffic_By_Action.",
                "Traffic_By_Action.",
                "All_Traffic."
            ]
        );
    }
}
