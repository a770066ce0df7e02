//! Comparison in eval and `where`: `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, and the
//! equality `nullif`, `mvdedup` and `IN` lists use.
//!
//! Rules (Search Reference, eval, "Operators that produce booleans": the comparison operators
//! "accept two numbers or two strings", and `=` is a synonym of `==`; where: "The
//! <eval-expression> is case-sensitive"):
//! - Two numbers compare as numbers (`"10"` read from a field is the number 10, so `10 > 9`).
//! - Two strings compare byte by byte, case-sensitively (`"B" < "a"`, `"abc" != "ABC"`), unlike
//!   the search language's case-insensitive `=`.
//! - A number and a string compare as strings, the number as its text (a field's text as written,
//!   `021` stays `021`): a quoted number is a string, so `"10" < 9` is true [inferred: the
//!   Search Reference defines only same-type comparisons].
//! - Booleans compare with booleans (`false < true`); a Boolean and another value compare as
//!   the strings `true`/`false` [inferred].
//! - A comparison with null is null, so it is never true, and neither is its negation (`where
//!   NOT x="a"` drops events without `x`) [inferred: SQL's three-valued logic].
//! - A multivalue compares value by value: `=`, `<`, `<=`, `>`, `>=` hold when some pair of
//!   values satisfies them, and `!=` holds when no pair of values is equal (like the search
//!   language's `!=`) [inferred].

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::value::Value;

use super::ast::BinOp;

/// How two single values order in eval: numbers as numbers, strings by bytes, a number and a
/// string as strings. `None` when either is null or a multivalue, or a number is NaN.
pub fn compare(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Null | Value::Multi(_), _) | (_, Value::Null | Value::Multi(_)) => None,
        (Value::Num(x), Value::Num(y)) => x.get().partial_cmp(&y.get()),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => Some(text(a)?.as_bytes().cmp(text(b)?.as_bytes())),
    }
}

/// Whether two single values are equal in eval (`compare` gives `Equal`).
pub fn equals(a: &Value<'_>, b: &Value<'_>) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

/// The text a single value compares as.
fn text<'v>(v: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match v {
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Num(n) => Some(n.text()),
        Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        Value::Null | Value::Multi(_) => None,
    }
}

/// The values of `v`: none for null, each value of a multivalue, else `v` itself.
pub(crate) fn values<'v, 'a>(v: &'v Value<'a>) -> &'v [Value<'a>] {
    match v {
        Value::Null => &[],
        Value::Multi(vs) => vs,
        single => std::slice::from_ref(single),
    }
}

/// `a op b` for a comparison operator, with the null and multivalue rules above: `None` is null.
pub(crate) fn compare_op(op: BinOp, a: &Value<'_>, b: &Value<'_>) -> Option<bool> {
    if a.is_null() || b.is_null() {
        return None;
    }
    let (xs, ys) = (values(a), values(b));
    let any = |want: fn(Ordering) -> bool| {
        xs.iter()
            .any(|x| ys.iter().any(|y| compare(x, y).is_some_and(want)))
    };
    Some(match op {
        BinOp::Eq => any(|o| o == Ordering::Equal),
        BinOp::Ne => !any(|o| o == Ordering::Equal),
        BinOp::Lt => any(|o| o == Ordering::Less),
        BinOp::Le => any(|o| o != Ordering::Greater),
        BinOp::Gt => any(|o| o == Ordering::Greater),
        BinOp::Ge => any(|o| o != Ordering::Less),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: &'static str) -> Value<'static> {
        Value::from_field(t)
    }

    #[test]
    fn numbers_from_fields_compare_as_numbers() {
        assert_eq!(compare(&f("10"), &f("9")), Some(Ordering::Greater));
        assert_eq!(compare(&f("10"), &Value::num(9.0)), Some(Ordering::Greater));
        assert!(equals(&f("10.0"), &Value::num(10.0)));
    }

    #[test]
    fn a_quoted_number_is_a_string() {
        // "10" < 9: compared as strings.
        assert_eq!(
            compare(&Value::str("10"), &Value::num(9.0)),
            Some(Ordering::Less)
        );
        // A field's number against a string literal compares the field's text.
        assert!(equals(&f("4688"), &Value::str("4688")));
        assert!(!equals(&f("021"), &Value::str("21")));
    }

    #[test]
    fn strings_are_case_sensitive() {
        assert!(!equals(&Value::str("abc"), &Value::str("ABC")));
        assert_eq!(
            compare(&Value::str("B"), &Value::str("a")),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn null_compares_as_null() {
        assert_eq!(compare_op(BinOp::Eq, &Value::Null, &Value::str("a")), None);
        assert_eq!(compare_op(BinOp::Ne, &Value::Null, &Value::str("a")), None);
    }

    #[test]
    fn multivalues_compare_value_by_value() {
        let mv = Value::from_fields(["a", "b"]);
        assert_eq!(compare_op(BinOp::Eq, &mv, &Value::str("b")), Some(true));
        assert_eq!(compare_op(BinOp::Ne, &mv, &Value::str("b")), Some(false));
        assert_eq!(compare_op(BinOp::Ne, &mv, &Value::str("c")), Some(true));
        assert_eq!(compare_op(BinOp::Gt, &mv, &Value::str("a")), Some(true));
    }
}
