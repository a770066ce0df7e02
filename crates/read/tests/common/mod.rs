//! Helpers shared by the integration tests: run a reader over bytes and flatten what it yields.
#![allow(dead_code)]

use std::io::{self, Cursor, Read};

use cimhunt_read::{
    Compression, Format, Input, Location, NoticeKind, ReadErrorKind, ReadEvent, Reader,
    ReaderOptions, TextEncoding,
};

/// One flattened reader output.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Opened(Format, Compression),
    /// A record; `line` is its line for text, its chunk for EVTX.
    Rec {
        bytes: Vec<u8>,
        line: u64,
        ordinal: u64,
    },
    Err {
        at: Option<Location>,
        kind: ReadErrorKind,
        skipped: u64,
    },
    Notice {
        at: Option<Location>,
        kind: NoticeKind,
    },
}

/// Flattens a reader's events, checking that every batch is non-empty and that nothing follows
/// the input's `Finished` (left out of the list: see [`size_read`]).
pub fn flatten(events: impl Iterator<Item = ReadEvent>) -> Vec<Out> {
    let mut out = Vec::new();
    let mut finished = false;
    for event in events {
        assert!(!finished, "{event:?} after the input finished");
        match event {
            ReadEvent::Finished { .. } => finished = true,
            ReadEvent::Opened {
                format,
                compression,
                ..
            } => out.push(Out::Opened(format, compression)),
            ReadEvent::Batch(batch) => {
                assert!(!batch.records.is_empty(), "empty batch");
                let mut lines = batch.lines();
                for (span, bytes) in batch.iter() {
                    let line = match span.location {
                        Location::Line(n) | Location::Chunk(n) => n,
                        Location::Uncounted => lines.line(span).expect("a counted line"),
                        other => panic!("unexpected location {other:?}"),
                    };
                    out.push(Out::Rec {
                        bytes: bytes.to_vec(),
                        line,
                        ordinal: span.ordinal,
                    });
                }
            }
            ReadEvent::Error {
                error,
                skipped_records,
            } => out.push(Out::Err {
                at: error.at,
                kind: error.kind,
                skipped: skipped_records,
            }),
            ReadEvent::Notice(notice) => out.push(Out::Notice {
                at: notice.at,
                kind: notice.kind,
            }),
            other => panic!("unexpected reader event {other:?}"),
        }
    }
    out
}

/// Reads `bytes` with the given options.
pub fn read_with(bytes: &[u8], options: ReaderOptions) -> Vec<Out> {
    let input = Input::reader("test", Box::new(Cursor::new(bytes.to_vec())));
    flatten(Reader::new(options).read(input))
}

/// The size the reader reports at the end of `bytes` (`None` when it reports none: an input
/// that could not be opened or recognised).
pub fn size_read(bytes: &[u8], options: ReaderOptions) -> Option<u64> {
    let input = Input::reader("test", Box::new(Cursor::new(bytes.to_vec())));
    let mut size = None;
    for event in Reader::new(options).read(input) {
        assert!(size.is_none(), "{event:?} after the input finished");
        if let ReadEvent::Finished { bytes } = event {
            size = Some(bytes);
        }
    }
    size
}

/// Reads `bytes` with the default options.
pub fn read(bytes: &[u8]) -> Vec<Out> {
    read_with(bytes, ReaderOptions::default())
}

/// Options with the given block size.
pub fn block(block_size: usize) -> ReaderOptions {
    ReaderOptions {
        block_size,
        ..ReaderOptions::default()
    }
}

/// The records, as text, with their lines.
pub fn records(outs: &[Out]) -> Vec<(String, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Rec { bytes, line, .. } => {
                Some((String::from_utf8_lossy(bytes).into_owned(), *line))
            }
            _ => None,
        })
        .collect()
}

/// The errors: (location, kind, skipped).
pub fn errors(outs: &[Out]) -> Vec<(Option<Location>, ReadErrorKind, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Err { at, kind, skipped } => Some((*at, kind.clone(), *skipped)),
            _ => None,
        })
        .collect()
}

/// Checks records carry ordinals 1, 2, 3… in order.
pub fn assert_ordinals(outs: &[Out]) {
    let ordinals: Vec<u64> = outs
        .iter()
        .filter_map(|o| match o {
            Out::Rec { ordinal, .. } => Some(*ordinal),
            _ => None,
        })
        .collect();
    let expected: Vec<u64> = (1..=ordinals.len() as u64).collect();
    assert_eq!(ordinals, expected);
}

/// Whether an error kind is `Malformed` with a message containing `needle`.
pub fn malformed(kind: &ReadErrorKind, needle: &str) -> bool {
    matches!(kind, ReadErrorKind::Malformed(m) if m.to_string().contains(needle))
}

/// A one-line Windows event shaped like Splunk's XmlWinEventLog, numbered `n`.
pub fn event(n: u32) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID>\
         <EventRecordID>{n}</EventRecordID><Computer>host</Computer></System><EventData>\
         <Data Name='NewProcessName'>C:\\Windows\\System32\\cmd.exe</Data>\
         <Data Name='CommandLine'>cmd.exe /c echo {n} &amp; exit</Data></EventData></Event>"
    )
}

/// A reader that hands out at most `step` bytes per call.
pub struct Trickle {
    pub data: Cursor<Vec<u8>>,
    pub step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step.max(1));
        self.data.read(&mut buf[..n])
    }
}

/// The text encoding the reader found for `bytes`.
pub fn encoding_of(bytes: &[u8]) -> Option<TextEncoding> {
    let input = Input::reader("test", Box::new(Cursor::new(bytes.to_vec())));
    Reader::default().read(input).find_map(|event| match event {
        ReadEvent::Opened { encoding, .. } => Some(encoding),
        _ => None,
    })
}
