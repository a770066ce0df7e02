//! Whole-input behaviour: unknown formats, empty inputs, I/O errors, ordering, buffer reuse.

mod common;

use std::io::{self, Cursor, Read};

use cimhunt_read::{Input, InputName, ReadErrorKind, ReadEvent, Reader, ReaderOptions};
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

/// Reads `events` events and a half one from a source that then fails, in blocks of
/// `block_size`: the records before the failure are kept, and the I/O error itself (kind and
/// all, review Q6, not its text) comes last, costing the half record.
fn check_failure_mid_stream(events: u32, block_size: usize) {
    let text: String = (1..=events).map(|i| format!("{}\n", event(i))).collect();
    let text = format!("{text}<Event>half");
    let input = Input::reader(
        "failing",
        Box::new(FailAfter(Cursor::new(text.into_bytes()))),
    );
    let options = ReaderOptions {
        block_size,
        ..ReaderOptions::default()
    };
    let outs = flatten(Reader::new(options).read(input));
    assert_eq!(records(&outs).len(), events as usize);
    let Some(Out::Err {
        at: None,
        kind: ReadErrorKind::Io(error),
        skipped: 1,
    }) = outs.last()
    else {
        panic!("expected an I/O error last: {outs:?}");
    };
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert_eq!(error.to_string(), "disk on fire");
}

#[test]
fn read_failure_mid_stream_keeps_earlier_records_and_is_an_io_error() {
    check_failure_mid_stream(2, ReaderOptions::default().block_size);
}

/// The same failure when the input is read ahead by its own thread (the blocks are smaller
/// than the input): the error crosses the thread with its kind, after the records before it.
#[test]
fn read_failure_on_the_reading_thread_keeps_earlier_records_and_is_an_io_error() {
    check_failure_mid_stream(40, 64);
}

/// An endless source of events that says when it is dropped.
struct Dropped(Cursor<Vec<u8>>, std::sync::mpsc::Sender<()>);

impl Read for Dropped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => {
                self.0.set_position(0);
                self.0.read(buf)
            }
            n => Ok(n),
        }
    }
}

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.1.send(());
    }
}

/// A reader dropped half-way through an input that never ends stops its reading thread (which
/// then drops the source) instead of reading on.
#[test]
fn dropping_the_reader_midway_ends_its_reading_thread() {
    let text: String = (1..=20).map(|i| format!("{}\n", event(i))).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    let input = Input::reader(
        "large",
        Box::new(Dropped(Cursor::new(text.into_bytes()), tx)),
    );
    let options = ReaderOptions {
        block_size: 256,
        ..ReaderOptions::default()
    };
    let mut events = Reader::new(options).read(input);
    let batches = events
        .by_ref()
        .filter(|e| matches!(e, ReadEvent::Batch(_)))
        .take(3)
        .count();
    assert_eq!(batches, 3);
    drop(events);
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(10)),
        Ok(()),
        "the source was dropped"
    );
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
    // Opened, the batch, Finished.
    assert_eq!(n, 3);
}
