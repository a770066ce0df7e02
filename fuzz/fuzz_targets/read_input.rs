//! The reader on arbitrary bytes: never panics, and what it yields (records with their
//! locations, errors, notices) does not depend on the block size it reads in. Covers sniffing
//! (compression, UTF-16, evtx_dump's `Record N` lines, EVTX without a header) and every cutter.
#![no_main]

use std::io::Cursor;

use cimhunt_read::{Input, ReadEvent, Reader, ReaderOptions};
use libfuzzer_sys::fuzz_target;

/// Everything the reader yields, as text.
fn read(data: &[u8], block_size: usize) -> Vec<String> {
    let reader = Reader::new(ReaderOptions {
        block_size,
        max_record: 1 << 16,
    });
    let input = Input::reader("fuzz", Box::new(Cursor::new(data.to_vec())));
    let mut out = Vec::new();
    for event in reader.read(input) {
        match event {
            ReadEvent::Batch(batch) => {
                for (span, bytes) in batch.iter() {
                    assert!(span.start <= span.end && span.end <= batch.block.len());
                    out.push(format!(
                        "{:?} {} {} {:?}",
                        span.location, span.ordinal, span.checksum_mismatch, bytes
                    ));
                }
            }
            ReadEvent::Error {
                error,
                skipped_records,
            } => out.push(format!("error {error} ({skipped_records})")),
            ReadEvent::Notice(notice) => out.push(format!("notice {notice}")),
            other => out.push(format!("{other:?}")),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let large = read(data, 1 << 20);
    assert_eq!(large, read(data, 97), "block size changed what was read");
});
