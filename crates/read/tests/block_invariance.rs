//! Block-size invariance: whatever the block size (and however the source hands out bytes),
//! the reader yields the same records, lines, ordinals and errors. This pins the carry-over of
//! records that straddle block boundaries.

mod common;

use std::io::Cursor;

use cimhunt_read::{Input, Reader, ReaderOptions};
use common::*;
use proptest::prelude::*;

/// Pieces that exercise the XML cutter's boundaries: starts, ends, lookalikes, skipped
/// constructs, line breaks and byte order marks.
const XML_TOKENS: &[&str] = &[
    "<Event xmlns='x'>",
    "<Event>",
    "<Event",
    " ",
    "</Event>",
    "</Event",
    "<EventData>",
    "<EventID>4688</EventID>",
    "<Events>",
    "</Events>",
    "<!--",
    "-->",
    "<?xml version='1.0'?>",
    "?>",
    "<",
    ">",
    "/",
    "\n",
    "\r\n",
    "\u{FEFF}",
    "junk",
    "<Data Name='CommandLine'>cmd /c</Data>",
];

/// Pieces that exercise the JSON cutter: braces, strings, escapes, line breaks, separators.
const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "{\"a\":1}",
    "\"",
    "\\",
    "\\\"",
    "\n",
    "\n{",
    "\r\n",
    ",",
    "[",
    "]",
    " ",
    "x",
    ":",
    "\"s{}\"",
    "\u{FEFF}",
    "123",
];

/// Well-formed and malformed XML records, one per line or several per line.
const XML_RECORDS: &[&str] = &[
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>1</EventID></System></Event>",
    "<Event>\r\n <EventData>\r\n  <Data>multi</Data>\r\n </EventData>\r\n</Event>",
    "<Event><System><EventID>2</EventID>",
    "not an event",
    "<!-- comment -->",
    "<Events>",
    "</Events>",
    "",
];

const JSON_RECORDS: &[&str] = &[
    "{\"Event\":{\"System\":{\"EventID\":1},\"EventData\":{\"CommandLine\":\"a \\\"}{\\\" b\"}}}",
    "{\n  \"pretty\": {\n    \"x\": [1, 2]\n  }\n}",
    "{\"broken\": \"string\nrest\"}",
    "{\"truncated\": {\"a\": 1,",
    "[{\"in\":\"array\"},",
    "]",
    "garbage line",
    "",
];

fn soup(tokens: &'static [&'static str], prefix: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..120).prop_map(move |picked| {
        let mut s = String::from(prefix);
        for t in picked {
            s.push_str(t);
        }
        s
    })
}

fn lines(
    records: &'static [&'static str],
    sep: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (prop::sample::select(records), prop::sample::select(sep)),
        1..40,
    )
    .prop_map(|picked| {
        let mut s = String::new();
        for (r, sep) in picked {
            s.push_str(r);
            s.push_str(sep);
        }
        s
    })
}

fn any_input() -> impl Strategy<Value = String> {
    prop_oneof![
        soup(XML_TOKENS, "<"),
        soup(JSON_TOKENS, "{"),
        lines(XML_RECORDS, &["\n", "\r\n", "", " \n\n"]),
        lines(JSON_RECORDS, &["\n", "\r\n", "", ",\n"]),
    ]
}

fn read_trickle(bytes: &[u8], options: ReaderOptions, step: usize) -> Vec<Out> {
    let source = Trickle {
        data: Cursor::new(bytes.to_vec()),
        step,
    };
    flatten(Reader::new(options).read(Input::reader("t", Box::new(source))))
}

fn check_invariance(bytes: &[u8], max_record: usize) -> Result<(), TestCaseError> {
    let reference = read_with(
        bytes,
        ReaderOptions {
            max_record,
            ..ReaderOptions::default()
        },
    );
    for block_size in 1..=97 {
        let options = ReaderOptions {
            block_size,
            max_record,
        };
        let outs = read_with(bytes, options);
        prop_assert_eq!(&outs, &reference, "block size {}", block_size);
    }
    let trickled = read_trickle(
        bytes,
        ReaderOptions {
            block_size: 13,
            max_record,
        },
        3,
    );
    prop_assert_eq!(&trickled, &reference, "trickling source");
    Ok(())
}

/// 96 cases unless `PROPTEST_CASES` asks for more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn records_and_errors_do_not_depend_on_block_size(bytes in any_input()) {
        check_invariance(bytes.as_bytes(), ReaderOptions::default().max_record)?;
    }

    #[test]
    fn too_large_records_do_not_depend_on_block_size(bytes in any_input(), max_record in 8usize..120) {
        check_invariance(bytes.as_bytes(), max_record)?;
    }
}

/// Arbitrary bytes behind each format's opening bytes (and gzip's magic): the reader must not
/// panic, and must still not depend on the block size.
fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop::sample::select(vec![&b"<"[..], b"{", b"[", b"ElfFile\0", b"\x1f\x8b", b""]);
    (prefix, prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(p, rest)| [p, &rest].concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_do_not_panic_or_depend_on_block_size(bytes in arbitrary_input()) {
        check_invariance(&bytes, 50)?;
    }
}

#[test]
fn record_spanning_many_tiny_blocks_is_reassembled() {
    let text = format!("{}\n{}", event(1), event(2));
    let outs = read_with(text.as_bytes(), block(1));
    assert_eq!(records(&outs), vec![(event(1), 1), (event(2), 2)]);
}

/// Regression (fuzz, read_input): a damaged zstd frame gave a record over the size limit with
/// small blocks and nothing with large ones, because zstd yields part of a damaged block
/// through a small buffer and none of it through a large one.
#[test]
fn a_damaged_zstd_frame_reads_the_same_whatever_the_block_size() {
    let bytes = b"\x28\xb5\x2f\xfd\x00\x6f\x0a\x0a\x0a\x5b\x0a\x0a\x0c\x7b\x2f\xfd\x00\x6f\x0a\x0a\x0a\x5b\x0a\x0a\x0c\x7b\x22\x76\x0a\x22\x76\x0a\x6e\x0c\x0d";
    let reference = read_with(bytes, ReaderOptions::default());
    for block_size in [1, 97, 4096, 1 << 20] {
        let outs = read_with(
            bytes,
            ReaderOptions {
                block_size,
                ..ReaderOptions::default()
            },
        );
        assert_eq!(outs, reference, "block size {block_size}");
    }
}
