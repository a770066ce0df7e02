//! Whole-input behaviour: unknown formats, empty inputs, I/O errors, ordering, buffer reuse.

mod common;

use std::io::{self, Cursor, Read};

use cimhunt_read::{Input, InputName, ReadErrorKind, ReadEvent, Reader};
use common::*;

fn unknown() -> Vec<Out> {
    vec![Out::Err {
        at: None,
        kind: ReadErrorKind::UnknownFormat,
        skipped: 0,
    }]
}

#[test]
fn unknown_format_is_one_error_and_nothing_else() {
    assert_eq!(read(b"Date,Time,Event\n1,2,3\n"), unknown());
    // UTF-16 text that is not events is no more recognised than its UTF-8 form.
    assert_eq!(read(b"\xff\xfeD\0a\0t\0e\0,\0"), unknown());
}

#[test]
fn empty_and_blank_inputs_are_unknown_format() {
    assert_eq!(read(b""), unknown());
    assert_eq!(read(b"\xEF\xBB\xBF \r\n\t\n"), unknown());
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.xml");
    let events: Vec<_> = Reader::default().read(Input::path(&path)).collect();
    assert_eq!(events.len(), 1);
    match &events[0] {
        ReadEvent::Error {
            error,
            skipped_records: 0,
        } => {
            let ReadErrorKind::Io(io_error) = &error.kind else {
                panic!("an I/O error: {error:?}");
            };
            assert_eq!(io_error.kind(), io::ErrorKind::NotFound);
            assert!(
                std::error::Error::source(error).is_some(),
                "the source is kept"
            );
            assert_eq!(*error.input, InputName::Path(path.clone()));
            assert!(error.to_string().contains("absent.xml: cannot read"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Yields its bytes, then fails.
struct FailAfter(Cursor<Vec<u8>>);

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::Error::other("disk on fire")),
            n => Ok(n),
        }
    }
}

#[test]
fn read_failure_mid_stream_keeps_earlier_records_and_is_an_io_error() {
    let text = format!("{}\n{}\n<Event>half", event(1), event(2));
    let input = Input::reader(
        "failing",
        Box::new(FailAfter(Cursor::new(text.into_bytes()))),
    );
    let outs = flatten(Reader::default().read(input));
    assert_eq!(records(&outs).len(), 2);
    let Some(Out::Err {
        at: None,
        kind: ReadErrorKind::Io(error),
        skipped: 1,
    }) = outs.last()
    else {
        panic!("expected an I/O error last: {outs:?}");
    };
    // The I/O error itself is kept, kind and all (review Q6), not its text.
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert_eq!(error.to_string(), "disk on fire");
}

#[test]
fn opened_comes_first_and_batches_name_their_input() {
    let input = Input::reader("sample.xml", Box::new(Cursor::new(event(1).into_bytes())));
    let events: Vec<_> = Reader::default().read(input).collect();
    assert!(matches!(events[0], ReadEvent::Opened { .. }));
    match &events[1] {
        ReadEvent::Batch(b) => {
            assert_eq!(b.input.to_string(), "sample.xml");
            assert_eq!(b.bytes(&b.records[0]), event(1).as_bytes());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn reader_iterator_can_move_to_another_thread() {
    let it = {
        let reader = Reader::default();
        reader.read(Input::reader("x", Box::new(Cursor::new(b"{}".to_vec()))))
    };
    let n = std::thread::spawn(move || it.count())
        .join()
        .expect("thread");
    assert_eq!(n, 2);
}
