//! Cutting JSON text into top-level objects.

mod common;

use cimhunt_read::{Compression, Format, Location, ReadErrorKind, ReaderOptions};
use common::*;

fn recs(outs: &[Out]) -> Vec<(&str, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Rec { bytes, line, .. } => {
                Some((std::str::from_utf8(bytes).unwrap_or("<bad utf8>"), *line))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn json_lines_with_crlf_and_blank_lines() {
    let outs = read(b"{\"a\":1}\n{\"b\":2}\r\n\r\n{\"c\":3}");
    assert_eq!(outs[0], Out::Opened(Format::Json, Compression::None));
    assert_eq!(
        recs(&outs),
        vec![("{\"a\":1}", 1), ("{\"b\":2}", 2), ("{\"c\":3}", 4)]
    );
    assert!(errors(&outs).is_empty());
    assert_ordinals(&outs);
}

#[test]
fn json_pretty_printed_concatenated_objects() {
    let first = "{\n  \"Event\": {\n    \"System\": {\n      \"EventID\": 1\n    }\n  }\n}";
    let second = "{\n  \"Event\": {}\n}";
    let text = format!("{first}\n{second}\n");
    let outs = read(text.as_bytes());
    assert_eq!(recs(&outs), vec![(first, 1), (second, 8)]);
    assert!(errors(&outs).is_empty());
}

#[test]
fn json_top_level_array_of_objects() {
    let outs = read(b"[\n  {\"a\": [1, 2]},\n  {\"b\": {\"c\": 3}}\n]\n");
    assert_eq!(
        recs(&outs),
        vec![("{\"a\": [1, 2]}", 2), ("{\"b\": {\"c\": 3}}", 3)]
    );
    assert!(errors(&outs).is_empty());
}

#[test]
fn json_concatenated_objects_without_separators() {
    let outs = read(b"{\"a\":1}{\"b\":2},{\"c\":3}");
    assert_eq!(
        recs(&outs),
        vec![("{\"a\":1}", 1), ("{\"b\":2}", 1), ("{\"c\":3}", 1)]
    );
}

#[test]
fn json_strings_with_braces_quotes_and_escapes_do_not_confuse_the_matcher() {
    let a = r#"{"a":"}{ \"quoted\" \\","b":"\\"}"#;
    let b = r#"{"c":"{","d":"\"}\"","e":{"f":"}}}"}}"#;
    let text = format!("{a}\n{b}\n");
    let outs = read(text.as_bytes());
    assert_eq!(recs(&outs), vec![(a, 1), (b, 2)]);
    assert!(errors(&outs).is_empty());
}

#[test]
fn json_raw_line_break_in_string_ends_the_object_and_resyncs_at_next_line() {
    let outs = read(b"{\"a\":\"broken\nrest\"}\n{\"ok\":1}\n");
    assert_eq!(recs(&outs), vec![("{\"ok\":1}", 3)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, Some(Location::Line(1)));
    assert!(malformed(&errs[0].1, "line break inside a string (line 1)"));
    assert_eq!(errs[0].2, 1);
    // The rest of the broken object is a line that is not an object.
    assert_eq!(errs[1].0, Some(Location::Line(2)));
    assert!(malformed(&errs[1].1, "not a JSON object"));
}

#[test]
fn json_escaped_raw_line_break_also_ends_the_object() {
    let outs = read(b"{\"a\":\"x\\\n{\"ok\":1}\n");
    assert_eq!(recs(&outs), vec![("{\"ok\":1}", 2)]);
    assert_eq!(errors(&outs).len(), 1);
}

#[test]
fn json_truncated_object_followed_by_a_line_starting_with_a_brace() {
    let outs = read(b"{\"a\": {\"b\": 1,\n  \"c\": 2,\n{\"ok\":1}\n");
    assert_eq!(recs(&outs), vec![("{\"ok\":1}", 3)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(Location::Line(1)));
    assert!(malformed(
        &errs[0].1,
        "truncated JSON object (a new object starts on line 3)"
    ));
    assert_ordinals(&outs);
}

#[test]
fn json_junk_at_depth_zero_is_one_error_per_line() {
    let outs = read(b"{\"a\":1} trailing\nnot json\n123\n{\"b\":2}\n");
    assert_eq!(recs(&outs), vec![("{\"a\":1}", 1), ("{\"b\":2}", 4)]);
    let lines: Vec<_> = errors(&outs).into_iter().map(|e| e.0).collect();
    assert_eq!(
        lines,
        vec![
            Some(Location::Line(1)),
            Some(Location::Line(2)),
            Some(Location::Line(3))
        ]
    );
}

#[test]
fn json_unterminated_object_at_end_of_input() {
    let outs = read(b"{\"a\":1}\n{\"b\": {\"c\":");
    assert_eq!(recs(&outs), vec![("{\"a\":1}", 1)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(Location::Line(2)));
    assert!(malformed(&errs[0].1, "unterminated JSON object"));
}

#[test]
fn json_object_over_max_record_is_skipped() {
    let big = format!("{{\"a\":\"{}\",\"b\":{{}}}}", "y".repeat(300));
    let text = format!("{{\"x\":1}}\n{big}\n{{\"z\":3}}\n");
    for block_size in [1, 10, 100, 4 << 20] {
        let outs = read_with(
            text.as_bytes(),
            ReaderOptions {
                block_size,
                max_record: 64,
            },
        );
        assert_eq!(
            recs(&outs),
            vec![("{\"x\":1}", 1), ("{\"z\":3}", 3)],
            "block size {block_size}"
        );
        assert_eq!(
            errors(&outs),
            vec![(Some(Location::Line(2)), ReadErrorKind::TooLarge(64), 1)]
        );
    }
}

/// An evtx_dump-style event as Python's `json.dumps(event, indent=0)` writes it: every nested
/// object in an array starts at column 0. The braces in strings must not confuse the cutter.
const COLUMN_ZERO_EVENT: &str = r##"{
"Event": {
"#attributes": {
"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"
},
"System": {
"Provider": {
"#attributes": {
"Name": "Microsoft-Windows-Sysmon",
"Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
}
},
"EventID": 1,
"TimeCreated": {
"#attributes": {
"SystemTime": "2024-01-01T00:00:00.000000Z"
}
},
"EventRecordID": RECORD_ID,
"Computer": "host"
},
"EventData": {
"Image": "C:\\Windows\\System32\\cmd.exe",
"CommandLine": "cmd.exe /c \"echo {x}\"",
"Hashes": [
{
"Algorithm": "SHA256",
"Value": "AB"
},
{
"Algorithm": "MD5",
"Value": "CD"
}
],
"Matrix": [
[
{
"a": 1
}
],
[],
[
{
"b": {
"c": [
2
]
}
}
]
]
}
}
}"##;

fn column_zero_event(n: u32) -> String {
    COLUMN_ZERO_EVENT.replace("RECORD_ID", &n.to_string())
}

/// Regression: a `{` opening a line inside an open object was always taken for the start of a
/// new record, which split valid `indent=0` JSON into a truncation error, inner objects as
/// records, and junk errors.
#[test]
fn nested_objects_at_column_zero_stay_inside_their_record() {
    let minimal = "{\n\"a\": [\n{\n\"b\": 1\n}\n],\n\"c\": 2\n}";
    let outs = read(format!("{minimal}\n").as_bytes());
    assert_eq!(recs(&outs), vec![(minimal, 1)]);
    assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));

    for newline in ["\n", "\r\n"] {
        let events: Vec<String> = (1..=3)
            .map(|n| column_zero_event(n).replace('\n', newline))
            .collect();
        let text = events.join(newline) + newline;
        let height = COLUMN_ZERO_EVENT.lines().count() as u64;
        let expected: Vec<(String, u64)> = events
            .iter()
            .enumerate()
            .map(|(k, e)| (e.clone(), 1 + k as u64 * height))
            .collect();
        for block_size in [1, 2, 7, 64, 4 << 20] {
            let outs = read_with(text.as_bytes(), block(block_size));
            assert_eq!(records(&outs), expected, "block size {block_size}");
            assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
            assert_ordinals(&outs);
        }
    }
}

/// The same, for a column-0 record too large to keep: its bytes are dropped while its end is
/// looked for, and that must not split it either.
#[test]
fn oversized_record_with_nested_objects_at_column_zero_is_one_error() {
    let small = "{\n\"s\": [\n{\n\"t\": 1\n}\n]\n}";
    let text = format!("{small}\n{}\n{small}\n", column_zero_event(1));
    let big_line = 1 + small.lines().count() as u64;
    let last_line = big_line + COLUMN_ZERO_EVENT.lines().count() as u64;
    for block_size in (1..=40).chain([4 << 20]) {
        let outs = read_with(
            text.as_bytes(),
            ReaderOptions {
                block_size,
                max_record: 200,
            },
        );
        assert_eq!(
            recs(&outs),
            vec![(small, 1), (small, last_line)],
            "block size {block_size}"
        );
        assert_eq!(
            errors(&outs),
            vec![(
                Some(Location::Line(big_line)),
                ReadErrorKind::TooLarge(200),
                1
            )],
            "block size {block_size}"
        );
    }
}

/// Resynchronisation after damage still works wherever a `{` cannot continue valid JSON: the
/// record after the truncated line is recovered and the damage is one error naming its line.
#[test]
fn truncated_line_followed_by_a_new_record_resynchronises() {
    let truncated = [
        "{\"a\": 1, \"b\": 2",                // after a number value
        "{\"a\": \"x\"",                      // after a string value
        "{\"a\": {\"b\": true}",              // after an object value
        "{\"a\"",                             // after a key
        "{",                                  // after the opening brace
        "{\"a\": 1,",                         // after a comma between members
        "{\"a\": [1, 2",                      // after a value in an array
        "{\"a\": [{\"b\": 1}",                // after an object in an array
        "{\"a\": [{\"b\": 1,",                // after a comma in an object in an array
        "{\"a\": [[{\"b\": [1]}], {\"c\": 2", // after arrays closed again
    ];
    for t in truncated {
        let text = format!("{t}\n{{\"ok\":1}}\n{{\"ok\":2}}\n");
        let outs = read(text.as_bytes());
        assert_eq!(
            recs(&outs),
            vec![("{\"ok\":1}", 2), ("{\"ok\":2}", 3)],
            "{t}"
        );
        let errs = errors(&outs);
        assert_eq!(errs.len(), 1, "{t}: {errs:?}");
        assert_eq!(errs[0].0, Some(Location::Line(1)), "{t}");
        assert!(
            malformed(
                &errs[0].1,
                "truncated JSON object (a new object starts on line 2)"
            ),
            "{t}: {errs:?}"
        );
        assert_ordinals(&outs);
    }
}

/// Where a value is expected a `{` opening a line is a nested object, as valid JSON may have
/// it; a line cut there costs the next line too, and the cutter resynchronises one line later.
#[test]
fn truncated_where_a_value_is_expected_resynchronises_one_line_later() {
    for t in ["{\"a\":", "{\"a\": [", "{\"a\": [{\"b\": 1},"] {
        let text = format!("{t}\n{{\"lost\":1}}\n{{\"ok\":2}}\n");
        let outs = read(text.as_bytes());
        assert_eq!(recs(&outs), vec![("{\"ok\":2}", 3)], "{t}");
        let errs = errors(&outs);
        assert_eq!(errs.len(), 1, "{t}: {errs:?}");
        assert_eq!(errs[0].0, Some(Location::Line(1)), "{t}");
        assert!(
            malformed(&errs[0].1, "a new object starts on line 3"),
            "{t}"
        );
    }
}

/// Past the nesting depth the cutter tracks, a `{` after a `,` is kept inside the record.
#[test]
fn nesting_past_the_tracked_depth_keeps_the_record_whole() {
    let depth = 100;
    let deep = format!(
        "{{\"a\":\n{}{{\n\"b\": 1\n}},\n{{\n\"c\": 2\n}}\n{}}}",
        "[\n".repeat(depth),
        "]\n".repeat(depth)
    );
    let outs = read(format!("{deep}\n{{\"ok\":1}}\n").as_bytes());
    let after = 1 + deep.lines().count() as u64;
    assert_eq!(recs(&outs), vec![(deep.as_str(), 1), ("{\"ok\":1}", after)]);
    assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
}
