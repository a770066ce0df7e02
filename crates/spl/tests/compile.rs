//! The compiler's public API: plans, unsupported labels, diagnostics, explain.

mod common;

use cimhunt_cim::Field;
use cimhunt_spl::{
    AggFunc, ByField, CompareOp, Conversion, ConvertFunc, Expr, FieldRef, Macro, MacroSet, Pattern,
    SplError, Stage, analyze, compile,
};
use common::{count_first_last, eq};

fn mac(name: &str, args: &[&str], definition: &str) -> Macro {
    Macro {
        name: name.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        definition: definition.to_owned(),
        origin: "test".to_owned(),
    }
}

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

fn err(search: &str) -> SplError {
    match compile(search, &macros()) {
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

#[test]
fn a_detection_shaped_search_compiles_to_the_expected_plan() {
    let search = "| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime \
        from datamodel=Endpoint.Processes where `process_certutil` Processes.process IN (\"*-urlcache*\", \"*-decode *\") \
        by Processes.dest Processes.user Processes.process_id | `drop_dm_object_name(Processes)` \
        | `security_content_ctime(firstTime)` | `certutil_download_filter`";
    let c = compile(search, &macros()).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.expanded.starts_with(
        "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime"
    ));
    let t = &c.plan.tstats;
    assert_eq!(
        (t.datamodel.as_str(), t.dataset.as_str()),
        ("Endpoint", "Processes")
    );
    assert_eq!(
        (t.summariesonly, t.allow_old_summaries),
        (Some(false), Some(true))
    );
    assert_eq!(t.fillnull_value.as_deref(), Some("null"));
    assert_eq!(
        t.filter,
        Expr::And(vec![
            Expr::Or(vec![
                eq(Field::ProcessName, "certutil.exe"),
                eq(Field::OriginalFileName, "CertUtil.exe")
            ]),
            Expr::Or(vec![
                eq(Field::Process, "*-urlcache*"),
                eq(Field::Process, "*-decode *")
            ]),
        ])
    );
    assert_eq!(t.aggregates, count_first_last());
    let by = |f: Field, name: &str| ByField {
        field: FieldRef::Cim(f),
        output: name.into(),
        span_secs: None,
    };
    assert_eq!(
        t.by,
        [
            by(Field::Dest, "Processes.dest"),
            by(Field::User, "Processes.user"),
            by(Field::ProcessId, "Processes.process_id")
        ]
    );
    assert_eq!(c.plan.stages.len(), 3);
    assert!(
        matches!(&c.plan.stages[0], Stage::Rename(p) if p == &[("Processes.*".to_owned(), "*".to_owned())])
    );
    assert!(
        matches!(&c.plan.stages[1], Stage::Convert { timeformat, items }
        if timeformat == "%Y-%m-%dT%H:%M:%S"
            && items == &[Conversion { func: ConvertFunc::Ctime, field: "firstTime".into(), output: None }])
    );
    assert!(matches!(&c.plan.stages[2], Stage::Search(Expr::True)));
    assert_eq!(
        c.plan.required_literals().texts(),
        [
            vec!["certutil.exe".to_owned()],
            vec!["-urlcache".into(), "-decode".into()]
        ]
    );
}

#[test]
fn without_where_the_filter_is_true_and_there_are_no_literals() {
    let c = compile(&format!("{TSTATS} by Processes.dest"), &MacroSet::new()).unwrap();
    assert_eq!(c.plan.tstats.filter, Expr::True);
    assert!(c.plan.required_literals().clauses.is_empty());
    assert_eq!(c.plan.tstats.fillnull_value, None);
    assert_eq!(c.plan.tstats.summariesonly, None);
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
        let c = compile(s, &MacroSet::new()).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(c.plan.tstats.dataset, "Processes", "{s}");
    }
    assert_eq!(
        label("| tstats count from datamodel=Endpoint.Registry"),
        "datamodel `Endpoint.Registry`"
    );
    assert_eq!(
        label("| tstats count from datamodel=Network_Traffic.All_Traffic by All_Traffic.dest"),
        "datamodel `Network_Traffic.All_Traffic`"
    );
    assert_eq!(
        err("| tstats count by Processes.dest").message(),
        "`by` before `from datamodel=…`"
    );
    assert_eq!(
        err("| tstats count").message(),
        "tstats without `from datamodel=…`"
    );
}

#[test]
fn aggregates_and_their_output_names() {
    let c = compile(
        "| tstats count(Processes.process) dc(Processes.user) AS users distinct_count(process_name) \
         values(Processes.process) earliest(_time) latest(_time) as \"last seen\" sum(Processes.mem_used), \
         avg(Processes.cpu_load_percent) min(Processes.x) from datamodel=Endpoint.Processes",
        &MacroSet::new(),
    )
    .unwrap();
    let got: Vec<(AggFunc, Option<FieldRef>, &str)> = c
        .plan
        .tstats
        .aggregates
        .iter()
        .map(|a| (a.func, a.field.clone(), a.output.as_str()))
        .collect();
    let cim = |f| Some(FieldRef::Cim(f));
    assert_eq!(
        got,
        [
            (
                AggFunc::Count,
                cim(Field::Process),
                "count(Processes.process)"
            ),
            (AggFunc::DistinctCount, cim(Field::User), "users"),
            (
                AggFunc::DistinctCount,
                cim(Field::ProcessName),
                "distinct_count(process_name)"
            ),
            (
                AggFunc::Values,
                cim(Field::Process),
                "values(Processes.process)"
            ),
            (AggFunc::Earliest, Some(FieldRef::Time), "earliest(_time)"),
            (AggFunc::Latest, Some(FieldRef::Time), "last seen"),
            (AggFunc::Sum, cim(Field::MemUsed), "sum(Processes.mem_used)"),
            (
                AggFunc::Avg,
                cim(Field::CpuLoadPercent),
                "avg(Processes.cpu_load_percent)"
            ),
            (
                AggFunc::Min,
                Some(FieldRef::Named("Processes.x".into())),
                "min(Processes.x)"
            ),
        ]
    );
    assert_eq!(
        label("| tstats perc95(Processes.mem_used) from datamodel=Endpoint.Processes"),
        "tstats function `perc95`"
    );
    assert_eq!(
        label("| tstats stdev(x) from datamodel=Endpoint.Processes"),
        "tstats function `stdev`"
    );
    assert_eq!(
        err("| tstats min from datamodel=Endpoint.Processes").message(),
        "`min` needs a field"
    );
}

#[test]
fn tstats_options() {
    let c = compile("| tstats summariesonly=t allow_old_summaries=0 fillnull_value=\"N/A\" count from datamodel=Endpoint.Processes", &MacroSet::new()).unwrap();
    let t = &c.plan.tstats;
    assert_eq!(
        (
            t.summariesonly,
            t.allow_old_summaries,
            t.fillnull_value.as_deref()
        ),
        (Some(true), Some(false), Some("N/A"))
    );
    assert_eq!(
        label("| tstats prestats=t count from datamodel=Endpoint.Processes"),
        "tstats option `prestats`"
    );
    assert_eq!(
        label("| tstats append=true count from datamodel=Endpoint.Processes"),
        "tstats option `append`"
    );
    assert_eq!(
        label("| tstats chunk_size=1000 count from datamodel=Endpoint.Processes"),
        "tstats option `chunk_size`"
    );
    let e = err("| tstats summariesonly=maybe count from datamodel=Endpoint.Processes");
    assert_eq!((e.message(), e.column()), ("`maybe` is not a boolean", 24));
}

#[test]
fn by_lists_with_commas_and_time_spans() {
    let c = compile(
        &format!("{TSTATS} by _time span=1h Processes.dest, host"),
        &MacroSet::new(),
    )
    .unwrap();
    let by = &c.plan.tstats.by;
    assert_eq!(
        by[0],
        ByField {
            field: FieldRef::Time,
            output: "_time".into(),
            span_secs: Some(3600)
        }
    );
    assert_eq!(by[1].field, FieldRef::Cim(Field::Dest));
    assert_eq!(
        by[2],
        ByField {
            field: FieldRef::Cim(Field::Host),
            output: "host".into(),
            span_secs: None
        }
    );
    for (span, secs) in [
        ("30s", 30),
        ("5m", 300),
        ("2d", 172_800),
        ("20m", 1200),
        ("10", 10),
    ] {
        let c = compile(
            &format!("{TSTATS} by Processes.dest _time span={span}"),
            &MacroSet::new(),
        )
        .unwrap();
        assert_eq!(c.plan.tstats.by[1].span_secs, Some(secs), "{span}");
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
fn row_stages() {
    let c = compile(
        &format!(
            "{TSTATS} by Processes.dest | rename Processes.dest as dest, \"X.*\" AS * count as n \
             | convert ctime(firstTime) ctime(lastTime) AS last | table dest, n user* \
             | fields - n | fields + dest | search dest=\"a*\" n>2"
        ),
        &MacroSet::new(),
    )
    .unwrap();
    let s = &c.plan.stages;
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    };
    assert!(
        matches!(&s[0], Stage::Rename(p) if *p == pairs(&[("Processes.dest", "dest"), ("X.*", "*"), ("count", "n")]))
    );
    assert!(
        matches!(&s[1], Stage::Convert { timeformat, items } if timeformat == "%m/%d/%Y %H:%M:%S" && items.len() == 2
        && items[1] == Conversion { func: ConvertFunc::Ctime, field: "firstTime".replace("first", "last"), output: Some("last".into()) })
    );
    assert!(matches!(&s[2], Stage::Table(t) if t == &["dest", "n", "user*"]));
    assert!(matches!(&s[3], Stage::Fields { remove: true, fields } if fields == &["n"]));
    assert!(matches!(&s[4], Stage::Fields { remove: false, fields } if fields == &["dest"]));
    let named = |n: &str| FieldRef::Named(n.into());
    assert!(matches!(&s[5], Stage::Search(Expr::And(v)) if v == &[
        Expr::Compare { field: named("dest"), op: CompareOp::Eq, value: Pattern::new("a*") },
        Expr::Compare { field: named("n"), op: CompareOp::Gt, value: Pattern::new("2") },
    ]));
}

#[test]
fn unsupported_constructs_carry_stable_labels() {
    let cases = [
        (
            format!("{TSTATS} | join dest [| tstats count from datamodel=Endpoint.Processes]"),
            "command `join`",
        ),
        (format!("{TSTATS} | where count > 5"), "command `where`"),
        (format!("{TSTATS} | EVAL x=1"), "command `eval`"),
        (
            format!("{TSTATS} | tstats count from datamodel=Endpoint.Processes"),
            "command `tstats`",
        ),
        (
            format!("{TSTATS} | convert dur2sec(x)"),
            "convert function `dur2sec`",
        ),
        (format!("{TSTATS} | search foo"), "keyword search"),
        (format!("{TSTATS} | search [| inputlookup x]"), "subsearch"),
        (
            format!("{TSTATS} where TERM(x) by Processes.dest"),
            "search function `TERM`",
        ),
        (
            "| inputlookup x.csv".to_owned(),
            "generating command `inputlookup`",
        ),
        (
            "index=main sourcetype=x | stats count".to_owned(),
            "leading search",
        ),
    ];
    for (search, want) in cases {
        assert_eq!(label(&search), want, "{search}");
    }
}

#[test]
fn analyze_keeps_every_commands_outcome() {
    let a = analyze(
        &format!("{TSTATS} by Processes.dest | eval x=1 | table dest | join x"),
        &MacroSet::new(),
    )
    .unwrap();
    assert!(a.tstats.is_ok());
    assert!(!a.is_complete());
    let labels: Vec<&str> = a.errors().filter_map(|e| e.unsupported_label()).collect();
    assert_eq!(labels, ["command `eval`", "command `join`"]);
    assert!(matches!(a.stages[1], Ok(Stage::Table(_))));
    assert_eq!(
        a.into_compiled().unwrap_err().unsupported_label(),
        Some("command `eval`")
    );
}

#[test]
fn explain_shows_precedence_aggregates_stages_and_literals() {
    let c = compile(
        "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes where \
         Processes.process_name=a.exe OR Processes.process_name=b.exe Processes.process=\"*-x \\\"y*\" \
         by Processes.dest _time span=1h | `drop_dm_object_name(Processes)`",
        &MacroSet::with_builtins(),
    )
    .unwrap();
    let text = c.explain();
    for want in [
        "tstats over Endpoint.Processes",
        r#"filter: (Processes.process_name="a.exe" OR Processes.process_name="b.exe") AND Processes.process="*-x \"y*""#,
        "min(_time) -> firstTime",
        "by: Processes.dest, _time span=3600s",
        "fillnull_value: none",
        r#"1. rename "Processes.*" as "*""#,
        r#"one of "a.exe" in process_name, "b.exe" in process_name"#,
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}
