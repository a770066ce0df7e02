//! Conformance vectors of `SPLUNK_SEMANTICS.md` §10 that concern the compiler, checked end to
//! end: search text → lexer → parser → compiled expression → evaluation against small events.
//! (The commands' own vectors are in `commands.rs`.)

mod common;

use cimhunt_spl::{ExecCtx, Expr, Row, Source, Sym, Value};
use common::plan;

/// Builds an event from `(name, value)` pairs; a repeated name makes a multivalued field.
fn event(pairs: &[(&str, &str)]) -> Row {
    let mut row = Row::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if !names.contains(name) {
            names.push(name);
        }
    }
    for name in names {
        let values: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n == &name)
            .map(|(_, v)| (*v).to_owned())
            .collect();
        row.set(Sym::new(name), Value::from_fields(values));
    }
    row
}

/// A compiled filter: a tstats where-clause, or a `search` command.
enum Filter {
    Expr(Expr),
    Cmd(std::sync::Arc<dyn cimhunt_spl::Command>),
}

impl Filter {
    fn matches(&self, e: &Row) -> bool {
        match self {
            Filter::Expr(x) => x.matches(e),
            Filter::Cmd(c) => {
                let mut rows = vec![e.clone()];
                c.run(&mut rows, &ExecCtx::default()).expect("search runs");
                !rows.is_empty()
            }
        }
    }
}

/// The compiled where-clause of a tstats search over Endpoint.Processes (fields bound to the
/// dataset: `Processes.process` is `process`).
fn where_clause(clause: &str) -> Filter {
    let search = format!(
        "| tstats count from datamodel=Endpoint.Processes where {clause} by Processes.process"
    );
    match plan(&search).source {
        Source::Tstats(t) => Filter::Expr(t.filter),
        other => panic!("{clause}: {other:?}"),
    }
}

/// The `search` command after the generating one.
fn search_stage(expr: &str) -> Filter {
    let search = format!(
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest | search {expr}"
    );
    let p = plan(&search);
    assert_eq!(p.post.len(), 1, "{expr}");
    Filter::Cmd(p.post[0].clone())
}

/// Indices (1-based) of the events that match.
fn matching(f: &Filter, events: &[Row]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| f.matches(e))
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn cv14_wildcards_are_anchored_and_may_match_nothing() {
    let w = where_clause(r#"Processes.process IN ("*http://*", "*https://*")"#);
    let events = [
        event(&[("process", "http://evil.example/a.msi")]),
        event(&[("process", "msiexec /i hxxp://evil.example/a.msi")]),
        event(&[("process", "msiexec /i http:/evil.example")]),
    ];
    assert_eq!(matching(&w, &events), [1]);
}

#[test]
fn cv15_only_star_is_a_wildcard() {
    let e1 = [event(&[("process_name", "msiexec.exe")])];
    assert!(matching(&where_clause("Processes.process_name=msiexe?.exe"), &e1).is_empty());
    assert_eq!(
        matching(&where_clause("Processes.process_name=msiexe*.exe"), &e1),
        [1]
    );
}

#[test]
fn cv16_or_binds_tighter_than_and() {
    let w = where_clause(
        r#"Processes.process_name=notepad.exe OR Processes.process_name=msiexec.exe Processes.process="*http*""#,
    );
    let events = [
        event(&[
            ("process_name", "notepad.exe"),
            ("process", "notepad.exe a.txt"),
        ]),
        event(&[
            ("process_name", "msiexec.exe"),
            ("process", "msiexec /i http://x"),
        ]),
        event(&[
            ("process_name", "notepad.exe"),
            ("process", "notepad http://x"),
        ]),
    ];
    assert_eq!(matching(&w, &events), [2, 3], "P1 must not match");
}

#[test]
fn cv17_not_equal_versus_not_on_missing_fields() {
    let events = [event(&[("a", "x")]), event(&[("a", "y")]), event(&[])];
    assert_eq!(matching(&search_stage("a!=x"), &events), [2]);
    assert_eq!(matching(&search_stage("NOT a=x"), &events), [2, 3]);
    assert!(matching(&search_stage("a!=*"), &events).is_empty());
    assert_eq!(matching(&search_stage("NOT a=*"), &events), [3]);
    assert_eq!(matching(&search_stage("*"), &events), [1, 2, 3]);
}

#[test]
fn cv19_backslash_escaping_through_lexer_and_pattern() {
    let e = [event(&[("process_path", r"C:\Windows\Temp\msiexec.exe")])];
    assert_eq!(
        matching(
            &where_clause(r#"Processes.process_path="*\\Windows\\Temp\\*""#),
            &e
        ),
        [1]
    );
    assert_eq!(
        matching(
            &where_clause(r#"Processes.process_path="*\Windows\Temp\*""#),
            &e
        ),
        [1]
    );
    assert!(
        matching(
            &where_clause(r#"Processes.process_path="*\\\\Windows*""#),
            &e
        )
        .is_empty()
    );
    // Unquoted values follow the same rules.
    assert_eq!(
        matching(
            &where_clause(r"Processes.process_path=*\\Windows\\Temp\\*"),
            &e
        ),
        [1]
    );
}

#[test]
fn cv20_escaped_double_quote() {
    let e = [event(&[(
        "process",
        r#"msiexec /i "http://x.example/a.msi""#,
    )])];
    assert_eq!(
        matching(&where_clause(r#"Processes.process="*\"http://*""#), &e),
        [1]
    );
    assert!(matching(&where_clause(r#"Processes.process="*/i http://*""#), &e).is_empty());
}

#[test]
fn cv21_entities_are_literal_text() {
    let e = [event(&[(
        "process",
        "msiexec /i http://x.example/a.msi &amp;&amp; calc.exe",
    )])];
    assert_eq!(
        matching(
            &where_clause(r#"Processes.process="*&amp;&amp; calc*""#),
            &e
        ),
        [1]
    );
    assert!(matching(&where_clause(r#"Processes.process="*&& calc*""#), &e).is_empty());
}

#[test]
fn cv22_multi_value_equality_matches_any_value() {
    let e = [event(&[
        ("process_name", "a.exe"),
        ("process_name", "msiexec.exe"),
        ("process", "x http://y"),
    ])];
    assert_eq!(
        matching(&where_clause("Processes.process_name=msiexec.exe"), &e),
        [1]
    );
    // `!=` holds only when no value matches.
    assert!(matching(&where_clause("Processes.process_name!=a.exe"), &e).is_empty());
    assert_eq!(
        matching(&where_clause("Processes.process_name!=b.exe"), &e),
        [1]
    );
}

#[test]
fn value_matching_is_case_insensitive_field_names_are_not() {
    let e = [event(&[("process_name", "MsiExec.EXE")])];
    assert_eq!(
        matching(&where_clause("Processes.process_name=msiexec.exe"), &e),
        [1]
    );
    let w = where_clause("Processes.Process_Name=msiexec.exe");
    assert!(
        matching(&w, &e).is_empty(),
        "Process_Name is another (absent) field"
    );
}
