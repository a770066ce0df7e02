//! `decode_json` on evtx_dump-shaped and flat objects written for these tests.

mod common;

use std::borrow::Cow;

use cimhunt_decode::{DecodeErrorKind, Decoded, FlatEvent, WinEvent, decode_json, decode_xml};
use common::{SYSMON1_JSON, SYSMON1_XML, assert_same_event};

fn windows(json: &str) -> WinEvent<'_> {
    match decode_json(json.as_bytes()) {
        Ok(Decoded::Windows(e)) => e,
        other => panic!("expected a Windows event, got {other:?}"),
    }
}

fn flat(json: &str) -> FlatEvent<'_> {
    match decode_json(json.as_bytes()) {
        Ok(Decoded::Flat(e)) => e,
        other => panic!("expected a flat event, got {other:?}"),
    }
}

fn flat_bytes(json: &[u8]) -> FlatEvent<'_> {
    match decode_json(json) {
        Ok(Decoded::Flat(e)) => e,
        other => panic!("expected a flat event, got {other:?}"),
    }
}

fn pairs<'e>(e: &'e WinEvent<'_>) -> Vec<(&'e str, &'e str)> {
    e.data
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect()
}

#[test]
fn evtx_dump_sysmon_event_equals_its_xml_twin_field_by_field() {
    let from_xml = decode_xml(SYSMON1_XML).expect("XML twin decodes");
    let Ok(Decoded::Windows(from_json)) = decode_json(SYSMON1_JSON) else {
        panic!("JSON twin is not a Windows event");
    };
    assert_same_event("sysmon1", &from_json, &from_xml);
    // evtx_dump wrote 6 fractional digits: Windows' 9 are made by appending zeros.
    assert_eq!(
        from_json.system_time(),
        Some("2024-03-05T14:22:07.123456000Z")
    );
    // The provider GUID, unbraced in evtx_dump's form, is braced as Windows writes it.
    assert_eq!(
        from_json
            .system_element("Provider")
            .and_then(|p| p.attr("Guid")),
        Some("{5770385F-C22A-43E0-BF4C-06F5698FFBD9}")
    );
    assert_eq!(
        from_json.data("ProcessGuid"),
        Some("{4A1B2C3D-5E6F-7081-92A3-B4C5D6E7F809}")
    );
    assert_eq!(from_json.data("ProcessId"), Some("6120"));
}

#[test]
fn json_strings_without_escapes_stay_borrowed() {
    let Ok(Decoded::Windows(e)) = decode_json(SYSMON1_JSON) else {
        panic!("not a Windows event");
    };
    let computer = e.system_element("Computer").and_then(|c| c.text.as_ref());
    assert!(matches!(computer, Some(Cow::Borrowed(_))));
    assert!(matches!(
        e.data.first(),
        Some((Cow::Borrowed("RuleName"), Cow::Borrowed("-")))
    ));
}

#[test]
fn strings_get_windows_xml_escaping_and_nothing_else() {
    let e = windows(
        r#"{"Event":{"System":{"Computer":"a&b"},"EventData":{"CommandLine":"x && y > z < w \"q\" 'a'\r\n","Ctl":"a\u0001b"}}}"#,
    );
    assert_eq!(e.computer(), Some("a&amp;b"));
    assert_eq!(
        e.data("CommandLine"),
        Some("x &amp;&amp; y &gt; z &lt; w \"q\" 'a'\r\n")
    );
    assert_eq!(e.data("Ctl"), Some("a_b"));
}

#[test]
fn event_id_as_object_with_qualifiers_gives_its_text() {
    let e = windows(
        r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":4688},"Version":2}}}"##,
    );
    assert_eq!(e.event_id(), Some("4688"));
    assert_eq!(e.version(), Some("2"));
}

#[test]
fn guids_in_fields_named_guid_get_braces_and_upper_case() {
    let e = windows(
        r#"{"Event":{"System":{},"EventData":{
            "ProcessGuid":"0197231e-f943-69e5-a527-000000000800",
            "LogonGuid":"{0197231e-7f52-69e4-50d1-e83300000000}",
            "TargetLogonGuid":"{00000000-0000-0000-0000-000000000000}",
            "SomeGuid":"not-a-guid",
            "Id":"0197231e-f943-69e5-a527-000000000800"}}}"#,
    );
    assert_eq!(
        pairs(&e),
        [
            ("ProcessGuid", "{0197231E-F943-69E5-A527-000000000800}"),
            ("LogonGuid", "{0197231E-7F52-69E4-50D1-E83300000000}"),
            ("TargetLogonGuid", "{00000000-0000-0000-0000-000000000000}"),
            ("SomeGuid", "not-a-guid"),
            ("Id", "0197231e-f943-69e5-a527-000000000800"),
        ]
    );
}

#[test]
fn data_values_nulls_arrays_text_objects_numbers_and_booleans() {
    let e = windows(
        r##"{"Event":{"System":{"Security":null},"EventData":{
            "#attributes":{"Name":"TaskDisabled"},
            "Empty":null,
            "Repeated":["a",null,2],
            "WithText":{"#attributes":{"x":"1"},"#text":"t&t"},
            "AttrsOnly":{"#attributes":{"x":"1"}},
            "Flag":true,
            "Neg":-5,
            "Real":1.5,
            "Binary":"00FF",
            "Data":{"#text":["u1","u2"]}}}}"##,
    );
    assert_eq!(e.user_id(), None);
    assert_eq!(e.binary.as_deref(), Some("00FF"));
    assert_eq!(
        pairs(&e),
        [
            ("Empty", ""),
            ("Repeated", "a"),
            ("Repeated", ""),
            ("Repeated", "2"),
            ("WithText", "t&amp;t"),
            ("AttrsOnly", ""),
            ("Flag", "true"),
            ("Neg", "-5"),
            ("Real", "1.5"),
            ("", "u1"),
            ("", "u2"),
        ]
    );
}

#[test]
fn empty_user_id_and_missing_fields_are_none() {
    let e = windows(
        r##"{"Event":{"System":{"Security":{"#attributes":{"UserID":""}},"Computer":null}}}"##,
    );
    assert_eq!(e.user_id(), None);
    assert_eq!(e.computer(), None);
    assert_eq!(e.event_id(), None);
    assert!(e.data.is_empty());
}

#[test]
fn user_data_event_equals_its_xml_twin() {
    let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Microsoft-Windows-Eventlog'/><EventID>1102</EventID><Channel>Security</Channel>\
        <Computer>dc01</Computer><Security/></System><UserData>\
        <LogFileCleared xmlns='http://manifests.microsoft.com/win/2004/08/windows/eventlog'>\
        <SubjectUserSid>S-1-5-21-1-2-3-500</SubjectUserSid><SubjectUserName>bob &amp; co</SubjectUserName>\
        <SubjectLogonId>0x2a4f1</SubjectLogonId><Nested><Inner>i</Inner></Nested><Empty></Empty>\
        <Flags value='1'/></LogFileCleared></UserData></Event>";
    let json = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},
        "System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Eventlog"}},"EventID":1102,
        "Channel":"Security","Computer":"dc01","Security":null},
        "UserData":{"LogFileCleared":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
        "SubjectUserSid":"S-1-5-21-1-2-3-500","SubjectUserName":"bob & co","SubjectLogonId":"0x2a4f1",
        "Nested":{"Inner":"i"},"Empty":null,"Flags":{"#attributes":{"value":1}}}}}}"##;
    let from_xml = decode_xml(xml.as_bytes()).expect("XML decodes");
    assert_same_event("user data", &windows(json), &from_xml);
    assert!(
        from_xml.data.is_empty(),
        "UserData leaves are not data pairs"
    );
    let markup = from_xml.user_data_xml.as_deref().expect("UserData kept");
    assert!(markup.contains("<SubjectUserName>bob &amp; co</SubjectUserName>"));
}

#[test]
fn crowdstrike_like_object_decodes_flat_without_xml_escaping() {
    let json = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1713805173418","RawProcessId":4242,
        "CommandLine":"\"C:\\Windows\\System32\\msiexec.exe\" /i http://x/a.msi && echo <ok>",
        "ImageFileName":"\\Device\\HarddiskVolume3\\Windows\\System32\\msiexec.exe",
        "ParentBaseFileName":"cmd.exe","Flag":false,"Score":0.25,"Nothing":null,
        "Tags":["a","b"],"Nested":{"x":1},"aid":"a1b2"}"#;
    let e = flat(json);
    let fields: Vec<(&str, &str)> = e
        .fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(
        fields,
        [
            ("event_simpleName", "ProcessRollup2"),
            ("timestamp", "1713805173418"),
            ("RawProcessId", "4242"),
            (
                "CommandLine",
                "\"C:\\Windows\\System32\\msiexec.exe\" /i http://x/a.msi && echo <ok>"
            ),
            (
                "ImageFileName",
                "\\Device\\HarddiskVolume3\\Windows\\System32\\msiexec.exe"
            ),
            ("ParentBaseFileName", "cmd.exe"),
            ("Flag", "false"),
            ("Score", "0.25"),
            ("aid", "a1b2"),
        ]
    );
    assert_eq!(e.get("ParentBaseFileName"), Some("cmd.exe"));
    assert!(matches!(
        e.fields.first(),
        Some((Cow::Borrowed(_), Cow::Borrowed(_)))
    ));
}

#[test]
fn event_member_that_is_not_an_evtx_event_leaves_the_object_flat() {
    assert_eq!(
        flat(r#"{"Event":"logon","user":"x"}"#).get("Event"),
        Some("logon")
    );
    let e = flat(r#"{"Event":{"kind":"logon"},"user":"x"}"#);
    assert_eq!(e.get("Event"), None);
    assert_eq!(e.get("user"), Some("x"));
}

#[test]
fn text_that_is_not_json_is_an_error_with_line_and_column() {
    let e = decode_json(b"{\n  \"a\": x\n}").expect_err("not JSON");
    assert_eq!(e.kind(), DecodeErrorKind::Json);
    assert!(e.detail().contains("line 2 column"), "{e}");
    let offset = e.offset().expect("an offset");
    assert!(
        (8..=14).contains(&offset),
        "offset {offset} should point into line 2"
    );
    let e = decode_json(b"<Event/>").expect_err("not JSON");
    assert_eq!(e.kind(), DecodeErrorKind::Json, "{e}");
}

#[test]
fn top_level_array_number_or_trailing_text_is_an_error() {
    for bad in [
        &b"[{\"a\":1}]"[..],
        b"42",
        b"\"s\"",
        b"null",
        b"{\"a\":1} x",
        b"",
        b"{\"a\":",
    ] {
        let e = decode_json(bad).expect_err("must be rejected");
        assert_eq!(e.kind(), DecodeErrorKind::Json, "{e}");
    }
    let e = decode_json(b"[1]").expect_err("array");
    assert!(e.detail().contains("expected a JSON object"), "{e}");
}

/// Issue 11: a byte that is not UTF-8, a lone `\uD800` or a number like `1e400` dropped the
/// whole JSON record. The event is kept, repaired the way the module `repair` documents.
#[test]
fn invalid_utf8_lone_surrogates_and_huge_numbers_keep_the_json_event() {
    let e = flat_bytes(b"{\"CommandLine\":\"msiexec caf\xE9.msi\",\"n\":1}");
    assert_eq!(e.get("CommandLine"), Some("msiexec caf\\xE9.msi"));
    assert_eq!(e.get("n"), Some("1"));
    assert_eq!(e.repairs, 1);
    let e = flat(r#"{"a":"x\uD800y","b":"\uDC00","ok":"\uD83D\uDE00","big":1e400,"neg":-1E+999}"#);
    assert_eq!(e.get("a"), Some("x\u{FFFD}y"));
    assert_eq!(e.get("b"), Some("\u{FFFD}"));
    assert_eq!(
        e.get("ok"),
        Some("\u{1F600}"),
        "a surrogate pair is no repair"
    );
    assert_eq!(e.get("big"), Some("1e400"));
    assert_eq!(e.get("neg"), Some("-1E+999"));
    assert_eq!(e.repairs, 4);
    // An evtx_dump event likewise: the value is XML-escaped after the repair.
    let Ok(Decoded::Windows(w)) =
        decode_json(b"{\"Event\":{\"System\":{\"EventID\":1},\"EventData\":{\"Image\":\"a&\xFF\",\"Size\":2e999}}}")
    else {
        panic!("a Windows event");
    };
    assert_eq!(w.data("Image"), Some("a&amp;\\xFF"));
    assert_eq!(w.data("Size"), Some("2e999"));
    assert_eq!(w.event_id(), Some("1"));
    assert_eq!(w.repairs, 2);
    assert_eq!(Decoded::Windows(w).repairs(), 2);
    // A clean record needs none.
    assert_eq!(flat(r#"{"a":"\\uD800"}"#).repairs, 0);
}

#[test]
fn json_that_repairs_cannot_save_is_still_an_error() {
    let e = decode_json(b"{\"a\":\"\xFF\" \"b\"}").expect_err("missing comma");
    assert_eq!(e.kind(), DecodeErrorKind::Json);
    assert!(e.detail().starts_with("after 1 repairs"), "{e}");
    // Nothing to repair: the parser's own error.
    let e = decode_json(b"{\"a\":}").expect_err("no value");
    assert!(!e.detail().starts_with("after"), "{e}");
}

#[test]
fn braced_lower_case_guids_are_upper_cased_whatever_the_field_name() {
    let e = windows(
        r#"{"Event":{"System":{},"EventData":{"RuleId":"{94e28d60-6722-4133-b7a0-0a6456b70829}",
            "Text":"see {94e28d60-6722-4133-b7a0-0a6456b70829}","Plain":"94e28d60-6722-4133-b7a0-0a6456b70829"}}}"#,
    );
    assert_eq!(
        pairs(&e),
        [
            ("RuleId", "{94E28D60-6722-4133-B7A0-0A6456B70829}"),
            ("Text", "see {94e28d60-6722-4133-b7a0-0a6456b70829}"),
            ("Plain", "94e28d60-6722-4133-b7a0-0a6456b70829"),
        ]
    );
}

#[test]
fn numbered_suffixes_of_repeated_elements_name_the_element_again() {
    let e = windows(
        r#"{"Event":{"System":{},"EventData":{"Param":"a","Param_1":"b","Other_1":"c","Param_x":"d"},
            "UserData":{"Ev":{"Apps":{"App":"x","App_1":"y","App_2":"z"}}}}}"#,
    );
    assert_eq!(
        pairs(&e),
        [
            ("Param", "a"),
            ("Param", "b"),
            ("Other_1", "c"),
            ("Param_x", "d"),
        ]
    );
    let xml = "<Event><System/><UserData><Ev><Apps><App>x</App><App>y</App><App>z</App></Apps></Ev></UserData></Event>";
    let from_xml = decode_xml(xml.as_bytes()).expect("XML decodes");
    assert_eq!(e.user_data_xml, from_xml.user_data_xml);
}

/// Review finding Q2: every `Name_N` key was compared with every pair before it, so 80,000
/// keys took 5.5 s per record. With 100,000 keys, quadratic work would take minutes here.
#[test]
fn evtx_dump_json_with_100k_numbered_keys_decodes_in_linear_time() {
    use std::fmt::Write as _;
    const KEYS: usize = 100_000;
    let mut event_data = String::from(r#""x":"0""#);
    let mut user_data = String::from(r#""y":"0""#);
    for i in 1..KEYS {
        write!(event_data, r#","x_{i}":"{i}""#).expect("write to a String");
        write!(user_data, r#","y_{i}":"{i}""#).expect("write to a String");
    }
    let json = format!(
        r#"{{"Event":{{"System":{{}},"EventData":{{{event_data}}},"UserData":{{"Ev":{{{user_data}}}}}}}}}"#
    );
    let e = windows(&json);
    assert_eq!(e.data.len(), KEYS);
    assert!(e.data.iter().all(|(n, _)| n == "x"));
    assert_eq!(e.data.last().map(|(_, v)| v.as_ref()), Some("99999"));
    let markup = e.user_data_xml.as_deref().expect("UserData");
    assert_eq!(markup.matches("<y>").count(), KEYS);
    assert!(
        markup.ends_with("<y>99999</y></Ev>"),
        "{}",
        &markup[markup.len() - 40..]
    );
}
