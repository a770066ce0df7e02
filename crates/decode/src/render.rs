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

/// A plain string as Windows writes it into an attribute value: [`xml_text`], and both quote
/// characters escaped (`&quot;`, `&apos;`), as the evtx crate writes attributes.
pub(crate) fn xml_attr(value: Cow<'_, str>) -> Cow<'_, str> {
    let value = xml_text(value);
    if !value.contains(['"', '\'']) {
        return value;
    }
    Cow::Owned(value.replace('"', "&quot;").replace('\'', "&apos;"))
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
    out.extend(inner.chars().map(|c| c.to_ascii_uppercase()));
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

/// A value of evtx_dump JSON named `name` with its GUID in Windows' form: in a `…Guid` field a
/// GUID with or without braces, anywhere else a braced GUID in lower case (evtx 0.15's form for
/// GUID-typed values, whatever their name: `RuleId`, `ProviderKey`, …).
pub(crate) fn windows_guid_value<'a>(name: &str, value: Cow<'a, str>) -> Cow<'a, str> {
    let guid = if is_guid_name(name) {
        windows_guid(&value)
    } else {
        upper_braced_guid(&value)
    };
    guid.map_or(value, Cow::Owned)
}

/// Whether a field of this name holds a GUID that must be shown as Windows shows GUIDs: its
/// name ends in `Guid` in any case (`ProcessGuid`, `LogonGuid`, Sysmon's `SourceProcessGUID`).
pub(crate) fn is_guid_name(name: &str) -> bool {
    name.len() >= 4
        && name
            .get(name.len() - 4..)
            .is_some_and(|end| end.eq_ignore_ascii_case("guid"))
}

/// Brings an event decoded from XML the evtx crate (or evtx_dump) rendered to Windows'
/// rendering: braced lower-case GUIDs upper-cased everywhere, `SystemTime` with nine fractional
/// digits, `UserData` attributes single-quoted (see `crate::evtx` for why these three).
pub(crate) fn to_windows_rendering(event: &mut crate::WinEvent<'_>) {
    for element in &mut event.system {
        for (name, value) in &mut element.attrs {
            let fixed = if name == "SystemTime" {
                windows_system_time(value)
            } else {
                upper_braced_guid(value)
            };
            if let Some(fixed) = fixed {
                *value = Cow::Owned(fixed);
            }
        }
        if let Some(text) = &mut element.text
            && let Some(guid) = upper_braced_guid(text)
        {
            *text = Cow::Owned(guid);
        }
    }
    for (_, value) in &mut event.data {
        if let Some(guid) = upper_braced_guid(value) {
            *value = Cow::Owned(guid);
        }
    }
    if let Some(Cow::Borrowed(markup)) = event.user_data_xml {
        event.user_data_xml = Some(windows_markup(markup));
    }
}

/// `TimeCreated/@SystemTime` with nine fractional digits, as Windows writes it
/// (`2020-10-08T11:03:46.617920300Z`, spec 6.2): the evtx crate writes 7 digits, older
/// evtx_dump JSON 6. Zeros are appended, so digits the source did not have stay zero. `None`
/// when `value` is not `YYYY-MM-DDTHH:MM:SS[.digits]Z` or already has nine or more digits.
pub(crate) fn windows_system_time(value: &str) -> Option<String> {
    let main = value.strip_suffix('Z')?;
    let (seconds, fraction) = match main.get(19..)? {
        "" => (main, ""),
        rest => (main.get(..19)?, rest.strip_prefix('.')?),
    };
    let shape_ok = seconds.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b'T',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok || fraction.len() >= 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = String::with_capacity(30);
    out.push_str(seconds);
    out.push('.');
    out.push_str(fraction);
    out.extend(std::iter::repeat_n('0', 9 - fraction.len()));
    out.push('Z');
    Some(out)
}

/// Markup rendered by the evtx crate (`UserData`'s inner XML) in Windows' form: attribute
/// values single-quoted (a `'` inside a double-quoted value written `&apos;`), braced
/// lower-case GUIDs in upper case. Comments, CDATA sections and processing instructions are
/// copied as they are. Borrowed when nothing changes.
pub(crate) fn windows_markup(markup: &str) -> Cow<'_, str> {
    let mut out = Splicer::new(markup);
    let bytes = markup.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'<' => i = tag(markup, i, &mut out),
            b'{' => {
                if let Some(guid) = markup.get(i..i + 38).and_then(upper_braced_guid) {
                    out.splice(i, i + 38, &guid);
                    i += 38;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.finish()
}

/// The markup construct starting with `<` at `at`; returns where the text after it starts.
fn tag(markup: &str, at: usize, out: &mut Splicer<'_>) -> usize {
    let rest = markup.get(at..).unwrap_or_default();
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")] {
        if rest.starts_with(open) {
            return rest
                .get(open.len()..)
                .and_then(|r| r.find(close))
                .map_or(markup.len(), |k| at + open.len() + k + close.len());
        }
    }
    let bytes = markup.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match (quote, b) {
            (None, b'>') => return i + 1,
            (None, b'"') => {
                out.splice(i, i + 1, "'");
                quote = Some(b'"');
            }
            (None, b'\'') => quote = Some(b'\''),
            (Some(b'"'), b'"') => {
                out.splice(i, i + 1, "'");
                quote = None;
            }
            (Some(b'"'), b'\'') => out.splice(i, i + 1, "&apos;"),
            (Some(b'"'), b'{') => {
                if let Some(guid) = markup.get(i..i + 38).and_then(upper_braced_guid) {
                    out.splice(i, i + 38, &guid);
                    i += 38;
                    continue;
                }
            }
            (Some(q), _) if b == q => quote = None,
            (Some(b'\''), b'{') => {
                if let Some(guid) = markup.get(i..i + 38).and_then(upper_braced_guid) {
                    out.splice(i, i + 38, &guid);
                    i += 38;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    markup.len()
}

/// Builds a copy of a text with some ranges replaced, without copying when none is.
struct Splicer<'a> {
    text: &'a str,
    out: Option<String>,
    copied: usize,
}

impl<'a> Splicer<'a> {
    fn new(text: &'a str) -> Self {
        Splicer {
            text,
            out: None,
            copied: 0,
        }
    }

    /// Replaces `text[from..to]` (ranges come in order) by `with`.
    fn splice(&mut self, from: usize, to: usize, with: &str) {
        let text = self.text;
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(text.len() + 16));
        out.push_str(text.get(self.copied..from).unwrap_or_default());
        out.push_str(with);
        self.copied = to;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(self.text.get(self.copied..).unwrap_or_default());
                Cow::Owned(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_time_gets_nine_fractional_digits() {
        let t = |v: &str| windows_system_time(v);
        assert_eq!(
            t("2026-04-20T10:00:35.6466242Z").as_deref(),
            Some("2026-04-20T10:00:35.646624200Z")
        );
        assert_eq!(
            t("2026-04-20T10:00:35.646624Z").as_deref(),
            Some("2026-04-20T10:00:35.646624000Z")
        );
        assert_eq!(
            t("2026-04-20T10:00:35Z").as_deref(),
            Some("2026-04-20T10:00:35.000000000Z")
        );
        assert_eq!(t("2026-04-20T10:00:35.646624200Z"), None, "already nine");
        assert_eq!(t("2026-04-20T10:00:35.6466242+00:00"), None);
        assert_eq!(t("2026-04-20 10:00:35.6466242Z"), None);
        assert_eq!(t("2026-04-20T10:00:35.64x6242Z"), None);
        assert_eq!(t("Z"), None);
    }

    #[test]
    fn markup_is_requoted_and_guids_upper_cased_but_text_quotes_stay() {
        let m = r#"<A xmlns="urn:x" b="it&apos;s"><Id>{0197231e-f943-69e5-a527-000000000800}</Id><T>say "hi" {x}</T><E></E></A>"#;
        assert_eq!(
            windows_markup(m),
            r#"<A xmlns='urn:x' b='it&apos;s'><Id>{0197231E-F943-69E5-A527-000000000800}</Id><T>say "hi" {x}</T><E></E></A>"#
        );
        let plain = "<A><B>x</B></A>";
        assert!(matches!(windows_markup(plain), Cow::Borrowed(_)));
        // A quote of the other kind inside a value, comments and CDATA.
        let m = r#"<A a="it's" b='say "hi"'><!-- "c" --><![CDATA["d"]]><T>"e"</T></A>"#;
        assert_eq!(
            windows_markup(m),
            r#"<A a='it&apos;s' b='say "hi"'><!-- "c" --><![CDATA["d"]]><T>"e"</T></A>"#
        );
    }

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
