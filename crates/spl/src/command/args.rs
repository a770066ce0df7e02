//! Argument reading shared by the command parsers: `key=value` options, booleans, numbers,
//! spans, field lists.

use std::ops::Range;

use crate::error::{RawError, RawResult};
use crate::lexer::{Scanner, Token};

/// If the command continues with `key=` (a key of letters, digits, `_`, `-` or `.`, then
/// optional spaces, then `=` not followed by `=`), consumes it up to the value and returns the
/// key; otherwise consumes nothing.
pub(crate) fn eat_key(sc: &mut Scanner<'_>) -> Option<Token> {
    sc.skip_ws();
    let rest = sc.rest();
    let key_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map_or(rest.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let after = &rest[key_len..];
    let spaces = after.len() - after.trim_start().len();
    let after = &after[spaces..];
    if !after.starts_with('=') || after.starts_with("==") {
        return None;
    }
    let start = sc.pos();
    let key = rest[..key_len].to_owned();
    for _ in 0..key_len + spaces + 1 {
        sc.bump();
    }
    sc.skip_ws();
    Some(Token {
        text: key,
        span: start..start + key_len,
        quoted: false,
    })
}

/// The value after `key=`: quoted, or a word up to whitespace or a subsearch's `[`.
pub(crate) fn value(sc: &mut Scanner<'_>, key: &Token) -> RawResult<Token> {
    sc.skip_ws();
    let v = if sc.peek() == Some('"') {
        Some(sc.quoted()?)
    } else {
        sc.word(|c, _| c == '[')
    };
    match v {
        Some(v) => Ok(v),
        None => Err(RawError::syntax(
            format!("missing value for `{}`", key.text),
            key.span.clone(),
            "expected `key=value`",
        )),
    }
}

/// A boolean option value (`true`, `t`, `1`, `yes` and their opposites, any case).
pub(crate) fn boolean(v: &Token) -> RawResult<bool> {
    match v.text.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Ok(true),
        "false" | "f" | "0" | "no" | "n" => Ok(false),
        _ => Err(RawError::syntax(
            format!("`{}` is not a boolean", v.text),
            v.span.clone(),
            "expected true or false",
        )),
    }
}

/// A non-negative integer option value.
pub(crate) fn integer(v: &Token) -> RawResult<u64> {
    v.text.trim().parse::<u64>().map_err(|_| {
        RawError::syntax(
            format!("`{}` is not a non-negative integer", v.text),
            v.span.clone(),
            "expected a number",
        )
    })
}

/// A time span such as `5m`, `1h`, `30s`, `2d` (also the long unit names), in seconds.
pub(crate) fn span_seconds(v: &str, at: &Range<usize>) -> RawResult<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = v.split_at(digits);
    let Ok(n) = n.parse::<u64>() else {
        return Err(RawError::syntax(
            format!("bad span `{v}`"),
            at.clone(),
            "expected e.g. `span=5m`",
        ));
    };
    let mult = match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        other => {
            return Err(RawError::unsupported(
                format!("span unit `{other}`"),
                at.clone(),
            ));
        }
    };
    n.checked_mul(mult).filter(|&s| s > 0).ok_or_else(|| {
        RawError::syntax(
            format!("bad span `{v}`"),
            at.clone(),
            "expected a positive span",
        )
    })
}

/// An error for an option the command does not know.
pub(crate) fn unknown_option(cmd: &str, key: &Token) -> RawError {
    RawError::unsupported(format!("{cmd} option `{}`", key.text), key.span.clone())
}

/// A syntax error at the scanner's position.
pub(crate) fn unexpected(sc: &mut Scanner<'_>, cmd: &str, expected: &str) -> RawError {
    sc.skip_ws();
    let at = sc.pos();
    let c = sc.peek().map(String::from).unwrap_or_default();
    RawError::syntax(
        if c.is_empty() {
            format!("`{cmd}` ends too early")
        } else {
            format!("unexpected `{c}` in `{cmd}`")
        },
        at..at + c.len().max(1),
        expected,
    )
}

/// A field name: quoted, or a word ending at whitespace, `,`, `=`, `(`, `)`, `[` or `]`.
pub(crate) fn field_name(sc: &mut Scanner<'_>) -> RawResult<Option<Token>> {
    sc.skip_ws();
    if sc.peek() == Some('"') {
        return sc.quoted().map(Some);
    }
    Ok(sc.word(|c, _| matches!(c, ',' | '=' | '(' | ')' | '[' | ']')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Scanner<'_> {
        Scanner::new(s, 0..s.len())
    }

    #[test]
    fn keys_need_an_equals_sign_and_not_a_comparison() {
        let mut sc = scan("max_match = 10 rest");
        let k = eat_key(&mut sc).unwrap();
        assert_eq!(k.text, "max_match");
        assert_eq!(value(&mut sc, &k).unwrap().text, "10");
        let mut sc = scan("field \"x\"");
        assert!(eat_key(&mut sc).is_none());
        assert_eq!(sc.rest(), "field \"x\"");
        let mut sc = scan("a==b");
        assert!(eat_key(&mut sc).is_none());
    }

    #[test]
    fn spans_read_units() {
        assert_eq!(span_seconds("5m", &(0..2)).unwrap(), 300);
        assert_eq!(span_seconds("30s", &(0..2)).unwrap(), 30);
        assert_eq!(span_seconds("1h", &(0..2)).unwrap(), 3600);
        assert!(span_seconds("0m", &(0..2)).is_err());
        assert!(span_seconds("5mon", &(0..2)).is_err());
    }
}
