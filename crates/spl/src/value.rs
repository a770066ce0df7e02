//! Values as searches see them: null, a number, a string, a boolean, or several of them.
//!
//! Splunk stores every field of an event as text. Where a search computes with a field (`eval`,
//! `where`, `stats sum`), a value that reads as a number is a number: [`Value::from_field`] makes
//! that decision once, keeping the text so that `021` still prints as `021`. Values computed by
//! `eval` carry their type (`"10"` written in quotes is a string, `10` a number). A value read back
//! from a field is typed again ([`Value::retyped`]): Splunk's eval "retrieves the value and attempts
//! to treat it as a number, even if it is a string" (Search Reference, Mathematical functions,
//! `sum`: `eval a="1", c=sum(a, 2, 3)` gives 6).
//!
//! A number keeps the text it was written with, and that text carries its precision: Splunk rounds
//! the result of `*` and `/` to the significant figures, and of `+` and `-` to the decimal places,
//! of the least precise operand written with a decimal point (Search Reference, eval, "Rounding":
//! `8.250 * 0.2` is `2`, `8.250 * 0.20` is `1.7`). [`Number::sig_figs`] and [`Number::decimals`]
//! read that precision; integers and computed numbers without text are exact.
//!
//! Key design decision: values borrow (`Cow`) from the event or row they were read from, so that
//! comparing, matching and grouping copy no text; [`Value::into_owned`] detaches a value when it
//! must outlive its record (result rows, aggregation state).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// A value of a field or an expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// No value (a missing field, `null()`).
    Null,
    /// `true()`, `false()`, the result of a comparison.
    Bool(bool),
    /// A number.
    Num(Number<'a>),
    /// A string.
    Str(Cow<'a, str>),
    /// A multivalue: two or more values, each a number or a string.
    Multi(Vec<Value<'a>>),
}

/// A number, with the text it was read from when it came from a field.
#[derive(Debug, Clone)]
pub struct Number<'a> {
    value: f64,
    text: Option<Cow<'a, str>>,
}

impl<'a> Number<'a> {
    /// A computed number.
    pub fn new(value: f64) -> Number<'static> {
        Number { value, text: None }
    }

    /// A number read from `text` (which must parse to `value`).
    pub fn with_text(value: f64, text: Cow<'a, str>) -> Number<'a> {
        Number {
            value,
            text: Some(text),
        }
    }

    /// The numeric value.
    pub fn get(&self) -> f64 {
        self.value
    }

    /// The text as it should print: the source text, or the number formatted as Splunk does.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.text {
            Some(t) => Cow::Borrowed(t.as_ref()),
            None => Cow::Owned(format_number(self.value)),
        }
    }

    /// The text the number was read from; `None` for a computed number.
    pub(crate) fn source_text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Whether the number was computed (by `eval`, `stats count`, …) rather than read from a
    /// field's text.
    pub fn is_computed(&self) -> bool {
        self.text.is_none()
    }

    /// The significant figures of a number written with a decimal point (`0.014` has 2, `8.250`
    /// has 4, `-0.60` has 2); `None` for an exact number (an integer, or a computed number).
    pub fn sig_figs(&self) -> Option<u32> {
        let text = self.text.as_deref()?;
        let body = text.trim_start_matches(['-', '+']);
        let (int, frac) = body.split_once('.')?;
        let digits = int.bytes().chain(frac.bytes()).filter(u8::is_ascii_digit);
        let significant = digits.skip_while(|&b| b == b'0').count() as u32;
        // A written zero (`0.00`) has the precision of its decimal places.
        Some(if significant == 0 {
            (frac.len() as u32).max(1)
        } else {
            significant
        })
    }

    /// The decimal places of a number written with a decimal point (`123.0` has 1); `None` for an
    /// exact number.
    pub fn decimals(&self) -> Option<u32> {
        let text = self.text.as_deref()?;
        let (_, frac) = text.split_once('.')?;
        Some(frac.bytes().take_while(u8::is_ascii_digit).count() as u32)
    }

    /// Whether the number is exact (no precision limit from a decimal point in its text).
    pub fn is_exact(&self) -> bool {
        self.text.as_deref().is_none_or(|t| !t.contains('.'))
    }

    /// The text as it should print, keeping the lifetime of the source text.
    pub fn into_text(self) -> Cow<'a, str> {
        match self.text {
            Some(t) => t,
            None => Cow::Owned(format_number(self.value)),
        }
    }

    /// Detaches the number from its source.
    pub fn into_owned(self) -> Number<'static> {
        Number {
            value: self.value,
            text: self.text.map(|t| Cow::Owned(t.into_owned())),
        }
    }
}

impl PartialEq for Number<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value && self.text() == other.text()
    }
}

impl<'a> Value<'a> {
    /// A field value read from an event or row: a number when the text reads as one, else a
    /// string.
    ///
    /// A number is a decimal (`12`, `-3.5`, `.5`, `021`) with no surrounding whitespace: Splunk's
    /// `tonumber` returns null for a field value with a leading or trailing space (Search
    /// Reference, Conversion functions), so such a value stays a string [inferred for fields].
    pub fn from_field(text: impl Into<Cow<'a, str>>) -> Value<'a> {
        let text = text.into();
        match read_field_number(&text) {
            Some(n) => Value::Num(Number::with_text(n, text)),
            None => Value::Str(text),
        }
    }

    /// The value as eval reads it back from a field: a string that reads as a number becomes a
    /// number with that text (each value of a multivalue likewise); other values are unchanged.
    /// Use it when a computed value is stored in a row and read by a later expression.
    pub fn retyped(self) -> Value<'a> {
        match self {
            Value::Str(s) => Value::from_field(s),
            Value::Multi(v) => Value::Multi(v.into_iter().map(Value::retyped).collect()),
            v => v,
        }
    }

    /// The values of a multivalued field, each read as [`Value::from_field`]: null for none, a
    /// single value for one.
    pub fn from_fields<I, S>(texts: I) -> Value<'a>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'a, str>>,
    {
        // No vector for none or one value, the common cases (an event's field read per event).
        let mut it = texts.into_iter().map(Value::from_field);
        let Some(first) = it.next() else {
            return Value::Null;
        };
        match it.next() {
            None => first,
            Some(second) => {
                let mut values = vec![first, second];
                values.extend(it);
                Value::Multi(values)
            }
        }
    }

    /// A string value.
    pub fn str(s: impl Into<Cow<'a, str>>) -> Value<'a> {
        Value::Str(s.into())
    }

    /// A computed number.
    pub fn num(n: f64) -> Value<'static> {
        Value::Num(Number::new(n))
    }

    /// Several values: null for none, the value itself for one, a multivalue otherwise (nested
    /// multivalues are flattened and nulls dropped).
    pub fn multi(values: Vec<Value<'a>>) -> Value<'a> {
        let mut flat = Vec::with_capacity(values.len());
        for v in values {
            match v {
                Value::Null => {}
                Value::Multi(inner) => flat.extend(inner),
                v => flat.push(v),
            }
        }
        match flat.len() {
            0 => Value::Null,
            1 => flat.pop().unwrap_or(Value::Null),
            _ => Value::Multi(flat),
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The values as text: none for null, one for a single value, each for a multivalue.
    /// Booleans print as `true`/`false`.
    pub fn texts(&self) -> impl Iterator<Item = Cow<'_, str>> {
        let (one, many): (Option<&Value<'a>>, &[Value<'a>]) = match self {
            Value::Null => (None, &[]),
            Value::Multi(v) => (None, v.as_slice()),
            v => (Some(v), &[]),
        };
        one.into_iter().chain(many).filter_map(Value::single_text)
    }

    /// The text of a single value (`None` for null and multivalues).
    pub fn single_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null | Value::Multi(_) => None,
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Num(n) => Some(n.text()),
            Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        }
    }

    /// The first value as text.
    pub fn first_text(&self) -> Option<Cow<'_, str>> {
        self.texts().next()
    }

    /// How many values: 0 for null, the length of a multivalue, 1 otherwise.
    pub fn count(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::Multi(v) => v.len(),
            _ => 1,
        }
    }

    /// The value as a number when it is one, or a string that reads as one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(n.get()),
            Value::Str(s) => parse_number(s).filter(|n| n.is_finite()),
            _ => None,
        }
    }

    /// Detaches the value from the record it borrows from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Num(n) => Value::Num(n.into_owned()),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Multi(v) => Value::Multi(v.into_iter().map(Value::into_owned).collect()),
        }
    }

    /// A copy that borrows from this value.
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Num(n) => Value::Num(Number {
                value: n.value,
                text: n.text.as_deref().map(Cow::Borrowed),
            }),
            Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            Value::Multi(v) => Value::Multi(v.iter().map(Value::borrowed).collect()),
        }
    }
}

impl fmt::Display for Value<'_> {
    /// Multivalues joined by newlines, as Splunk's results table shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.texts().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&t)?;
        }
        Ok(())
    }
}

/// A decimal number as searches read field values: optional sign, digits, optional fraction
/// (`12`, `-3.5`, `.5`), surrounding whitespace allowed. Not `inf`, `NaN`, hex or exponents. A
/// value this accepts can still be too large for `f64` (a few hundred digits): it parses as
/// infinite.
pub fn parse_number(s: &str) -> Option<f64> {
    // Fast path: a short run of digits (event codes, ports, process ids) is an exact integer.
    if !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64);
    }
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

/// The number a field value reads as, if it is one (see [`Value::from_field`]).
fn read_field_number(text: &str) -> Option<f64> {
    let (first, last) = (text.bytes().next()?, text.bytes().last()?);
    if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
        return None;
    }
    parse_number(text).filter(|n| n.is_finite())
}

/// 2^53: every whole number below it in magnitude is an `f64` and an `i64` exactly.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// A computed number as Splunk prints it: integers without a fraction, other values in their
/// shortest round-trip form, never in exponent notation (`0.3333333333333333`, `2.5`,
/// `9007199254740992`). NaN prints as `nan` and infinities as `inf` and `-inf` (Search Reference,
/// eval, "Numeric calculations").
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else if x == 0.0 {
        // No `-0`.
        "0".to_owned()
    } else if x.fract() == 0.0 && x.abs() < EXACT_INTEGERS {
        // A whole number (counts, ids, lengths: most numbers shown) is its integer's digits,
        // as `Display` writes it, without the formatting machinery (about 900 instructions).
        itoa::Buffer::new().format(x as i64).to_owned()
    } else {
        // Rust's `Display` for `f64` is the shortest text that reads back as the same number,
        // and it never uses an exponent.
        format!("{x}")
    }
}

/// The order of values in `stats`/`tstats` output and `sort`: numbers among themselves as
/// numbers, before every other value; other values by bytes (UTF-8 byte order: digits before
/// upper case before lower case). Values equal as numbers (`2.5`, `2.50`) are ordered by bytes.
///
/// This must be a total order, or sorting groups would depend on the order they were collected
/// in. Comparing two values as numbers only when both are numbers is not one: `9 < 10`
/// (numbers), `10 < 1a` (bytes), `1a < 9` (bytes).
pub fn group_order(a: &str, b: &str) -> Ordering {
    group_order_parsed(a, parse_number(a), b, parse_number(b))
}

/// [`group_order`] of values whose numbers (`parse_number`) were read already.
pub fn group_order_parsed(a: &str, na: Option<f64>, b: &str, nb: Option<f64>) -> Ordering {
    match (na, nb) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn a_whole_number_is_written_as_display_writes_it(
            n in -(1i64 << 53) + 1..(1i64 << 53),
            bits in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL,
        ) {
            for x in [n as f64, bits, bits.trunc()] {
                let expected = if x == 0.0 { "0".to_owned() } else { format!("{x}") };
                proptest::prop_assert_eq!(format_number(x), expected);
            }
        }
    }

    #[test]
    fn field_text_that_reads_as_a_number_is_a_number_and_keeps_its_text() {
        let v = Value::from_field("021");
        assert_eq!(v.as_number(), Some(21.0));
        assert_eq!(v.first_text().as_deref(), Some("021"));
        assert!(matches!(Value::from_field("0x10"), Value::Str(_)));
        assert!(matches!(Value::from_field("1e3"), Value::Str(_)));
    }

    #[test]
    fn field_text_with_surrounding_space_is_a_string() {
        assert!(matches!(Value::from_field(" 12"), Value::Str(_)));
        assert!(matches!(Value::from_field("12 "), Value::Str(_)));
        assert!(matches!(Value::from_field("-12.5"), Value::Num(_)));
        assert!(matches!(Value::from_field(""), Value::Str(_)));
    }

    #[test]
    fn retyped_strings_that_read_as_numbers_become_numbers() {
        let v = Value::str("10").retyped();
        assert_eq!(v.as_number(), Some(10.0));
        assert!(matches!(v, Value::Num(_)));
        assert!(matches!(Value::str("ab").retyped(), Value::Str(_)));
        let m = Value::multi(vec![Value::str("1"), Value::str("x")]).retyped();
        assert!(matches!(&m, Value::Multi(v) if matches!(v[0], Value::Num(_))));
    }

    #[test]
    fn precision_comes_from_the_written_text() {
        let n = |t: &'static str| Number::with_text(t.parse().unwrap(), Cow::Borrowed(t));
        assert_eq!(n("0.014").sig_figs(), Some(2));
        assert_eq!(n("8.250").sig_figs(), Some(4));
        assert_eq!(n("-0.60").sig_figs(), Some(2));
        assert_eq!(n("123.0").sig_figs(), Some(4));
        assert_eq!(n("0.00").sig_figs(), Some(2));
        assert_eq!(n("123.0").decimals(), Some(1));
        assert_eq!(n("1111").sig_figs(), None);
        assert_eq!(n("1111").decimals(), None);
        assert!(n("7").is_exact());
        assert!(Number::new(0.1).is_exact());
        assert!(!n("7.").is_exact());
    }

    #[test]
    fn multivalues_flatten_and_drop_nulls() {
        let v = Value::multi(vec![
            Value::str("a"),
            Value::Null,
            Value::multi(vec![Value::str("b"), Value::num(3.0)]),
        ]);
        assert_eq!(v.texts().collect::<Vec<_>>(), ["a", "b", "3"]);
        assert_eq!(v.count(), 3);
        assert_eq!(Value::multi(vec![Value::str("x")]), Value::str("x"));
        assert!(Value::multi(vec![Value::Null]).is_null());
        assert_eq!(Value::from_fields(["1", "x"]).to_string(), "1\nx");
    }

    #[test]
    fn computed_numbers_print_as_splunk_does() {
        assert_eq!(Value::num(3.0).to_string(), "3");
        assert_eq!(Value::num(-2.5).to_string(), "-2.5");
        assert_eq!(Value::num(10.0 / 4.0).to_string(), "2.5");
        assert_eq!(Value::num(10.0 / 5.0).to_string(), "2");
        assert_eq!(Value::num(1.0 / 3.0).to_string(), "0.3333333333333333");
        assert_eq!(Value::num(2f64.powi(53)).to_string(), "9007199254740992");
        assert_eq!(Value::num(-0.0).to_string(), "0");
        assert_eq!(Value::num(f64::NAN).to_string(), "nan");
        assert_eq!(Value::num(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(Value::num(1e-7).to_string(), "0.0000001");
        assert_eq!(Value::Bool(true).to_string(), "true");
        assert_eq!(Value::Null.to_string(), "");
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

    #[test]
    fn group_order_is_numbers_first_then_bytes() {
        assert_eq!(group_order("9", "10"), Ordering::Less);
        assert_eq!(group_order("0x9", "0x10"), Ordering::Greater);
        assert_eq!(group_order("B", "a"), Ordering::Less);
        assert_eq!(group_order("10", "abc"), Ordering::Less);
        assert_eq!(group_order("2.5", "2.50"), Ordering::Less);
        let mut values = ["1a", "10", "9", "-", "b", "-2", "A", "9.0"];
        values.sort_by(|a, b| group_order(a, b));
        assert_eq!(values, ["-2", "9", "9.0", "10", "-", "1a", "A", "b"]);
    }
}

/// The serialized form of a value: the same variants, owned.
#[derive(serde::Serialize, serde::Deserialize)]
enum Wire {
    Null,
    Bool(bool),
    Num(f64, Option<String>),
    Str(String),
    Multi(Vec<Wire>),
}

impl Wire {
    fn of(v: &Value<'_>) -> Wire {
        match v {
            Value::Null => Wire::Null,
            Value::Bool(b) => Wire::Bool(*b),
            Value::Num(n) => Wire::Num(n.value, n.text.as_deref().map(str::to_owned)),
            Value::Str(s) => Wire::Str(s.to_string()),
            Value::Multi(v) => Wire::Multi(v.iter().map(Wire::of).collect()),
        }
    }

    fn into_value(self) -> Value<'static> {
        match self {
            Wire::Null => Value::Null,
            Wire::Bool(b) => Value::Bool(b),
            Wire::Num(value, text) => Value::Num(Number {
                value,
                text: text.map(Cow::Owned),
            }),
            Wire::Str(s) => Value::Str(Cow::Owned(s)),
            Wire::Multi(v) => Value::Multi(v.into_iter().map(Wire::into_value).collect()),
        }
    }
}

impl serde::Serialize for Value<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire::of(self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Value<'static> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Wire::deserialize(d).map(Wire::into_value)
    }
}
