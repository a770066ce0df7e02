//! Bad input never panics: arbitrary text and SPL-shaped token soup either compile or give an
//! error whose span lies on character boundaries inside the search as written.

mod common;

use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::{ExecCtx, Macro, MacroSet, Row, analyze};
use common::{TestCatalog, execute, rows};
use proptest::prelude::*;

fn catalog() -> TestCatalog {
    TestCatalog::new().with_lookup(
        "t",
        LookupTable::new(
            "t",
            vec!["a".into(), "b".into()],
            vec![vec!["1".into(), "x".into()]],
        ),
    )
}

fn macros() -> MacroSet {
    let mut s = MacroSet::with_builtins();
    for (name, args, def) in [
        ("m", vec![], "Processes.process=\"*x*\""),
        ("m", vec!["a", "b"], "($a$ OR $b$)"),
        ("loop", vec![], "`loop`"),
        ("bad", vec![], "(unclosed"),
    ] {
        s.insert(Macro {
            name: name.to_owned(),
            args: args.into_iter().map(str::to_owned).collect(),
            definition: def.to_owned(),
            origin: "test".to_owned(),
        });
    }
    s
}

const PIECES: &[&str] = &[
    "| tstats ",
    "count ",
    "min(_time) as t ",
    "from datamodel=Endpoint.Processes ",
    "where ",
    "by ",
    "Processes.process=",
    "Processes.process_name ",
    "IN ",
    "(",
    ")",
    "\"",
    "\\",
    "`",
    "```",
    "NOT ",
    "OR ",
    "AND ",
    "*",
    ",",
    "[",
    "]",
    "é",
    "İ",
    "x",
    " ",
    "\n",
    "=",
    "!=",
    "<",
    ">=",
    "span=1h ",
    "_time ",
    "`m`",
    "`m(a, \"b\")`",
    "`loop`",
    "`bad`",
    "`drop_dm_object_name(Processes)`",
    "| rename a as b ",
    "| convert ctime(x) ",
    "| search ",
    "| table a, b ",
    "| fields - a ",
    "fillnull_value=",
    "summariesonly=",
    "|",
    "TERM(",
    "$",
    "x_filter`",
    "| stats count by a ",
    "| eventstats avg(a) as m ",
    "| eval a=b+1, c=if(a>1,\"y\",null()) ",
    "| where a>1 AND like(b, \"x%\") ",
    "| join type=left max=0 a ",
    "[| tstats count from datamodel=Endpoint.Processes by Processes.dest] ",
    "[| inputlookup t] ",
    "| lookup t a OUTPUT b ",
    "| rex field=a \"(?<n>\\d+)\" ",
    "| rex mode=sed field=a \"s/x/y/g\" ",
    "| regex a!=\"^x\" ",
    "| bin _time span=5m ",
    "| dedup a ",
    "| transaction a maxspan=5m startswith=(b=1) ",
    "| fillnull value=0 ",
    "| appendpipe [| stats count] ",
    "| replace x WITH y IN a ",
    "| mvexpand a ",
    "| xmlkv a ",
    "| spath input=a ",
    "| sort - a ",
    "EventCode=1 ",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|v| v.concat())
}

fn check(search: &str, set: &MacroSet) {
    match analyze(search, set, &catalog()) {
        Ok(a) => {
            if a.is_complete() {
                // What compiles also runs, without panicking, over a few rows.
                let compiled = a.clone().into_compiled().expect("complete");
                let events: Vec<Row> = rows(&[
                    &[("a", "1"), ("b", "x"), ("_time", "1700000000")],
                    &[("a", "<r><q>2</q></r>"), ("_time", "1700000300")],
                    &[("b", "y")],
                ]);
                let _ = execute(&compiled.plan, &events, &ExecCtx::default());
            }
            for e in a.errors() {
                assert!(
                    e.source_text().get(e.span()).is_some(),
                    "{search:?}: bad span {:?}",
                    e.span()
                );
                assert!(e.line() >= 1 && e.column() >= 1);
            }
        }
        Err(e) => {
            assert!(
                e.source_text().get(e.span()).is_some(),
                "{search:?}: bad span {:?}",
                e.span()
            );
            assert!(e.line() >= 1 && e.column() >= 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn spl_shaped_input_never_panics(search in soup()) {
        check(&search, &macros());
    }

    #[test]
    fn arbitrary_text_never_panics(search in any::<String>()) {
        check(&search, &macros());
    }
}
