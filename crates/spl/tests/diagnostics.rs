//! Diagnostics: every error points at the right `line:column` of the search as written, also
//! when the problem is inside a macro's expansion, and renders as a miette diagnostic.

mod common;

use cimhunt_spl::{ErrorKind, MacroSet, SplError, compile};
use common::{TestCatalog, mac};

fn err(search: &str) -> SplError {
    match compile(search, &MacroSet::with_builtins(), &TestCatalog::new()) {
        Ok(c) => panic!("{search:?} compiled: {:?}", c.plan),
        Err(e) => e,
    }
}

#[test]
fn diagnostics_point_at_line_and_column() {
    let cases: [(&str, &str, (usize, usize)); 10] = [
        (
            "| tstats count from datamodel=Endpoint.Processes\n| eval x=(1+2",
            "expected `)`",
            (2, 14),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n| rex field=x \"(?<a>[a-z\"",
            "the regular expression does not compile",
            (2, 15),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n| join dest",
            "join needs a subsearch `[…]`",
            (2, 3),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n| eval ok = a == b",
            "the result of an eval expression cannot be a Boolean",
            (2, 13),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n  where (Processes.process=a OR Processes.user=b\n  by Processes.dest",
            "unbalanced parenthesis",
            (2, 9),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n  where Processes.process=\"*abc by Processes.dest",
            "unterminated quoted string",
            (2, 27),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n| `no_such_macro`",
            "unknown macro `no_such_macro`",
            (2, 3),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes where\n    Processes.process_name IN cmd.exe",
            "`IN` without a list",
            (2, 28),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes\n| rename a b",
            "expected `as` in rename",
            (2, 10),
        ),
        (
            "| tstats count from datamodel=Endpoint.Processes |",
            "empty command",
            (1, 50),
        ),
    ];
    for (search, message, at) in cases {
        let e = err(search);
        assert!(
            e.message().starts_with(message),
            "{search}: {}",
            e.message()
        );
        assert_eq!((e.line(), e.column()), at, "{search}");
        assert!(
            e.to_string().ends_with(&format!(" at {}:{}", at.0, at.1)),
            "{}",
            e
        );
        assert!(!e.is_unsupported());
    }
}

#[test]
fn macro_cycles_are_reported_at_the_invocation() {
    let mut m = MacroSet::new();
    m.insert(mac("loop_a", &[], "`loop_b`"));
    m.insert(mac("loop_b", &[], "x `loop_a`"));
    let e = compile(
        "| tstats count from datamodel=Endpoint.Processes where\n `loop_a`",
        &m,
        &TestCatalog::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Macro);
    assert!(
        e.message()
            .starts_with("macro cycle: `loop_a` → `loop_b` → `loop_a`"),
        "{}",
        e.message()
    );
    assert_eq!((e.line(), e.column()), (2, 2));
    assert_eq!(&e.source_text()[e.span()], "`loop_a`");
}

#[test]
fn errors_inside_an_expansion_point_at_the_invocation_and_quote_the_expansion() {
    let mut m = MacroSet::new();
    m.insert(mac("broken_filter", &[], "(Processes.process_name=a.exe"));
    let search =
        "| tstats count from datamodel=Endpoint.Processes where `broken_filter` by Processes.dest";
    let e = compile(search, &m, &TestCatalog::new()).unwrap_err();
    assert_eq!(
        e.message(),
        "unbalanced parenthesis (in the expansion of `broken_filter`)"
    );
    assert_eq!(&search[e.span()], "`broken_filter`");
    assert_eq!(e.expanded_span(), Some(55..56));
    let help = e.help_text().unwrap_or_default();
    assert!(help.contains("⟦(⟧Processes.process_name=a.exe"), "{help}");
}

#[test]
fn errors_are_miette_diagnostics_with_a_labelled_source() {
    use miette::Diagnostic;
    let e = err("| tstats count from datamodel=Endpoint.Processes where Processes.process=\"x");
    let labels: Vec<_> = e.labels().into_iter().flatten().collect();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].offset(), 73);
    assert_eq!(labels[0].label(), Some("this quote is never closed"));
    assert!(e.source_code().is_some());
    assert_eq!(
        e.code().map(|c| c.to_string()).as_deref(),
        Some("spl::syntax")
    );
    let mut out = String::new();
    miette::NarratableReportHandler::new()
        .render_report(&mut out, &e)
        .unwrap();
    assert!(out.contains("unterminated quoted string at 1:74"), "{out}");
    assert!(out.contains("this quote is never closed"), "{out}");
}
