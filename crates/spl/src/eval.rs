//! Evaluating a search expression against an event or a row (spec 2, CV-17).

use std::cmp::Ordering;

use crate::plan::{CompareOp, Expr, FieldValues};

impl Expr {
    /// Whether `src` satisfies the expression, with Splunk's semantics:
    /// `=` holds when some value of the field matches (never for a null field); `!=` when the
    /// field has a value and none matches; `NOT` negates (so `NOT f=x` holds for a null field);
    /// `<`, `<=`, `>`, `>=` compare numerically when both sides are numbers, otherwise as
    /// strings, and hold when some value satisfies them.
    pub fn matches<F: FieldValues>(&self, src: &F) -> bool {
        match self {
            Expr::True => true,
            Expr::And(items) => items.iter().all(|e| e.matches(src)),
            Expr::Or(items) => items.iter().any(|e| e.matches(src)),
            Expr::Not(inner) => !inner.matches(src),
            Expr::Compare { field, op, value } => match op {
                CompareOp::Eq => src.values(field).any(|v| value.matches(v)),
                CompareOp::Ne => {
                    let mut exists = false;
                    for v in src.values(field) {
                        if value.matches(v) {
                            return false;
                        }
                        exists = true;
                    }
                    exists
                }
                CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
                    let rhs = value.text();
                    src.values(field).any(|v| {
                        let ord = compare_values(v, rhs);
                        match op {
                            CompareOp::Lt => ord == Ordering::Less,
                            CompareOp::Le => ord != Ordering::Greater,
                            CompareOp::Gt => ord == Ordering::Greater,
                            _ => ord != Ordering::Less,
                        }
                    })
                }
            },
        }
    }
}

/// Numeric order when both sides are decimal numbers, else byte order of the strings (the
/// order of `<`/`>` in searches and of groups in `stats`/`tstats` output).
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// A decimal number: optional sign, digits, optional fraction (`12`, `-3.5`, `.5`), surrounding
/// whitespace allowed. Not `inf`, `NaN`, hex or exponents. A value this accepts can still be
/// too large for `f64` (a few hundred digits): it parses as infinite.
pub fn parse_number(s: &str) -> Option<f64> {
    // Fast rejection: most values (names, paths, command lines) start with a letter.
    let first = s.bytes().find(|b| !b.is_ascii_whitespace())?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let t = s.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Pattern;
    use crate::plan::FieldRef;
    use std::collections::HashMap;

    /// An event: named fields with zero or more values.
    struct Ev(HashMap<&'static str, Vec<&'static str>>);

    impl FieldValues for Ev {
        fn values<'s>(&'s self, field: &FieldRef) -> impl Iterator<Item = &'s str> + 's {
            let name = match field {
                FieldRef::Named(n) => n.as_str(),
                _ => "",
            };
            self.0.get(name).into_iter().flatten().copied()
        }
    }

    fn cmp(field: &str, op: CompareOp, v: &str) -> Expr {
        Expr::Compare {
            field: FieldRef::Named(field.into()),
            op,
            value: Pattern::new(v),
        }
    }

    #[test]
    fn numeric_comparison_when_both_sides_are_numbers() {
        let ev = Ev(HashMap::from([("n", vec!["10"]), ("s", vec!["abc"])]));
        assert!(
            cmp("n", CompareOp::Gt, "9").matches(&ev),
            "10 > 9 numerically"
        );
        assert!(!cmp("n", CompareOp::Lt, "9").matches(&ev));
        assert!(cmp("n", CompareOp::Ge, "10.0").matches(&ev));
        assert!(cmp("n", CompareOp::Le, "10").matches(&ev));
        // Not a number on one side: lexicographic, "10" < "9".
        assert!(cmp("n", CompareOp::Lt, "9x").matches(&ev));
        assert!(cmp("s", CompareOp::Gt, "abb").matches(&ev));
        // A null field satisfies no comparison.
        assert!(!cmp("missing", CompareOp::Lt, "5").matches(&ev));
    }

    #[test]
    fn parse_number_accepts_decimals_only() {
        assert_eq!(parse_number(" -3.5 "), Some(-3.5));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("7."), Some(7.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("1e3"), None);
        assert_eq!(parse_number("0x10"), None);
        assert_eq!(parse_number("."), None);
        assert_eq!(parse_number(""), None);
    }
}
