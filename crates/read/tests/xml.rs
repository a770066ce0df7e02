//! Cutting Windows event XML text.

mod common;

use cimhunt_read::{Compression, Format, Location, ReadErrorKind, ReaderOptions};
use common::*;

#[test]
fn xml_crlf_bom_and_blank_lines_are_tolerated() {
    let text = format!("\u{FEFF}{}\r\n\r\n\r\n{}\r\n", event(1), event(2));
    let outs = read(text.as_bytes());
    assert_eq!(outs[0], Out::Opened(Format::XmlEvents, Compression::None));
    assert_eq!(records(&outs), vec![(event(1), 1), (event(2), 4)]);
    assert!(errors(&outs).is_empty());
    assert_ordinals(&outs);
}

#[test]
fn xml_several_events_on_one_line_are_separate_records() {
    let text = format!("{}{}  \t{}\n", event(1), event(2), event(3));
    let outs = read(text.as_bytes());
    assert_eq!(
        records(&outs),
        vec![(event(1), 1), (event(2), 1), (event(3), 1)]
    );
    assert_ordinals(&outs);
}

#[test]
fn xml_event_spread_over_several_lines_is_one_record() {
    let multi = "<Event xmlns='x'>\n  <System>\n    <EventID>1</EventID>\n  </System>\n</Event>";
    let text = format!("{multi}\n{}\n", event(2));
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(multi.to_owned(), 1), (event(2), 6)]);
    assert!(errors(&outs).is_empty());
}

#[test]
fn xml_declaration_wrapper_and_comments_are_skipped_silently() {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events xmlns='x'>\n<!-- exported\n by wevtutil -->\n{}\n<!-- <Event> in a comment </Event> -->{}\n</Events>\n",
        event(1),
        event(2)
    );
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(event(1), 5), (event(2), 6)]);
    assert!(errors(&outs).is_empty(), "{:?}", errors(&outs));
}

#[test]
fn xml_text_between_events_is_one_error_at_its_first_line() {
    let text = format!(
        "{}\nthis is not xml\n<EventData>stray</EventData>\n</Event>\n{}\n",
        event(1),
        event(2)
    );
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(event(1), 1), (event(2), 5)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, Some(Location::Line(2)));
    assert!(malformed(&errs[0].1, "not an <Event>"));
    assert_eq!(errs[0].2, 1);
    // In input order: record, error, record.
    assert!(matches!(outs[1], Out::Rec { .. }));
    assert!(matches!(outs[2], Out::Err { .. }));
    assert!(matches!(outs[3], Out::Rec { .. }));
}

#[test]
fn xml_event_lookalike_tags_do_not_start_records() {
    let text = format!("<EventID>1</EventID>\n<Events/>\n{}\n", event(1));
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(event(1), 3)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1, "only the <EventID> line is junk: {errs:?}");
    assert_eq!(errs[0].0, Some(Location::Line(1)));
}

#[test]
fn xml_unterminated_final_event_is_reported() {
    let text = format!(
        "{}\n<Event xmlns='x'><System><EventID>1</EventID>\n",
        event(1)
    );
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(event(1), 1)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(Location::Line(2)));
    assert!(malformed(&errs[0].1, "unterminated <Event>"));
    assert_eq!(errs[0].2, 1);
}

#[test]
fn xml_truncated_event_restarts_at_the_next_event_start() {
    let text = format!(
        "{}\n<Event xmlns='x'><System><EventID>4688</EventID><EventData><Data>cut he\n{}\n",
        event(1),
        event(3)
    );
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs), vec![(event(1), 1), (event(3), 3)]);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(Location::Line(2)));
    assert!(malformed(&errs[0].1, "a new <Event> starts"));
    assert_ordinals(&outs);
}

#[test]
fn xml_record_over_max_record_is_skipped_and_reading_goes_on() {
    let big = format!(
        "<Event><EventData><Data>{}</Data></EventData></Event>",
        "x".repeat(500)
    );
    let text = format!("<Event>a</Event>\n{big}\n<Event>b</Event>\n");
    for block_size in [7, 64, 1000, 4 << 20] {
        let options = ReaderOptions {
            block_size,
            max_record: 100,
        };
        let outs = read_with(text.as_bytes(), options);
        assert_eq!(
            records(&outs),
            vec![
                ("<Event>a</Event>".to_owned(), 1),
                ("<Event>b</Event>".to_owned(), 3)
            ],
            "block size {block_size}"
        );
        assert_eq!(
            errors(&outs),
            vec![(Some(Location::Line(2)), ReadErrorKind::TooLarge(100), 1)],
            "block size {block_size}"
        );
        assert_ordinals(&outs);
    }
}

#[test]
fn xml_junk_at_end_of_input_is_reported() {
    let text = format!("{}\ntrailing junk", event(1));
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs).len(), 1);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(Location::Line(2)));
}

#[test]
fn xml_unterminated_comment_is_reported() {
    let text = format!("{}\n<!-- never closed\n", event(1));
    let outs = read(text.as_bytes());
    assert_eq!(records(&outs).len(), 1);
    let errs = errors(&outs);
    assert_eq!(errs.len(), 1);
    assert!(malformed(&errs[0].1, "-->"));
}

#[test]
fn xml_records_are_identical_through_a_trickling_source() {
    let text: String = (0..50).map(|n| event(n) + "\r\n").collect();
    let expected = read(text.as_bytes());
    for step in [1, 3, 100] {
        let input = cimhunt_read::Input::reader(
            "trickle",
            Box::new(Trickle {
                data: std::io::Cursor::new(text.clone().into_bytes()),
                step,
            }),
        );
        let outs = flatten(cimhunt_read::Reader::new(block(64)).read(input));
        assert_eq!(outs, expected, "step {step}");
    }
    assert_eq!(records(&expected).len(), 50);
}

/// Regression: the too-large check on a record still open at a block's end counted bytes that
/// might belong to the next record (an undecided `<Event` at the block's end), so a truncated
/// record of exactly `max_record` bytes was reported as too large for some block sizes.
#[test]
fn xml_truncated_record_of_exactly_max_record_bytes_is_malformed_at_every_block_size() {
    let first = "<Event><System><EventID>2</EventID>\n";
    let text = format!("{first}<Event xmlns='x'><System></System></Event>\n");
    for block_size in 1..=97 {
        let options = ReaderOptions {
            block_size,
            max_record: first.len(),
        };
        let outs = read_with(text.as_bytes(), options);
        let errs = errors(&outs);
        assert_eq!(errs.len(), 2, "block size {block_size}: {errs:?}");
        assert!(
            malformed(&errs[0].1, "a new <Event> starts"),
            "block size {block_size}: {errs:?}"
        );
        assert_eq!(errs[1].1, ReadErrorKind::TooLarge(first.len()));
    }
}

/// Records' lines are counted by their batch only when asked for (`Location::Uncounted`):
/// from the line at the start of the block or joined buffer they were cut from. Each record's
/// line is checked against the line breaks before it in the input, for blocks that cut records
/// anywhere (one byte, a few, joined buffers) and for one block holding everything.
#[test]
fn record_lines_are_counted_when_asked_for_whatever_the_block_size() {
    let mut text = String::from("<?xml version='1.0'?>\n<!-- a\ncomment -->\n");
    let mut expected = Vec::new();
    for i in 1..=40u64 {
        let inner = "\n".repeat(usize::try_from(i % 4).unwrap_or(0));
        let record = format!("<Event xmlns='x'><EventID>{i}</EventID>{inner}</Event>");
        let line = 1 + text.matches('\n').count() as u64;
        expected.push((record.clone(), line));
        text.push_str(&record);
        text.push_str(["\n", "\r\n\r\n", "  ", "\n\n\n"][usize::try_from(i % 4).unwrap_or(0)]);
    }
    for size in [1, 2, 7, 64, 333, 1 << 20] {
        let outs = read_with(text.as_bytes(), block(size));
        assert_eq!(records(&outs), expected, "block size {size}");
        assert!(errors(&outs).is_empty(), "block size {size}");
    }
}
