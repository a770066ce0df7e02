//! Arithmetic with Splunk's precision rules, and decimal rounding.
//!
//! Numbers are double-precision floats (Search Reference, eval, "Numeric calculations"). A number
//! written with a decimal point carries its precision ([`Number::sig_figs`],
//! [`Number::decimals`]); integers and computed numbers are exact. Following the Search
//! Reference (eval, "Rounding": `8.250 * 0.2` is `2`, `8.250 * 0.20` is `1.7`, `8.250 * 0.200`
//! is `1.65`, `8.250 * exact(0.2)` is `1.650`; Mathematical functions, `sigfig`: `*` and `/` keep
//! the fewest significant figures, `+` and `-` the fewest decimal places) and the Splunk wiki
//! ("Community:BadMath": `3 / 2` is `1.5` but `3 * 0.5` is `2`):
//! - `*` and `/`: when an operand has significant figures, the result keeps the fewest of them,
//!   but never drops digits before the decimal point (`1.00 * 1111` is `1111`, as the `sigfig`
//!   page shows; `sigfig()` is what rounds it to `1110`). The result is printed with exactly the
//!   digits it keeps, trailing zeros included (`1.650`).
//! - `+` and `-`: when an operand has decimal places, the result keeps the fewest of them
//!   (`123.0 + 4.567` is `127.6`).
//! - `%` and every function other than `round`, `abs`, `sigfig` and `exact` give exact results
//!   [inferred].
//! - Rounding is half away from zero on the decimal digits of the shortest text of the number
//!   (`round(2.555, 2)` is `2.56`, as the Mathematical functions page shows, although the nearest
//!   double to 2.555 is below it).
//! - Division or modulus by zero is null ("Division by zero results in a null field").

use std::borrow::Cow;

use crate::value::{Number, Value, format_number};

/// `a op b` for two numbers, with precision; `None` for a division by zero.
pub(crate) fn arith(op: Op, a: &Number<'_>, b: &Number<'_>) -> Option<Number<'static>> {
    let (x, y) = (a.get(), b.get());
    let v = match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div if y == 0.0 => return None,
        Op::Div => x / y,
        Op::Mod if y == 0.0 => return None,
        Op::Mod => x % y,
    };
    if !v.is_finite() {
        return Some(Number::new(v));
    }
    Some(match op {
        Op::Add | Op::Sub => match min_opt(a.decimals(), b.decimals()) {
            Some(d) => fixed(v, d),
            None => Number::new(v),
        },
        Op::Mul | Op::Div => match min_opt(a.sig_figs(), b.sig_figs()) {
            Some(sf) => fixed(v, decimals_for_sig_figs(v, sf)),
            None => Number::new(v),
        },
        Op::Mod => Number::new(v),
    })
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How many decimal places keep `sf` significant figures of `v`, never fewer than zero.
fn decimals_for_sig_figs(v: f64, sf: u32) -> u32 {
    if v == 0.0 {
        return sf.saturating_sub(1);
    }
    let exponent = v.abs().log10().floor() as i64;
    (i64::from(sf) - 1 - exponent).clamp(0, 40) as u32
}

/// `v` rounded to `decimals` places, printed with exactly that many.
pub(crate) fn fixed(v: f64, decimals: u32) -> Number<'static> {
    let text = round_text(v, decimals);
    let value = text.parse().unwrap_or(v);
    Number::with_text(value, Cow::Owned(text))
}

/// `v` rounded to `sf` significant figures, zeros standing in for the dropped integer digits
/// (`sigfig`: `1111` to 3 figures is `1110`).
pub(crate) fn round_sig_figs(v: f64, sf: u32) -> Number<'static> {
    if v == 0.0 || !v.is_finite() || sf == 0 {
        return Number::new(v);
    }
    let exponent = v.abs().log10().floor() as i64;
    let decimals = i64::from(sf) - 1 - exponent;
    if decimals >= 0 {
        return fixed(v, decimals.min(40) as u32);
    }
    let scale = 10f64.powi(decimals.unsigned_abs().min(300) as i32);
    // `f64::round` rounds half away from zero.
    let scaled = round_text((v / scale).round(), 0);
    let value: f64 = scaled.parse::<f64>().unwrap_or(v / scale) * scale;
    Number::new(value)
}

/// The decimal text of `v` rounded half away from zero to `decimals` places, with exactly that
/// many places (`round_text(2.555, 2)` is `2.56`, `round_text(1.5, 0)` is `2`,
/// `round_text(1.65, 3)` is `1.650`).
pub(crate) fn round_text(v: f64, decimals: u32) -> String {
    if !v.is_finite() {
        return format_number(v);
    }
    // Rust's shortest round-trip text, never in exponent form.
    let shortest = format!("{}", v.abs());
    let (int, frac) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let decimals = decimals as usize;
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let keep = int.len() + decimals;
    if frac.len() > decimals {
        let round_up = digits.get(keep).is_some_and(|&d| d >= b'5');
        digits.truncate(keep);
        if round_up {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, b'1');
                    break;
                }
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    } else {
        digits.resize(keep, b'0');
    }
    let int_len = digits.len() - decimals;
    let mut out = String::with_capacity(digits.len() + 2);
    let is_zero = digits.iter().all(|&d| d == b'0');
    if v < 0.0 && !is_zero {
        out.push('-');
    }
    let int_part = &digits[..int_len];
    if int_part.is_empty() {
        out.push('0');
    } else {
        out.extend(int_part.iter().map(|&d| d as char));
    }
    if decimals > 0 {
        out.push('.');
        out.extend(digits[int_len..].iter().map(|&d| d as char));
    }
    out
}

/// The number of a value, for arithmetic and numeric functions: a number, or a string that reads
/// as one (an eval result such as `substr(x, 1, 3)`) [inferred: the eval page says arithmetic
/// "might not produce valid results if the values are not numerical"].
pub(crate) fn number_of<'v>(v: &'v Value<'_>) -> Option<Cow<'v, Number<'v>>> {
    match v {
        Value::Num(n) => Some(Cow::Borrowed(n)),
        Value::Str(s) => {
            let x = crate::value::parse_number(s).filter(|x| x.is_finite())?;
            let t = s.trim();
            if t.len() != s.len() {
                return None;
            }
            Some(Cow::Owned(Number::with_text(x, Cow::Borrowed(s.as_ref()))))
        }
        _ => None,
    }
}

/// `-n`, keeping the written precision.
pub(crate) fn negate(n: &Number<'_>) -> Number<'static> {
    if n.is_exact() {
        return Number::new(-n.get());
    }
    let text = n.text();
    let flipped = match text.strip_prefix('-') {
        Some(rest) => rest.to_owned(),
        None => format!("-{text}"),
    };
    Number::with_text(-n.get(), Cow::Owned(flipped))
}

/// `|n|`, keeping the written precision.
pub(crate) fn abs(n: &Number<'_>) -> Number<'static> {
    if n.get() < 0.0 {
        negate(n)
    } else {
        n.clone().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(t: &'static str) -> Number<'static> {
        Number::with_text(t.parse().unwrap(), Cow::Borrowed(t))
    }

    fn calc(op: Op, a: &'static str, b: &'static str) -> String {
        arith(op, &lit(a), &lit(b)).unwrap().text().into_owned()
    }

    #[test]
    fn the_rounding_examples_of_the_eval_page() {
        assert_eq!(calc(Op::Mul, "8.250", "0.2"), "2");
        assert_eq!(calc(Op::Mul, "8.250", "0.20"), "1.7");
        assert_eq!(calc(Op::Mul, "8.250", "0.200"), "1.65");
        let exact = Number::new(0.2);
        assert_eq!(
            arith(Op::Mul, &lit("8.250"), &exact).unwrap().text(),
            "1.650"
        );
    }

    #[test]
    fn integers_are_exact() {
        assert_eq!(calc(Op::Div, "3", "2"), "1.5");
        assert_eq!(calc(Op::Mul, "3", "0.5"), "2");
        assert_eq!(calc(Op::Div, "10", "4"), "2.5");
        assert_eq!(calc(Op::Div, "10", "5"), "2");
        assert_eq!(calc(Op::Div, "1", "3"), "0.3333333333333333");
        assert_eq!(calc(Op::Mul, "1.00", "1111"), "1111");
    }

    #[test]
    fn sig_figs_and_decimal_places() {
        assert_eq!(calc(Op::Mul, "0.014", "0.23"), "0.0032");
        assert_eq!(calc(Op::Add, "123.0", "4.567"), "127.6");
        assert_eq!(calc(Op::Add, "1", "0.5"), "1.5");
        assert_eq!(calc(Op::Sub, "5.0", "9"), "-4.0");
    }

    #[test]
    fn division_by_zero_is_null() {
        assert!(arith(Op::Div, &lit("1"), &lit("0")).is_none());
        assert!(arith(Op::Mod, &lit("1"), &lit("0")).is_none());
        assert_eq!(calc(Op::Mod, "7", "3"), "1");
    }

    #[test]
    fn round_text_is_half_away_from_zero_on_decimal_digits() {
        assert_eq!(round_text(2.555, 2), "2.56");
        assert_eq!(round_text(3.5, 0), "4");
        assert_eq!(round_text(2.5, 0), "3");
        assert_eq!(round_text(-2.5, 0), "-3");
        assert_eq!(round_text(9.99, 1), "10.0");
        assert_eq!(round_text(0.04, 1), "0.0");
        assert_eq!(round_text(-0.04, 1), "0.0");
        assert_eq!(round_text(1.65, 3), "1.650");
        assert_eq!(round_text(12.0, 0), "12");
    }

    #[test]
    fn sigfig_rounds_integer_digits_too() {
        assert_eq!(round_sig_figs(1111.0, 3).text(), "1110");
        assert_eq!(round_sig_figs(127.567, 4).text(), "127.6");
        assert_eq!(round_sig_figs(0.00322, 2).text(), "0.0032");
    }
}
