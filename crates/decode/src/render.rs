//! Windows' own XML rendering of values (spec 6.3, 6.4), for values that do not arrive in it.
//!
//! XmlWinEventLog text is already in this form and is never passed through here. evtx_dump JSON
//! carries plain (unescaped) strings and GUIDs without braces; the evtx crate renders GUIDs in
//! lower case. These helpers bring such values to the text Windows itself would have written.

use std::borrow::Cow;

/// A plain string as Windows writes it into element text: `&`, `<` and `>` escaped as entities
/// (quotes stay literal), and the characters XML cannot hold (C0 controls other than tab, LF and
/// CR; U+FFFE and U+FFFF) replaced by `_`, as Windows and the evtx crate do. Borrowed input stays
/// borrowed when nothing needs changing.
pub(crate) fn xml_text(value: Cow<'_, str>) -> Cow<'_, str> {
    if !needs_escape(&value) {
        return value;
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('_'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(value: &str) -> bool {
    value.bytes().enumerate().any(|(i, b)| match b {
        b'&' | b'<' | b'>' => true,
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f => true,
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
        0xEF => matches!(
            value.as_bytes().get(i + 1..i + 3),
            Some([0xBF, 0xBE | 0xBF])
        ),
        _ => false,
    })
}

/// The 32 hex digits of a GUID written `8-4-4-4-12`, with or without braces; `None` when `value`
/// is not exactly that.
fn guid_digits(value: &str) -> Option<&str> {
    let inner = match value.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => value,
    };
    let bytes = inner.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let well_formed = bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    well_formed.then_some(inner)
}

/// A GUID (with or without braces, any case) as Windows renders it: upper case in braces,
/// `{96128EA2-F212-5F7E-E400-000000007F01}`. `None` when `value` is not a GUID or is already
/// in that form.
pub(crate) fn windows_guid(value: &str) -> Option<String> {
    let inner = guid_digits(value)?;
    let canonical = value.len() == 38 && !inner.bytes().any(|b| b.is_ascii_lowercase());
    if canonical {
        return None;
    }
    let mut out = String::with_capacity(38);
    out.push('{');
    out.push_str(&inner.to_ascii_uppercase());
    out.push('}');
    Some(out)
}

/// [`windows_guid`] for a value that is exactly a braced GUID containing lower-case hex, the
/// form the evtx crate renders GUID-typed values in; `None` for anything else.
pub(crate) fn upper_braced_guid(value: &str) -> Option<String> {
    if value.len() == 38 && value.starts_with('{') {
        windows_guid(value)
    } else {
        None
    }
}

/// Whether a field of this name holds a GUID that must be shown as Windows shows GUIDs: its
/// name ends in `Guid` in any case (`ProcessGuid`, `LogonGuid`, Sysmon's `SourceProcessGUID`).
pub(crate) fn is_guid_name(name: &str) -> bool {
    name.len() >= 4
        && name
            .get(name.len() - 4..)
            .is_some_and(|end| end.eq_ignore_ascii_case("guid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_escapes_markup_but_keeps_quotes_and_line_breaks() {
        let out = xml_text(Cow::Borrowed("a && <b> \"c\" 'd'\r\n\tx"));
        assert_eq!(out, "a &amp;&amp; &lt;b&gt; \"c\" 'd'\r\n\tx");
    }

    #[test]
    fn xml_text_borrows_when_nothing_to_escape() {
        let out = xml_text(Cow::Borrowed(
            "C:\\Windows\\System32\\cmd.exe /c echo ü 日本",
        ));
        assert!(matches!(out, Cow::Borrowed(_)));
    }

    #[test]
    fn xml_text_replaces_characters_xml_cannot_hold() {
        assert_eq!(
            xml_text(Cow::Borrowed("a\u{1}b\u{0}c\u{fffe}d\u{fffd}")),
            "a_b_c_d\u{fffd}"
        );
    }

    #[test]
    fn guid_without_braces_gets_braces_and_upper_case() {
        let out = windows_guid("0197231e-f943-69e5-a527-000000000800");
        assert_eq!(
            out.as_deref(),
            Some("{0197231E-F943-69E5-A527-000000000800}")
        );
    }

    #[test]
    fn canonical_guid_and_non_guids_are_left_alone() {
        assert_eq!(windows_guid("{0197231E-F943-69E5-A527-000000000800}"), None);
        assert_eq!(windows_guid("0197231E-F943-69E5-A527-00000000080"), None);
        assert_eq!(windows_guid("{0197231E-F943-69E5-A527-000000000800"), None);
        assert_eq!(windows_guid("0197231E+F943-69E5-A527-000000000800"), None);
        assert_eq!(windows_guid("-"), None);
    }

    #[test]
    fn only_braced_guids_count_as_evtx_guids() {
        let lower = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}";
        assert_eq!(
            upper_braced_guid(lower).as_deref(),
            Some("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}")
        );
        assert_eq!(
            upper_braced_guid("5770385f-c22a-43e0-bf4c-06f5698ffbd9"),
            None
        );
    }
}
