//! Bad input never panics: arbitrary text and SPL-shaped token soup either compile or give an
//! error whose span lies on character boundaries inside the search as written.

use cimhunt_spl::{Macro, MacroSet, analyze};
use proptest::prelude::*;

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
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..30).prop_map(|v| v.concat())
}

fn check(search: &str, set: &MacroSet) {
    match analyze(search, set) {
        Ok(a) => {
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
