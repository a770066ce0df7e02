//! `printf(format, args…)` (Search Reference, Conversion functions, `printf`): C's `sprintf`
//! with the conversions `%d %i %u %o %x %X %p %f %F %e %E %g %G %a %A %c %s %z %%`, the flags
//! `' - 0 + <space> #`, widths and precisions (`*` takes them from the arguments).
//!
//! Splunk's rules, from the page's tables: `%i` is `%d`; `%z` is `%s`; `%p` is `%X`; `'` groups
//! thousands with commas; a precision without digits is 0; `%c` of a number is that code point and
//! of a string its first character. cimhunt's choices [inferred]: a missing or non-numeric
//! argument of a numeric conversion prints as 0 and of `%s` as nothing; C length modifiers (`l`,
//! `h`, …) are skipped; an unknown conversion is printed as written.

use crate::value::Value;

use super::conv::group_thousands;
use super::exec::text;
use super::num::number_of;

#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    group: bool,
    width: usize,
    precision: Option<usize>,
}

/// Formats `args` by `format`.
pub(crate) fn format(format: &str, args: &[Value<'_>]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut raw = String::from("%");
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                '\'' => spec.group = true,
                _ => break,
            }
            raw.push(f);
            chars.next();
        }
        if chars.peek() == Some(&'*') {
            chars.next();
            raw.push('*');
            let w = int_arg(args.next());
            if w < 0 {
                spec.left = true;
            }
            spec.width = w.unsigned_abs().min(4096) as usize;
        } else {
            spec.width = digits(&mut chars, &mut raw).min(4096);
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            raw.push('.');
            if chars.peek() == Some(&'*') {
                chars.next();
                raw.push('*');
                let p = int_arg(args.next());
                spec.precision = (p >= 0).then(|| (p as usize).min(4096));
            } else {
                spec.precision = Some(digits(&mut chars, &mut raw).min(4096));
            }
        }
        while let Some(&m) = chars.peek() {
            if !matches!(m, 'l' | 'h' | 'L' | 'j' | 't') {
                break;
            }
            chars.next();
        }
        let Some(conv) = chars.next() else {
            out.push_str(&raw);
            break;
        };
        let body = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' => signed(int_arg(args.next()), &spec),
            'u' => unsigned(int_arg(args.next()) as u64, 10, false, &spec, ""),
            'o' => unsigned(int_arg(args.next()) as u64, 8, false, &spec, "0"),
            'x' => unsigned(int_arg(args.next()) as u64, 16, false, &spec, "0x"),
            'X' | 'p' => unsigned(int_arg(args.next()) as u64, 16, true, &spec, "0X"),
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'a' | 'A' => {
                float(float_arg(args.next()), conv, &spec)
            }
            'c' => {
                let s = match args.next() {
                    Some(v @ Value::Num(_)) => number_of(v)
                        .and_then(|n| char::from_u32(n.get() as u32))
                        .map(String::from)
                        .unwrap_or_default(),
                    Some(v) => text(v)
                        .and_then(|t| t.chars().next())
                        .map(String::from)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                pad(s, &spec, false)
            }
            's' | 'z' => {
                let s = args.next().and_then(text).unwrap_or_default();
                let s: String = match spec.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s.into_owned(),
                };
                pad(s, &spec, false)
            }
            other => {
                raw.push(other);
                raw
            }
        };
        out.push_str(&body);
    }
    out
}

fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, raw: &mut String) -> usize {
    let mut n = 0usize;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        raw.push(chars.next().unwrap_or('0'));
    }
    n
}

fn int_arg(v: Option<&Value<'_>>) -> i64 {
    v.and_then(number_of)
        .map(|n| n.get())
        .filter(|x| x.is_finite())
        .map_or(0, |x| x.trunc().clamp(-9.2e18, 9.2e18) as i64)
}

fn float_arg(v: Option<&Value<'_>>) -> f64 {
    v.and_then(number_of).map_or(0.0, |n| n.get())
}

/// Pads `body` to the width; `numeric` bodies take zeros after their sign or prefix.
fn pad(body: String, spec: &Spec, numeric: bool) -> String {
    let len = body.chars().count();
    if len >= spec.width {
        return body;
    }
    let fill = spec.width - len;
    if spec.left {
        return body + &" ".repeat(fill);
    }
    if numeric && spec.zero {
        let prefix_len = body
            .find(|c: char| c.is_ascii_digit())
            .map(|i| {
                // Keep a `0x` prefix before the zeros.
                let b = body.as_bytes();
                if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X')) {
                    i + 2
                } else {
                    i
                }
            })
            .unwrap_or(0);
        let (head, tail) = body.split_at(prefix_len);
        return format!("{head}{}{tail}", "0".repeat(fill));
    }
    " ".repeat(fill) + &body
}

fn sign_prefix(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn signed(n: i64, spec: &Spec) -> String {
    let mut digits = n.unsigned_abs().to_string();
    if let Some(p) = spec.precision {
        if p == 0 && n == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    if spec.group {
        digits = group_thousands(&digits);
    }
    let body = format!("{}{digits}", sign_prefix(n < 0, spec));
    let mut s = *spec;
    s.zero &= spec.precision.is_none();
    pad(body, &s, true)
}

fn unsigned(n: u64, radix: u32, upper: bool, spec: &Spec, alt_prefix: &str) -> String {
    let mut digits = match radix {
        8 => format!("{n:o}"),
        16 if upper => format!("{n:X}"),
        16 => format!("{n:x}"),
        _ => n.to_string(),
    };
    if let Some(p) = spec.precision {
        if p == 0 && n == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    if spec.group && radix == 10 {
        digits = group_thousands(&digits);
    }
    let prefix = if spec.alt && n != 0 && !(radix == 8 && digits.starts_with('0')) {
        alt_prefix
    } else {
        ""
    };
    let mut s = *spec;
    s.zero &= spec.precision.is_none();
    pad(format!("{prefix}{digits}"), &s, true)
}

fn float(x: f64, conv: char, spec: &Spec) -> String {
    let upper = conv.is_ascii_uppercase();
    let body = if !x.is_finite() {
        let t = if x.is_nan() { "nan" } else { "inf" };
        let t = if upper {
            t.to_uppercase()
        } else {
            t.to_owned()
        };
        let mut s = *spec;
        s.zero = false;
        return pad(format!("{}{t}", sign_prefix(x < 0.0, spec)), &s, true);
    } else {
        let a = x.abs();
        let p = spec.precision;
        let mut body = match conv.to_ascii_lowercase() {
            'f' => {
                let s = format!("{:.*}", p.unwrap_or(6), a);
                if spec.group { group_thousands(&s) } else { s }
            }
            'e' => exp(a, p.unwrap_or(6), upper),
            'g' => general(a, p.unwrap_or(6), spec.alt, upper),
            _ => hex_float(a, p, upper),
        };
        if spec.alt && !body.contains('.') && matches!(conv.to_ascii_lowercase(), 'f' | 'e') {
            let at = body.find(['e', 'E']).unwrap_or(body.len());
            body.insert(at, '.');
        }
        body
    };
    pad(
        format!(
            "{}{body}",
            sign_prefix(x.is_sign_negative() && x != 0.0, spec)
        ),
        spec,
        true,
    )
}

/// C's `%e`: one digit, the fraction, `e`, a sign and at least two exponent digits.
fn exp(a: f64, precision: usize, upper: bool) -> String {
    let s = format!("{:.*e}", precision, a);
    let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    let mark = if upper { 'E' } else { 'e' };
    format!("{mantissa}{mark}{sign}{:02}", e.unsigned_abs())
}

/// C's `%g`: `%e` or `%f` by the exponent, trailing zeros removed unless `#`.
fn general(a: f64, precision: usize, alt: bool, upper: bool) -> String {
    let p = precision.max(1);
    let x = if a == 0.0 {
        0
    } else {
        let s = format!("{:.*e}", p - 1, a);
        s.split_once('e')
            .and_then(|(_, e)| e.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let mut s = if x < -4 || x >= p as i32 {
        exp(a, p - 1, upper)
    } else {
        format!("{:.*}", (p as i32 - 1 - x).max(0) as usize, a)
    };
    if !alt {
        let (num, tail) = match s.find(['e', 'E']) {
            Some(i) => (s[..i].to_owned(), s[i..].to_owned()),
            None => (s.clone(), String::new()),
        };
        let num = if num.contains('.') {
            num.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            num
        };
        s = num + &tail;
    }
    s
}

/// C's `%a`: `0x1.<hex fraction>p<exponent>`.
fn hex_float(a: f64, precision: Option<usize>, upper: bool) -> String {
    let bits = a.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mantissa = bits & ((1u64 << 52) - 1);
    let (mut lead, exponent) = match (raw_exp, mantissa) {
        (0, 0) => (0u64, 0i64),
        (0, _) => (0, -1022),
        _ => (1, raw_exp - 1023),
    };
    let digits = match precision {
        Some(p) if p < 13 => {
            let shift = 52 - 4 * p as u32;
            let half = 1u64 << (shift - 1);
            let rounded = (mantissa + half) >> shift;
            if rounded >> (4 * p as u32) != 0 {
                lead += 1;
            }
            mantissa = rounded & ((1u64 << (4 * p as u32)) - 1);
            if p == 0 {
                String::new()
            } else {
                format!("{mantissa:0width$x}", width = p)
            }
        }
        Some(p) => format!("{mantissa:013x}{}", "0".repeat(p - 13)),
        None => {
            let s = format!("{mantissa:013x}");
            s.trim_end_matches('0').to_owned()
        }
    };
    let s = if digits.is_empty() {
        format!("0x{lead}p{exponent:+}")
    } else {
        format!("0x{lead}.{digits}p{exponent:+}")
    };
    if upper { s.to_uppercase() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(f: &str, args: &[Value<'_>]) -> String {
        format(f, args)
    }

    fn n(x: f64) -> Value<'static> {
        Value::num(x)
    }

    // pi() as Splunk gives it, 11 decimals.
    #[allow(clippy::approx_constant)]
    const PI: f64 = 3.14159265359;

    #[test]
    fn conversion_examples_of_the_printf_page() {
        assert_eq!(pf("%.3A", &[n(PI)]), "0X1.922P+1");
        assert_eq!(pf("%c,%c", &[n(65.0), Value::str("Foo")]), "A,F");
        assert_eq!(pf("%d,%i,%d", &[n(-2.0), n(4.0), n(30.0)]), "-2,4,30");
        assert_eq!(pf("%.2e", &[n(5139.0)]), "5.14e+03");
        assert_eq!(pf("%.2f", &[n(PI)]), "3.14");
        assert_eq!(pf("%.2g,%.2g", &[n(PI), n(123.0)]), "3.1,1.2e+02");
        assert_eq!(pf("%o", &[n(255.0)]), "377");
        assert_eq!(
            pf("%s%z", &[Value::str("foo"), Value::str("bar")]),
            "foobar"
        );
        assert_eq!(pf("%u", &[n(99.0)]), "99");
        assert_eq!(pf("%x,%X,%p", &[n(10.0), n(10.0), n(10.0)]), "a,A,A");
        assert_eq!(pf("100%%", &[]), "100%");
    }

    #[test]
    fn flag_examples_of_the_printf_page() {
        assert_eq!(pf("%'d", &[n(12345.0)]), "12,345");
        assert_eq!(pf("%-4d", &[n(1.0)]), "1   ");
        assert_eq!(pf("%04d", &[n(1.0)]), "0001");
        assert_eq!(pf("%+4d", &[n(1.0)]), "  +1");
        assert_eq!(pf("% -4d", &[n(1.0)]), " 1  ");
        assert_eq!(pf("%#x", &[n(1.0)]), "0x1");
    }

    #[test]
    fn width_and_precision_from_arguments() {
        assert_eq!(pf("%*d", &[n(5.0), n(123.0)]), "  123");
        assert_eq!(pf("%.*f", &[n(1.0), n(1.23)]), "1.2");
        assert_eq!(pf("%*.*e", &[n(9.0), n(2.0), n(PI)]), " 3.14e+00");
        assert_eq!(
            pf("%04.4f %-30s|", &[n(1.5), Value::str("x")]),
            format!("1.5000 x{}|", " ".repeat(29))
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert_eq!(pf("%", &[]), "%");
        assert_eq!(pf("%d %s", &[]), "0 ");
        assert_eq!(pf("%q", &[]), "%q");
        assert_eq!(pf("%.0d", &[n(0.0)]), "");
        assert_eq!(pf("%f", &[n(f64::NAN)]), "nan");
        assert_eq!(pf("%a", &[n(1.0)]), "0x1p+0");
        assert_eq!(pf("%a", &[n(0.0)]), "0x0p+0");
        assert_eq!(pf("%g", &[n(100000.0)]), "100000");
        assert_eq!(pf("%g", &[n(1e6)]), "1e+06");
        assert_eq!(pf("%g", &[n(0.0001)]), "0.0001");
    }
}
