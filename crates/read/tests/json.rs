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
