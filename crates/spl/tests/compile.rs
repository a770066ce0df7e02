//! The compiler's public API: plans (source, streaming commands, aggregation, post commands,
//! subsearches), unsupported labels, `analyze`, `explain`.

mod common;

use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::search::{RecordLiterals, ValueLiterals};
use cimhunt_spl::{
    AggCall, AggFunc, Aggregation, ByField, CompareOp, Expr, MacroSet, NoCatalog, NullBy, Pattern,
    Source, SplError, Sym, analyze, compile,
};
use common::{TestCatalog, mac, plan};

/// Macros shaped like ESCU's (the definitions are the ones spec §0 lists).
fn macros() -> MacroSet {
    let mut s = MacroSet::with_builtins();
    for m in [
        mac(
            "security_content_summariesonly",
            &[],
            "summariesonly=`summariesonly_config` allow_old_summaries=`oldsummaries_config` fillnull_value=`fillnull_config`",
        ),
        mac("summariesonly_config", &[], "false"),
        mac("oldsummaries_config", &[], "true"),
        mac("fillnull_config", &[], "null"),
        mac(
            "security_content_ctime",
            &["field"],
            r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)"#,
        ),
        mac(
            "process_certutil",
            &[],
            "(Processes.process_name=certutil.exe OR Processes.original_file_name=CertUtil.exe)",
        ),
        mac("certutil_download_filter", &[], "search *"),
    ] {
        s.insert(m);
    }
    s
}

const TSTATS: &str = "| tstats count from datamodel=Endpoint.Processes";

fn eq(field: &str, v: &str) -> Expr {
    Expr::Compare {
        field: Sym::new(field),
        op: CompareOp::Eq,
        value: Pattern::new(v),
    }
}

fn err(search: &str) -> SplError {
    match compile(search, &macros(), &TestCatalog::new()) {
        Ok(c) => panic!("{search:?} compiled: {:?}", c.plan),
        Err(e) => e,
    }
}

fn label(search: &str) -> String {
    let e = err(search);
    e.unsupported_label()
        .unwrap_or_else(|| panic!("{search:?}: not unsupported: {e}"))
        .to_owned()
}

fn tstats_of(search: &str) -> cimhunt_spl::Tstats {
    match compile(search, &macros(), &TestCatalog::new())
        .unwrap_or_else(|e| panic!("{search}: {e}"))
        .plan
        .source
    {
        Source::Tstats(t) => t,
        other => panic!("not tstats: {other:?}"),
    }
}

fn names(cmds: &[std::sync::Arc<dyn cimhunt_spl::Command>]) -> Vec<&'static str> {
    cmds.iter().map(|c| c.name()).collect()
}

#[test]
fn a_detection_shaped_search_compiles_to_the_expected_plan() {
    let search = "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime \
        from datamodel=Endpoint.Processes where `process_certutil` Processes.process IN (\"*-urlcache*\", \"*-decode *\") \
        by Processes.dest Processes.user Processes.process_id | `drop_dm_object_name(Processes)` \
        | `security_content_ctime(firstTime)` | `certutil_download_filter`";
    let c = compile(search, &macros(), &TestCatalog::new()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.expanded.starts_with(
        "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime"
    ));
    let Source::Tstats(t) = &c.plan.source else {
        panic!("not tstats")
    };
    assert_eq!(t.dataset, "Endpoint.Processes");
    assert_eq!(
        (t.summariesonly, t.allow_old_summaries),
        (Some(false), Some(true))
    );
    assert_eq!(t.agg.null_by, NullBy::Fill("null".into()));
    // Field names are bound to the dataset: the `Processes.` prefix is gone.
    assert_eq!(
        t.filter,
        Expr::And(vec![
            Expr::Or(vec![
                eq("process_name", "certutil.exe"),
                eq("original_file_name", "CertUtil.exe")
            ]),
            Expr::Or(vec![
                eq("process", "*-urlcache*"),
                eq("process", "*-decode *")
            ]),
        ])
    );
    let time = Some(Sym::new("_time"));
    assert_eq!(
        t.agg.calls,
        [
            AggCall::new(AggFunc::Count, None, Sym::new("count")),
            AggCall::new(AggFunc::Min, time, Sym::new("firstTime")),
            AggCall::new(AggFunc::Max, time, Sym::new("lastTime")),
        ]
    );
    let by = |f: &str, out: &str| ByField {
        field: Sym::new(f),
        output: Sym::new(out),
        span_secs: None,
    };
    assert_eq!(
        t.agg.by,
        [
            by("dest", "Processes.dest"),
            by("user", "Processes.user"),
            by("process_id", "Processes.process_id")
        ]
    );
    // tstats is the aggregation; every command after it runs after merging.
    assert_eq!(c.plan.aggregation, Aggregation::Stats(t.agg.clone()));
    assert!(c.plan.streaming.is_empty());
    assert_eq!(names(&c.plan.post), ["rename", "convert", "search"]);
    let lits = ValueLiterals::of(&t.filter);
    assert_eq!(
        lits.texts(),
        [
            vec!["certutil.exe".to_owned()],
            vec!["-urlcache".into(), "-decode ".into()]
        ]
    );
}

#[test]
fn without_where_the_filter_is_true_and_there_are_no_literals() {
    let t = tstats_of(&format!("{TSTATS} by Processes.dest"));
    assert_eq!(t.filter, Expr::True);
    assert!(ValueLiterals::of(&t.filter).clauses.is_empty());
    assert_eq!(t.agg.null_by, NullBy::Drop);
    assert_eq!(t.summariesonly, None);
}

#[test]
fn data_model_forms() {
    for s in [
        "| tstats count from datamodel=\"Endpoint.Processes\"",
        "| TSTATS count FROM datamodel=Endpoint.Processes WHERE Processes.user=x BY Processes.dest",
        "| tstats count datamodel=Endpoint.Processes",
        "| tstats count DATAMODEL=Endpoint.Processes",
        "| tstats count from datamodel = Endpoint.Processes",
    ] {
        assert_eq!(tstats_of(s).dataset, "Endpoint.Processes", "{s}");
    }
    // A model's only root dataset is named by the model alone.
    assert_eq!(
        tstats_of("| tstats count from datamodel=Network_Traffic by All_Traffic.dest").dataset,
        "Network_Traffic.All_Traffic"
    );
    assert_eq!(
        label("| tstats count from datamodel=Endpoint.Ports"),
        "datamodel `Endpoint.Ports`"
    );
    assert_eq!(
        err("| tstats count by Processes.dest").message(),
        "`by` before `from datamodel=…`"
    );
    assert_eq!(
        err("| tstats count").message(),
        "tstats without `from datamodel=…`"
    );
    // Without a catalog, every data model is unknown.
    let e = compile(TSTATS, &MacroSet::new(), &NoCatalog).unwrap_err();
    assert_eq!(
        e.unsupported_label(),
        Some("datamodel `Endpoint.Processes`")
    );
}

#[test]
fn aggregates_and_their_output_names() {
    let t = tstats_of(
        "| tstats count(Processes.process) dc(Processes.user) AS users distinct_count(process_name) \
         values(Processes.process) earliest(_time) latest(_time) as \"last seen\" sum(Processes.mem_used), \
         avg(Processes.cpu_load_percent) min(Processes.x) from datamodel=Endpoint.Processes",
    );
    let got: Vec<(AggFunc, Option<&str>, &str)> = t
        .agg
        .calls
        .iter()
        .map(|a| (a.func, a.field.map(|f| f.as_str()), a.output.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (AggFunc::Count, Some("process"), "count(Processes.process)"),
            (AggFunc::DistinctCount, Some("user"), "users"),
            (
                AggFunc::DistinctCount,
                Some("process_name"),
                "distinct_count(process_name)"
            ),
            (
                AggFunc::Values,
                Some("process"),
                "values(Processes.process)"
            ),
            (AggFunc::Earliest, Some("_time"), "earliest(_time)"),
            (AggFunc::Latest, Some("_time"), "last seen"),
            (AggFunc::Sum, Some("mem_used"), "sum(Processes.mem_used)"),
            (
                AggFunc::Avg,
                Some("cpu_load_percent"),
                "avg(Processes.cpu_load_percent)"
            ),
            (AggFunc::Min, Some("x"), "min(Processes.x)"),
        ]
    );
    assert_eq!(
        label("| tstats perc95(Processes.mem_used) from datamodel=Endpoint.Processes"),
        "tstats function `perc95`"
    );
    assert_eq!(
        err("| tstats min from datamodel=Endpoint.Processes").message(),
        "`min` needs a field"
    );
}

#[test]
fn tstats_options() {
    let t = tstats_of(
        "| tstats summariesonly=t allow_old_summaries=0 fillnull_value=\"N/A\" count from datamodel=Endpoint.Processes",
    );
    assert_eq!(
        (t.summariesonly, t.allow_old_summaries, t.agg.null_by),
        (Some(true), Some(false), NullBy::Fill("N/A".into()))
    );
    for (opt, want) in [
        ("prestats=t", "tstats option `prestats`"),
        ("append=true", "tstats option `append`"),
        ("chunk_size=1000", "tstats option `chunk_size`"),
    ] {
        assert_eq!(
            label(&format!(
                "| tstats {opt} count from datamodel=Endpoint.Processes"
            )),
            want
        );
    }
    let e = err("| tstats summariesonly=maybe count from datamodel=Endpoint.Processes");
    assert_eq!((e.message(), e.column()), ("`maybe` is not a boolean", 24));
}

#[test]
fn by_lists_with_commas_and_time_spans() {
    let t = tstats_of(&format!("{TSTATS} by _time span=1h Processes.dest, host"));
    assert_eq!(
        t.agg.by[0],
        ByField {
            field: Sym::new("_time"),
            output: Sym::new("_time"),
            span_secs: Some(3600)
        }
    );
    assert_eq!(t.agg.by[1].field, Sym::new("dest"));
    assert_eq!(t.agg.by[2].output, Sym::new("host"));
    for (span, secs) in [
        ("30s", 30),
        ("5m", 300),
        ("2d", 172_800),
        ("20m", 1200),
        ("10", 10),
    ] {
        let t = tstats_of(&format!("{TSTATS} by Processes.dest _time span={span}"));
        assert_eq!(t.agg.by[1].span_secs, Some(secs), "{span}");
    }
    assert_eq!(
        label(&format!("{TSTATS} by _time span=1mon")),
        "span unit `mon`"
    );
    assert_eq!(
        err(&format!("{TSTATS} by Processes.dest span=1h")).message(),
        "`span` without `_time` in the by-clause"
    );
    assert_eq!(err(&format!("{TSTATS} by")).message(), "empty by-clause");
    assert_eq!(
        err(&format!("{TSTATS} where by x")).message(),
        "empty where-clause"
    );
}

#[test]
fn commands_after_tstats_all_run_after_merging() {
    let p = plan(&format!(
        "{TSTATS} by Processes.dest | rename Processes.dest as dest, \"X.*\" AS * count as n \
         | convert ctime(firstTime) ctime(lastTime) AS last | table dest, n user* \
         | fields - n | fields + dest | search dest=\"a*\" n>2 | eval x=1 | where x=1 \
         | stats count by dest"
    ));
    assert_eq!(
        names(&p.post),
        [
            "rename", "convert", "table", "fields", "fields", "search", "eval", "where", "stats"
        ]
    );
    let text = p.to_string();
    for want in [
        r#"rename "Processes.dest" as "dest", "X.*" as "*", "count" as "n""#,
        "convert timeformat=\"%m/%d/%Y %H:%M:%S\" ctime(firstTime) ctime(lastTime) as last",
        "table dest n user*",
        "fields - n",
        r#"search dest="a*" AND n>"2""#,
        "eval x=1",
        "where x=1",
        r#"stats count as "count" by dest"#,
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn a_raw_search_splits_into_streaming_commands_a_mergeable_stats_and_post_commands() {
    let p = plan(
        "EventCode=4688 | eval n=lower(New_Process_Name) | where match(n, \"cmd\") \
         | rex field=n \"(?<exe>[^\\\\\\\\]+)$\" | stats count values(exe) by Computer \
         | where count > 1 | sort - count",
    );
    assert!(matches!(&p.source, Source::Search(e) if *e == eq("EventCode", "4688")));
    assert_eq!(names(&p.streaming), ["eval", "where", "rex"]);
    let Aggregation::Stats(spec) = &p.aggregation else {
        panic!("stats is the aggregation")
    };
    assert_eq!(spec.by[0].field, Sym::new("Computer"));
    assert_eq!(names(&p.post), ["where", "sort"]);
}

#[test]
fn a_command_that_needs_every_row_ends_the_streaming_part() {
    // `dedup` needs every row: the `stats` after it runs over rows, after merging.
    let p = plan("EventCode=1 | eval a=1 | dedup a | stats count");
    assert_eq!(names(&p.streaming), ["eval"]);
    assert_eq!(p.aggregation, Aggregation::Collect);
    assert_eq!(names(&p.post), ["dedup", "stats"]);
    // A command reading the run's time runs after merging, as does what follows it.
    let p = plan("EventCode=1 | where _time > relative_time(now(), \"-1d\") | stats count");
    assert!(p.streaming.is_empty());
    assert_eq!(names(&p.post), ["where", "stats"]);
    assert!(p.uses_now());
    // A stats whose eval argument reads now() is not mergeable.
    let p = plan("EventCode=1 | stats count(eval(_time > relative_time(now(), \"-1h\"))) as n");
    assert_eq!(p.aggregation, Aggregation::Collect);
    assert_eq!(names(&p.post), ["stats"]);
}

#[test]
fn subsearches_are_plans_of_their_own() {
    let p = plan(&format!(
        "{TSTATS} by Processes.process_guid | `drop_dm_object_name(Processes)` \
         | join type=left max=0 process_guid [| tstats count from datamodel=Endpoint.Filesystem \
         by Filesystem.process_guid | `drop_dm_object_name(Filesystem)`] \
         | search [| tstats count from datamodel=Endpoint.Processes by Processes.dest \
         | `drop_dm_object_name(Processes)` | table dest]"
    ));
    assert_eq!(p.subsearches.len(), 2);
    assert!(
        matches!(&p.subsearches[0].source, Source::Tstats(t) if t.dataset == "Endpoint.Filesystem")
    );
    assert_eq!(names(&p.subsearches[1].post), ["rename", "table"]);
    let text = p.to_string();
    assert!(
        text.contains("join type=left max=0 process_guid [subsearch 1]"),
        "{text}"
    );
    assert!(text.contains("search [subsearch 2]"), "{text}");
    assert!(
        text.contains("subsearch 1:\n  tstats over Endpoint.Filesystem"),
        "{text}"
    );
}

#[test]
fn an_inputlookup_subsearch_in_the_first_command_becomes_its_rows() {
    let table = LookupTable::new(
        "tools",
        vec!["process".into(), "note".into()],
        vec![
            vec!["*whoami*".into(), "a".into()],
            vec!["*id -u*".into(), "b".into()],
        ],
    );
    let catalog = TestCatalog::new().with_lookup("tools.csv", table);
    let p = common::plan_with(
        "| tstats count from datamodel=Endpoint.Processes where [|inputlookup tools.csv \
         | rename process as Processes.process | table Processes.process] by Processes.dest",
        &catalog,
    )
    .unwrap();
    let Source::Tstats(t) = &p.source else {
        panic!("tstats")
    };
    assert_eq!(
        t.filter,
        Expr::Or(vec![eq("process", "*whoami*"), eq("process", "*id -u*")])
    );
    assert!(p.subsearches.is_empty());
    // A subsearch over events cannot filter the first command: the events are not read yet.
    let e = common::plan_with(
        "EventCode=1 [search EventCode=2 | table Computer]",
        &catalog,
    )
    .unwrap_err();
    assert_eq!(
        e.unsupported_label(),
        Some("subsearch over events in the first command")
    );
}

#[test]
fn unsupported_constructs_carry_stable_labels() {
    let cases = [
        (
            format!("{TSTATS} | tstats count from datamodel=Endpoint.Processes"),
            "`tstats` after the first command",
        ),
        (
            format!("{TSTATS} | convert dur2sec(x)"),
            "convert function `dur2sec`",
        ),
        (
            format!("{TSTATS} where TERM(x) by Processes.dest"),
            "search function `TERM`",
        ),
        (
            format!("{TSTATS} | streamstats count"),
            "command `streamstats`",
        ),
        (
            format!("{TSTATS} | stats median(x)"),
            "stats function `median`",
        ),
        (
            format!("{TSTATS} | apply my_model"),
            "needs app `Splunk Machine Learning Toolkit`: command `apply`",
        ),
        (
            format!("{TSTATS} | lookup ut_shannon_lookup word as x"),
            "needs app `URL Toolbox`: lookup `ut_shannon_lookup`",
        ),
        (
            format!("{TSTATS} | lookup identity_lookup_expanded identity as x"),
            "needs app `Splunk Enterprise Security`: lookup `identity_lookup_expanded`",
        ),
        (
            format!("{TSTATS} | lookup nosuch a"),
            "lookup `nosuch` (no such table)",
        ),
        (
            "| inputlookup nosuch".to_owned(),
            "lookup `nosuch` (no such table)",
        ),
        ("| mstats count".to_owned(), "generating command `mstats`"),
    ];
    for (search, want) in cases {
        assert_eq!(label(&search), want, "{search}");
    }
    let e = err(&format!("{TSTATS} | apply my_model"));
    assert_eq!(e.needed_app(), Some("Splunk Machine Learning Toolkit"));
    assert!(
        err(&format!("{TSTATS} | streamstats count"))
            .needed_app()
            .is_none()
    );
}

#[test]
fn analyze_keeps_every_commands_outcome() {
    let a = analyze(
        &format!("{TSTATS} by Processes.dest | streamstats count | table dest | foreach x"),
        &MacroSet::new(),
        &TestCatalog::new(),
    )
    .unwrap();
    assert!(a.source.is_ok());
    assert!(!a.is_complete());
    let labels: Vec<&str> = a.errors().filter_map(|e| e.unsupported_label()).collect();
    assert_eq!(labels, ["command `streamstats`", "command `foreach`"]);
    assert!(matches!(&a.commands[1], Ok(c) if c.name() == "table"));
    assert_eq!(
        a.into_compiled().unwrap_err().unsupported_label(),
        Some("command `streamstats`")
    );
}

#[test]
fn explain_shows_precedence_aggregates_and_commands() {
    let c = compile(
        "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes where \
         Processes.process_name=a.exe OR Processes.process_name=b.exe Processes.process=\"*-x \\\"y*\" \
         by Processes.dest _time span=1h | `drop_dm_object_name(Processes)`",
        &MacroSet::with_builtins(),
        &TestCatalog::new(),
    )
    .unwrap();
    let text = c.explain();
    for want in [
        "tstats over Endpoint.Processes",
        r#"filter: (process_name="a.exe" OR process_name="b.exe") AND process="*-x \"y*""#,
        "min(_time) -> firstTime",
        "by: Processes.dest (field dest), _time span=3600s",
        "events with a null by-field are dropped",
        "after merging:",
        r#"1. rename "Processes.*" as "*""#,
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn raw_search_literals_follow_the_origin_contract() {
    struct AllRaw;
    impl cimhunt_spl::search::Origins for AllRaw {
        fn origin(&self, _: Sym) -> cimhunt_spl::search::FieldOrigin {
            cimhunt_spl::search::FieldOrigin {
                raw_text: true,
                constants: Vec::new(),
            }
        }
    }
    let p = plan("EventCode=4688 New_Process_Name=\"*\\\\mimikatz.exe\" | table Computer");
    let lits = RecordLiterals::of(p.source.filter(), &AllRaw);
    assert_eq!(
        lits.texts(),
        [vec!["4688".to_owned()], vec!["mimikatz.exe".to_owned()]]
    );
}
