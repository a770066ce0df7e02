//! Inputs as other tools write them: evtx_dump's default outputs (a `Record N` line before each
//! record) and XML exported as UTF-16 by Windows PowerShell 5.1.

mod common;

use cimhunt_read::{Compression, Format, Location, NoticeKind, TextEncoding};
use common::*;

/// `event(n)` as evtx_dump `-o xml` prints a record: its banner, an XML declaration, the
/// event indented over several lines.
fn evtx_dump_xml(n: u32) -> String {
    format!(
        "Record {n}\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    <EventID>4688</EventID>\n    <EventRecordID>{n}</EventRecordID>\n  </System>\n  <EventData>\n    <Data Name=\"CommandLine\">cmd /c echo {n}</Data>\n  </EventData>\n</Event>\n"
    )
}

/// A record as evtx_dump `-o json` prints it: its banner, then the object, pretty-printed.
fn evtx_dump_json(n: u32) -> String {
    format!(
        "Record {n}\n{{\n  \"Event\": {{\n    \"System\": {{\n      \"EventID\": 4688,\n      \"EventRecordID\": {n}\n    }}\n  }}\n}}\n"
    )
}

/// Issue 11: evtx_dump's own default outputs were rejected whole ("not EVTX, Windows event XML
/// or JSON") although the README lists evtx_dump JSON as an input.
#[test]
fn evtx_dump_default_xml_output_with_record_lines_is_read() {
    let text: String = (1..=3).map(evtx_dump_xml).collect();
    for block_size in [1, 7, 100, 4 << 20] {
        let outs = read_with(text.as_bytes(), block(block_size));
        assert_eq!(outs[0], Out::Opened(Format::XmlEvents, Compression::None));
        assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
        let recs = records(&outs);
        assert_eq!(recs.len(), 3, "block size {block_size}");
        assert!(recs[1].0.contains("<EventRecordID>2</EventRecordID>"));
        assert!(recs[1].0.starts_with("<Event ") && recs[1].0.ends_with("</Event>"));
        // Each event starts on the line after its banner and declaration (11 lines each).
        assert_eq!(recs.iter().map(|r| r.1).collect::<Vec<_>>(), [3, 14, 25]);
        assert_ordinals(&outs);
    }
}

#[test]
fn evtx_dump_default_json_output_with_record_lines_is_read() {
    let mut text: String = (1..=3).map(evtx_dump_json).collect();
    // `(recovered)` marks a record carved from unallocated space; CRLF line ends too.
    text.push_str("Record 9 (recovered)\r\n{\"Event\":{\"System\":{\"EventID\":1}}}\r\n");
    for block_size in [1, 9, 4 << 20] {
        let outs = read_with(text.as_bytes(), block(block_size));
        assert_eq!(outs[0], Out::Opened(Format::Json, Compression::None));
        assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
        let recs = records(&outs);
        assert_eq!(recs.len(), 4, "block size {block_size}");
        assert_eq!(
            recs.iter().map(|r| r.1).collect::<Vec<_>>(),
            [2, 11, 20, 29]
        );
    }
}

#[test]
fn a_line_that_only_looks_like_a_record_banner_is_still_an_error() {
    let text = format!("{}Record one\n{}", evtx_dump_json(1), evtx_dump_json(2));
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs).len(), 2);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, Some(Location::Line(10)));
}

/// `text` in UTF-16, little- or big-endian, with or without a byte order mark.
fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    units
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// Issue 11: XML exported as UTF-16 (PowerShell 5.1's `Out-File`, with or without a byte order
/// mark) was refused or silently yielded nothing.
#[test]
fn xml_exported_as_utf16_is_read_with_or_without_a_byte_order_mark() {
    let text = format!("{}\r\n{}\r\n{}\r\n", event(1), event(2), event(3)).replace("cmd", "cmdé");
    for (big_endian, bom, encoding) in [
        (false, true, TextEncoding::Utf16Le),
        (false, false, TextEncoding::Utf16Le),
        (true, true, TextEncoding::Utf16Be),
        (true, false, TextEncoding::Utf16Be),
    ] {
        let bytes = utf16(&text, big_endian, bom);
        assert_eq!(encoding_of(&bytes), Some(encoding));
        for block_size in [1, 333, 4 << 20] {
            let outs = read_with(&bytes, block(block_size));
            assert_eq!(outs[0], Out::Opened(Format::XmlEvents, Compression::None));
            assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
            let expected: Vec<(String, u64)> = text
                .lines()
                .enumerate()
                .map(|(i, l)| (l.to_owned(), i as u64 + 1))
                .collect();
            assert_eq!(records(&outs), expected, "{encoding:?} bom={bom}");
        }
    }
    // evtx_dump JSON in UTF-16 too.
    let json = utf16(&evtx_dump_json(5), false, true);
    let outs = read(&json);
    assert_eq!(outs[0], Out::Opened(Format::Json, Compression::None));
    assert_eq!(records(&outs).len(), 1);
}

#[test]
fn invalid_utf16_is_escaped_and_reported_once() {
    let mut units: Vec<u16> = event(1).encode_utf16().collect();
    let at = units
        .iter()
        .position(|&u| u == u16::from(b'&'))
        .expect("an ampersand");
    units.insert(at, 0xD800); // a lone surrogate inside the command line
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    let outs = read(&bytes);
    let recs = records(&outs);
    assert_eq!(recs.len(), 1);
    assert!(
        recs[0].0.contains("echo 1 \\x00\\xD8&amp;"),
        "{}",
        recs[0].0
    );
    assert_eq!(
        outs.last(),
        Some(&Out::Notice {
            at: None,
            kind: NoticeKind::InvalidUtf16(1)
        })
    );
}

#[test]
fn utf8_and_binary_inputs_are_not_taken_for_utf16() {
    assert_eq!(encoding_of(event(1).as_bytes()), Some(TextEncoding::Utf8));
    assert_eq!(encoding_of(b"ElfFile\0rest"), Some(TextEncoding::Utf8));
    assert_eq!(encoding_of(b"\xEF\xBB\xBF{}"), Some(TextEncoding::Utf8));
}

#[test]
fn the_size_read_of_utf16_text_is_its_utf16_bytes() {
    let text = format!("{}\r\n{}\r\n", event(1), event(2));
    for (big_endian, bom) in [(false, true), (true, false)] {
        let bytes = utf16(&text, big_endian, bom);
        assert_eq!(size_read(&bytes, block(333)), Some(bytes.len() as u64));
    }
}
