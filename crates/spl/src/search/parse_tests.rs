//! Parser tests: grammar, precedence, and the shape of the expressions it builds.

use super::*;
use crate::error::ErrorKind;

fn parse_with(s: &str, stop_at_by: bool) -> RawResult<Expr> {
    let mut sc = Scanner::new(s, 0..s.len());
    ExprParser::new(&mut sc, stop_at_by).parse()
}

fn parse(s: &str) -> Expr {
    parse_with(s, false).unwrap_or_else(|e| panic!("{s:?}: {}", e.message))
}

fn eq(f: &str, v: &str) -> Expr {
    Expr::Compare {
        field: Sym::new(f),
        op: CompareOp::Eq,
        value: Pattern::new(v),
    }
}

#[test]
fn or_binds_tighter_than_juxtaposition_and_explicit_and() {
    let a = eq("process_name", "a");
    let b = eq("process_name", "b");
    let c = eq("process", "c");
    let expected = Expr::And(vec![Expr::Or(vec![a.clone(), b.clone()]), c.clone()]);
    assert_eq!(
        parse("process_name=a OR process_name=b process=c"),
        expected
    );
    assert_eq!(
        parse("process_name=a OR process_name=b AND process=c"),
        expected
    );
    // And the other way round: C A OR B = C AND (A OR B).
    assert_eq!(
        parse("process=c process_name=a OR process_name=b"),
        Expr::And(vec![c.clone(), Expr::Or(vec![a.clone(), b.clone()])])
    );
    // Parentheses override.
    assert_eq!(
        parse("(process_name=a OR process_name=b) OR process=c"),
        Expr::Or(vec![a, b, c])
    );
}

#[test]
fn not_applies_to_the_next_term_only() {
    let a = eq("process_name", "a");
    let b = eq("process_name", "b");
    assert_eq!(
        parse("NOT process_name=a OR process_name=b"),
        Expr::Or(vec![Expr::Not(Box::new(a.clone())), b.clone()])
    );
    assert_eq!(
        parse("NOT (process_name=a OR process_name=b)"),
        Expr::Not(Box::new(Expr::Or(vec![a, b])))
    );
}

#[test]
fn in_list_is_an_or_of_equalities_with_quoted_and_unquoted_values() {
    let e = parse(r#"process IN ("*http://*", *https://*,ftp)"#);
    assert_eq!(
        e,
        Expr::Or(vec![
            eq("process", "*http://*"),
            eq("process", "*https://*"),
            eq("process", "ftp")
        ])
    );
    // `in` in any case, and `IN(` without a space.
    assert_eq!(parse("process in (a)"), eq("process", "a"));
    assert_eq!(
        parse(r#"process IN("a","b")"#),
        parse(r#"process=a OR process="b""#)
    );
    assert_eq!(
        parse("NOT process_name IN (a, b)"),
        Expr::Not(Box::new(Expr::Or(vec![
            eq("process_name", "a"),
            eq("process_name", "b")
        ])))
    );
}

#[test]
fn operators_are_upper_case_only_lower_case_words_are_keyword_terms() {
    assert_eq!(
        parse("process=a or process=b"),
        Expr::And(vec![
            eq("process", "a"),
            Expr::Keyword(Pattern::new("or")),
            eq("process", "b")
        ])
    );
}

#[test]
fn comparisons_allow_spaces_around_operators_and_all_operators_parse() {
    assert_eq!(
        parse(r#"process_name = "cmd.exe""#),
        eq("process_name", "cmd.exe")
    );
    let ops = [
        ("!=", CompareOp::Ne),
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
    ];
    for (text, op) in ops {
        let e = parse(&format!("count{text}4"));
        assert_eq!(
            e,
            Expr::Compare {
                field: Sym::new("count"),
                op,
                value: Pattern::new("4")
            },
            "{text}"
        );
    }
}

#[test]
fn field_names_are_kept_as_written() {
    assert_eq!(parse("Processes.user=x"), eq("Processes.user", "x"));
    assert_eq!(
        parse("_time>5"),
        Expr::Compare {
            field: Sym::new("_time"),
            op: CompareOp::Gt,
            value: Pattern::new("5")
        }
    );
    assert_eq!(
        parse("Processes.Process_Name=x"),
        Expr::Compare {
            field: Sym::new("Processes.Process_Name"),
            op: CompareOp::Eq,
            value: Pattern::new("x")
        }
    );
}

#[test]
fn quoted_field_names_are_fields_a_lone_quoted_string_is_a_keyword() {
    assert_eq!(
        parse(r#""Processes.process"="*x*""#),
        eq("Processes.process", "*x*")
    );
    assert_eq!(
        parse(r#""just text" process=a"#),
        Expr::And(vec![
            Expr::Keyword(Pattern::new("just text")),
            eq("process", "a")
        ])
    );
}

#[test]
fn unquoted_values_keep_balanced_parentheses() {
    assert_eq!(
        parse("(process=*GetCurrent()* OR process=x)"),
        Expr::Or(vec![eq("process", "*GetCurrent()*"), eq("process", "x")])
    );
}

#[test]
fn star_alone_is_true_and_true_is_absorbed() {
    assert_eq!(parse("*"), Expr::True);
    assert_eq!(
        parse("(()) process=a"),
        eq("process", "a"),
        "empty groups match all"
    );
    assert_eq!(parse(""), Expr::True);
    assert_eq!(parse("* process=a"), eq("process", "a"));
    assert_eq!(parse("process=a OR *"), Expr::True);
}

#[test]
fn the_where_clause_stops_at_by_in_any_case() {
    let s = "process=a BY Processes.dest";
    let mut sc = Scanner::new(s, 0..s.len());
    let e = ExprParser::new(&mut sc, true).parse().unwrap();
    assert_eq!(e, eq("process", "a"));
    assert!(sc.rest().starts_with("BY"));
}

#[test]
fn functions_and_subsearches_are_unsupported_with_stable_labels() {
    let cases = [
        ("TERM(foo)", "search function `TERM`", 0..4),
        ("process=a CASE(Foo)", "search function `CASE`", 10..14),
        ("match(process, \"x\")", "search function `match`", 0..5),
        ("process=a [| inputlookup x]", "subsearch", 10..11),
    ];
    for (text, label, span) in cases {
        let e = parse_with(text, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported(label.into()), "{text}");
        assert_eq!(e.span, span, "{text}");
    }
}

#[test]
fn syntax_errors_point_at_the_culprit() {
    let cases = [
        ("(process=a OR process=b", "unbalanced parenthesis", 0..1),
        ("process=a)", "unbalanced parenthesis", 9..10),
        (
            "process=a (process=b by dest",
            "unbalanced parenthesis",
            10..11,
        ),
        ("process IN a", "`IN` without a list", 8..10),
        ("process IN ()", "empty `IN` list", 11..13),
        ("process IN (a, b", "unbalanced parenthesis", 11..12),
        ("process=a OR", "`OR` without a right operand", 10..12),
        ("AND process=a", "`AND` without a left operand", 0..3),
        ("NOT", "`NOT` without a right operand", 0..3),
        ("process=", "missing value after `=`", 0..8),
        ("(process!= )", "missing value after `!=`", 1..11),
    ];
    for (text, msg, span) in cases {
        let stop = text.contains(" by ");
        let e = parse_with(text, stop).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax, "{text}");
        assert_eq!(e.message, msg, "{text}");
        assert_eq!(e.span, span, "{text}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}process=a{}", "(".repeat(5000), ")".repeat(5000));
    let e = parse_with(&deep, false).unwrap_err();
    assert_eq!(e.message, "expression nested too deeply");
    let nots = format!("{}process=a", "NOT ".repeat(5000));
    assert!(parse_with(&nots, false).is_err());
}
