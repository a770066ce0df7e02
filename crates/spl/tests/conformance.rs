//! Conformance vectors of `SPLUNK_SEMANTICS.md` §10 that concern the compiler, checked end to
//! end: search text → lexer → parser → compiled expression → evaluation against small events.
//! (Aggregation, renaming and time formatting belong to the executor and are tested there.)

use std::collections::HashMap;

use cimhunt_cim::Field;
use cimhunt_spl::{Expr, FieldRef, FieldValues, MacroSet, Stage, compile};

/// An event: fields with zero or more values.
#[derive(Default)]
struct Event(HashMap<FieldRef, Vec<String>>);

impl FieldValues for Event {
    fn values<'s>(&'s self, field: &FieldRef) -> impl Iterator<Item = &'s str> + 's {
        self.0.get(field).into_iter().flatten().map(String::as_str)
    }
}

/// Builds an event from `(name, value)` pairs; CIM names resolve to CIM fields, a repeated name
/// makes a multi-value field.
fn event(pairs: &[(&str, &str)]) -> Event {
    let mut e = Event::default();
    for (name, value) in pairs {
        let key = match Field::from_name(name) {
            Some(f) => FieldRef::Cim(f),
            None => FieldRef::Named((*name).to_owned()),
        };
        e.0.entry(key).or_default().push((*value).to_owned());
    }
    e
}

/// The compiled where-clause of a tstats search over Endpoint.Processes.
fn where_clause(clause: &str) -> Expr {
    let search = format!(
        "| tstats count from datamodel=Endpoint.Processes where {clause} by Processes.process"
    );
    compile(&search, &MacroSet::new())
        .unwrap_or_else(|e| panic!("{clause}: {e}"))
        .plan
        .tstats
        .filter
}

/// The compiled expression of a `search` stage.
fn search_stage(expr: &str) -> Expr {
    let search = format!(
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest | search {expr}"
    );
    let compiled = compile(&search, &MacroSet::new()).unwrap_or_else(|e| panic!("{expr}: {e}"));
    match compiled.plan.stages.as_slice() {
        [Stage::Search(e)] => e.clone(),
        other => panic!("expected one search stage, got {other:?}"),
    }
}

/// Indices (1-based) of the events that match.
fn matching(expr: &Expr, events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| expr.matches(*e))
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
