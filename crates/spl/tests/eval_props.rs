//! Properties of the eval language: the parser never panics, evaluation never panics,
//! comparisons agree with a naive reference implementation of the documented rules, `IN` lists
//! agree with chains of `=`, and `LIKE` agrees with a regular-expression oracle.

mod eval_support;

use std::cmp::Ordering;

use cimhunt_spl::eval::{EvalExpr, Regex};
use eval_support::{Rec, ctx};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_on_eval_like_text(s in r#"[a-zA-Z0-9_ ()"',.+\-*/%=!<>\\|]{0,80}"#) {
        if let Ok(e) = EvalExpr::parse(&s) {
            let r = Rec::new(&[("a", "1"), ("b", "x")]).mv("m", &["1", "y"]);
            let _ = e.eval(&r, &ctx());
            let _ = e.eval(&Rec::default(), &ctx());
        }
    }

    #[test]
    fn parser_never_panics_on_any_text(s in ".{0,60}") {
        if let Ok(e) = EvalExpr::parse(&s) {
            let _ = e.eval(&Rec::default(), &ctx());
        }
    }

    #[test]
    fn function_calls_never_panic(
        f in prop::sample::select(FUNCTIONS),
        args in prop::collection::vec(prop::sample::select(ARGS), 0..4),
    ) {
        let text = format!("{f}({})", args.join(", "));
        if let Ok(e) = EvalExpr::parse(&text) {
            let r = Rec::new(&[("a", "12.5"), ("s", "Hello World"), ("n", "-3"), ("z", "0")])
                .mv("m", &["b", "a", "10", "9"]);
            let _ = e.eval(&r, &ctx()).to_string();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// `match(lower(x), "text")` with a plain ASCII pattern takes a case-folded search instead
    /// of lower-casing and a regex; the same pattern in a group takes the general path. They
    /// must agree on every value: mixed case, non-ASCII letters whose lower case is ASCII
    /// (`K` the Kelvin sign, `İ`), numbers, multivalues, and a missing field.
    #[test]
    fn match_of_a_lowered_value_agrees_with_the_general_path(
        values in prop::collection::vec("[aAbBkK:\\-/ 0-9.\u{212A}\u{130}é]{0,12}", 0..4),
        pattern in "[abkAK:\\-/ 0-9]{1,4}",
    ) {
        let plain = EvalExpr::parse(&format!("match(lower(f), \"{}\")", pattern.replace('\\', "\\\\"))).unwrap();
        let general = EvalExpr::parse(&format!("match(lower(f), \"(?:{})\")", pattern.replace('\\', "\\\\"))).unwrap();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let r = match refs.as_slice() {
            [] => Rec::default(),
            [one] => Rec::new(&[("f", one)]),
            many => Rec::default().mv("f", many),
        };
        let (a, b) = (plain.eval(&r, &ctx()), general.eval(&r, &ctx()));
        prop_assert_eq!(a.to_string(), b.to_string(), "values {:?}, pattern {:?}", values, pattern);
        prop_assert_eq!(a.is_null(), b.is_null());
    }
}

const FUNCTIONS: &[&str] = &[
    "abs",
    "avg",
    "case",
    "ceil",
    "cidrmatch",
    "coalesce",
    "exact",
    "exp",
    "floor",
    "if",
    "in",
    "isint",
    "isnull",
    "isnum",
    "len",
    "like",
    "ln",
    "log",
    "lower",
    "ltrim",
    "match",
    "max",
    "md5",
    "min",
    "mvappend",
    "mvcount",
    "mvdedup",
    "mvfind",
    "mvindex",
    "mvjoin",
    "mvrange",
    "mvreverse",
    "mvsort",
    "mvzip",
    "nullif",
    "pow",
    "printf",
    "relative_time",
    "replace",
    "round",
    "rtrim",
    "sha256",
    "sigfig",
    "split",
    "sqrt",
    "strftime",
    "strptime",
    "substr",
    "sum",
    "tonumber",
    "tostring",
    "trim",
    "typeof",
    "upper",
    "urldecode",
    "validate",
];

const ARGS: &[&str] = &[
    "a",
    "s",
    "n",
    "z",
    "m",
    "missing",
    "0",
    "-1",
    "2",
    "1e308",
    "-1e308",
    "0.5",
    "3.000",
    "\"\"",
    "\"%\"",
    "\"%s%d%.3f%*d%a\"",
    "\"(a\"",
    "\"^(\\\\w+\\\\s?)*$\"",
    "\"x\"",
    "\"hex\"",
    "\"commas\"",
    "\"duration\"",
    "\"binary\"",
    "\"%Y-%m-%d %3N %z\"",
    "\"-1d@d\"",
    "\"10.0.0.0/8\"",
    "\"7d\"",
    "1==1",
    "null()",
    "true()",
    "a/z",
    "pow(10, 400)",
];

// ---- Comparison against a naive reference ----

/// How an operand is written.
#[derive(Debug, Clone)]
enum Operand {
    /// A field with these values (one or more).
    Field(Vec<String>),
    /// A missing field.
    Missing,
    /// A string literal.
    Str(String),
    /// A number literal.
    Num(String),
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,3}(\\.[0-9]{1,2})?",
        "[0-9]{1,2}[a-b]?",
        "[a-cA-C]{0,3}",
        Just(" 5".to_owned()),
        Just("021".to_owned()),
    ]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        prop::collection::vec(text_value(), 1..3).prop_map(Operand::Field),
        Just(Operand::Missing),
        "[a-c0-9.]{0,3}".prop_map(Operand::Str),
        "[0-9]{1,3}(\\.[0-9]{1,2})?".prop_map(Operand::Num),
    ]
}

/// A scalar in the reference: a number with its text, or a string.
#[derive(Debug, Clone)]
enum Scalar {
    Num(f64, String),
    Str(String),
}

/// The reference typing of field text: a decimal number without surrounding space.
fn typed(t: &str) -> Scalar {
    let body = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let has_digits = !(int.is_empty() && frac.is_empty());
    if has_digits && digits(int) && digits(frac) {
        Scalar::Num(t.parse().unwrap(), t.to_owned())
    } else {
        Scalar::Str(t.to_owned())
    }
}

fn scalars(op: &Operand) -> Option<Vec<Scalar>> {
    match op {
        Operand::Field(vs) => Some(vs.iter().map(|v| typed(v)).collect()),
        Operand::Missing => None,
        Operand::Str(s) => Some(vec![Scalar::Str(s.clone())]),
        Operand::Num(n) => Some(vec![Scalar::Num(n.parse().unwrap(), n.clone())]),
    }
}

/// The documented order: numbers as numbers, strings by bytes, a number and a string as text.
fn reference_cmp(a: &Scalar, b: &Scalar) -> Ordering {
    match (a, b) {
        (Scalar::Num(x, _), Scalar::Num(y, _)) => x.partial_cmp(y).unwrap(),
        (Scalar::Str(x), Scalar::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Scalar::Num(_, x), Scalar::Str(y)) | (Scalar::Str(x), Scalar::Num(_, y)) => {
            x.as_bytes().cmp(y.as_bytes())
        }
    }
}

/// Whether `where a op b` keeps the event, by the documented rules.
fn reference(a: &Operand, op: &str, b: &Operand) -> bool {
    let (Some(xs), Some(ys)) = (scalars(a), scalars(b)) else {
        return false;
    };
    let any = |want: &dyn Fn(Ordering) -> bool| {
        xs.iter()
            .any(|x| ys.iter().any(|y| want(reference_cmp(x, y))))
    };
    match op {
        "=" | "==" => any(&|o| o == Ordering::Equal),
        "!=" => !any(&|o| o == Ordering::Equal),
        "<" => any(&|o| o == Ordering::Less),
        "<=" => any(&|o| o != Ordering::Greater),
        ">" => any(&|o| o == Ordering::Greater),
        ">=" => any(&|o| o != Ordering::Less),
        _ => unreachable!(),
    }
}

/// The expression text of an operand, and the record field it needs.
fn write(op: &Operand, field: &str, rec: Rec) -> (String, Rec) {
    match op {
        Operand::Field(vs) => {
            let refs: Vec<&str> = vs.iter().map(String::as_str).collect();
            (field.to_owned(), rec.mv(field, &refs))
        }
        Operand::Missing => (format!("{field}_missing"), rec),
        Operand::Str(s) => (format!("\"{s}\""), rec),
        Operand::Num(n) => (n.clone(), rec),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn comparisons_agree_with_the_reference(
        a in operand(),
        b in operand(),
        op in prop::sample::select(vec!["=", "==", "!=", "<", "<=", ">", ">="]),
    ) {
        let (left, rec) = write(&a, "a", Rec::default());
        let (right, rec) = write(&b, "b", rec);
        let expr = format!("{left} {op} {right}");
        let e = EvalExpr::parse(&expr).unwrap();
        prop_assert_eq!(e.matches(&rec, &ctx()), reference(&a, op, &b), "{}", expr);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn in_lists_agree_with_chains_of_equalities(
        a in operand(),
        items in prop::collection::vec(operand().prop_filter("literal", |o| matches!(o, Operand::Str(_) | Operand::Num(_))), 1..20),
    ) {
        let (left, rec) = write(&a, "a", Rec::default());
        let lits: Vec<String> = items.iter().map(|i| write(i, "x", Rec::default()).0).collect();
        let in_list = format!("{left} IN ({})", lits.join(", "));
        let chain = lits.iter().map(|l| format!("{left} = {l}")).collect::<Vec<_>>().join(" OR ");
        let (x, y) = (EvalExpr::parse(&in_list).unwrap(), EvalExpr::parse(&chain).unwrap());
        prop_assert_eq!(x.matches(&rec, &ctx()), y.matches(&rec, &ctx()), "{}", in_list);
    }

    #[test]
    fn like_agrees_with_a_regex_oracle(
        pattern in "[ab%_\\\\.]{0,8}",
        text in "[ab%_\\\\.]{0,10}",
    ) {
        let mut re = String::from("^(?s:");
        for c in pattern.chars() {
            match c {
                '%' => re.push_str(".*"),
                '_' => re.push('.'),
                c => re.push_str(&format!("\\x{{{:x}}}", c as u32)),
            }
        }
        re.push_str(")$");
        let oracle = Regex::new(&re).unwrap().is_match(&text).unwrap();
        let expr = format!(
            "like(t, \"{}\")",
            pattern.replace('\\', "\\\\")
        );
        let rec = Rec::new(&[("t", text.as_str())]);
        let e = EvalExpr::parse(&expr).unwrap();
        prop_assert_eq!(e.matches(&rec, &ctx()), oracle, "{} on {:?}", expr, text);
    }
}
