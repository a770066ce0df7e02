//! Conversion functions (Search Reference, Conversion functions): `tonumber`, `todouble`,
//! `toint`, `tostring`, `tobool`.
//!
//! - `tonumber(s, base)`: base 2 to 36, default 10. A value with a leading or trailing space is
//!   null ("the function returns NULL. Use the trim function"); so is text that is not a number
//!   (the page says a literal that is not a number is an error; cimhunt gives null [inferred]).
//!   Base 10 accepts a decimal with an optional exponent and keeps the text (`"3.10"` stays
//!   `3.10`) [inferred]; base 16 accepts a `0x` prefix [inferred]. A number is returned as it is
//!   in base 10 and read from its text in another base.
//! - `toint(v, base)` is `floor(tonumber(v, base))`; `todouble` is `tonumber`.
//! - `tostring(v, format)`: a Boolean gives `True`/`False`; a number its text, or with a format:
//!   `hex` (`tostring(15, "hex")` is `0xF`), `binary` (`tostring(9, "binary")` is `1001`),
//!   `commas` (`12,345.68`: two decimals when the number has a fraction), `duration` (seconds as
//!   `HH:MM:SS`, `615` is `00:10:15`; over a day `D+HH:MM:SS` and a fraction as six decimals
//!   [inferred]). A string is returned as it is; null stays null [inferred: the eval page says
//!   nulls can be converted with `tostring`, without saying to what].
//! - `tobool`: `true`/`True` and `false`/`False`, 0 and other numbers; null otherwise.
//! - Multivalues convert value by value [inferred].

use std::borrow::Cow;

use crate::value::{Number, Value, parse_number};

use super::exec::{each, number, text};
use super::num::{number_of, round_text};

fn base_of(base: Option<Value<'_>>) -> Option<u32> {
    match base {
        None => Some(10),
        Some(b) => {
            let b = number_of(&b)?.get();
            (b.fract() == 0.0 && (2.0..=36.0).contains(&b)).then_some(b as u32)
        }
    }
}

pub(crate) fn to_number<'r>(v: Value<'r>, base: Option<Value<'r>>) -> Value<'r> {
    let Some(base) = base_of(base) else {
        return Value::Null;
    };
    each(v, &|v| match v {
        Value::Num(n) if base == 10 => Value::Num(n),
        Value::Num(_) | Value::Str(_) => match text(&v) {
            Some(t) => parse_in_base(&t, base).unwrap_or(Value::Null),
            None => Value::Null,
        },
        _ => Value::Null,
    })
}

fn parse_in_base(t: &str, base: u32) -> Option<Value<'static>> {
    if t.is_empty() || t.trim() != t {
        return None;
    }
    if base == 10 {
        if let Some(x) = parse_number(t) {
            return Some(Value::Num(Number::with_text(x, Cow::Owned(t.to_owned()))));
        }
        let x: f64 = t.parse().ok().filter(|x: &f64| x.is_finite())?;
        // Only plain decimals with an exponent, not `inf` or `NaN`.
        if !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        {
            return None;
        }
        return Some(number(x));
    }
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = if base == 16 {
        digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
            .unwrap_or(digits)
    } else {
        digits
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let n = i64::from_str_radix(digits, base).ok()?;
    Some(number(if negative { -(n as f64) } else { n as f64 }))
}

pub(crate) fn to_int<'r>(v: Value<'r>, base: Option<Value<'r>>) -> Value<'r> {
    each(to_number(v, base), &|v| match number_of(&v) {
        Some(n) => number(n.get().floor()),
        None => Value::Null,
    })
}

pub(crate) fn to_bool<'r>(v: &Value<'r>) -> Value<'r> {
    match v {
        Value::Bool(b) => Value::Bool(*b),
        Value::Num(n) => Value::Bool(n.get() != 0.0),
        Value::Str(s) => match s.as_ref() {
            "true" | "True" => Value::Bool(true),
            "false" | "False" => Value::Bool(false),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

pub(crate) fn to_string<'r>(v: Value<'r>, format: Option<Value<'r>>) -> Value<'r> {
    let format = match &format {
        None => None,
        Some(f) => match text(f) {
            Some(t) => Some(t.into_owned()),
            None => return Value::Null,
        },
    };
    each(v, &|v| match v {
        Value::Bool(b) => Value::Str(Cow::Borrowed(if b { "True" } else { "False" })),
        Value::Num(n) => match format.as_deref() {
            None => Value::Str(n.into_text()),
            Some(f) => formatted(n.get(), f).map_or(Value::Null, |s| Value::Str(Cow::Owned(s))),
        },
        v => v,
    })
}

fn formatted(x: f64, format: &str) -> Option<String> {
    match format {
        "hex" => integer(x).map(|i| {
            let sign = if i < 0 { "-" } else { "" };
            format!("{sign}0x{:X}", i.unsigned_abs())
        }),
        "binary" => integer(x).map(|i| {
            let sign = if i < 0 { "-" } else { "" };
            format!("{sign}{:b}", i.unsigned_abs())
        }),
        "commas" => Some(commas(x)),
        "duration" => duration(x),
        _ => None,
    }
}

/// `x` as an integer when it is one within 2^53.
fn integer(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0).then_some(x as i64)
}

/// Thousands separated by commas; two decimals when `x` has a fraction.
pub(crate) fn commas(x: f64) -> String {
    let text = if x.fract() == 0.0 {
        round_text(x, 0)
    } else {
        round_text(x, 2)
    };
    group_thousands(&text)
}

/// Inserts commas into the integer digits of a decimal text.
pub(crate) fn group_thousands(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(text.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

fn duration(x: f64) -> Option<String> {
    if !(0.0..1e15).contains(&x) {
        return None;
    }
    let secs = x.trunc() as u64;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}+"));
    }
    out.push_str(&format!(
        "{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ));
    let frac = x.fract();
    if frac > 0.0 {
        let digits = round_text(frac, 6);
        out.push_str(digits.strip_prefix('0').unwrap_or(&digits));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Value<'_>) -> String {
        v.to_string()
    }

    #[test]
    fn tostring_examples_of_the_conversion_page() {
        assert_eq!(
            s(to_string(Value::Bool(true), None))
                + " "
                + &s(to_string(Value::num(15.0), Some(Value::str("hex"))))
                + " "
                + &s(to_string(
                    Value::num(12345.6789),
                    Some(Value::str("commas"))
                )),
            "True 0xF 12,345.68"
        );
        assert_eq!(
            s(to_string(Value::num(615.0), Some(Value::str("duration")))),
            "00:10:15"
        );
        assert_eq!(
            s(to_string(Value::num(9.0), Some(Value::str("binary")))),
            "1001"
        );
        assert_eq!(
            s(to_string(
                Value::num(1000000.1278),
                Some(Value::str("commas"))
            )),
            "1,000,000.13"
        );
        assert_eq!(
            s(to_string(Value::num(12345.0), Some(Value::str("commas")))),
            "12,345"
        );
        assert_eq!(
            s(to_string(Value::num(90061.5), Some(Value::str("duration")))),
            "1+01:01:01.500000"
        );
        assert_eq!(s(to_string(Value::from_field("021"), None)), "021");
    }

    #[test]
    fn tonumber_examples_of_the_conversion_page() {
        assert_eq!(
            s(to_number(Value::str("0A4"), Some(Value::num(16.0)))),
            "164"
        );
        assert_eq!(s(to_number(Value::str("0101"), Some(Value::num(2.0)))), "5");
        assert!(to_number(Value::str(" 123"), None).is_null());
        assert!(to_number(Value::str("seven"), None).is_null());
        assert!(to_number(Value::str("inf"), None).is_null());
        assert_eq!(s(to_number(Value::str("3.10"), None)), "3.10");
        assert_eq!(s(to_number(Value::str("1.5e3"), None)), "1500");
        assert_eq!(
            s(to_number(Value::str("0xff"), Some(Value::num(16.0)))),
            "255"
        );
        assert!(to_number(Value::str("12"), Some(Value::num(1.0))).is_null());
        assert_eq!(s(to_int(Value::num(3.25), None)), "3");
    }

    #[test]
    fn tobool_table() {
        assert_eq!(to_bool(&Value::str("True")), Value::Bool(true));
        assert_eq!(to_bool(&Value::str("false")), Value::Bool(false));
        assert_eq!(to_bool(&Value::num(0.0)), Value::Bool(false));
        assert_eq!(to_bool(&Value::num(12.0)), Value::Bool(true));
        assert!(to_bool(&Value::str("yes")).is_null());
    }
}
