//! `decode_xml` on XmlWinEventLog lines written for these tests.

mod common;

use std::borrow::Cow;

use cimhunt_decode::{DecodeError, DecodeErrorKind, WinEvent, decode_xml};
use common::SYSMON1_XML;

fn decode(xml: &str) -> WinEvent<'_> {
    decode_xml(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\nin {xml}"))
}

fn error(xml: &[u8]) -> DecodeError {
    match decode_xml(xml) {
        Ok(event) => panic!("expected an error, decoded {event:?}"),
        Err(e) => e,
    }
}

/// A minimal event around `system` and `body` (what follows `</System>`).
fn event(system: &str, body: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>{system}</System>{body}</Event>"
    )
}

#[test]
fn sysmon_line_gives_system_fields_and_data_in_document_order() {
    let e = decode_xml(SYSMON1_XML).expect("fixture decodes");
    assert_eq!(e.provider(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(e.event_id(), Some("1"));
    assert_eq!(e.event_id_number(), Some(1));
    assert_eq!(e.version(), Some("5"));
    assert_eq!(e.keywords(), Some("0x8000000000000000"));
    assert_eq!(e.system_time(), Some("2024-03-05T14:22:07.123456700Z"));
    assert_eq!(e.record_id(), Some("48213"));
    assert_eq!(e.channel(), Some("Microsoft-Windows-Sysmon/Operational"));
    assert_eq!(e.computer(), Some("ws-finance-07.corp.example"));
    assert_eq!(e.user_id(), Some("S-1-5-18"));
    let names: Vec<&str> = e.data.iter().map(|(n, _)| n.as_ref()).collect();
    assert_eq!(names.first(), Some(&"RuleName"));
    assert_eq!(names.last(), Some(&"ParentUser"));
    assert_eq!(names.len(), 23);
    assert_eq!(
        e.data("ProcessGuid"),
        Some("{4A1B2C3D-5E6F-7081-92A3-B4C5D6E7F809}")
    );
    assert_eq!(e.data("Image"), Some("C:\\Windows\\System32\\cmd.exe"));
    assert_eq!(e.data("CurrentDirectory"), Some("C:\\Users\\alice\\"));
}

#[test]
fn entities_and_quotes_stay_as_written_cv21() {
    let e = decode_xml(SYSMON1_XML).expect("fixture decodes");
    assert_eq!(
        e.data("CommandLine"),
        Some(
            "cmd.exe /c \"echo a &amp;&amp; calc.exe &gt; C:\\temp\\o.txt 2&gt;&amp;1 &lt; nul\" "
        )
    );
    let x = event(
        "",
        "<EventData><Data Name='CommandLine'>a &amp;&amp; calc.exe &#x41; &quot;</Data></EventData>",
    );
    assert_eq!(
        decode(&x).data("CommandLine"),
        Some("a &amp;&amp; calc.exe &#x41; &quot;")
    );
}

#[test]
fn values_are_borrowed_slices_of_the_record() {
    let e = decode_xml(SYSMON1_XML).expect("fixture decodes");
    let range = SYSMON1_XML.as_ptr_range();
    let borrowed_inside = |v: &Cow<'_, str>| match v {
        Cow::Borrowed(s) => range.contains(&s.as_ptr()) || s.is_empty(),
        Cow::Owned(_) => false,
    };
    assert_eq!(e.system.len(), 14);
    for element in &e.system {
        assert!(borrowed_inside(&element.name), "{element:?}");
        assert!(
            element.text.as_ref().is_none_or(borrowed_inside),
            "{element:?}"
        );
        assert!(
            element
                .attrs
                .iter()
                .all(|(n, v)| borrowed_inside(n) && borrowed_inside(v)),
            "{element:?}"
        );
    }
    let raw = e.raw.expect("raw is kept");
    assert_eq!(raw.as_bytes(), SYSMON1_XML.trim_ascii_end());
    assert!(range.contains(&raw.as_ptr()));
    assert!(
        e.data
            .iter()
            .all(|(n, v)| borrowed_inside(n) && borrowed_inside(v))
    );
}

#[test]
fn double_quoted_attributes_decode_like_single_quoted_ones() {
    let single = event(
        "<Provider Name='P'/><TimeCreated SystemTime='2024-01-01T00:00:00.000000000Z'/><Security UserID='S-1-5-18'/>",
        "<EventData><Data Name='A'>x</Data></EventData>",
    );
    let double = single.replace('\'', "\"");
    let without_raw = |mut e: WinEvent<'static>| {
        e.raw = None;
        e
    };
    assert_eq!(
        without_raw(decode(&single).into_owned()),
        without_raw(decode(&double).into_owned())
    );
    assert_eq!(decode(&double).data("A"), Some("x"));
    assert_eq!(decode(&double).provider(), Some("P"));
}

/// evtx_dump `-o xml` (the evtx crate's rendering, which double-quotes the namespace) writes
/// GUIDs in lower case and 7 fractional digits of `SystemTime`: such XML gets Windows'
/// rendering, as EVTX does, so that one event gives the same values from every tool. `raw`
/// stays the text as it is.
#[test]
fn xml_rendered_by_evtx_dump_gets_windows_rendering_of_guids_and_time() {
    let dumped = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    \
        <Provider Name=\"Microsoft-Windows-Sysmon\" Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"/>\n    \
        <TimeCreated SystemTime=\"2026-04-20T10:00:35.6466242Z\"/>\n  </System>\n  <EventData>\n    \
        <Data Name=\"ProcessGuid\">{0197231e-f943-69e5-a527-000000000800}</Data>\n  </EventData>\n</Event>";
    let e = decode(dumped);
    let guid = e.system_element("Provider").and_then(|p| p.attr("Guid"));
    assert_eq!(guid, Some("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"));
    assert_eq!(e.system_time(), Some("2026-04-20T10:00:35.646624200Z"));
    assert_eq!(
        e.data("ProcessGuid"),
        Some("{0197231E-F943-69E5-A527-000000000800}")
    );
    assert_eq!(e.raw, Some(dumped));
    // Windows' own rendering (single quotes) is taken as it is, lower case and all.
    let windows = dumped.replace('"', "'");
    let e = decode(&windows);
    assert_eq!(
        e.data("ProcessGuid"),
        Some("{0197231e-f943-69e5-a527-000000000800}")
    );
}

#[test]
fn attribute_values_may_hold_the_other_quote_and_a_greater_than_sign() {
    let x = event(
        "",
        r#"<EventData><Data Name="it's >"/><Data Name='say "hi"'>v</Data></EventData>"#,
    );
    let e = decode(&x);
    assert_eq!(e.data("it's >"), Some(""));
    assert_eq!(e.data("say \"hi\""), Some("v"));
}

#[test]
fn crlf_and_surrounding_whitespace_inside_values_are_kept() {
    let x = event(
        "",
        "<EventData><Data Name='CommandLine'>  powershell -c \"a\"\r\n  b \r\n</Data></EventData>",
    );
    assert_eq!(
        decode(&x).data("CommandLine"),
        Some("  powershell -c \"a\"\r\n  b \r\n")
    );
}

#[test]
fn non_ascii_text_is_kept() {
    let x = event(
        "<Computer>ПК-бухгалтерия</Computer>",
        "<EventData><Data Name='Product'>Microsoft® Windows®</Data><Data Name='Описание'>记事本 メモ帳</Data></EventData>",
    );
    let e = decode(&x);
    assert_eq!(e.computer(), Some("ПК-бухгалтерия"));
    assert_eq!(e.data("Product"), Some("Microsoft® Windows®"));
    assert_eq!(e.data("Описание"), Some("记事本 メモ帳"));
}

#[test]
fn empty_data_elements_give_empty_values_and_unnamed_data_an_empty_name() {
    let x = event(
        "",
        "<EventData><Data Name='A'/><Data Name='B'></Data><Data Name='C' /><Data>free</Data></EventData>",
    );
    let e = decode(&x);
    let pairs: Vec<(&str, &str)> = e
        .data
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(pairs, [("A", ""), ("B", ""), ("C", ""), ("", "free")]);
}

#[test]
fn missing_system_elements_are_none() {
    let x = event("<EventID>4688</EventID>", "");
    let e = decode(&x);
    assert_eq!(e.event_id(), Some("4688"));
    assert_eq!(e.computer(), None);
    assert_eq!(e.system_time(), None);
    assert_eq!(e.provider(), None);
    assert_eq!(e.user_id(), None);
    assert!(e.data.is_empty());
}

#[test]
fn security_without_user_id_or_with_an_empty_one_gives_none() {
    assert_eq!(decode(&event("<Security/>", "")).user_id(), None);
    assert_eq!(decode(&event("<Security UserID=''/>", "")).user_id(), None);
    assert_eq!(
        decode(&event("<Security UserID='S-1-5-18'/>", "")).user_id(),
        Some("S-1-5-18")
    );
}

#[test]
fn event_id_qualifiers_are_ignored() {
    let x = event("<EventID Qualifiers='16384'>4688</EventID>", "");
    let e = decode(&x);
    assert_eq!(e.event_id(), Some("4688"));
    assert_eq!(e.event_id_number(), Some(4688));
}

#[test]
fn rendering_info_and_other_elements_are_skipped() {
    let x = event(
        "<Keywords>0x8020000000000000</Keywords><Channel>Security</Channel>",
        "<EventData><Data Name='NewProcessId'>0xf84</Data><Binary>00FF</Binary></EventData>\
         <RenderingInfo Culture='en-US'><Message>A new process has been created.</Message>\
         <Level>Information</Level><Channel>Security</Channel><Keywords><Keyword>Audit Success</Keyword></Keywords>\
         <Data Name='Fake'>no</Data></RenderingInfo>",
    );
    let e = decode(&x);
    assert_eq!(e.keywords(), Some("0x8020000000000000"));
    let pairs: Vec<(&str, &str)> = e
        .data
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(pairs, [("NewProcessId", "0xf84")]);
}

#[test]
fn user_data_markup_is_kept_as_written_and_its_leaves_are_not_data() {
    let inner = "<LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'>\
         <SubjectUserSid>S-1-5-21-1-2-3-500</SubjectUserSid><SubjectUserName>alice</SubjectUserName>\
         <Nested><Inner>deep &amp; low</Inner></Nested><Empty/><Attrs a='1'></Attrs></LogFileCleared>";
    let x = event(
        "<EventID>1102</EventID>",
        &format!("<UserData>{inner}</UserData>"),
    );
    let e = decode(&x);
    assert!(e.data.is_empty());
    assert_eq!(e.user_data_xml.as_deref(), Some(inner));
    assert!(matches!(e.user_data_xml, Some(Cow::Borrowed(_))));
}

#[test]
fn declaration_bom_whitespace_and_comments_around_the_event_are_allowed() {
    let body = event("<EventID>1</EventID>", "");
    let with_prolog = format!(
        "\u{feff} \r\n<?xml version='1.0' encoding='UTF-8'?>\n<!-- c -->{body}\r\n<!-- end -->\n"
    );
    assert_eq!(decode(&with_prolog), decode(&body));
    assert_eq!(decode(&with_prolog).event_id(), Some("1"));
}

#[test]
fn comments_cdata_and_processing_instructions_inside_values_stay_raw() {
    let x = event(
        "",
        "<EventData><Data Name='A'>a<!-- c -->b</Data><Data Name='B'><![CDATA[x<y]]></Data><?pi x?></EventData>",
    );
    let e = decode(&x);
    assert_eq!(e.data("A"), Some("a<!-- c -->b"));
    assert_eq!(e.data("B"), Some("<![CDATA[x<y]]>"));
}

#[test]
fn first_occurrence_of_a_system_field_wins() {
    let x = event("<Computer>first</Computer><Computer>second</Computer>", "");
    let e = decode(&x);
    assert_eq!(e.computer(), Some("first"));
}

fn assert_error(xml: &[u8], expected: &str) -> DecodeError {
    let e = error(xml);
    assert_eq!(e.kind(), DecodeErrorKind::Xml, "{e}");
    assert!(
        e.detail().contains(expected),
        "detail {:?} should contain {expected:?}",
        e.detail()
    );
    assert!(
        e.offset().is_some_and(|o| o <= xml.len()),
        "offset {:?} for {e}",
        e.offset()
    );
    e
}

#[test]
fn mismatched_end_tag_is_an_error_naming_both_tags() {
    let x = event("<EventID>1</EventId>", "");
    let e = assert_error(x.as_bytes(), "expected `</EventID>`, found `</EventId>`");
    assert_eq!(e.offset(), x.find("</EventId>"));
}

#[test]
fn unterminated_attribute_value_is_an_error() {
    assert_error(
        event("<Provider Name='P/>", "").as_bytes(),
        "attribute `Name`",
    );
    assert_error(b"<Event a='x", "unterminated value of attribute `a`");
    assert_error(b"<Event a=x>", "expected a quoted value");
    assert_error(b"<Event a>", "expected `=`");
}

#[test]
fn garbage_after_the_root_element_is_an_error() {
    let body = event("", "");
    assert_error(
        format!("{body}x").as_bytes(),
        "unexpected text after `</Event>`",
    );
    assert_error(
        format!("{body}{body}").as_bytes(),
        "unexpected element after `</Event>`",
    );
    assert_error(format!("{body}</Event>").as_bytes(), "no element is open");
}

#[test]
fn root_element_other_than_event_is_an_error() {
    assert_error(
        b"<Events><Event/></Events>",
        "expected root element `Event`, found `<Events>`",
    );
    assert_error(b"hello <Event/>", "expected `<Event`, found `hello");
    assert_error(b"", "expected `<Event`, found end of record");
    assert_error(b"  \n", "expected `<Event`, found end of record");
    assert_error(
        b"<!DOCTYPE x><Event/>",
        "expected an element, comment or CDATA",
    );
}

#[test]
fn end_of_record_inside_an_element_or_tag_is_an_error() {
    assert_error(
        event("<EventID>1", "")
            .trim_end_matches("</System></Event>")
            .as_bytes(),
        "expected `</EventID>`, found end of record",
    );
    assert_error(b"<Event><System", "unterminated `<System` tag");
    assert_error(b"<Event><!-- x", "unterminated comment");
    assert_error(b"<Event><", "found end of record");
    assert_error(b"<Event></", "expected an element name after `</`");
    assert_error(b"<Event></Event", "expected `>` to close `</Event`");
}

/// Issue 11: one byte that is not UTF-8 dropped the whole record (a true positive lost, exit
/// 0). Splunk escapes such bytes as `\xNN` and indexes the event; so does the decoder.
#[test]
fn invalid_utf8_byte_keeps_the_event_with_the_byte_escaped_as_splunk_does() {
    let x = event(
        "<EventID>1</EventID><Computer>pc</Computer>",
        "<EventData><Data Name='CommandLine'>msiexec /i caf\u{e9}.msi</Data><Data Name='Image'>C:\\m.exe</Data></EventData>",
    );
    let bytes = x.replace('\u{e9}', "\u{1}").into_bytes();
    let mut bytes = bytes;
    let at = bytes.iter().position(|b| *b == 1).expect("marker");
    bytes[at] = 0xE9; // Latin-1 é: not UTF-8
    let e = decode_xml(&bytes).expect("the event is kept");
    assert_eq!(e.data("CommandLine"), Some("msiexec /i caf\\xE9.msi"));
    assert_eq!(e.data("Image"), Some("C:\\m.exe"));
    assert_eq!(e.computer(), Some("pc"));
    assert_eq!(e.repairs, 1);
    assert_eq!(e.raw, None, "the repaired text is not the record's");
    // A cut multi-byte sequence and a stray byte: one escape per byte.
    let mut two = event("<Computer>a\u{1}\u{1}b\u{1}</Computer>", "").into_bytes();
    let marks: Vec<usize> = (0..two.len()).filter(|&i| two[i] == 1).collect();
    for (i, b) in marks.into_iter().zip([0xE2, 0x82, 0xFF]) {
        two[i] = b;
    }
    let e = decode_xml(&two).expect("kept");
    assert_eq!(e.computer(), Some("a\\xE2\\x82b\\xFF"));
    assert_eq!(e.repairs, 3);
    // A clean record needs no repair.
    assert_eq!(decode_xml(SYSMON1_XML).expect("decodes").repairs, 0);
}

#[test]
fn a_repaired_record_that_is_still_malformed_is_an_error() {
    let e = error(b"<Event><System>\xFF</Event>");
    assert_eq!(e.kind(), DecodeErrorKind::Xml);
    assert!(e.detail().starts_with("after escaping 1 bytes"), "{e}");
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error_not_a_crash() {
    let deep = format!("<Event>{}", "<a>".repeat(10_000));
    assert_error(deep.as_bytes(), "nested deeper than");
}

#[test]
fn every_proper_prefix_of_an_event_is_an_error() {
    let full = SYSMON1_XML.trim_ascii_end();
    for len in 0..full.len() {
        assert!(
            decode_xml(&full[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
    assert!(decode_xml(full).is_ok());
}

/// The decoder reads plain `<Data Name='…'>…</Data>` runs on a fast path and hands every other
/// shape back to the general scanner; a run that mixes both must decode in document order.
#[test]
fn data_runs_mixing_plain_and_unusual_shapes_decode_in_order() {
    let x = event(
        "",
        "<EventData>\r\n  <Data Name='A'>a</Data>\n\t<Data Name=\"B\">b</Data><Data Name='C' >c</Data>\
         <Data Name='D'/><Data Name='E'><![CDATA[<e>]]></Data><Data Name='F'>f</Data >\
         <Data Name='G'>x &amp; y</Data></EventData>",
    );
    let e = decode(&x);
    let pairs: Vec<(&str, &str)> = e
        .data
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("A", "a"),
            ("B", "b"),
            ("C", "c"),
            ("D", ""),
            ("E", "<![CDATA[<e>]]>"),
            ("F", "f"),
            ("G", "x &amp; y"),
        ]
    );
}

#[test]
fn a_mismatched_end_tag_after_a_plain_data_run_is_an_error() {
    let x = event(
        "",
        "<EventData><Data Name='A'>a</Data><Data Name='B'>b</Dat></EventData>",
    );
    let e = error(x.as_bytes());
    assert!(e.to_string().contains("Dat"), "{e}");
}
