//! What several test files share: a small data-model catalog with lookup tables, and a runner
//! that executes a compiled plan over rows the way the engine does (source filter, streaming
//! commands per row, the mergeable aggregation, then the post commands with the rows of the
//! plan's subsearches, run over the same rows).

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use cimhunt_spl::live::Live;
use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::pipeline::run_post;
use cimhunt_spl::{
    Aggregation, Catalog, DatasetInfo, ExecCtx, ExecError, Groups, KeyFilter, Macro, MacroSet,
    Plan, Row, RowSpill, Source, SplError, Sym, Value, analyze, compile,
};

/// Endpoint.Processes/Filesystem/Registry and Network_Traffic.All_Traffic, and lookup tables.
#[derive(Default)]
pub struct TestCatalog {
    pub lookups: HashMap<String, Arc<LookupTable>>,
}

impl TestCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_lookup(mut self, name: &str, table: LookupTable) -> Self {
        self.lookups.insert(name.to_owned(), Arc::new(table));
        self
    }
}

impl Catalog for TestCatalog {
    fn dataset(&self, model: &str, dataset: &str) -> Option<DatasetInfo> {
        let (name, prefix) = match (model, dataset) {
            ("Endpoint", "Processes") => ("Endpoint.Processes", "Processes."),
            ("Endpoint", "Filesystem") => ("Endpoint.Filesystem", "Filesystem."),
            ("Endpoint", "Registry") => ("Endpoint.Registry", "Registry."),
            ("Network_Traffic", "All_Traffic" | "") => {
                ("Network_Traffic.All_Traffic", "All_Traffic.")
            }
            _ => return None,
        };
        Some(DatasetInfo {
            name: name.to_owned(),
            prefixes: vec![prefix.to_owned()],
        })
    }

    fn lookup(&self, name: &str) -> Option<Arc<LookupTable>> {
        self.lookups.get(name).cloned()
    }
}

pub fn mac(name: &str, args: &[&str], definition: &str) -> Macro {
    Macro {
        name: name.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        definition: definition.to_owned(),
        origin: "test".to_owned(),
    }
}

/// Rows of field texts (`("f", "a\nb")` is not a multivalue: use [`mv`]).
pub fn rows(data: &[&[(&str, &str)]]) -> Vec<Row> {
    data.iter().map(|r| Row::from_texts(r)).collect()
}

/// A row with one multivalued field added.
pub fn mv(mut row: Row, field: &str, values: &[&str]) -> Row {
    row.set(
        Sym::new(field),
        Value::from_fields(values.iter().map(|v| v.to_string())),
    );
    row
}

/// The rows as `field=value` texts, columns in order, multivalues joined by `|`.
pub fn show(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.cells()
                .iter()
                .map(|(n, v)| {
                    let vals: Vec<String> = v.texts().map(|t| t.into_owned()).collect();
                    format!("{n}={}", vals.join("|"))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Compiles `search` with the built-in macros against `catalog`.
pub fn plan_with(search: &str, catalog: &TestCatalog) -> Result<Plan, SplError> {
    compile(search, &MacroSet::with_builtins(), catalog).map(|c| c.plan)
}

/// Compiles `search` (panicking on an error).
pub fn plan(search: &str) -> Plan {
    plan_with(search, &TestCatalog::new()).unwrap_or_else(|e| panic!("{search}: {e}"))
}

/// Runs `plan` over `events` as the engine does: the source's filter, the streaming commands on
/// each event, the aggregation (over events split into two halves merged in reverse order, so
/// that a test sees the merged result), then the post commands, with subsearches run first over
/// the same events. Collected rows keep their input order.
///
/// Every command that says it gives no rows for none is first checked to give none
/// ([`check_empty_gives_empty`]).
///
/// The plan runs twice: once as the engine runs it, with the plan's [`KeyFilter`] deciding
/// which groups start and each event carrying only the fields of its plan's projection
/// ([`Plan::projection_for`], subsearches' from what reads their rows); once with neither.
/// Every test that runs a plan so checks that the two give the same rows.
pub fn execute(plan: &Plan, events: &[Row], ctx: &ExecCtx) -> Result<Vec<Row>, ExecError> {
    check_empty_gives_empty(plan, ctx);
    let filtered = execute_as(plan, events, ctx, true, Some(&Live::All));
    let unfiltered = execute_as(plan, events, ctx, false, None);
    assert_eq!(
        filtered.as_ref().map(|r| show(r)),
        unfiltered.as_ref().map(|r| show(r)),
        "the key filter or the projection changed the result of\n{plan}"
    );
    filtered
}

/// [`execute`], with or without the key filter, with every field of each event.
pub fn execute_keyed(
    plan: &Plan,
    events: &[Row],
    ctx: &ExecCtx,
    key_filter: bool,
) -> Result<Vec<Row>, ExecError> {
    execute_as(plan, events, ctx, key_filter, None)
}

/// [`execute`], with or without the key filter; with `rows_read`, each event carries only the
/// fields of the plan's projection when that much of its rows is read.
fn execute_as(
    plan: &Plan,
    events: &[Row],
    ctx: &ExecCtx,
    key_filter: bool,
    rows_read: Option<&Live>,
) -> Result<Vec<Row>, ExecError> {
    let mut sub_rows = Vec::new();
    let sub_reads = rows_read.map(|r| plan.subsearch_reads(r));
    for (i, sub) in plan.subsearches.iter().enumerate() {
        let read = sub_reads.as_ref().map(|r| &r[i]);
        sub_rows.push(execute_as(sub, events, ctx, key_filter, read)?);
    }
    let projection = rows_read.and_then(|r| plan.projection_for(r));
    let project = |e: &Row| -> Row {
        match &projection {
            Some(fields) => e
                .cells()
                .iter()
                .filter(|(n, _)| fields.contains(n))
                .cloned()
                .collect(),
            None => e.clone(),
        }
    };
    let filter = KeyFilter::new(plan).filter(|_| key_filter);
    let ctx = ctx.clone().with_subsearch_rows(sub_rows);
    let mut rows: Vec<Row> = match &plan.source {
        Source::Inputlookup(l) => l.rows(),
        source => {
            let mut streamed = Vec::new();
            for e in events {
                if !source.filter().matches(e) {
                    continue;
                }
                let mut one = vec![project(e)];
                for cmd in &plan.streaming {
                    cmd.run(&mut one, &ctx)?;
                }
                streamed.extend(one);
            }
            match &plan.aggregation {
                Aggregation::Stats(spec) => {
                    let half = streamed.len() / 2;
                    let (mut a, mut b) = (Groups::new(), Groups::new());
                    for r in &streamed[..half] {
                        a.add_kept(spec, r, &ctx, filter.as_ref());
                    }
                    for r in &streamed[half..] {
                        b.add_kept(spec, r, &ctx, filter.as_ref());
                    }
                    b.merge(spec, a).expect("same spec");
                    if key_filter && let Some(f) = KeyFilter::at_finish(plan) {
                        b.retain_keys(|keys| f.keeps_all(keys, &ctx));
                    }
                    b.check_limits(ctx.limits())
                        .map_err(|message| ExecError::Limit {
                            command: "stats",
                            message,
                        })?;
                    b.into_rows(spec)
                }
                _ => streamed,
            }
        }
    };
    // The engine runs the commands after merging in stages (`cimhunt_spl::pipeline`); they
    // must give what they give run one at a time over every row. Chunks of two rows put chunk
    // boundaries inside every test's rows.
    let piped = run_post(
        Box::new(rows.clone().into_iter().map(Ok)),
        &plan.post,
        &ctx.clone().with_own_warnings(),
        2,
        &mut |_, _| Ok(true),
    );
    // And with everything `stats` and `eventstats` hold beyond a byte written to disk: each
    // group in a run of its own (merged in turn beyond `FAN_IN` runs), each row in a block.
    let spill = Arc::new(RowSpill::new(std::env::temp_dir(), 1));
    let spilled = run_post(
        Box::new(rows.clone().into_iter().map(Ok)),
        &plan.post,
        &ctx.clone()
            .with_own_warnings()
            .with_row_spill(spill.clone()),
        2,
        &mut |_, _| Ok(true),
    );
    assert_eq!(spill.failure(), None);
    let whole = (|| -> Result<Vec<Row>, ExecError> {
        for cmd in &plan.post {
            cmd.run(&mut rows, &ctx)?;
        }
        Ok(rows)
    })();
    assert_eq!(
        piped.map(|r| show(&r)).map_err(|e| e.to_string()),
        whole.as_ref().map(|r| show(r)).map_err(|e| e.to_string()),
        "running the commands after merging in stages changed the result of\n{plan}"
    );
    assert_eq!(
        spilled.map(|r| show(&r)).map_err(|e| e.to_string()),
        whole.as_ref().map(|r| show(r)).map_err(|e| e.to_string()),
        "holding the rows' state on disk changed the result of\n{plan}"
    );
    whole
}

/// Checks, for every command of `plan` (and of its subsearches) that says it gives no rows for
/// none ([`cimhunt_spl::Command::empty_gives_empty`], which lets the engine skip it and its
/// subsearches), that run on no rows it gives none and warns of nothing.
pub fn check_empty_gives_empty(plan: &Plan, ctx: &ExecCtx) {
    let sub: Vec<Vec<Row>> = plan
        .subsearches
        .iter()
        .map(|_| vec![Row::from_texts(&[("a", "1")])])
        .collect();
    let ctx = ctx.clone().with_own_warnings().with_subsearch_rows(sub);
    for cmd in plan.streaming.iter().chain(&plan.post) {
        if !cmd.empty_gives_empty() {
            continue;
        }
        let mut rows = Vec::new();
        let ran = cmd.run(&mut rows, &ctx);
        assert!(
            ran.is_ok() && rows.is_empty() && ctx.take_warnings().is_empty(),
            "`{}` says it gives no rows for none, but gave {ran:?} {rows:?}",
            cmd.name()
        );
    }
    for s in &plan.subsearches {
        check_empty_gives_empty(s, &ctx);
    }
}

/// Compiles and runs `search` over `events` with a default context.
pub fn run(search: &str, events: &[Row]) -> Vec<Row> {
    run_with(search, events, &TestCatalog::new())
}

/// Compiles and runs `search` over `events` with lookup tables.
///
/// The search also runs with every dead command and aggregate kept
/// ([`cimhunt_spl::live`]): every test that runs a search so checks that leaving them out
/// changes no row.
pub fn run_with(search: &str, events: &[Row], catalog: &TestCatalog) -> Vec<Row> {
    let p = plan_with(search, catalog).unwrap_or_else(|e| panic!("{search}: {e}"));
    let out = execute(&p, events, &ExecCtx::default()).unwrap_or_else(|e| panic!("{search}: {e}"));
    let whole = analyze(search, &MacroSet::with_builtins(), catalog)
        .and_then(|a| a.into_compiled_unpruned())
        .unwrap_or_else(|e| panic!("{search}: {e}"))
        .plan;
    let kept = execute(&whole, events, &ExecCtx::default());
    assert_eq!(
        kept.as_ref().map(|r| show(r)).ok(),
        Some(show(&out)),
        "leaving dead fields out changed the rows of\n{p}"
    );
    out
}
