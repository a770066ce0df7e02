//! Repairs that let a record with a few bad bytes be decoded rather than dropped.
//!
//! Splunk indexes such events; so must a tool that claims to see what Splunk sees. The rules:
//!
//! - **Bytes that are not UTF-8** become the text `\xNN` (two upper-case hex digits), one escape
//!   per byte. This is Splunk's documented rule for characters not valid in the source's
//!   character set (UTF-8 by default, `CHARSET` in props.conf): "If a source's character set
//!   encoding is valid, but some characters from the specification are not valid in the encoding
//!   you specify, Splunk escapes the invalid characters as hex values (for example: "\xF3")"
//!   (Splunk Admin manual, *Configure character set encoding*, 4.x; the same rule in the 3.x
//!   *Character set* page). Later manuals no longer spell the rule out; nothing says it changed.
//!   In JSON the escape is written inside the string as `\\xNN`, so the value holds `\xNN`.
//! - **A lone UTF-16 surrogate escape** in a JSON string (`\uD800` not followed by a low
//!   surrogate, or a low one alone) becomes U+FFFD, the Unicode replacement character. Splunk's
//!   `_raw` keeps the six characters; what its JSON extraction makes of them is not documented:
//!   U+FFFD, what RFC 8259 §8.2's "unpredictable" usually means in practice, is inferred.
//! - **A JSON number beyond `f64`** (`1e400`) is kept as the text it is written with, as
//!   Splunk's field values are the text of `_raw`.
//!
//! Repairs run only after a record failed to decode, so clean records pay nothing; each one is
//! counted ([`crate::WinEvent::repairs`], [`crate::FlatEvent::repairs`]).

/// `bytes` as UTF-8 text with every byte that is not part of a valid UTF-8 sequence written as
/// `\xNN`, and how many there were.
pub(crate) fn escape_invalid_utf8(bytes: &[u8]) -> (String, u32) {
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut repairs = 0u32;
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            push_hex_escape(&mut out, b);
            repairs = repairs.saturating_add(1);
        }
    }
    (out, repairs)
}

/// Writes `\xNN`.
fn push_hex_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('\\');
    out.push('x');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xF)]));
}

/// A JSON record with the repairs of the module doc made, and how many; `None` when there was
/// nothing to repair (the record's failure is something else).
pub(crate) fn repair_json(bytes: &[u8]) -> Option<(String, u32)> {
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut repairs = 0u32;
    let mut in_string = false;
    // The last byte outside strings that is not whitespace: a number starts a value after
    // `:`, `[`, `,` or at the start.
    let mut before_value = true;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_string {
            match b {
                b'"' => {
                    in_string = false;
                    out.push('"');
                    i += 1;
                }
                b'\\' => i = escape(bytes, i, &mut out, &mut repairs),
                _ => i = utf8_char(bytes, i, &mut out, &mut repairs, true),
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                before_value = false;
                out.push('"');
                i += 1;
            }
            b'-' | b'0'..=b'9' if before_value => {
                let len = bytes
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                // The bytes taken are ASCII.
                let token = std::str::from_utf8(bytes.get(i..i + len).unwrap_or_default())
                    .unwrap_or_default();
                if token.parse::<f64>().is_ok_and(f64::is_infinite) {
                    out.push('"');
                    out.push_str(token);
                    out.push('"');
                    repairs = repairs.saturating_add(1);
                } else {
                    out.push_str(token);
                }
                before_value = false;
                i += len.max(1);
            }
            _ => {
                if !b.is_ascii_whitespace() {
                    before_value = matches!(b, b':' | b'[' | b',');
                }
                i = utf8_char(bytes, i, &mut out, &mut repairs, false);
            }
        }
    }
    (repairs > 0).then_some((out, repairs))
}

/// Copies the UTF-8 character at `i`, or writes its first byte as `\xNN` when it is not valid
/// UTF-8 (inside a JSON string the backslash is escaped, so that the value holds `\xNN`);
/// returns where the next character starts.
fn utf8_char(
    bytes: &[u8],
    i: usize,
    out: &mut String,
    repairs: &mut u32,
    in_string: bool,
) -> usize {
    let width = match bytes.get(i) {
        Some(0x00..=0x7F) => 1,
        Some(0xC2..=0xDF) => 2,
        Some(0xE0..=0xEF) => 3,
        Some(0xF0..=0xF4) => 4,
        _ => 0,
    };
    if let Some(Ok(c)) = bytes
        .get(i..i + width.max(1))
        .filter(|_| width > 0)
        .map(std::str::from_utf8)
    {
        out.push_str(c);
        return i + width;
    }
    if let Some(&b) = bytes.get(i) {
        if in_string {
            out.push('\\');
        }
        push_hex_escape(out, b);
        *repairs = repairs.saturating_add(1);
    }
    i + 1
}

/// A backslash escape inside a JSON string at `i`: copied, except a lone surrogate `\uXXXX`,
/// which becomes `\uFFFD`. Returns where the string goes on.
fn escape(bytes: &[u8], i: usize, out: &mut String, repairs: &mut u32) -> usize {
    let unit = |at: usize| -> Option<u16> {
        let text = bytes.get(at..at + 6)?;
        let hex = text.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    match unit(i) {
        Some(0xD800..=0xDBFF) => {
            if unit(i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low)) {
                push_ascii(bytes, i, i + 12, out);
                return i + 12;
            }
            out.push_str("\\uFFFD");
            *repairs = repairs.saturating_add(1);
            i + 6
        }
        Some(0xDC00..=0xDFFF) => {
            out.push_str("\\uFFFD");
            *repairs = repairs.saturating_add(1);
            i + 6
        }
        Some(_) => {
            push_ascii(bytes, i, i + 6, out);
            i + 6
        }
        // `\"`, `\\`, `\n`, … (or a bad escape, left for the parser to report): the backslash
        // and the next character as they are.
        None => {
            out.push('\\');
            match bytes.get(i + 1) {
                Some(_) => utf8_char(bytes, i + 1, out, repairs, true),
                None => i + 1,
            }
        }
    }
}

/// Copies `bytes[from..to]`, known to be ASCII.
fn push_ascii(bytes: &[u8], from: usize, to: usize, out: &mut String) {
    out.push_str(std::str::from_utf8(bytes.get(from..to).unwrap_or_default()).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_become_one_escape_each() {
        let (text, n) = escape_invalid_utf8(b"caf\xE9 \xE2\x82 ok \xE2\x82\xAC \xFF");
        assert_eq!(text, "caf\\xE9 \\xE2\\x82 ok \u{20AC} \\xFF");
        assert_eq!(n, 4);
        assert_eq!(
            escape_invalid_utf8("plain ü".as_bytes()),
            ("plain ü".to_owned(), 0)
        );
    }

    #[test]
    fn json_repairs_bytes_surrogates_and_huge_numbers_only() {
        let (text, n) =
            repair_json(b"{\"a\":\"x\xE9\",\"b\":\"\\uD800y\\uDC00\",\"c\":[1e400,-2E+999,1.5]}")
                .expect("repairs");
        assert_eq!(
            text,
            r#"{"a":"x\\xE9","b":"\uFFFDy\uFFFD","c":["1e400","-2E+999",1.5]}"#
        );
        assert_eq!(n, 5);
        // Nothing to repair: escaped backslashes, a valid pair, numbers inside strings.
        let clean = br#"{"a":"\\uD800","b":"\uD83D\uDE00","c":"1e400","d":1e300}"#;
        assert_eq!(repair_json(clean), None);
    }
}
